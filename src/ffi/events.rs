//! Server events (the keyspace replaced, the replication role changed) and keyspace events of
//! lists (to wake blocked TLOG.TAIL readers).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};

use redis_module::raw;

use super::{guard, Ctx};
use crate::error::{Error, Result};

/// A server event the module listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEvent {
    /// FLUSHDB or FLUSHALL.
    Flush,
    /// SWAPDB.
    SwapDb,
    /// The server loads its data (at start, or a replica's full sync).
    Loading,
    /// The replication role changed; `now_replica` if the server became a replica.
    RoleChanged { now_replica: bool },
}

/// What the module does on a server event.
pub trait OnServerEvent: 'static {
    fn on(event: ServerEvent);
}

/// Subscribes `E` to every [`ServerEvent`] (at load).
pub fn subscribe<E: OnServerEvent>(ctx: Ctx) -> std::result::Result<(), String> {
    // SAFETY: the pointer is written once at module load and only read afterwards.
    let subscribe = unsafe { raw::RedisModule_SubscribeToServerEvent }.ok_or("no SubscribeToServerEvent")?;
    for id in [
        raw::REDISMODULE_EVENT_FLUSHDB,
        raw::REDISMODULE_EVENT_SWAPDB,
        raw::REDISMODULE_EVENT_LOADING,
        raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED,
    ] {
        // Version 1 of every one of these events exists on Redis 7.0.
        let event = raw::RedisModuleEvent { id, dataver: 1 };
        // SAFETY: live load context; the callback only touches module memory and unblocks
        // clients of ours.
        if unsafe { subscribe(ctx.as_ptr(), event, Some(server_event::<E>)) } != raw::REDISMODULE_OK as c_int {
            return Err(format!("could not subscribe to server event {id}"));
        }
    }
    Ok(())
}

unsafe extern "C" fn server_event<E: OnServerEvent>(
    _: *mut raw::RedisModuleCtx,
    e: raw::RedisModuleEvent,
    sub: u64,
    _: *mut c_void,
) {
    let event = match e.id {
        raw::REDISMODULE_EVENT_FLUSHDB => ServerEvent::Flush,
        raw::REDISMODULE_EVENT_SWAPDB => ServerEvent::SwapDb,
        raw::REDISMODULE_EVENT_LOADING => ServerEvent::Loading,
        raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED => {
            ServerEvent::RoleChanged { now_replica: sub == raw::REDISMODULE_EVENT_REPLROLECHANGED_NOW_REPLICA }
        }
        _ => return,
    };
    guard(None, "a server event", || E::on(event));
}

/// Whether the module listens to list events (see [`listen_to_list_pushes`]).
static LISTENING: AtomicBool = AtomicBool::new(false);

/// Who waits for list pushes: checked on every list event.
pub trait ListWaiters: 'static {
    /// True while some client may wait on a list.
    fn any() -> bool;
}

/// Wakes the clients blocked on a list whenever something is pushed on it, whoever pushes:
/// tlog itself, a plain client (`LPUSH`, in `MULTI` or a script too) or, on a replica, the
/// master's stream. The server wakes a client blocked on keys by itself only when the key is
/// created, never for a push on a list that exists. Module subscribers get every keyspace
/// event whatever `notify-keyspace-events` says, on masters and replicas alike.
///
/// The server calls a subscriber of list events for every list event (a context made and
/// freed each time: a few percent of TLOG.LOG's time), and Redis 7.0 cannot unsubscribe. So
/// the module subscribes when a reader first blocks, not at load: a server that never blocks
/// a reader pays nothing. Afterwards, while `W::any()` is false, the callback returns after
/// one atomic load. One subscription serves the whole module: the first `W` is the one asked.
pub fn listen_to_list_pushes<W: ListWaiters>(ctx: Ctx) -> Result<()> {
    if LISTENING.load(Ordering::Relaxed) {
        return Ok(());
    }
    // SAFETY: the pointer is written once at module load and only read afterwards.
    let subscribe = unsafe { raw::RedisModule_SubscribeToKeyspaceEvents }
        .ok_or(Error::Unsupported("RedisModule_SubscribeToKeyspaceEvents"))?;
    // SAFETY: live context of a command; the callback touches only module state and the
    // server's ready-key queue.
    if unsafe { subscribe(ctx.as_ptr(), raw::REDISMODULE_NOTIFY_LIST, Some(on_list_event::<W>)) }
        != raw::REDISMODULE_OK as c_int
    {
        return Err(Error::Internal("could not subscribe to list events"));
    }
    LISTENING.store(true, Ordering::Relaxed);
    Ok(())
}

unsafe extern "C" fn on_list_event<W: ListWaiters>(
    ctx: *mut raw::RedisModuleCtx,
    _class: c_int,
    event: *const c_char,
    key: *mut raw::RedisModuleString,
) -> c_int {
    if ctx.is_null() || event.is_null() || key.is_null() || guard(None, "a list event", W::any) != Some(true) {
        return raw::REDISMODULE_OK as c_int;
    }
    // SAFETY: the server passes a NUL-terminated event name for the call.
    let event = unsafe { CStr::from_ptr(event) }.to_bytes();
    // The events of the commands that add an element (LMOVE and BLMOVE report theirs as a
    // push on the destination); removals wake nobody.
    if matches!(event, b"lpush" | b"rpush" | b"linsert" | b"lset") {
        // SAFETY: the context and key of the event, alive for the call; the server only
        // queues the key for the clients blocked on it, if any, served after the command.
        unsafe {
            if let Some(signal) = raw::RedisModule_SignalKeyAsReady {
                signal(ctx, key);
            }
        }
    }
    raw::REDISMODULE_OK as c_int
}

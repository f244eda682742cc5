//! Registers the command table with the server: the command itself, then its docs, arity and
//! key specs through `RedisModule_SetCommandInfo` (the `#[command]` macro needs Redis 7.2).
//! Also the one trampoline every command enters through.

use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use redis_module::raw;

use crate::commands::{Arg, ArgKind, Handler, Spec};
use crate::error::Error;
use crate::ffi::{str_bytes, Ctx, Reply};

/// The server APIs the module needs. Missing any (Redis 6.x) refuses the load with a log line.
pub fn missing_apis() -> Vec<&'static str> {
    macro_rules! check {
        ($($name:ident),* $(,)?) => {{
            let mut missing = Vec::new();
            // SAFETY: reading function pointers set once at load, on the main thread.
            $( if unsafe { raw::$name }.is_none() { missing.push(stringify!($name)); } )*
            missing
        }};
    }
    check!(
        RedisModule_CreateCommand,
        RedisModule_GetCommand,
        RedisModule_SetCommandInfo,
        RedisModule_OpenKey,
        RedisModule_CloseKey,
        RedisModule_KeyType,
        RedisModule_StringDMA,
        RedisModule_StringSet,
        RedisModule_ListPush,
        RedisModule_ListGet,
        RedisModule_ValueLength,
        RedisModule_Replicate,
        RedisModule_NotifyKeyspaceEvent,
        RedisModule_GetContextFlags,
        RedisModule_GetCurrentUserName,
        RedisModule_GetModuleUserFromUserName,
        RedisModule_ACLCheckKeyPermissions,
        RedisModule_FreeModuleUser,
        RedisModule_CreateString,
        RedisModule_FreeString,
        RedisModule_StringPtrLen,
        RedisModule_ReplyWithMap,
        RedisModule_ReplyWithArray,
        RedisModule_ReplySetArrayLength,
        RedisModule_ReplyWithLongLong,
        RedisModule_ReplyWithStringBuffer,
        RedisModule_ReplyWithNull,
        RedisModule_ReplyWithError,
        RedisModule_SetModuleOptions,
        RedisModule_SignalModifiedKey,
        RedisModule_BlockClientOnKeys,
        RedisModule_GetBlockedClientPrivateData,
        RedisModule_SignalKeyAsReady,
        RedisModule_PublishMessage,
        RedisModule_RegisterBoolConfig,
        RedisModule_LoadConfigs,
        RedisModule_Call,
        RedisModule_CallReplyType,
        RedisModule_CallReplyLength,
        RedisModule_CallReplyArrayElement,
        RedisModule_CallReplyStringPtr,
        RedisModule_FreeCallReply,
        RedisModule_GetClientId,
        RedisModule_GetClientInfoById,
        RedisModule_SubscribeToServerEvent,
        RedisModule_CallReplyInteger,
        RedisModule_RegisterNumericConfig,
        RedisModule_CreateTimer,
        RedisModule_BlockClient,
        RedisModule_UnblockClient,
        RedisModule_RegisterInfoFunc,
        RedisModule_InfoAddSection,
        RedisModule_InfoAddFieldULongLong,
        RedisModule_SelectDb,
        RedisModule_ListPop,
        RedisModule_FreeString,
        RedisModule_GetSelectedDb,
        RedisModule_ReplyWithCallReply,
        RedisModule_SubscribeToKeyspaceEvents,
        RedisModule_ACLCheckChannelPermissions,
    )
}

/// Server events after which the keyspace may no longer be what the floor cache remembers.
pub fn subscribe_events(ctx: Ctx) -> Result<(), String> {
    unsafe extern "C" fn forget(
        _: *mut raw::RedisModuleCtx,
        _: raw::RedisModuleEvent,
        _: u64,
        _: *mut std::ffi::c_void,
    ) {
        crate::store::floor_cache::clear();
        crate::cleaner::forget_prefixes();
    }
    /// A panic must not unwind into the server.
    fn guarded(what: &str, f: impl FnOnce()) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
            log_panic(None, what, payload.as_ref());
        }
    }
    unsafe extern "C" fn swapped(
        ctx: *mut raw::RedisModuleCtx,
        e: raw::RedisModuleEvent,
        sub: u64,
        data: *mut std::ffi::c_void,
    ) {
        // SAFETY: the arguments the server gave this callback, passed on unchanged.
        unsafe { forget(ctx, e, sub, data) };
        guarded("a SWAPDB event", crate::cleaner::databases_swapped);
    }
    unsafe extern "C" fn role(
        ctx: *mut raw::RedisModuleCtx,
        e: raw::RedisModuleEvent,
        sub: u64,
        data: *mut std::ffi::c_void,
    ) {
        // SAFETY: the arguments the server gave this callback, passed on unchanged.
        unsafe { forget(ctx, e, sub, data) };
        if sub == raw::REDISMODULE_EVENT_REPLROLECHANGED_NOW_REPLICA {
            guarded("a role change event", crate::cleaner::role_changed);
        }
    }
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
        let callback = match id {
            raw::REDISMODULE_EVENT_SWAPDB => swapped,
            raw::REDISMODULE_EVENT_REPLICATION_ROLE_CHANGED => role,
            _ => forget,
        };
        // SAFETY: live load context; the callbacks only touch module memory and unblock
        // clients of ours.
        if unsafe { subscribe(ctx.as_ptr(), event, Some(callback)) } != raw::REDISMODULE_OK as c_int {
            return Err(format!("could not subscribe to server event {id}"));
        }
    }
    Ok(())
}

/// Whether the module listens to list events (see [`listen_to_list_pushes`]).
static LISTENING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Wakes TLOG.TAIL readers blocked on a list whenever something is pushed on it, whoever
/// pushes: tlog itself, a plain client (`LPUSH`, in `MULTI` or a script too) or, on a replica,
/// the master's stream. The server wakes a client blocked on keys by itself only when the key
/// is created, never for a push on a list that exists. Module subscribers get every keyspace
/// event whatever `notify-keyspace-events` says, on masters and replicas alike.
///
/// The server calls a subscriber of list events for every list event (a context made and
/// freed each time: a few percent of TLOG.LOG's time), and Redis 7.0 cannot unsubscribe. So
/// the module subscribes when a reader first blocks, not at load: a server that never blocks
/// a reader pays nothing. Afterwards, while no reader waits, the callback returns after one
/// atomic load.
pub fn listen_to_list_pushes(ctx: Ctx) -> crate::error::Result<()> {
    use std::sync::atomic::Ordering;
    if LISTENING.load(Ordering::Relaxed) {
        return Ok(());
    }
    unsafe extern "C" fn on_list_event(
        ctx: *mut raw::RedisModuleCtx,
        _class: c_int,
        event: *const c_char,
        key: *mut raw::RedisModuleString,
    ) -> c_int {
        if !crate::store::readers::any() || ctx.is_null() || event.is_null() || key.is_null() {
            return raw::REDISMODULE_OK as c_int;
        }
        // SAFETY: the server passes a NUL-terminated event name for the call.
        let event = unsafe { std::ffi::CStr::from_ptr(event) }.to_bytes();
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
    // SAFETY: the pointer is written once at module load and only read afterwards.
    let subscribe = unsafe { raw::RedisModule_SubscribeToKeyspaceEvents }
        .ok_or(Error::Unsupported("RedisModule_SubscribeToKeyspaceEvents"))?;
    // SAFETY: live context of a command; the callback touches only module state and the
    // server's ready-key queue.
    if unsafe { subscribe(ctx.as_ptr(), raw::REDISMODULE_NOTIFY_LIST as c_int, Some(on_list_event)) }
        != raw::REDISMODULE_OK as c_int
    {
        return Err(Error::Internal("could not subscribe to list events"));
    }
    LISTENING.store(true, Ordering::Relaxed);
    Ok(())
}

/// Module configuration: `tlog.<name>` in redis.conf (after the loadmodule line), as
/// `loadmodule` arguments, and by `CONFIG SET`/`CONFIG GET`. Read on every write and cleaner
/// tick, so the values live in atomics. The server refuses out-of-range numbers itself, with
/// an `ERR` naming the range.
pub mod config {
    use std::ffi::{c_char, c_int, c_void, CStr};
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    use redis_module::raw;

    use crate::ffi::Ctx;

    /// Publish each new record as JSON on `<prefix>:log-records`.
    pub static PUBLISH: AtomicBool = AtomicBool::new(false);
    /// Also on `<prefix>:log-records:<tag>` for each of its tags.
    pub static PUBLISH_TAGS: AtomicBool = AtomicBool::new(false);
    /// Keep each removed-by-retention record in the stream `<prefix>:archive`.
    pub static ARCHIVE: AtomicBool = AtomicBool::new(false);
    /// Records kept per prefix by the cleaner; 0: no limit.
    pub static MAX_RECORDS: AtomicI64 = AtomicI64::new(0);
    /// Seconds a record is kept by the cleaner; 0: no limit.
    pub static MAX_AGE: AtomicI64 = AtomicI64::new(0);
    /// Entries the archive stream of a prefix keeps.
    pub static ARCHIVE_MAXLEN: AtomicI64 = AtomicI64::new(10_000);
    /// Microseconds of work per cleaner tick; 0 stops the cleaner.
    pub static CLEANER_BUDGET_US: AtomicI64 = AtomicI64::new(400);
    /// Positions an id or time may sit away from its sorted place and reads stay exact.
    pub static READ_WINDOW: AtomicI64 = AtomicI64::new(100);
    /// Ids a read may pass over before it stops with a continuation; 0: no limit.
    pub static READ_SCAN_LIMIT: AtomicI64 = AtomicI64::new(2_000);

    /// Numeric configs: (name, value, default, min, max). The upper bounds keep every
    /// product of them far from overflow.
    const NUMBERS: [(&CStr, &AtomicI64, i64, i64, i64); 6] = [
        (c"max-records", &MAX_RECORDS, 0, 0, 1_000_000_000_000),
        (c"max-age", &MAX_AGE, 0, 0, crate::commands::add::MAX_TTL),
        (c"archive-maxlen", &ARCHIVE_MAXLEN, 10_000, 1, 1_000_000_000),
        (c"cleaner-budget-us", &CLEANER_BUDGET_US, 400, 0, 800),
        (c"read-window", &READ_WINDOW, 100, 0, 10_000),
        (c"read-scan-limit", &READ_SCAN_LIMIT, 2_000, 0, 1_000_000_000),
    ];
    const FLAGS: [(&CStr, &AtomicBool); 3] =
        [(c"publish", &PUBLISH), (c"publish-tags", &PUBLISH_TAGS), (c"archive", &ARCHIVE)];

    fn name_of<'a>(name: *const c_char) -> &'a [u8] {
        // SAFETY: the server passes the NUL-terminated name a config was registered with.
        unsafe { CStr::from_ptr(name) }.to_bytes()
    }

    fn flag(name: *const c_char) -> Option<&'static AtomicBool> {
        let name = name_of(name);
        FLAGS.iter().find(|(n, _)| n.to_bytes() == name).map(|(_, f)| *f)
    }

    fn number(name: *const c_char) -> Option<&'static AtomicI64> {
        let name = name_of(name);
        NUMBERS.iter().find(|(n, ..)| n.to_bytes() == name).map(|(_, v, ..)| *v)
    }

    unsafe extern "C" fn get(name: *const c_char, _: *mut c_void) -> c_int {
        flag(name).is_some_and(|f| f.load(Ordering::Relaxed)) as c_int
    }

    unsafe extern "C" fn set(
        name: *const c_char,
        val: c_int,
        _: *mut c_void,
        _: *mut *mut raw::RedisModuleString,
    ) -> c_int {
        match flag(name) {
            Some(f) => {
                f.store(val != 0, Ordering::Relaxed);
                raw::REDISMODULE_OK as c_int
            }
            None => raw::REDISMODULE_ERR as c_int,
        }
    }

    unsafe extern "C" fn get_number(name: *const c_char, _: *mut c_void) -> std::ffi::c_longlong {
        number(name).map_or(0, |v| v.load(Ordering::Relaxed))
    }

    unsafe extern "C" fn set_number(
        name: *const c_char,
        val: std::ffi::c_longlong,
        _: *mut c_void,
        _: *mut *mut raw::RedisModuleString,
    ) -> c_int {
        match number(name) {
            Some(v) => {
                v.store(val, Ordering::Relaxed);
                raw::REDISMODULE_OK as c_int
            }
            None => raw::REDISMODULE_ERR as c_int,
        }
    }

    /// Registers the configs and applies what the configuration file and the `loadmodule`
    /// arguments say of them.
    pub fn register(ctx: Ctx) -> Result<(), String> {
        // SAFETY: live load context; the names are static C strings.
        unsafe {
            let reg = raw::RedisModule_RegisterBoolConfig.ok_or("no RegisterBoolConfig")?;
            for (name, _) in FLAGS {
                if reg(
                    ctx.as_ptr(),
                    name.as_ptr(),
                    0,
                    raw::REDISMODULE_CONFIG_DEFAULT as _,
                    Some(get),
                    Some(set),
                    None,
                    std::ptr::null_mut(),
                ) != raw::REDISMODULE_OK as c_int
                {
                    return Err(format!("could not register config {}", name.to_string_lossy()));
                }
            }
            let reg = raw::RedisModule_RegisterNumericConfig.ok_or("no RegisterNumericConfig")?;
            for (name, _, default, min, max) in NUMBERS {
                if reg(
                    ctx.as_ptr(),
                    name.as_ptr(),
                    default,
                    raw::REDISMODULE_CONFIG_DEFAULT as _,
                    min,
                    max,
                    Some(get_number),
                    Some(set_number),
                    None,
                    std::ptr::null_mut(),
                ) != raw::REDISMODULE_OK as c_int
                {
                    return Err(format!("could not register config {}", name.to_string_lossy()));
                }
            }
            let load = raw::RedisModule_LoadConfigs.ok_or("no LoadConfigs")?;
            if load(ctx.as_ptr()) != raw::REDISMODULE_OK as c_int {
                return Err("invalid tlog.* configuration".into());
            }
        }
        Ok(())
    }

    /// Applies `loadmodule` arguments, `name value` pairs (`max-age 3600` or
    /// `tlog.max-age 3600`), through CONFIG SET: the same names, checks and errors as there.
    /// They come after the configuration file's `tlog.*` lines, so they win.
    pub fn apply_args(ctx: Ctx, args: &[Vec<u8>]) -> Result<(), String> {
        if !args.len().is_multiple_of(2) {
            return Err("loadmodule arguments come in pairs: name value".into());
        }
        for pair in args.chunks(2) {
            let name = if pair[0].starts_with(b"tlog.") { pair[0].clone() } else { [&b"tlog."[..], &pair[0]].concat() };
            ctx.config_set(&name, &pair[1]).map_err(|e| {
                format!(
                    "loadmodule argument {} {}: {e}",
                    String::from_utf8_lossy(&pair[0]),
                    String::from_utf8_lossy(&pair[1])
                )
            })?;
        }
        Ok(())
    }
}

/// Keys are opened for writing before every check has passed (one lookup per key instead of
/// two); with this option, closing such a key no longer tells WATCH it changed. Writers call
/// `Ctx::signal_modified` for what they did change.
pub fn init_options(ctx: Ctx) {
    // SAFETY: live load context; checked present by `missing_apis`.
    unsafe {
        if let Some(f) = raw::RedisModule_SetModuleOptions {
            f(ctx.as_ptr(), raw::REDISMODULE_OPTION_NO_IMPLICIT_SIGNAL_MODIFIED as c_int);
        }
    }
}

/// Every command enters here: borrow argv, run the handler, reply with its error if any. A
/// panic (a bug) becomes an error reply instead of aborting the server, and its message goes
/// to the server log.
///
/// # Safety
/// The arguments of a command callback: a live context and `argc` live strings at `argv`
/// that outlive the call.
pub unsafe fn dispatch(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
    handler: Handler,
) -> c_int {
    let Some(ctx) = Ctx::new(ctx) else {
        return raw::REDISMODULE_ERR as c_int;
    };
    let argc = usize::try_from(argc).unwrap_or(0);
    let argv: &[*mut raw::RedisModuleString] = if argv.is_null() {
        &[]
    } else {
        // SAFETY: the server passes `argc` live strings that outlive this call.
        unsafe { std::slice::from_raw_parts(argv, argc) }
    };
    let bytes = |s: &*mut raw::RedisModuleString| {
        // SAFETY: each argument lives until the command returns.
        unsafe { str_bytes(*s) }
    };
    // Most commands have few arguments: keep them on the stack.
    let mut inline: [&[u8]; 16] = [&[]; 16];
    let heap: Vec<&[u8]>;
    let args: &[&[u8]] = if argv.len() <= inline.len() + 1 {
        let n = argv.len().saturating_sub(1);
        for (slot, s) in inline.iter_mut().zip(argv.iter().skip(1)) {
            *slot = bytes(s);
        }
        &inline[..n]
    } else {
        heap = argv.iter().skip(1).map(bytes).collect();
        &heap
    };
    let reply = Reply::new(ctx);
    match catch_unwind(AssertUnwindSafe(|| handler(ctx, args))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => reply.error(&e),
        Err(payload) => {
            let name = argv.first().map(|s| String::from_utf8_lossy(bytes(s)).into_owned());
            log_panic(Some(ctx), name.as_deref().unwrap_or("a command"), payload.as_ref());
            reply.error(&Error::Internal("unexpected failure, nothing more was done"));
        }
    }
    raw::REDISMODULE_OK as c_int
}

/// Writes a caught panic's message to the server log: a bug to report, which must not take
/// the server down with it. `ctx` may be `None` where there is no context (the log line is
/// then the module's own).
pub fn log_panic(ctx: Option<Ctx>, what: &str, payload: &(dyn std::any::Any + Send)) {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    crate::ffi::log_warning(ctx, &format!("tlog: bug: a panic in {what}: {msg}"));
}

/// An `extern "C"` entry point for a handler, for the command table.
#[macro_export]
macro_rules! entry_point {
    ($handler:path) => {{
        extern "C" fn entry(
            ctx: *mut redis_module::raw::RedisModuleCtx,
            argv: *mut *mut redis_module::raw::RedisModuleString,
            argc: std::ffi::c_int,
        ) -> std::ffi::c_int {
            // SAFETY: the server calls a command's entry point with a live context and `argc`
            // live arguments.
            unsafe { $crate::registry::dispatch(ctx, argv, argc, $handler) }
        }
        entry as $crate::registry::EntryPoint
    }};
}

pub type EntryPoint = unsafe extern "C" fn(*mut raw::RedisModuleCtx, *mut *mut raw::RedisModuleString, c_int) -> c_int;

/// Registers one command with its info. Returns a reason on failure.
pub fn register(ctx: Ctx, spec: &Spec, entry: EntryPoint) -> Result<(), String> {
    // SAFETY: the pointers are written once at module load and only read afterwards.
    let (create, get, set_info) = unsafe {
        (
            raw::RedisModule_CreateCommand.ok_or("no CreateCommand")?,
            raw::RedisModule_GetCommand.ok_or("no GetCommand")?,
            raw::RedisModule_SetCommandInfo.ok_or("no SetCommandInfo")?,
        )
    };
    let name = cstr(spec.name);
    let flags = cstr(spec.flags);
    // SAFETY: live load context; name and flags are NUL-terminated and copied by the server.
    // The prefix (argument 1) is declared as the key, for cluster routing.
    let rc = unsafe { create(ctx.as_ptr(), name.as_ptr(), Some(entry), flags.as_ptr(), 1, 1, 1) };
    if rc != raw::REDISMODULE_OK as c_int {
        return Err(format!("could not create command {}", spec.name));
    }
    // SAFETY: the command was just created under this name.
    let cmd = unsafe { get(ctx.as_ptr(), name.as_ptr()) };
    if cmd.is_null() {
        return Err(format!("could not find command {}", spec.name));
    }
    let info = info(spec);
    // SAFETY: `info` and everything it points to are leaked, so they outlive the server's use.
    if unsafe { set_info(cmd, info) } != raw::REDISMODULE_OK as c_int {
        return Err(format!("the server refused the info of {}", spec.name));
    }
    Ok(())
}

/// A C string for the server's tables: leaked, since the server keeps pointers into it for
/// the life of the process. Text with an inner NUL (never in our tables) becomes empty.
fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

fn leak(s: &str) -> *const c_char {
    cstr(s).into_raw()
}

fn leak_slice<T>(v: Vec<T>) -> *mut T {
    Box::leak(v.into_boxed_slice()).as_mut_ptr()
}

fn info(spec: &Spec) -> &'static raw::RedisModuleCommandInfo {
    let version = Box::leak(Box::new(raw::RedisModuleCommandInfoVersion {
        version: 1,
        sizeof_historyentry: std::mem::size_of::<raw::RedisModuleCommandHistoryEntry>(),
        sizeof_keyspec: std::mem::size_of::<raw::RedisModuleCommandKeySpec>(),
        sizeof_arg: std::mem::size_of::<raw::RedisModuleCommandArg>(),
    }));
    // The prefix is not itself a key: it names a family of keys that the command checks
    // against the caller's ACL one by one. NOT_KEY keeps cluster routing (MOVED) on the
    // prefix while sparing it the ACL check of a key that is never touched.
    let access = if spec.writes {
        raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_ACCESS | raw::REDISMODULE_CMD_KEY_INSERT
    } else {
        raw::REDISMODULE_CMD_KEY_RO | raw::REDISMODULE_CMD_KEY_ACCESS
    };
    // SAFETY (zeroed): the key-spec, arg and info structs are plain C data whose all-zero value
    // is the documented "unset"/terminator value.
    // SAFETY: see above.
    let mut prefix_spec: raw::RedisModuleCommandKeySpec = unsafe { std::mem::zeroed() };
    prefix_spec.notes = leak("The prefix: every key the command touches starts with it.");
    prefix_spec.flags = u64::from(access | raw::REDISMODULE_CMD_KEY_NOT_KEY);
    prefix_spec.begin_search_type = raw::RedisModuleKeySpecBeginSearchType_REDISMODULE_KSPEC_BS_INDEX;
    prefix_spec.bs.index.pos = 1;
    prefix_spec.find_keys_type = raw::RedisModuleKeySpecFindKeysType_REDISMODULE_KSPEC_FK_RANGE;
    prefix_spec.fk.range.lastkey = 0;
    prefix_spec.fk.range.keystep = 1;
    prefix_spec.fk.range.limit = 0;
    // SAFETY: as above, the zeroed entry terminates the array.
    let key_specs = leak_slice(vec![prefix_spec, unsafe { std::mem::zeroed() }]);

    // SAFETY: as above.
    let mut info: raw::RedisModuleCommandInfo = unsafe { std::mem::zeroed() };
    info.version = version;
    info.summary = leak(spec.summary);
    info.complexity = leak(spec.complexity);
    info.since = leak(spec.since);
    info.history = ptr::null_mut();
    info.tips = ptr::null();
    info.arity = spec.arity;
    info.key_specs = key_specs;
    info.args = args(spec.args);
    Box::leak(Box::new(info))
}

fn args(list: &[Arg]) -> *mut raw::RedisModuleCommandArg {
    let mut out: Vec<raw::RedisModuleCommandArg> = list
        .iter()
        .map(|a| {
            // SAFETY: all-zero is the unset value of every field.
            let mut c: raw::RedisModuleCommandArg = unsafe { std::mem::zeroed() };
            c.name = leak(a.name);
            c.type_ = match a.kind {
                ArgKind::Key => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_KEY,
                ArgKind::String => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_STRING,
                ArgKind::Token => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_PURE_TOKEN,
                ArgKind::Block => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_BLOCK,
                ArgKind::OneOf => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_ONEOF,
                ArgKind::Integer => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_INTEGER,
            };
            c.key_spec_index = if a.kind == ArgKind::Key { 0 } else { -1 };
            c.token = a.token.map_or(ptr::null(), leak);
            let mut flags = 0;
            if a.optional {
                flags |= raw::REDISMODULE_CMD_ARG_OPTIONAL;
            }
            if a.multiple {
                flags |= raw::REDISMODULE_CMD_ARG_MULTIPLE;
            }
            c.flags = flags as c_int;
            c.subargs = if a.subargs.is_empty() { ptr::null_mut() } else { args(a.subargs) };
            c
        })
        .collect();
    // SAFETY: the zeroed entry terminates the array.
    out.push(unsafe { std::mem::zeroed() });
    leak_slice(out)
}

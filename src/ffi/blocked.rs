//! Blocked clients: a client that waits on keys (TLOG.TAIL BLOCK) or for work done later
//! (TLOG.PURGE). The server's callbacks are generic trampolines over the waiting state's type:
//! the state is boxed, handed to the server, read back as that same type, and freed once.

use std::ffi::{c_int, c_void};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use redis_module::raw;

use super::{api, guard, Ctx, RString, Reply};
use crate::error::{Error, Result};

/// What a client blocked on keys waits with, and how it is answered.
pub trait OnKeys: 'static {
    /// One of the keys was signalled ready: reply and return true, or return false (nothing
    /// replied) to keep waiting.
    fn ready(&mut self, ctx: Ctx) -> bool;
    /// The timeout passed: reply.
    fn timed_out(&mut self, ctx: Ctx);
}

/// The result a client blocked by [`Ctx::block_client`] gets when it is unblocked.
pub trait Unblocked: 'static {
    fn reply(&self, ctx: Ctx);
}

impl Ctx {
    /// Blocks the client until one of `keys` is signalled ready (then `state.ready` runs) or
    /// `timeout_ms` passes (0: never; then `state.timed_out`). The server keeps `state` while
    /// the client waits and frees it once (also on disconnect).
    pub fn block_on_keys<S: OnKeys>(self, keys: &[RString], timeout_ms: i64, state: S) -> Result<()> {
        let block = api!(RedisModule_BlockClientOnKeys);
        let mut argv: Vec<*mut raw::RedisModuleString> = keys.iter().map(|k| k.ptr).collect();
        let data = Box::into_raw(Box::new(state)).cast::<c_void>();
        // SAFETY: live context; the key strings are retained by the server for as long as the
        // client is blocked; `data` is a boxed `S`, which the trampolines of `S` read and free.
        let bc = unsafe {
            block(
                self.as_ptr(),
                Some(keys_ready::<S>),
                Some(keys_timeout::<S>),
                Some(free_state::<S>),
                timeout_ms,
                argv.as_mut_ptr(),
                argv.len() as c_int,
                data,
            )
        };
        if bc.is_null() {
            // SAFETY: the server did not take the state: it is still ours, freed once here.
            drop(unsafe { Box::from_raw(data.cast::<S>()) });
            return Err(Error::Internal("the server could not block the client"));
        }
        Ok(())
    }

    /// Blocks the client until [`BlockedClient::unblock`] gives it its result. No timeout: the
    /// work goes on regardless (CLIENT UNBLOCK cannot cut it short).
    pub fn block_client<T: Unblocked>(self) -> Result<BlockedClient<T>> {
        let block = api!(RedisModule_BlockClient);
        // SAFETY: live command context; the callbacks match the server's signatures and read
        // the private data as the `T` that `unblock` boxes.
        let bc = unsafe { block(self.as_ptr(), Some(unblocked_reply::<T>), None, Some(free_state::<T>), 0) };
        NonNull::new(bc)
            .map(|ptr| BlockedClient { ptr, _result: PhantomData })
            .ok_or(Error::Internal("the server could not block the client"))
    }

    /// The private data of a blocked client's callback.
    fn blocked_state(self) -> *mut c_void {
        // SAFETY: live context of a blocked-client callback.
        unsafe { raw::RedisModule_GetBlockedClientPrivateData.map_or(ptr::null_mut(), |f| f(self.as_ptr())) }
    }
}

/// A client blocked by [`Ctx::block_client`], waiting for a `T`. Dropped without
/// [`BlockedClient::unblock`] (the work ended by a caught panic), it is unblocked with an
/// error rather than left waiting forever.
pub struct BlockedClient<T: Unblocked> {
    ptr: NonNull<raw::RedisModuleBlockedClient>,
    _result: PhantomData<T>,
}

impl<T: Unblocked> BlockedClient<T> {
    /// Answers the client with `result` (replied by `T::reply` on the main thread).
    pub fn unblock(self, result: T) {
        let data = Box::into_raw(Box::new(result)).cast::<c_void>();
        // SAFETY: a blocked client of ours, unblocked once (this consumes it); the server
        // hands `data` to `unblocked_reply::<T>` and then to `free_state::<T>`.
        unsafe {
            if let Some(f) = raw::RedisModule_UnblockClient {
                f(self.ptr.as_ptr(), data);
            }
        }
        // Unblocked: the drop below must not unblock it again.
        std::mem::forget(self);
    }
}

impl<T: Unblocked> Drop for BlockedClient<T> {
    fn drop(&mut self) {
        // SAFETY: a blocked client of ours, never unblocked (`unblock` forgets `self`). With no
        // private data, `unblocked_reply::<T>` answers an error and `free_state` frees nothing.
        unsafe {
            if let Some(f) = raw::RedisModule_UnblockClient {
                f(self.ptr.as_ptr(), ptr::null_mut());
            }
        }
    }
}

unsafe extern "C" fn keys_ready<S: OnKeys>(
    ctx: *mut raw::RedisModuleCtx,
    _: *mut *mut raw::RedisModuleString,
    _: c_int,
) -> c_int {
    // SAFETY: the context of this callback, used only during it.
    let Some(ctx) = (unsafe { Ctx::new(ctx) }) else { return raw::REDISMODULE_ERR as c_int };
    let state = ctx.blocked_state().cast::<S>();
    // SAFETY: the boxed `S` given to `block_on_keys`, alive until `free_state::<S>`, and
    // borrowed by no one else while the server runs this callback.
    let Some(state) = (unsafe { state.as_mut() }) else { return raw::REDISMODULE_ERR as c_int };
    match guard(Some(ctx), "a blocked client's wake-up", || state.ready(ctx)) {
        Some(true) => raw::REDISMODULE_OK as c_int,
        Some(false) => raw::REDISMODULE_ERR as c_int,
        None => {
            Reply::new(ctx).error(&Error::Internal("unexpected failure, nothing more was done"));
            raw::REDISMODULE_OK as c_int
        }
    }
}

unsafe extern "C" fn keys_timeout<S: OnKeys>(
    ctx: *mut raw::RedisModuleCtx,
    _: *mut *mut raw::RedisModuleString,
    _: c_int,
) -> c_int {
    // SAFETY: the context of this callback, used only during it.
    let Some(ctx) = (unsafe { Ctx::new(ctx) }) else { return raw::REDISMODULE_ERR as c_int };
    let state = ctx.blocked_state().cast::<S>();
    // SAFETY: as in `keys_ready`.
    match unsafe { state.as_mut() } {
        Some(state) => {
            if guard(Some(ctx), "a blocked client's timeout", || state.timed_out(ctx)).is_none() {
                Reply::new(ctx).error(&Error::Internal("unexpected failure, nothing more was done"));
            }
        }
        None => Reply::new(ctx).null(),
    }
    raw::REDISMODULE_OK as c_int
}

unsafe extern "C" fn unblocked_reply<T: Unblocked>(
    ctx: *mut raw::RedisModuleCtx,
    _: *mut *mut raw::RedisModuleString,
    _: c_int,
) -> c_int {
    // SAFETY: the context of this callback, used only during it.
    let Some(ctx) = (unsafe { Ctx::new(ctx) }) else { return raw::REDISMODULE_ERR as c_int };
    let data = ctx.blocked_state().cast::<T>();
    // SAFETY: the boxed `T` given to `UnblockClient`, owned by the server until
    // `free_state::<T>`.
    match unsafe { data.as_ref() } {
        Some(result) => {
            if guard(Some(ctx), "a blocked client's reply", || result.reply(ctx)).is_none() {
                Reply::new(ctx).error(&Error::Internal("unexpected failure, nothing more was done"));
            }
        }
        None => Reply::new(ctx).error(&Error::Internal("the command ended without a result")),
    }
    raw::REDISMODULE_OK as c_int
}

unsafe extern "C" fn free_state<T: 'static>(_: *mut raw::RedisModuleCtx, data: *mut c_void) {
    if !data.is_null() {
        // SAFETY: made by `Box::into_raw` of a `T` above; the server frees it exactly once.
        let state = unsafe { Box::from_raw(data.cast::<T>()) };
        // A `Drop` of `T` that panicked would unwind into the server.
        guard(None, "a blocked client's state", || drop(state));
    }
}

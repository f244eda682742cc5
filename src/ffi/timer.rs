//! Module timers, and the thread CPU clock the cleaner measures its ticks with.

use std::ffi::c_void;

use redis_module::raw;

use super::{api, guard, Ctx};
use crate::error::Result;

/// Runs `f` once, `period_ms` from now, on the main thread (a timer that wants to run again
/// creates the next one).
pub fn create_timer(ctx: Ctx, period_ms: i64, f: fn(Ctx)) -> Result<()> {
    let create = api!(RedisModule_CreateTimer);
    let data = Box::into_raw(Box::new(f)).cast::<c_void>();
    // SAFETY: live context; `data` is a boxed `fn(Ctx)` that `fire` takes back once.
    unsafe { create(ctx.as_ptr(), period_ms, Some(fire), data) };
    Ok(())
}

unsafe extern "C" fn fire(ctx: *mut raw::RedisModuleCtx, data: *mut c_void) {
    if data.is_null() {
        return;
    }
    // SAFETY: the boxed `fn(Ctx)` of `create_timer`; a timer fires once, so it is freed once.
    let f = *unsafe { Box::from_raw(data.cast::<fn(Ctx)>()) };
    // SAFETY: the context of this timer call, used only during it.
    if let Some(ctx) = unsafe { Ctx::new(ctx) } {
        guard(Some(ctx), "a timer", || f(ctx));
    }
}

/// CPU time of the calling thread, in microseconds.
pub fn thread_cpu_us() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a timespec to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return 0;
    }
    (t.tv_sec as u64).saturating_mul(1_000_000).saturating_add(t.tv_nsec as u64 / 1000)
}

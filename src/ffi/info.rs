//! The module's section of `INFO`.

use std::ffi::{c_int, CStr};

use redis_module::raw;

use super::guard;

/// The fields of the module's INFO section, read each time INFO asks.
pub trait InfoFields: 'static {
    fn fields() -> Vec<(&'static CStr, u64)>;
}

/// Registers `I`'s fields as the module's INFO section (at load).
pub fn register_info<I: InfoFields>(ctx: super::Ctx) -> Result<(), String> {
    // SAFETY: the pointer is written once at module load and only read afterwards.
    let reg = unsafe { raw::RedisModule_RegisterInfoFunc }.ok_or("no RegisterInfoFunc")?;
    // SAFETY: live load context; the callback matches the server's signature.
    if unsafe { reg(ctx.as_ptr(), Some(info::<I>)) } != raw::REDISMODULE_OK as c_int {
        return Err("could not register the INFO section".into());
    }
    Ok(())
}

unsafe extern "C" fn info<I: InfoFields>(ctx: *mut raw::RedisModuleInfoCtx, _for_crash_report: c_int) {
    // SAFETY: the pointers are written once at module load and only read afterwards.
    let (Some(section), Some(field)) =
        (unsafe { raw::RedisModule_InfoAddSection }, unsafe { raw::RedisModule_InfoAddFieldULongLong })
    else {
        return;
    };
    let Some(fields) = guard(None, "INFO", I::fields) else { return };
    // SAFETY: live info context; the names are NUL-terminated.
    unsafe {
        section(ctx, std::ptr::null_mut());
        for (name, v) in fields {
            field(ctx, name.as_ptr(), v);
        }
    }
}

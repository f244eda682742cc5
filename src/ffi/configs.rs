//! Module configs (`CONFIG SET`/`GET tlog.<name>`, redis.conf): each value lives in a static
//! atomic that the server's get and set callbacks read and write through their private data.

use std::ffi::{c_char, c_int, c_longlong, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use redis_module::raw;

use super::{guard, Ctx};

/// Registers the boolean config `tlog.<name>`, held in `value`.
pub fn register_bool(ctx: Ctx, name: &CStr, default: bool, value: &'static AtomicBool) -> Result<(), String> {
    // SAFETY: the pointer is written once at module load and only read afterwards.
    let reg = unsafe { raw::RedisModule_RegisterBoolConfig }.ok_or("no RegisterBoolConfig")?;
    let data = std::ptr::from_ref(value).cast_mut().cast::<c_void>();
    // SAFETY: live load context; the name is copied by the server; `data` is a static
    // `AtomicBool`, which the callbacks read back as one.
    let rc = unsafe {
        reg(
            ctx.as_ptr(),
            name.as_ptr(),
            c_int::from(default),
            raw::REDISMODULE_CONFIG_DEFAULT as _,
            Some(get_bool),
            Some(set_bool),
            None,
            data,
        )
    };
    if rc != raw::REDISMODULE_OK as c_int {
        return Err(format!("could not register config {}", name.to_string_lossy()));
    }
    Ok(())
}

/// Registers the numeric config `tlog.<name>`, held in `value`; the server refuses values
/// outside `min..=max` itself, with an `ERR` naming the range.
pub fn register_number(
    ctx: Ctx,
    name: &CStr,
    default: i64,
    min: i64,
    max: i64,
    value: &'static AtomicI64,
) -> Result<(), String> {
    // SAFETY: the pointer is written once at module load and only read afterwards.
    let reg = unsafe { raw::RedisModule_RegisterNumericConfig }.ok_or("no RegisterNumericConfig")?;
    let data = std::ptr::from_ref(value).cast_mut().cast::<c_void>();
    // SAFETY: as in `register_bool`, with a static `AtomicI64`.
    let rc = unsafe {
        reg(
            ctx.as_ptr(),
            name.as_ptr(),
            default,
            raw::REDISMODULE_CONFIG_DEFAULT as _,
            min,
            max,
            Some(get_number),
            Some(set_number),
            None,
            data,
        )
    };
    if rc != raw::REDISMODULE_OK as c_int {
        return Err(format!("could not register config {}", name.to_string_lossy()));
    }
    Ok(())
}

/// Applies what the configuration file says of the registered configs.
pub fn load(ctx: Ctx) -> Result<(), String> {
    // SAFETY: the pointer is written once at module load and only read afterwards.
    let load = unsafe { raw::RedisModule_LoadConfigs }.ok_or("no LoadConfigs")?;
    // SAFETY: live load context.
    if unsafe { load(ctx.as_ptr()) } != raw::REDISMODULE_OK as c_int {
        return Err("invalid tlog.* configuration".into());
    }
    Ok(())
}

/// The value behind a config's private data.
///
/// # Safety
/// `data` is null or the private data given at registration: a `&'static T`.
unsafe fn value<'a, T>(data: *mut c_void) -> Option<&'a T> {
    // SAFETY: the caller's promise.
    unsafe { data.cast::<T>().as_ref() }
}

unsafe extern "C" fn get_bool(_: *const c_char, data: *mut c_void) -> c_int {
    // SAFETY: registered with a static `AtomicBool` as its data.
    let value = unsafe { value::<AtomicBool>(data) };
    guard(None, "a config read", || c_int::from(value.is_some_and(|v| v.load(Ordering::Relaxed)))).unwrap_or(0)
}

unsafe extern "C" fn set_bool(
    _: *const c_char,
    val: c_int,
    data: *mut c_void,
    _: *mut *mut raw::RedisModuleString,
) -> c_int {
    // SAFETY: registered with a static `AtomicBool` as its data.
    let value = unsafe { value::<AtomicBool>(data) };
    guard(None, "a config write", || match value {
        Some(v) => {
            v.store(val != 0, Ordering::Relaxed);
            raw::REDISMODULE_OK as c_int
        }
        None => raw::REDISMODULE_ERR as c_int,
    })
    .unwrap_or(raw::REDISMODULE_ERR as c_int)
}

unsafe extern "C" fn get_number(_: *const c_char, data: *mut c_void) -> c_longlong {
    // SAFETY: registered with a static `AtomicI64` as its data.
    let value = unsafe { value::<AtomicI64>(data) };
    guard(None, "a config read", || value.map_or(0, |v| v.load(Ordering::Relaxed))).unwrap_or(0)
}

unsafe extern "C" fn set_number(
    _: *const c_char,
    val: c_longlong,
    data: *mut c_void,
    _: *mut *mut raw::RedisModuleString,
) -> c_int {
    // SAFETY: registered with a static `AtomicI64` as its data.
    let value = unsafe { value::<AtomicI64>(data) };
    guard(None, "a config write", || match value {
        Some(v) => {
            v.store(val, Ordering::Relaxed);
            raw::REDISMODULE_OK as c_int
        }
        None => raw::REDISMODULE_ERR as c_int,
    })
    .unwrap_or(raw::REDISMODULE_ERR as c_int)
}

//! Strings of the server (`RedisModuleString`): owned, binary-safe, freed on drop.

use std::ffi::c_char;

use redis_module::raw;

use super::{api, Ctx};
use crate::error::{Error, Result};

/// An owned RedisModuleString, freed on drop. Binary-safe (NUL bytes included).
pub struct RString {
    ctx: Ctx,
    pub(super) ptr: *mut raw::RedisModuleString,
}

impl RString {
    pub(super) fn new(ctx: Ctx, bytes: &[u8]) -> Result<Self> {
        let f = api!(RedisModule_CreateString);
        // SAFETY: pointer and length describe `bytes`; the server copies them.
        let ptr = unsafe { f(ctx.as_ptr(), bytes.as_ptr().cast::<c_char>(), bytes.len()) };
        if ptr.is_null() {
            return Err(Error::Internal("could not allocate a string"));
        }
        Ok(RString { ctx, ptr })
    }

    /// Takes ownership of a string the server handed to us (to be freed by us).
    pub(super) fn adopt(ctx: Ctx, ptr: *mut raw::RedisModuleString) -> Option<Self> {
        (!ptr.is_null()).then_some(RString { ctx, ptr })
    }

    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a live string we own.
        unsafe { str_bytes(self.ptr) }
    }
}

impl Drop for RString {
    fn drop(&mut self) {
        // SAFETY: we own the string and free it once.
        unsafe {
            if let Some(f) = raw::RedisModule_FreeString {
                f(self.ctx.as_ptr(), self.ptr);
            }
        }
    }
}

/// The bytes of a RedisModuleString, borrowed for as long as the string lives.
///
/// # Safety
/// `s` must be a live RedisModuleString that outlives the returned slice.
pub unsafe fn str_bytes<'a>(s: *const raw::RedisModuleString) -> &'a [u8] {
    // SAFETY: the pointer is written once at module load and only read afterwards.
    let Some(f) = (unsafe { raw::RedisModule_StringPtrLen }) else {
        return &[];
    };
    let mut len = 0usize;
    // SAFETY: a live string (the caller's promise).
    let p = unsafe { f(s, &mut len) };
    if p.is_null() {
        &[]
    } else {
        // SAFETY: the server's `len` bytes at `p`, alive as long as the string (the caller's
        // promise covers `'a`).
        unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }
    }
}

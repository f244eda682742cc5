//! Replies to the client, one RESP value per call.

use std::ffi::{c_char, c_int, c_long};

use redis_module::raw;

use super::{CallStrings, Ctx};
use crate::error::Error;

/// Replies to the client. Each call writes one RESP value; a reply API the server lacks makes
/// the value a null rather than a crash.
pub struct Reply(Ctx);

impl Reply {
    pub fn new(ctx: Ctx) -> Self {
        Reply(ctx)
    }

    pub fn int(&self, v: i64) {
        // SAFETY: live context of the running command.
        unsafe {
            if let Some(f) = raw::RedisModule_ReplyWithLongLong {
                f(self.0.as_ptr(), v);
            }
        }
    }

    pub fn bulk(&self, b: &[u8]) {
        // SAFETY: pointer and length describe `b`; the server copies it.
        unsafe {
            if let Some(f) = raw::RedisModule_ReplyWithStringBuffer {
                f(self.0.as_ptr(), b.as_ptr().cast::<c_char>(), b.len());
            }
        }
    }

    /// Forwards a reply of [`Ctx::call_strings`] holding only strings as it is: one copy of
    /// its protocol. It is RESP2, which a RESP3 client reads the same way when it holds no
    /// null. False (nothing replied) for a reply with nulls.
    pub fn forward(&self, r: &CallStrings) -> bool {
        if !r.all_strings() {
            return false;
        }
        // SAFETY: live context and reply.
        unsafe {
            match raw::RedisModule_ReplyWithCallReply {
                Some(f) => f(self.0.as_ptr(), r.reply.ptr) == raw::REDISMODULE_OK as c_int,
                None => false,
            }
        }
    }

    pub fn null(&self) {
        // SAFETY: live context.
        unsafe {
            if let Some(f) = raw::RedisModule_ReplyWithNull {
                f(self.0.as_ptr());
            }
        }
    }

    pub fn array(&self, len: usize) {
        // SAFETY: live context; `len` elements follow.
        unsafe {
            if let Some(f) = raw::RedisModule_ReplyWithArray {
                f(self.0.as_ptr(), len as c_long);
            }
        }
    }

    /// An array whose length is told later with [`Reply::set_array_len`].
    pub fn array_postponed(&self) {
        // SAFETY: live context; the length is set before the command returns.
        unsafe {
            if let Some(f) = raw::RedisModule_ReplyWithArray {
                f(self.0.as_ptr(), raw::REDISMODULE_POSTPONED_LEN as c_long);
            }
        }
    }

    pub fn set_array_len(&self, len: usize) {
        // SAFETY: live context with a postponed array open.
        unsafe {
            if let Some(f) = raw::RedisModule_ReplySetArrayLength {
                f(self.0.as_ptr(), len as c_long);
            }
        }
    }

    /// A map of `pairs` field/value pairs: a RESP3 map, a flat array of 2×pairs in RESP2.
    pub fn map(&self, pairs: usize) {
        // SAFETY: live context; 2×pairs elements follow.
        unsafe {
            if let Some(f) = raw::RedisModule_ReplyWithMap {
                f(self.0.as_ptr(), pairs as c_long);
            }
        }
    }

    pub fn error(&self, e: &Error) {
        // The message must not hold a NUL (C string) nor line breaks (one RESP line).
        let text: String =
            e.to_string().chars().map(|c| if c == '\0' || c == '\r' || c == '\n' { ' ' } else { c }).collect();
        let mut bytes = text.into_bytes();
        bytes.push(0);
        // SAFETY: `bytes` is NUL-terminated and has no other NUL.
        unsafe {
            if let Some(f) = raw::RedisModule_ReplyWithError {
                f(self.0.as_ptr(), bytes.as_ptr().cast::<c_char>());
            }
        }
    }
}

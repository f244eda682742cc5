//! Keys opened through the key API: type, string value, list reads and pushes.

use std::ffi::{c_int, c_long};
use std::ptr;

use redis_module::raw;

use super::{api, Ctx, RString};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Empty,
    String,
    List,
    Stream,
    Other,
}

#[derive(Clone, Copy)]
pub enum Mode {
    Read,
    Write,
}

/// An open key, closed on drop.
pub struct Key {
    ptr: *mut raw::RedisModuleKey,
}

impl Key {
    pub fn open(ctx: Ctx, name: &RString, mode: Mode) -> Result<Self> {
        let f = api!(RedisModule_OpenKey);
        let m = match mode {
            Mode::Read => raw::REDISMODULE_READ,
            Mode::Write => raw::REDISMODULE_READ | raw::REDISMODULE_WRITE,
        };
        // SAFETY: live context and key name.
        let ptr = unsafe { f(ctx.as_ptr(), name.ptr, m as c_int) };
        // OpenKey returns NULL only for a missing key opened read-only: treat as empty.
        let key = Key { ptr };
        if key.kind() == KeyKind::String {
            // The server makes a shared or encoded string value plain on its first read through
            // a key handle, freeing the old value under any other handle open on the key. Read
            // once now, so that every handle ever open on a string key sees the plain value and
            // no read through one can leave another pointing at freed memory.
            let _ = key.string_value();
        }
        Ok(key)
    }

    pub fn kind(&self) -> KeyKind {
        if self.ptr.is_null() {
            return KeyKind::Empty;
        }
        // SAFETY: an open key.
        let t = unsafe {
            match raw::RedisModule_KeyType {
                Some(f) => f(self.ptr),
                None => return KeyKind::Other,
            }
        };
        match t as isize {
            raw::REDISMODULE_KEYTYPE_EMPTY => KeyKind::Empty,
            raw::REDISMODULE_KEYTYPE_STRING => KeyKind::String,
            raw::REDISMODULE_KEYTYPE_LIST => KeyKind::List,
            raw::REDISMODULE_KEYTYPE_STREAM => KeyKind::Stream,
            _ => KeyKind::Other,
        }
    }

    /// The value of a string key, borrowed while the key is open and unmodified (a write
    /// through this handle takes `&mut self`). Safe with other handles open on the same key:
    /// each made the value plain when it was opened (see [`Key::open`]).
    pub fn string_value(&self) -> Result<&[u8]> {
        let f = api!(RedisModule_StringDMA);
        let mut len = 0usize;
        // SAFETY: an open string key.
        let p = unsafe { f(self.ptr, &mut len, raw::REDISMODULE_READ as c_int) };
        if p.is_null() {
            return Err(Error::Internal("string value unavailable"));
        }
        // SAFETY: the server guarantees `len` bytes at `p` until the key is closed or changed;
        // the borrow of `self` keeps both from happening.
        Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
    }

    pub fn set_string(&mut self, value: &RString) -> Result<()> {
        let f = api!(RedisModule_StringSet);
        // SAFETY: a key open for writing; the server copies or retains the value.
        ok(unsafe { f(self.ptr, value.ptr) })
    }

    pub fn len(&self) -> usize {
        if self.ptr.is_null() {
            return 0;
        }
        // SAFETY: an open key.
        unsafe { raw::RedisModule_ValueLength.map_or(0, |f| f(self.ptr)) }
    }

    /// The list element at `index` (0 is the head), if any.
    pub fn list_get(&self, ctx: Ctx, index: usize) -> Option<RString> {
        // ListGet on an empty key opened for writing returns garbage on Redis 7.0.
        if self.kind() != KeyKind::List {
            return None;
        }
        // SAFETY: the pointer is written once at module load and only read afterwards.
        let f = (unsafe { raw::RedisModule_ListGet })?;
        let index = c_long::try_from(index).ok()?;
        // SAFETY: an open list key; the returned string is ours to free.
        RString::adopt(ctx, unsafe { f(self.ptr, index) })
    }

    /// The last (oldest) element of a list, if any.
    pub fn list_tail(&self, ctx: Ctx) -> Option<RString> {
        if self.kind() != KeyKind::List {
            return None;
        }
        // SAFETY: the pointer is written once at module load and only read afterwards.
        let f = (unsafe { raw::RedisModule_ListGet })?;
        // SAFETY: an open list key; the returned string is ours to free.
        RString::adopt(ctx, unsafe { f(self.ptr, -1) })
    }

    /// Removes the last (oldest) element of a list open for writing.
    pub fn pop_tail(&self) -> bool {
        if self.kind() != KeyKind::List {
            return false;
        }
        // SAFETY: the pointer is written once at module load and only read afterwards.
        let Some(f) = (unsafe { raw::RedisModule_ListPop }) else { return false };
        // SAFETY: a list key open for writing; the popped string is ours to free.
        let popped = unsafe { f(self.ptr, raw::REDISMODULE_LIST_TAIL as c_int) };
        if popped.is_null() {
            return false;
        }
        // SAFETY: freed once; a null context is allowed for strings not bound to one.
        unsafe {
            if let Some(free) = raw::RedisModule_FreeString {
                free(ptr::null_mut(), popped);
            }
        }
        true
    }

    pub fn push_head(&self, value: &RString) -> Result<()> {
        let f = api!(RedisModule_ListPush);
        // SAFETY: a key open for writing that is empty or a list.
        ok(unsafe { f(self.ptr, raw::REDISMODULE_LIST_HEAD as c_int, value.ptr) })
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if self.ptr.is_null() {
            return;
        }
        // SAFETY: we opened the key and close it once.
        unsafe {
            if let Some(f) = raw::RedisModule_CloseKey {
                f(self.ptr);
            }
        }
    }
}

fn ok(rc: c_int) -> Result<()> {
    if rc == raw::REDISMODULE_OK as c_int {
        Ok(())
    } else {
        Err(Error::Internal("the server refused a write that passed every check"))
    }
}

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
///
/// The server makes a shared or encoded (int, embstr) string value plain the first time it is
/// read through a key handle: it puts a copy in the database and frees the old value, which
/// leaves any other handle on the key pointing at freed memory, and changes the key's encoding
/// (OBJECT ENCODING), a change to a key that may not be tlog's. So a string value is read only
/// through a handle from [`Key::open_string`], used for the keys whose value tlog reads (the
/// counter and records). A handle from [`Key::open`] never reads a string value, and on a
/// string key it keeps no handle at all (it only tells the kind), so nothing it holds can be
/// freed by a read through another handle.
pub struct Key {
    ptr: *mut raw::RedisModuleKey,
    /// Opened by [`Key::open_string`]: the string value, if any, was made plain then.
    strings: bool,
    /// Opened by [`Key::open`] on a string key, and closed at once.
    closed_string: bool,
}

impl Key {
    fn open_raw(ctx: Ctx, name: &RString, mode: Mode) -> Result<Self> {
        let f = api!(RedisModule_OpenKey);
        let m = match mode {
            Mode::Read => raw::REDISMODULE_READ,
            Mode::Write => raw::REDISMODULE_READ | raw::REDISMODULE_WRITE,
        };
        // SAFETY: live context and key name.
        let ptr = unsafe { f(ctx.as_ptr(), name.ptr, m as c_int) };
        // OpenKey returns NULL only for a missing key opened read-only: treat as empty.
        Ok(Key { ptr, strings: false, closed_string: false })
    }

    /// Opens a key whose string value, if it is a string, is not read: for the lists, streams
    /// and empty keys tlog expects, and to learn that a key is of another kind. A string key
    /// is left untouched: the handle is closed at once and only its kind is kept.
    pub fn open(ctx: Ctx, name: &RString, mode: Mode) -> Result<Self> {
        let mut key = Self::open_raw(ctx, name, mode)?;
        if key.kind() == KeyKind::String {
            drop(std::mem::replace(&mut key, Key { ptr: ptr::null_mut(), strings: false, closed_string: true }));
        }
        Ok(key)
    }

    /// Opens a key whose string value will be read ([`Key::string_value`]) or written: the
    /// counter and records. A shared or encoded string value is made plain now, before any
    /// borrow of it exists: every other handle on the key either holds no string value (see
    /// [`Key::open`]) or was opened here too and so already sees the plain value, which a read
    /// does not replace again. Two such handles on one key may both be read.
    pub fn open_string(ctx: Ctx, name: &RString, mode: Mode) -> Result<Self> {
        let mut key = Self::open_raw(ctx, name, mode)?;
        key.strings = true;
        if key.kind() == KeyKind::String {
            let _ = key.string_value();
        }
        Ok(key)
    }

    pub fn kind(&self) -> KeyKind {
        if self.closed_string {
            return KeyKind::String;
        }
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
    /// through this handle takes `&mut self`). Only for a handle from [`Key::open_string`],
    /// which made the value plain: then a read replaces nothing another handle holds.
    pub fn string_value(&self) -> Result<&[u8]> {
        if !self.strings || self.ptr.is_null() {
            return Err(Error::Internal("string value read through a key not opened for it"));
        }
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
        if self.ptr.is_null() {
            return Err(Error::Internal("write to a key not open for writing"));
        }
        let f = api!(RedisModule_StringSet);
        // SAFETY: a key open for writing; the server copies or retains the value.
        ok(unsafe { f(self.ptr, value.ptr) })
    }

    /// Writes `value` over the string value of a key open for writing (or creates it), in
    /// place, keeping it a plain string: a later read then has nothing to replace, and the
    /// key is not deleted and added again as [`Key::set_string`] does. `Ok(false)`, writing
    /// nothing, where that would not end as `set_string` would (the key has a time to live,
    /// which `set_string` removes, or is of another kind): the caller sets the value instead.
    pub fn overwrite_string(&mut self, value: &[u8]) -> Result<bool> {
        if self.ptr.is_null() || !self.strings || !matches!(self.kind(), KeyKind::Empty | KeyKind::String) {
            return Ok(false);
        }
        let expire = api!(RedisModule_GetExpire);
        let truncate = api!(RedisModule_StringTruncate);
        let dma = api!(RedisModule_StringDMA);
        // SAFETY: a key open for writing, empty or a string.
        if unsafe { expire(self.ptr) } != raw::REDISMODULE_NO_EXPIRE as raw::mstime_t {
            return Ok(false);
        }
        // SAFETY: as above; the server resizes (or creates) the plain string value.
        ok(unsafe { truncate(self.ptr, value.len()) })?;
        let mut len = 0usize;
        // SAFETY: a string key open for writing: `len` writable bytes at the pointer, ours
        // until the key is closed or changed (`&mut self` holds both off).
        let p = unsafe { dma(self.ptr, &mut len, (raw::REDISMODULE_READ | raw::REDISMODULE_WRITE) as c_int) };
        if p.is_null() || len != value.len() {
            return Err(Error::Internal("the server refused a write that passed every check"));
        }
        // SAFETY: `len` bytes at `p` (checked above), not overlapping `value`.
        unsafe { ptr::copy_nonoverlapping(value.as_ptr(), p.cast::<u8>(), len) };
        Ok(true)
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
        if self.ptr.is_null() {
            return Err(Error::Internal("write to a key not open for writing"));
        }
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

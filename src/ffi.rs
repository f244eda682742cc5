//! Thin safe wrappers over the raw module API: strings, keys, the caller's ACL user, replies.
//! Every `unsafe` block of the module lives here or in `registry.rs`, each with its reason.
//! `store.rs` builds the data layout on top of these; commands never touch raw pointers.

use std::ffi::{c_char, c_int, c_long, CStr};
use std::ptr::{self, NonNull};

use redis_module::raw;

use crate::error::{Error, Result};

/// Fetches a module API function pointer, or fails with a coded error if the server lacks it.
/// The pointers are filled once by `RedisModule_Init`, before any command can run.
macro_rules! api {
    ($name:ident) => {
        // SAFETY: the pointer is written once at module load and only read afterwards, on the
        // main thread that runs commands.
        match unsafe { raw::$name } {
            Some(f) => f,
            None => return Err(Error::Unsupported(stringify!($name))),
        }
    };
}

/// The context of the command being run.
#[derive(Clone, Copy)]
pub struct Ctx(NonNull<raw::RedisModuleCtx>);

impl Ctx {
    pub fn new(ctx: *mut raw::RedisModuleCtx) -> Option<Self> {
        NonNull::new(ctx).map(Ctx)
    }

    pub fn as_ptr(self) -> *mut raw::RedisModuleCtx {
        self.0.as_ptr()
    }

    pub fn flags(self) -> Result<u32> {
        let f = api!(RedisModule_GetContextFlags);
        // SAFETY: a live context of the running command.
        Ok(unsafe { f(self.as_ptr()) } as u32)
    }

    pub fn is_resp3(self) -> bool {
        self.flags().is_ok_and(|f| f & raw::REDISMODULE_CTX_FLAGS_RESP3 != 0)
    }

    /// The database the command runs in (SELECT).
    pub fn selected_db(self) -> i32 {
        // SAFETY: live context.
        unsafe { raw::RedisModule_GetSelectedDb.map_or(0, |f| f(self.as_ptr())) }
    }

    pub fn string(self, bytes: &[u8]) -> Result<RString> {
        RString::new(self, bytes)
    }

    /// Replicates `cmd args...` to replicas and the AOF as a plain command. Several calls in one
    /// command are wrapped in MULTI/EXEC by the server.
    pub fn replicate(self, cmd: &CStr, args: &[&RString]) -> Result<()> {
        let f = api!(RedisModule_Replicate);
        let c = self.as_ptr();
        let name = cmd.as_ptr();
        // SAFETY: each "s" takes one RedisModuleString*, and "v" a RedisModuleString** and
        // its length as size_t; the strings outlive the call (the server retains what it
        // keeps). The usual lengths get a format of their own: "v" costs the server a
        // reallocation of its argument array.
        let rc = unsafe {
            match *args {
                [a, b] => f(c, name, c"ss".as_ptr(), a.ptr, b.ptr),
                [a, b, d, e] => f(c, name, c"ssss".as_ptr(), a.ptr, b.ptr, d.ptr, e.ptr),
                _ => {
                    let mut argv: Vec<*mut raw::RedisModuleString> = args.iter().map(|a| a.ptr).collect();
                    f(c, name, c"v".as_ptr(), argv.as_mut_ptr(), argv.len())
                }
            }
        };
        if rc == raw::REDISMODULE_OK as c_int {
            Ok(())
        } else {
            Err(Error::Internal("replication refused the command"))
        }
    }

    /// True where the command may not block the client: inside MULTI, a script, or wherever
    /// the server says so.
    pub fn may_block(self) -> bool {
        self.flags().is_ok_and(|f| {
            f & (raw::REDISMODULE_CTX_FLAGS_DENY_BLOCKING
                | raw::REDISMODULE_CTX_FLAGS_MULTI
                | raw::REDISMODULE_CTX_FLAGS_LUA)
                == 0
        })
    }

    /// Blocks the client until one of `keys` is signalled ready (then `on_ready` runs; it
    /// replies and returns OK, or returns ERR to keep waiting) or `timeout_ms` passes (0: never;
    /// then `on_timeout` replies). `state` is handed back to the callbacks and freed by
    /// `free_state`, also on disconnect.
    ///
    /// # Safety
    /// `state` must point to memory that `free_state` frees, and that `on_ready`,
    /// `on_timeout` and `free_state` read as the same type; it is the server's from here on.
    pub unsafe fn block_on_keys(
        self,
        keys: &[RString],
        timeout_ms: i64,
        on_ready: BlockedFn,
        on_timeout: BlockedFn,
        free_state: FreeFn,
        state: *mut std::ffi::c_void,
    ) -> Result<()> {
        let block = api!(RedisModule_BlockClientOnKeys);
        let mut argv: Vec<*mut raw::RedisModuleString> = keys.iter().map(|k| k.ptr).collect();
        // SAFETY: live context; the key strings are retained by the server for as long as the
        // client is blocked; `state` belongs to the server until `free_state` gets it back.
        let bc = unsafe {
            block(
                self.as_ptr(),
                Some(on_ready),
                Some(on_timeout),
                Some(free_state),
                timeout_ms,
                argv.as_mut_ptr(),
                argv.len() as c_int,
                state,
            )
        };
        if bc.is_null() {
            return Err(Error::Internal("the server could not block the client"));
        }
        Ok(())
    }

    /// The private data given to `block_on_keys`, inside its callbacks.
    pub fn blocked_state(self) -> *mut std::ffi::c_void {
        // SAFETY: live context of a blocked-client callback.
        unsafe { raw::RedisModule_GetBlockedClientPrivateData.map_or(ptr::null_mut(), |f| f(self.as_ptr())) }
    }

    /// PUBLISH `message` on `channel`.
    pub fn publish(self, channel: &RString, message: &RString) {
        // SAFETY: live context and strings.
        unsafe {
            if let Some(f) = raw::RedisModule_PublishMessage {
                f(self.as_ptr(), channel.ptr, message.ptr);
            }
        }
    }

    /// Runs a write command as the server would for a client and replicates it as is ("!"):
    /// for writes the key API lacks (LREM, DEL), after every check has passed.
    pub fn call_replicated(self, cmd: &CStr, args: &[&RString]) -> Result<()> {
        self.call_replicated_int(cmd, args).map(|_| ())
    }

    /// As [`Ctx::call_replicated`], returning the command's integer reply (0 for any other).
    pub fn call_replicated_int(self, cmd: &CStr, args: &[&RString]) -> Result<i64> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let kind = api!(RedisModule_CallReplyType);
        let int = api!(RedisModule_CallReplyInteger);
        let mut argv: Vec<*mut raw::RedisModuleString> = args.iter().map(|a| a.ptr).collect();
        // SAFETY: "!v" takes a RedisModuleString** and its length; the strings outlive the
        // call; the reply is freed once.
        unsafe {
            let reply = call(self.as_ptr(), cmd.as_ptr(), c"!v".as_ptr(), argv.as_mut_ptr(), argv.len());
            if reply.is_null() {
                return Err(Error::Internal("a write the checks allowed was refused"));
            }
            let t = kind(reply) as isize;
            let n = if t == raw::REDISMODULE_REPLY_INTEGER { int(reply) } else { 0 };
            free(reply);
            if t == raw::REDISMODULE_REPLY_ERROR {
                return Err(Error::Internal("a write the checks allowed failed"));
            }
            Ok(n)
        }
    }

    /// Runs a read-only command whose reply is an array of strings and nulls (LRANGE, MGET)
    /// as the server would for a client, with no ACL check of its own (the caller checks every
    /// key first) and nothing replicated: for reads the key API makes costly, such as one
    /// MGET in place of a key opened per record. `None` if the server refuses to run it (in
    /// cluster mode, keys of a slot being migrated) or it fails: the caller reads by keys.
    pub fn call_strings<'s>(self, cmd: &CStr, args: impl IntoIterator<Item = &'s RString>) -> Option<CallStrings> {
        // SAFETY: the pointer is written once at module load and only read afterwards.
        let call = (unsafe { raw::RedisModule_Call })?;
        let mut argv: Vec<*mut raw::RedisModuleString> = args.into_iter().map(|a| a.ptr).collect();
        // SAFETY: "v" takes a RedisModuleString** and its length; the strings outlive the call.
        let ptr = unsafe { call(self.as_ptr(), cmd.as_ptr(), c"v".as_ptr(), argv.as_mut_ptr(), argv.len()) };
        if ptr.is_null() {
            return None;
        }
        CallStrings::new(CallReply { ptr })
    }

    /// `CONFIG SET name value`; the server's error text if it refuses.
    pub fn config_set(self, name: &[u8], value: &[u8]) -> Result<()> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let kind = api!(RedisModule_CallReplyType);
        let text = api!(RedisModule_CallReplyStringPtr);
        // SAFETY: "cbb" takes a C string and two (ptr, len) pairs, alive during the call; the
        // reply is freed once, after its text is copied.
        unsafe {
            let reply = call(
                self.as_ptr(),
                c"CONFIG".as_ptr(),
                c"cbb".as_ptr(),
                c"SET".as_ptr(),
                name.as_ptr().cast::<c_char>(),
                name.len(),
                value.as_ptr().cast::<c_char>(),
                value.len(),
            );
            if reply.is_null() {
                return Err(Error::Internal("CONFIG SET failed"));
            }
            let result = if kind(reply) as isize == raw::REDISMODULE_REPLY_ERROR {
                let mut n = 0usize;
                let p = text(reply, &mut n);
                Err(Error::Message(if p.is_null() {
                    "ERR refused".into()
                } else {
                    String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), n)).into_owned()
                }))
            } else {
                Ok(())
            };
            free(reply);
            result
        }
    }

    /// The text of `CLUSTER NODES`.
    pub fn cluster_nodes(self) -> Result<Vec<u8>> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let text = api!(RedisModule_CallReplyStringPtr);
        // SAFETY: "c" takes one C string; the reply is freed once, after its text is copied.
        unsafe {
            let reply = call(self.as_ptr(), c"CLUSTER".as_ptr(), c"c".as_ptr(), c"NODES".as_ptr());
            if reply.is_null() {
                return Err(Error::Internal("CLUSTER NODES failed"));
            }
            let mut n = 0usize;
            let p = text(reply, &mut n);
            let out = if p.is_null() { None } else { Some(std::slice::from_raw_parts(p.cast::<u8>(), n).to_vec()) };
            free(reply);
            out.ok_or(Error::Internal("unexpected CLUSTER NODES reply"))
        }
    }

    /// Makes `db` the context's database; false if there is no such database.
    pub fn select_db(self, db: i32) -> bool {
        // SAFETY: live context.
        unsafe { raw::RedisModule_SelectDb.is_some_and(|f| f(self.as_ptr(), db) == raw::REDISMODULE_OK as c_int) }
    }

    /// The commands of `names` the server does not know (renamed away, or missing).
    pub fn missing_commands(self, names: &[&CStr]) -> Result<Vec<String>> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let kind = api!(RedisModule_CallReplyType);
        let len = api!(RedisModule_CallReplyLength);
        let elem = api!(RedisModule_CallReplyArrayElement);
        let mut missing = Vec::new();
        for name in names {
            // SAFETY: "cc" takes two C strings; the reply is freed once.
            unsafe {
                let reply = call(self.as_ptr(), c"COMMAND".as_ptr(), c"cc".as_ptr(), c"INFO".as_ptr(), name.as_ptr());
                if reply.is_null() {
                    return Err(Error::Internal("COMMAND INFO failed"));
                }
                let known = kind(reply) as isize == raw::REDISMODULE_REPLY_ARRAY
                    && len(reply) == 1
                    && kind(elem(reply, 0)) as isize == raw::REDISMODULE_REPLY_ARRAY;
                free(reply);
                if !known {
                    missing.push(name.to_string_lossy().into_owned());
                }
            }
        }
        Ok(missing)
    }

    /// Writes a warning to the server log.
    pub fn log_warning(self, msg: &str) {
        log_warning(Some(self), msg);
    }

    /// One SCAN step over the database: `(next cursor, keys)`. Runs the server's own SCAN, so
    /// the work per call is bounded by `count` as for any client.
    pub fn scan(self, cursor: &[u8], pattern: &[u8], count: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>)> {
        let call = api!(RedisModule_Call);
        let free = api!(RedisModule_FreeCallReply);
        let kind = api!(RedisModule_CallReplyType);
        let len = api!(RedisModule_CallReplyLength);
        let elem = api!(RedisModule_CallReplyArrayElement);
        let text = api!(RedisModule_CallReplyStringPtr);
        let malformed = Error::Internal("unexpected SCAN reply");
        // SAFETY: "bcbcb" takes (ptr, len) pairs and C strings, all alive during the call; the
        // reply is freed below, and the slices read from it are copied before that.
        unsafe {
            let reply = call(
                self.as_ptr(),
                c"SCAN".as_ptr(),
                c"bcbcb".as_ptr(),
                cursor.as_ptr().cast::<c_char>(),
                cursor.len(),
                c"MATCH".as_ptr(),
                pattern.as_ptr().cast::<c_char>(),
                pattern.len(),
                c"COUNT".as_ptr(),
                count.as_ptr().cast::<c_char>(),
                count.len(),
            );
            if reply.is_null() {
                return Err(malformed);
            }
            let bytes = |r: *mut raw::RedisModuleCallReply| -> Option<Vec<u8>> {
                let mut n = 0usize;
                let p = text(r, &mut n);
                (!p.is_null()).then(|| std::slice::from_raw_parts(p.cast::<u8>(), n).to_vec())
            };
            let result = (|| {
                if kind(reply) as isize != raw::REDISMODULE_REPLY_ARRAY || len(reply) != 2 {
                    return None;
                }
                let next = bytes(elem(reply, 0))?;
                let keys_reply = elem(reply, 1);
                if kind(keys_reply) as isize != raw::REDISMODULE_REPLY_ARRAY {
                    return None;
                }
                let keys: Option<Vec<Vec<u8>>> = (0..len(keys_reply)).map(|i| bytes(elem(keys_reply, i))).collect();
                Some((next, keys?))
            })();
            free(reply);
            result.ok_or(malformed)
        }
    }

    /// Tells WATCH and client-side caching that `key` changed. The module opts out of the
    /// implicit signal on closing a key opened for writing (see `registry::init_options`).
    pub fn signal_modified(self, key: &RString) {
        // SAFETY: live context and key string.
        unsafe {
            if let Some(f) = raw::RedisModule_SignalModifiedKey {
                f(self.as_ptr(), key.ptr);
            }
        }
    }

    /// Emits a keyspace notification, as the plain command of the same effect would.
    pub fn notify(self, class: c_int, event: &CStr, key: &RString) {
        // SAFETY: live context and key string; the event name is NUL-terminated.
        unsafe {
            if let Some(f) = raw::RedisModule_NotifyKeyspaceEvent {
                f(self.as_ptr(), class, event.as_ptr(), key.ptr);
            }
        }
    }
}

/// Writes a warning to the server log; without a context, as the module's own line.
pub fn log_warning(ctx: Option<Ctx>, msg: &str) {
    let text = std::ffi::CString::new(msg.replace('\0', " ")).unwrap_or_default();
    let ctx = ctx.map_or(ptr::null_mut(), Ctx::as_ptr);
    // SAFETY: a live context or null (allowed: the line is then the module's); "%s" with one
    // NUL-terminated string.
    unsafe {
        if let Some(log) = raw::RedisModule_Log {
            log(ctx, c"warning".as_ptr(), c"%s".as_ptr(), text.as_ptr());
        }
    }
}

/// A blocked-client callback (reply or timeout).
pub type BlockedFn = unsafe extern "C" fn(*mut raw::RedisModuleCtx, *mut *mut raw::RedisModuleString, c_int) -> c_int;
/// Frees the private data of a blocked client.
pub type FreeFn = unsafe extern "C" fn(*mut raw::RedisModuleCtx, *mut std::ffi::c_void);

/// An owned RedisModuleString, freed on drop. Binary-safe (NUL bytes included).
pub struct RString {
    ctx: Ctx,
    ptr: *mut raw::RedisModuleString,
}

impl RString {
    fn new(ctx: Ctx, bytes: &[u8]) -> Result<Self> {
        let f = api!(RedisModule_CreateString);
        // SAFETY: pointer and length describe `bytes`; the server copies them.
        let ptr = unsafe { f(ctx.as_ptr(), bytes.as_ptr().cast::<c_char>(), bytes.len()) };
        if ptr.is_null() {
            return Err(Error::Internal("could not allocate a string"));
        }
        Ok(RString { ctx, ptr })
    }

    /// Takes ownership of a string the server handed to us (to be freed by us).
    fn adopt(ctx: Ctx, ptr: *mut raw::RedisModuleString) -> Option<Self> {
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

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

/// What a command does with a key, for the ACL check.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    ReadWrite,
}

/// The caller's ACL user, for checking keys the command derives from the prefix (the server
/// checks only the keys it knows of, and it knows of none of them).
pub struct Acl {
    /// Null when the caller is unrestricted: replication and persistence replay.
    user: *mut raw::RedisModuleUser,
}

impl Acl {
    /// No user: the server's own work (the background cleaner) answers to no ACL.
    pub fn unrestricted() -> Self {
        Acl { user: ptr::null_mut() }
    }

    /// `flags`: the context flags of the command (`Ctx::flags`).
    pub fn of_caller(ctx: Ctx, flags: u32) -> Result<Self> {
        match Self::caller_name(ctx, flags)? {
            None => Ok(Acl { user: ptr::null_mut() }),
            Some(name) => Self::of_user_name(&name)?.ok_or(Error::Internal("the caller's user no longer exists")),
        }
    }

    /// The user `name`, if it exists.
    pub fn of_user_name(name: &RString) -> Result<Option<Self>> {
        let user_of = api!(RedisModule_GetModuleUserFromUserName);
        // SAFETY: a live user name string.
        let user = unsafe { user_of(name.ptr) };
        Ok((!user.is_null()).then_some(Acl { user }))
    }

    /// The name of the caller's ACL user; `None` for an unrestricted caller (see below).
    pub fn caller_name(ctx: Ctx, flags: u32) -> Result<Option<RString>> {
        // Applying the master's stream or loading the AOF: the writes were authorised where
        // they were first made, and the replication client has no user (asking its name would
        // crash the server).
        if flags & (raw::REDISMODULE_CTX_FLAGS_REPLICATED | raw::REDISMODULE_CTX_FLAGS_LOADING) != 0 {
            return Ok(None);
        }
        // A command another module runs through RedisModule_Call (without the "C" flag) has a
        // client without a user: asking its name would crash the server. Such a client is not
        // in the client table (a script's client is not either, but it has the caller's user
        // and the LUA flag). Redis does not check ACL for such calls; neither do we.
        if flags & raw::REDISMODULE_CTX_FLAGS_LUA == 0 {
            let id_of = api!(RedisModule_GetClientId);
            let info = api!(RedisModule_GetClientInfoById);
            // SAFETY: live context; a null info pointer only asks whether the client exists.
            let known = unsafe { info(ptr::null_mut(), id_of(ctx.as_ptr())) } == raw::REDISMODULE_OK as c_int;
            if !known {
                return Ok(None);
            }
        }
        let name_of = api!(RedisModule_GetCurrentUserName);
        // SAFETY: live context of a client with a user (checked above).
        RString::adopt(ctx, unsafe { name_of(ctx.as_ptr()) }).ok_or(Error::Internal("the caller has no user")).map(Some)
    }

    pub fn check(&self, key: &RString, access: Access) -> Result<()> {
        if self.user.is_null() {
            return Ok(());
        }
        let f = api!(RedisModule_ACLCheckKeyPermissions);
        let flags = match access {
            Access::Read => raw::REDISMODULE_CMD_KEY_ACCESS,
            Access::Write => raw::REDISMODULE_CMD_KEY_INSERT,
            Access::ReadWrite => raw::REDISMODULE_CMD_KEY_ACCESS | raw::REDISMODULE_CMD_KEY_UPDATE,
        };
        // SAFETY: a live user and key name.
        let rc = unsafe { f(self.user, key.ptr, flags as c_int) };
        if rc == raw::REDISMODULE_OK as c_int {
            return Ok(());
        }
        // Name what is missing: for read-and-write, writing unless only reading is refused.
        let write = match access {
            Access::Read => false,
            Access::Write => true,
            Access::ReadWrite => self.check(key, Access::Write).is_err(),
        };
        Err(Error::NoPerm { key: key.as_bytes().to_vec(), write })
    }
}

impl Acl {
    /// Checks that the caller may publish on `channel`: a module's PUBLISH is not checked by
    /// the server, which checks a client's own.
    pub fn check_channel(&self, channel: &RString) -> Result<()> {
        if self.user.is_null() {
            return Ok(());
        }
        let f = api!(RedisModule_ACLCheckChannelPermissions);
        // SAFETY: a live user and channel name; the flags say a literal channel, published to.
        let rc = unsafe { f(self.user, channel.ptr, raw::REDISMODULE_CMD_CHANNEL_PUBLISH as c_int) };
        if rc == raw::REDISMODULE_OK as c_int {
            Ok(())
        } else {
            Err(Error::NoPermChannel(channel.as_bytes().to_vec()))
        }
    }
}

impl Drop for Acl {
    fn drop(&mut self) {
        if self.user.is_null() {
            return;
        }
        // SAFETY: we got the user from GetModuleUserFromUserName and free it once.
        unsafe {
            if let Some(f) = raw::RedisModule_FreeModuleUser {
                f(self.user);
            }
        }
    }
}

/// A reply of a command run through RedisModule_Call, freed on drop.
struct CallReply {
    ptr: *mut raw::RedisModuleCallReply,
}

impl CallReply {
    /// The protocol of the reply as the command wrote it (RESP2). Reading it does not make
    /// the server parse the reply, as every other accessor does.
    fn proto(&self) -> &[u8] {
        // SAFETY: a live reply; the bytes live as long as it does.
        unsafe {
            let Some(f) = raw::RedisModule_CallReplyProto else { return &[] };
            let mut n = 0usize;
            let p = f(self.ptr, &mut n);
            if p.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(p.cast::<u8>(), n)
            }
        }
    }

    /// The elements of an array reply through the server's parser: `None` if the reply is
    /// not an array, else each string's bytes, `None` for a null or anything else.
    fn parsed(&self) -> Option<Vec<Option<&[u8]>>> {
        // SAFETY: a live reply; an element lives as long as its array, and its bytes as long
        // as the element.
        unsafe {
            let kind = raw::RedisModule_CallReplyType?;
            if kind(self.ptr) as isize != raw::REDISMODULE_REPLY_ARRAY {
                return None;
            }
            let (len, elem, text) = (
                raw::RedisModule_CallReplyLength?,
                raw::RedisModule_CallReplyArrayElement?,
                raw::RedisModule_CallReplyStringPtr?,
            );
            Some(
                (0..len(self.ptr))
                    .map(|i| {
                        let e = elem(self.ptr, i);
                        if e.is_null() || kind(e) as isize != raw::REDISMODULE_REPLY_STRING {
                            return None;
                        }
                        let mut n = 0usize;
                        let p = text(e, &mut n);
                        (!p.is_null()).then(|| std::slice::from_raw_parts(p.cast::<u8>(), n))
                    })
                    .collect(),
            )
        }
    }
}

impl Drop for CallReply {
    fn drop(&mut self) {
        // SAFETY: we own the reply and free it once.
        unsafe {
            if let Some(f) = raw::RedisModule_FreeCallReply {
                f(self.ptr);
            }
        }
    }
}

/// An array reply of strings and nulls (LRANGE, MGET), read once: the protocol is read
/// directly when it has that form (see `resp`), else through the server's parser.
pub struct CallStrings {
    reply: CallReply,
    /// Each element's bytes (pointer and length into the reply), `None` for a null.
    items: Vec<Option<(*const u8, usize)>>,
    /// The whole reply is exactly an array of strings, free of nulls.
    all_strings: bool,
}

impl CallStrings {
    /// `None` for a reply that is not an array (an error).
    fn new(reply: CallReply) -> Option<Self> {
        let (items, all_strings) = match crate::resp::bulk_array(reply.proto()) {
            Some(v) => {
                let all = v.iter().all(Option::is_some);
                (v, all)
            }
            None => (reply.parsed()?, false),
        };
        let items = items.into_iter().map(|s| s.map(|b| (b.as_ptr(), b.len()))).collect();
        Some(CallStrings { reply, items, all_strings })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Element `i`: its bytes, or `None` for a null (a missing key of MGET).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let (p, n) = (*self.items.get(i)?)?;
        // SAFETY: the bytes belong to `self.reply`, alive and unchanged while `self` is.
        Some(unsafe { std::slice::from_raw_parts(p, n) })
    }

    /// The reply holds only strings: it can be forwarded to a client as it is.
    pub fn all_strings(&self) -> bool {
        self.all_strings
    }
}

/// Replies to the client. Each call writes one RESP value; a reply API the server lacks makes
/// the value a null rather than a crash.
pub struct Reply(Ctx);

impl Reply {
    pub fn new(ctx: Ctx) -> Self {
        Reply(ctx)
    }

    pub fn resp3(&self) -> bool {
        self.0.is_resp3()
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

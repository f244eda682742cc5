//! The context a command, callback or timer runs in: its flags, database, replication of
//! effects, keyspace signals, PUBLISH and the server log.

use std::ffi::{c_int, CStr};
use std::ptr::{self, NonNull};

use redis_module::raw;

use super::{api, RString};
use crate::error::{Error, Result};

/// The context of the command being run.
#[derive(Clone, Copy)]
pub struct Ctx(NonNull<raw::RedisModuleCtx>);

/// The context flags of a command or callback (`RedisModule_GetContextFlags`).
#[derive(Clone, Copy, Default)]
pub struct Flags(pub(super) u32);

impl Flags {
    /// The server runs in cluster mode.
    pub fn cluster(self) -> bool {
        self.0 & raw::REDISMODULE_CTX_FLAGS_CLUSTER != 0
    }

    /// The server is a replica, or loading its data: it takes no writes of its own.
    pub fn standby(self) -> bool {
        self.0 & (raw::REDISMODULE_CTX_FLAGS_SLAVE | raw::REDISMODULE_CTX_FLAGS_LOADING) != 0
    }
}

/// The class of a keyspace notification.
#[derive(Clone, Copy)]
pub enum Notify {
    String,
    List,
}

impl Ctx {
    /// The context the server passed to a callback; `None` for null.
    ///
    /// # Safety
    /// `ctx` is null or a context the server handed to the running callback, and the `Ctx`
    /// (and every copy) is used only until that callback returns: every method passes the
    /// pointer to the server as live.
    pub(crate) unsafe fn new(ctx: *mut raw::RedisModuleCtx) -> Option<Self> {
        NonNull::new(ctx).map(Ctx)
    }

    pub(crate) fn as_ptr(self) -> *mut raw::RedisModuleCtx {
        self.0.as_ptr()
    }

    pub fn flags(self) -> Result<Flags> {
        let f = api!(RedisModule_GetContextFlags);
        // SAFETY: a live context of the running command.
        Ok(Flags(unsafe { f(self.as_ptr()) } as u32))
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
            f.0 & (raw::REDISMODULE_CTX_FLAGS_DENY_BLOCKING
                | raw::REDISMODULE_CTX_FLAGS_MULTI
                | raw::REDISMODULE_CTX_FLAGS_LUA)
                == 0
        })
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

    /// Makes `db` the context's database; false if there is no such database.
    pub fn select_db(self, db: i32) -> bool {
        // SAFETY: live context.
        unsafe { raw::RedisModule_SelectDb.is_some_and(|f| f(self.as_ptr(), db) == raw::REDISMODULE_OK as c_int) }
    }

    /// Writes a warning to the server log.
    pub fn log_warning(self, msg: &str) {
        log_warning(Some(self), msg);
    }

    /// Tells WATCH and client-side caching that `key` changed. The module opts out of the
    /// implicit signal on closing a key opened for writing (see `command::set_module_options`).
    pub fn signal_modified(self, key: &RString) {
        // SAFETY: live context and key string.
        unsafe {
            if let Some(f) = raw::RedisModule_SignalModifiedKey {
                f(self.as_ptr(), key.ptr);
            }
        }
    }

    /// Emits a keyspace notification, as the plain command of the same effect would.
    pub fn notify(self, class: Notify, event: &CStr, key: &RString) {
        let class = match class {
            Notify::String => raw::REDISMODULE_NOTIFY_STRING,
            Notify::List => raw::REDISMODULE_NOTIFY_LIST,
        };
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

//! The caller's ACL user: key and channel permissions of what a command derives from a prefix.

use std::ffi::c_int;
use std::ptr;

use redis_module::raw;

use super::{api, Ctx, Flags, RString};
use crate::error::{Error, Result};

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
    pub fn of_caller(ctx: Ctx, flags: Flags) -> Result<Self> {
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
    pub fn caller_name(ctx: Ctx, flags: Flags) -> Result<Option<RString>> {
        // Applying the master's stream or loading the AOF: the writes were authorised where
        // they were first made, and the replication client has no user (asking its name would
        // crash the server).
        if flags.0 & (raw::REDISMODULE_CTX_FLAGS_REPLICATED | raw::REDISMODULE_CTX_FLAGS_LOADING) != 0 {
            return Ok(None);
        }
        // A command another module runs through RedisModule_Call (without the "C" flag) has a
        // client without a user: asking its name would crash the server. Such a client is not
        // in the client table (a script's client is not either, but it has the caller's user
        // and the LUA flag). Redis does not check ACL for such calls; neither do we.
        if flags.0 & raw::REDISMODULE_CTX_FLAGS_LUA == 0 {
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

//! The seam between tlog and the server's module API: safe, typed wrappers over
//! `redis_module::raw`, one file per API area. Every `unsafe` block of the module lives under
//! this folder (and in `lib.rs`'s `RedisModule_OnLoad`), each with a `// SAFETY:` line; the
//! server's callbacks (commands, blocked clients, timers, INFO, configs, events) are wrapped
//! here as generic trampolines, so no other module handles a raw pointer or names
//! `redis_module`.
//!
//! It knows nothing of tlog's data layout: `store` builds that on top of these wrappers.

mod acl;
mod blocked;
mod call;
pub mod command;
pub mod configs;
mod ctx;
pub mod events;
mod info;
mod key;
mod reply;
mod string;
mod timer;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use redis_module::raw;

pub use acl::{Access, Acl};
pub use blocked::{BlockedClient, OnKeys, Unblocked};
pub use call::CallStrings;
pub use ctx::{log_warning, Ctx, Flags, Notify};
pub use info::{register_info, InfoFields};
pub use key::{Key, KeyKind, Mode};
pub use reply::Reply;
pub use string::RString;
pub use timer::{create_timer, thread_cpu_us};

pub(crate) use string::str_bytes;

/// Fetches a module API function pointer, or fails with a coded error if the server lacks it.
/// The pointers are filled once by `RedisModule_Init`, before any command can run.
macro_rules! api {
    ($name:ident) => {
        // SAFETY: the pointer is written once at module load and only read afterwards, on the
        // main thread that runs commands.
        match unsafe { redis_module::raw::$name } {
            Some(f) => f,
            None => return Err($crate::error::Error::Unsupported(stringify!($name))),
        }
    };
}
use api;

/// Runs `f`, catching a panic (a bug): its message goes to the server log, as `what`'s, and
/// `None` comes back. A panic must never unwind into the server, which would abort.
pub fn guard<T>(ctx: Option<Ctx>, what: &str, f: impl FnOnce() -> T) -> Option<T> {
    guard_named(ctx, || what.to_string(), f)
}

/// As [`guard`], with `what` made only if there is a panic to log (not on every call).
pub fn guard_named<T>(ctx: Option<Ctx>, what: impl FnOnce() -> String, f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| log_panic(ctx, &what(), payload.as_ref())).ok()
}

fn log_panic(ctx: Option<Ctx>, what: &str, payload: &(dyn Any + Send)) {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    log_warning(ctx, &format!("tlog: bug: a panic in {what}: {msg}"));
}

/// The server APIs the module needs. Missing any (Redis 6.x) refuses the load with a log line.
pub fn missing_apis() -> Vec<&'static str> {
    macro_rules! check {
        ($($name:ident),* $(,)?) => {{
            let mut missing = Vec::new();
            // SAFETY: reading function pointers set once at load, on the main thread.
            $( if unsafe { raw::$name }.is_none() { missing.push(stringify!($name)); } )*
            missing
        }};
    }
    check!(
        RedisModule_CreateCommand,
        RedisModule_GetCommand,
        RedisModule_SetCommandInfo,
        RedisModule_OpenKey,
        RedisModule_CloseKey,
        RedisModule_KeyType,
        RedisModule_StringDMA,
        RedisModule_StringSet,
        RedisModule_ListPush,
        RedisModule_ListGet,
        RedisModule_ValueLength,
        RedisModule_Replicate,
        RedisModule_NotifyKeyspaceEvent,
        RedisModule_GetContextFlags,
        RedisModule_GetCurrentUserName,
        RedisModule_GetModuleUserFromUserName,
        RedisModule_ACLCheckKeyPermissions,
        RedisModule_FreeModuleUser,
        RedisModule_CreateString,
        RedisModule_FreeString,
        RedisModule_StringPtrLen,
        RedisModule_ReplyWithMap,
        RedisModule_ReplyWithArray,
        RedisModule_ReplySetArrayLength,
        RedisModule_ReplyWithLongLong,
        RedisModule_ReplyWithStringBuffer,
        RedisModule_ReplyWithNull,
        RedisModule_ReplyWithError,
        RedisModule_SetModuleOptions,
        RedisModule_SignalModifiedKey,
        RedisModule_BlockClientOnKeys,
        RedisModule_GetBlockedClientPrivateData,
        RedisModule_SignalKeyAsReady,
        RedisModule_PublishMessage,
        RedisModule_RegisterBoolConfig,
        RedisModule_LoadConfigs,
        RedisModule_Call,
        RedisModule_CallReplyType,
        RedisModule_CallReplyLength,
        RedisModule_CallReplyArrayElement,
        RedisModule_CallReplyStringPtr,
        RedisModule_FreeCallReply,
        RedisModule_GetClientId,
        RedisModule_GetClientInfoById,
        RedisModule_SubscribeToServerEvent,
        RedisModule_CallReplyInteger,
        RedisModule_RegisterNumericConfig,
        RedisModule_CreateTimer,
        RedisModule_BlockClient,
        RedisModule_UnblockClient,
        RedisModule_RegisterInfoFunc,
        RedisModule_InfoAddSection,
        RedisModule_InfoAddFieldULongLong,
        RedisModule_SelectDb,
        RedisModule_ListPop,
        RedisModule_GetSelectedDb,
        RedisModule_ReplyWithCallReply,
        RedisModule_SubscribeToKeyspaceEvents,
        RedisModule_ACLCheckChannelPermissions,
    )
}

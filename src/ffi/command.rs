//! Commands: what the server knows of one (a [`Spec`]), its registration (`CreateCommand`,
//! then docs, arity and key specs through `SetCommandInfo`: the `#[command]` macro needs Redis
//! 7.2), and the one trampoline every command enters through.

use std::ffi::{c_char, c_int, CString};
use std::ptr;

use redis_module::raw;

use super::{guard_named, str_bytes, Ctx, Reply};
use crate::error::{Error, Result};

/// How an argument is documented (`COMMAND DOCS`, the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Key,
    String,
    /// A keyword alone (`JSON`).
    Token,
    /// A keyword followed by subarguments (`MESSAGE message`).
    Block,
    /// One of the subarguments (`ASC | DESC`).
    OneOf,
    Integer,
}

#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    pub token: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
    pub subargs: &'static [Arg],
}

impl Arg {
    pub const fn new(name: &'static str, kind: ArgKind) -> Self {
        Arg { name, kind, token: None, optional: false, multiple: false, subargs: &[] }
    }
    pub const fn token(mut self, token: &'static str) -> Self {
        self.token = Some(token);
        self
    }
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    pub const fn multiple(mut self) -> Self {
        self.multiple = true;
        self
    }
    pub const fn subargs(mut self, subargs: &'static [Arg]) -> Self {
        self.subargs = subargs;
        self
    }
}

/// Everything the server and the docs know of a command, in one place: registration,
/// `COMMAND DOCS`, the docs test and dispatch all read it.
pub struct Spec {
    /// As registered (lower case); the docs show it upper case.
    pub name: &'static str,
    pub flags: &'static str,
    /// Redis arity: N exact, -N at least N (the command name counts).
    pub arity: i32,
    /// The prefix argument writes (true) or only reads.
    pub writes: bool,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub since: &'static str,
    pub args: &'static [Arg],
    /// What runs the command: `command_entry!(run)`.
    pub entry: Entry,
}

/// A command handler: `args` are the arguments after the command name.
pub trait Run: 'static {
    fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()>;
}

/// A command's C entry point: the trampoline of a [`Run`].
#[derive(Clone, Copy)]
pub struct Entry(raw::RedisModuleCmdFunc);

impl Entry {
    pub const fn of<R: Run>() -> Self {
        Entry(Some(entry::<R>))
    }
}

/// The [`Entry`] of a handler `fn(Ctx, &[&[u8]]) -> Result<()>`, for a [`Spec`].
#[macro_export]
macro_rules! command_entry {
    ($handler:path) => {{
        struct Handler;
        impl $crate::ffi::command::Run for Handler {
            fn run(ctx: $crate::ffi::Ctx, args: &[&[u8]]) -> $crate::error::Result<()> {
                $handler(ctx, args)
            }
        }
        $crate::ffi::command::Entry::of::<Handler>()
    }};
}

/// Every command enters here: borrow argv, run the handler, reply with its error if any. A
/// panic (a bug) becomes an error reply instead of aborting the server, and its message goes
/// to the server log.
unsafe extern "C" fn entry<R: Run>(
    ctx: *mut raw::RedisModuleCtx,
    argv: *mut *mut raw::RedisModuleString,
    argc: c_int,
) -> c_int {
    // SAFETY: the context of this command call, used only during it.
    let Some(ctx) = (unsafe { Ctx::new(ctx) }) else {
        return raw::REDISMODULE_ERR as c_int;
    };
    let argc = usize::try_from(argc).unwrap_or(0);
    let argv: &[*mut raw::RedisModuleString] = if argv.is_null() {
        &[]
    } else {
        // SAFETY: the server passes `argc` live strings that outlive this call.
        unsafe { std::slice::from_raw_parts(argv, argc) }
    };
    let bytes = |s: &*mut raw::RedisModuleString| {
        // SAFETY: each argument lives until the command returns.
        unsafe { str_bytes(*s) }
    };
    // Most commands have few arguments: keep them on the stack.
    let mut inline: [&[u8]; 16] = [&[]; 16];
    let heap: Vec<&[u8]>;
    let args: &[&[u8]] = if argv.len() <= inline.len() + 1 {
        let n = argv.len().saturating_sub(1);
        for (slot, s) in inline.iter_mut().zip(argv.iter().skip(1)) {
            *slot = bytes(s);
        }
        &inline[..n]
    } else {
        heap = argv.iter().skip(1).map(bytes).collect();
        &heap
    };
    let reply = Reply::new(ctx);
    let name = || argv.first().map_or_else(|| "a command".into(), |s| String::from_utf8_lossy(bytes(s)).into_owned());
    match guard_named(Some(ctx), name, || R::run(ctx, args)) {
        Some(Ok(())) => {}
        Some(Err(e)) => reply.error(&e),
        None => reply.error(&Error::Internal("unexpected failure, nothing more was done")),
    }
    raw::REDISMODULE_OK as c_int
}

/// Keys are opened for writing before every check has passed (one lookup per key instead of
/// two); with this option, closing such a key no longer tells WATCH it changed. Writers call
/// `Ctx::signal_modified` for what they did change.
pub fn set_module_options(ctx: Ctx) {
    // SAFETY: live load context; checked present by `missing_apis`.
    unsafe {
        if let Some(f) = raw::RedisModule_SetModuleOptions {
            f(ctx.as_ptr(), raw::REDISMODULE_OPTION_NO_IMPLICIT_SIGNAL_MODIFIED as c_int);
        }
    }
}

/// Registers one command with its info. Returns a reason on failure.
pub fn register(ctx: Ctx, spec: &Spec) -> std::result::Result<(), String> {
    // SAFETY: the pointers are written once at module load and only read afterwards.
    let (create, get, set_info) = unsafe {
        (
            raw::RedisModule_CreateCommand.ok_or("no CreateCommand")?,
            raw::RedisModule_GetCommand.ok_or("no GetCommand")?,
            raw::RedisModule_SetCommandInfo.ok_or("no SetCommandInfo")?,
        )
    };
    let name = cstr(spec.name);
    let flags = cstr(spec.flags);
    // SAFETY: live load context; name and flags are NUL-terminated and copied by the server.
    // The prefix (argument 1) is declared as the key, for cluster routing.
    let rc = unsafe { create(ctx.as_ptr(), name.as_ptr(), spec.entry.0, flags.as_ptr(), 1, 1, 1) };
    if rc != raw::REDISMODULE_OK as c_int {
        return Err(format!("could not create command {}", spec.name));
    }
    // SAFETY: the command was just created under this name.
    let cmd = unsafe { get(ctx.as_ptr(), name.as_ptr()) };
    if cmd.is_null() {
        return Err(format!("could not find command {}", spec.name));
    }
    let info = info(spec);
    // SAFETY: `info` and everything it points to are leaked, so they outlive the server's use.
    if unsafe { set_info(cmd, info) } != raw::REDISMODULE_OK as c_int {
        return Err(format!("the server refused the info of {}", spec.name));
    }
    Ok(())
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

fn leak(s: &str) -> *const c_char {
    cstr(s).into_raw()
}

fn leak_slice<T>(v: Vec<T>) -> *mut T {
    Box::leak(v.into_boxed_slice()).as_mut_ptr()
}

fn info(spec: &Spec) -> &'static raw::RedisModuleCommandInfo {
    let version = Box::leak(Box::new(raw::RedisModuleCommandInfoVersion {
        version: 1,
        sizeof_historyentry: std::mem::size_of::<raw::RedisModuleCommandHistoryEntry>(),
        sizeof_keyspec: std::mem::size_of::<raw::RedisModuleCommandKeySpec>(),
        sizeof_arg: std::mem::size_of::<raw::RedisModuleCommandArg>(),
    }));
    // The prefix is not itself a key: it names a family of keys that the command checks
    // against the caller's ACL one by one. NOT_KEY keeps cluster routing (MOVED) on the
    // prefix while sparing it the ACL check of a key that is never touched.
    let access = if spec.writes {
        raw::REDISMODULE_CMD_KEY_RW | raw::REDISMODULE_CMD_KEY_ACCESS | raw::REDISMODULE_CMD_KEY_INSERT
    } else {
        raw::REDISMODULE_CMD_KEY_RO | raw::REDISMODULE_CMD_KEY_ACCESS
    };
    // SAFETY (zeroed): the key-spec, arg and info structs are plain C data whose all-zero value
    // is the documented "unset"/terminator value.
    // SAFETY: see above.
    let mut prefix_spec: raw::RedisModuleCommandKeySpec = unsafe { std::mem::zeroed() };
    prefix_spec.notes = leak("The prefix: every key the command touches starts with it.");
    prefix_spec.flags = u64::from(access | raw::REDISMODULE_CMD_KEY_NOT_KEY);
    prefix_spec.begin_search_type = raw::RedisModuleKeySpecBeginSearchType_REDISMODULE_KSPEC_BS_INDEX;
    prefix_spec.bs.index.pos = 1;
    prefix_spec.find_keys_type = raw::RedisModuleKeySpecFindKeysType_REDISMODULE_KSPEC_FK_RANGE;
    prefix_spec.fk.range.lastkey = 0;
    prefix_spec.fk.range.keystep = 1;
    prefix_spec.fk.range.limit = 0;
    // SAFETY: as above, the zeroed entry terminates the array.
    let key_specs = leak_slice(vec![prefix_spec, unsafe { std::mem::zeroed() }]);

    // SAFETY: as above.
    let mut info: raw::RedisModuleCommandInfo = unsafe { std::mem::zeroed() };
    info.version = version;
    info.summary = leak(spec.summary);
    info.complexity = leak(spec.complexity);
    info.since = leak(spec.since);
    info.history = ptr::null_mut();
    info.tips = ptr::null();
    info.arity = spec.arity;
    info.key_specs = key_specs;
    info.args = args(spec.args);
    Box::leak(Box::new(info))
}

fn args(list: &[Arg]) -> *mut raw::RedisModuleCommandArg {
    let mut out: Vec<raw::RedisModuleCommandArg> = list
        .iter()
        .map(|a| {
            // SAFETY: all-zero is the unset value of every field.
            let mut c: raw::RedisModuleCommandArg = unsafe { std::mem::zeroed() };
            c.name = leak(a.name);
            c.type_ = match a.kind {
                ArgKind::Key => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_KEY,
                ArgKind::String => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_STRING,
                ArgKind::Token => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_PURE_TOKEN,
                ArgKind::Block => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_BLOCK,
                ArgKind::OneOf => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_ONEOF,
                ArgKind::Integer => raw::RedisModuleCommandArgType_REDISMODULE_ARG_TYPE_INTEGER,
            };
            c.key_spec_index = if a.kind == ArgKind::Key { 0 } else { -1 };
            c.token = a.token.map_or(ptr::null(), leak);
            let mut flags = 0;
            if a.optional {
                flags |= raw::REDISMODULE_CMD_ARG_OPTIONAL;
            }
            if a.multiple {
                flags |= raw::REDISMODULE_CMD_ARG_MULTIPLE;
            }
            c.flags = flags as c_int;
            c.subargs = if a.subargs.is_empty() { ptr::null_mut() } else { args(a.subargs) };
            c
        })
        .collect();
    // SAFETY: the zeroed entry terminates the array.
    out.push(unsafe { std::mem::zeroed() });
    leak_slice(out)
}

//! tlog: a Redis module that turns Redis into a tagged log store.
//!
//! Records live in plain Redis keys under a prefix (see `keys.rs`), so any client can read
//! what tlog writes and tlog reads what other clients write in the same layout.

use redis_module::{redis_module, Context, RedisString, Status};

pub mod commands;
pub mod error;
pub mod ffi;
pub mod keys;
pub mod query;
pub mod record;
pub mod registry;
pub mod store;

use commands::{add, count, get, latest, log, Spec};
use registry::EntryPoint;

/// The commands and their entry points; docs, flags and arity are in each command's `SPEC`.
fn command_table() -> [(&'static Spec, EntryPoint); 5] {
    [
        (&log::SPEC, entry_point!(log::run)),
        (&add::SPEC, entry_point!(add::run)),
        (&get::SPEC, entry_point!(get::run)),
        (&latest::SPEC, entry_point!(latest::run)),
        (&count::SPEC, entry_point!(count::run)),
    ]
}

/// `MODULE LIST` version: major * 10000 + minor * 100 + patch, from Cargo.toml.
const VERSION: i32 = {
    const fn num(s: &str) -> i32 {
        let b = s.as_bytes();
        let mut i = 0;
        let mut n = 0;
        while i < b.len() {
            n = n * 10 + (b[i] - b'0') as i32;
            i += 1;
        }
        n
    }
    num(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + num(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + num(env!("CARGO_PKG_VERSION_PATCH"))
};

fn init(ctx: &Context, _args: &[RedisString]) -> Status {
    let missing = registry::missing_apis();
    if !missing.is_empty() {
        ctx.log_warning(&format!(
            "tlog needs Redis 7.0 or later (or Valkey 7.2+); this server lacks {}. Not loading.",
            missing.join(", ")
        ));
        return Status::Err;
    }
    let Some(raw_ctx) = ffi::Ctx::new(ctx.ctx) else {
        return Status::Err;
    };
    registry::init_options(raw_ctx);
    for (spec, entry) in command_table() {
        if let Err(why) = registry::register(raw_ctx, spec, entry) {
            ctx.log_warning(&format!("tlog: {why}. Not loading."));
            return Status::Err;
        }
    }
    Status::Ok
}

/// Memory comes from the server's allocator (so `INFO memory` counts it), except under plain
/// `cargo test`, where there is no server to allocate from.
#[cfg(not(test))]
macro_rules! allocator {
    () => {
        redis_module::alloc::RedisAlloc
    };
}
#[cfg(test)]
macro_rules! allocator {
    () => {
        std::alloc::System
    };
}

redis_module! {
    name: "tlog",
    version: VERSION,
    allocator: (allocator!(), allocator!()),
    data_types: [],
    init: init,
}

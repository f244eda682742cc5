//! `TLOG.PURGE prefix`: removes every key of a prefix, without pausing the server.

use super::{Arg, ArgKind, Spec};
use crate::cleaner;
use crate::error::{Error, Result};
use crate::ffi::Ctx;
use crate::store;

pub static SPEC: Spec = Spec {
    name: "tlog.purge",
    flags: "write",
    arity: 2,
    writes: true,
    summary: "Removes every key of a prefix (counter, records, flows, archive) in slices between other clients' commands; returns how many keys were removed.",
    complexity: "O(N) for N keys in the database, spread over slices of at most 1 ms; the caller waits for the count (inside MULTI or a script it runs at once).",
    since: "0.1.0",
    args: &[Arg::new("prefix", ArgKind::Key)],
    entry: crate::command_entry!(run),
};

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let [prefix] = args else {
        return Err(Error::Syntax);
    };
    store::check_purge(ctx, prefix)?;
    cleaner::purge(ctx, prefix)
}

//! `TLOG.COUNT prefix [tag [bounds]]`: how many ids a flow holds, within id and time bounds.

use super::{parse_read, Spec};
use crate::error::Result;
use crate::ffi::{Ctx, Reply};
use crate::query::Allowed;

pub static SPEC: Spec = Spec {
    name: "tlog.count",
    flags: "readonly",
    arity: -2,
    writes: false,
    summary: "Returns the number of ids in a tag's flow (by default of every record), optionally within id and time bounds.",
    complexity: "O(1) without bounds, O(log N) with them, where N is the number of records in the flow; with AND, OR or NOT, O(M log N) where M is the size of the smallest flow a record must be in.",
    since: "0.1.0",
    args: super::COUNT_ARGS,
    handler: run,
};

const OPTIONS: Allowed = Allowed::COUNT;

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse_read(args, OPTIONS)?;
    let n = super::count(ctx, &req)?;
    Reply::new(ctx).int(i64::try_from(n).unwrap_or(i64::MAX));
    Ok(())
}

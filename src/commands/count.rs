//! `TLOG.COUNT prefix [tag [bounds]]`: how many ids a flow holds, within id and time bounds.

use super::{parse_read, Spec};
use crate::error::{Error, Result, Resume};
use crate::ffi::{Ctx, Reply};
use crate::query::{Allowed, End};

pub static SPEC: Spec = Spec {
    name: "tlog.count",
    flags: "readonly",
    arity: -2,
    writes: false,
    summary: "Returns the number of ids in a tag's flow (by default of every record), optionally within id and time bounds.",
    complexity: "O(1) without bounds, O(log N + W) with them, where N is the number of records in the flow and W the read window (tlog.read-window), plus up to the scan limit of entries where a bound falls in a run of records gone; with AND, OR or NOT, O(M log N) where M is the number of ids scanned in the smallest flow a record must be in, at most the scan limit (tlog.read-scan-limit or SCANLIMIT).",
    since: "0.1.0",
    args: super::COUNT_ARGS,
    entry: crate::command_entry!(run),
};

const OPTIONS: Allowed = Allowed::COUNT;

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse_read(args, OPTIONS)?;
    let q = &req.query;
    let work = super::work_for(q);
    let (n, outcome) = super::count(ctx, &req, &work)?;
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    // A partial count is never given as the count.
    if !q.with_cursor && outcome.end == End::Cut {
        let resume = Resume::Count { before: outcome.last.unwrap_or(0), counted: n.unsigned_abs() };
        return Err(Error::ScanLimit { passed: work.passed(), resume });
    }
    let reply = Reply::new(ctx);
    if q.with_cursor {
        super::reply_cursor(&reply, &outcome);
    }
    reply.int(n);
    Ok(())
}

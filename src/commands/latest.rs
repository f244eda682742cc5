//! `TLOG.LATEST prefix [tag [options]]`: the newest record of a flow within bounds, or nil.

use super::{parse_read, reply_record, Spec};
use crate::error::Result;
use crate::ffi::{Ctx, Reply};
use crate::query::{Allowed, End, Outcome};

pub static SPEC: Spec = Spec {
    name: "tlog.latest",
    flags: "readonly",
    arity: -2,
    writes: false,
    summary: "Returns the newest record of a tag's flow (by default of every record), optionally bounded by id and time, or nil.",
    complexity: "O(W) without bounds, O(log N + W) with them, where N is the number of records in the flow and W the read window (tlog.read-window); plus one step per id skipped (record gone, or not matching AND, OR or NOT), up to the scan limit (tlog.read-scan-limit or SCANLIMIT). With WHERE or MATCH, each candidate record is read and checked: those that fail are passed over, up to the scan limit. Checking one record costs O(S + P) for WHERE (S the record's size, P the field/value pairs) and, for MATCH, up to S x L glob steps (L the pattern's length, at most 1,024 bytes); a call with a scan limit spends at most 1,000,000 glob steps in all, and stops early with a continuation where they run out.",
    since: "0.1.0",
    args: super::LATEST_ARGS,
    entry: crate::command_entry!(run),
};

const OPTIONS: Allowed = Allowed::LATEST;

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let mut req = parse_read(args, OPTIONS)?;
    req.query.limit = Some(1);
    let q = &req.query;
    let work = super::work_for(q);
    let (flow, ids, outcome) = super::select(ctx, &req, &work)?;
    // Stopped at the scan limit with nothing found: nil would say there is no such record.
    if !q.with_cursor && outcome.end == End::Cut && ids.is_empty() {
        return Err(super::scan_limit_error(&work, q, &outcome));
    }
    let reply = Reply::new(ctx);
    if q.with_cursor {
        // A record found is the answer: nothing to continue.
        let outcome = if ids.is_empty() { outcome } else { Outcome::DONE };
        super::reply_cursor(&reply, &outcome);
    }
    // Selecting checks the record's ACL before anything is replied.
    if let Some(&id) = ids.first() {
        if flow.with_record_id(id, |stored| reply_record(&reply, id, stored, q.raw))?.is_some() {
            return Ok(());
        }
    }
    reply.null();
    Ok(())
}

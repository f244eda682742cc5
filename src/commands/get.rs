//! `TLOG.GET prefix [tag [options]]`: the records of a flow, newest first (or oldest first),
//! bounded by count, id cursors and time.

use super::{parse_read, Spec};
use crate::error::Result;
use crate::ffi::{Ctx, Reply};
use crate::query::{Allowed, End};

pub static SPEC: Spec = Spec {
    name: "tlog.get",
    flags: "readonly",
    arity: -2,
    writes: false,
    summary: "Returns the records of a tag's flow (by default every record), newest first, optionally bounded by count, id and time.",
    complexity: "O(log N + W + M) where N is the number of records in the flow, W the read window (tlog.read-window) and M the number of ids scanned for the reply; the ids passed over without being returned stop at the scan limit (tlog.read-scan-limit or SCANLIMIT). With AND, OR or NOT, the ids scanned are those of the smallest flow a record must be in, each probing every other flow in O(log N). With WHERE or MATCH, each candidate record is read (by MGET, in batches) and checked: those that fail are passed over, up to the scan limit. Checking one record costs O(S + P) for WHERE (S the record's size, P the field/value pairs) and, for MATCH, up to S x L glob steps (L the pattern's length, at most 1,024 bytes); a call with a scan limit spends at most 1,000,000 glob steps in all, and stops early with a continuation where they run out.",
    since: "0.1.0",
    args: super::GET_ARGS,
    entry: crate::command_entry!(run),
};

const OPTIONS: Allowed = Allowed::GET;

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse_read(args, OPTIONS)?;
    let q = &req.query;
    let work = super::work_for(q);
    let reply = Reply::new(ctx);
    if let Some((page, outcome)) = super::select_page(ctx, &req, &work)? {
        // Stopped at the scan limit with nothing found: an empty page would read as the end.
        if !q.with_cursor && outcome.end == End::Cut && page.iter().all(|b| b.is_empty()) {
            return Err(super::scan_limit_error(&work, q, &outcome));
        }
        if q.with_cursor {
            super::reply_cursor(&reply, &outcome);
        }
        super::reply_page(&reply, page, q.raw);
        return Ok(());
    }
    // Every record key is ACL-checked while selecting, before the first byte of the reply:
    // an error cannot follow a partial reply.
    let (flow, ids, outcome) = super::select(ctx, &req, &work)?;
    if !q.with_cursor && outcome.end == End::Cut && ids.is_empty() {
        return Err(super::scan_limit_error(&work, q, &outcome));
    }
    if q.with_cursor {
        super::reply_cursor(&reply, &outcome);
    }
    super::reply_records(&reply, &flow, &ids, q.raw)?;
    Ok(())
}

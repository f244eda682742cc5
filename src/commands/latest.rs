//! `TLOG.LATEST prefix [tag [options]]`: the newest record of a flow within bounds, or nil.

use super::{parse_read, reply_record, Spec};
use crate::error::Result;
use crate::ffi::{Ctx, Reply};
use crate::query::Allowed;

pub static SPEC: Spec = Spec {
    name: "tlog.latest",
    flags: "readonly",
    arity: -2,
    writes: false,
    summary: "Returns the newest record of a tag's flow (by default of every record), optionally bounded by id and time, or nil.",
    complexity: "O(1) without bounds, O(log N) with them, where N is the number of records in the flow; plus one step per id skipped (record gone, or not matching AND, OR or NOT).",
    since: "0.1.0",
    args: super::LATEST_ARGS,
    handler: run,
};

const OPTIONS: Allowed = Allowed::LATEST;

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let mut req = parse_read(args, OPTIONS)?;
    req.query.limit = Some(1);
    let (flow, ids) = super::select(ctx, &req)?;
    let reply = Reply::new(ctx);
    // Selecting checks the record's ACL before anything is replied.
    if let Some(&id) = ids.first() {
        if flow.with_record_id(id, |stored| reply_record(&reply, id, stored, req.query.raw))?.is_some() {
            return Ok(());
        }
    }
    reply.null();
    Ok(())
}

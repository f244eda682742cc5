//! `TLOG.GET prefix [tag [options]]`: the records of a flow, newest first (or oldest first),
//! bounded by count, id cursors and time.

use super::{parse_read, Spec};
use crate::error::Result;
use crate::ffi::{Ctx, Reply};
use crate::query::Allowed;

pub static SPEC: Spec = Spec {
    name: "tlog.get",
    flags: "readonly",
    arity: -2,
    writes: false,
    summary: "Returns the records of a tag's flow (by default every record), newest first, optionally bounded by count, id and time.",
    complexity: "O(log N + M) where N is the number of records in the flow and M the number of ids scanned for the reply; with AND, OR or NOT, the ids scanned are those of the smallest flow a record must be in, each probing every other flow in O(log N).",
    since: "0.1.0",
    args: super::GET_ARGS,
    handler: run,
};

const OPTIONS: Allowed = Allowed::GET;

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse_read(args, OPTIONS)?;
    if let Some(page) = super::select_page(ctx, &req)? {
        super::reply_page(&Reply::new(ctx), page, req.query.raw);
        return Ok(());
    }
    // Every record key is ACL-checked while selecting, before the first byte of the reply:
    // an error cannot follow a partial reply.
    let (flow, ids) = super::select(ctx, &req)?;
    super::reply_records(&Reply::new(ctx), &flow, &ids, req.query.raw)?;
    Ok(())
}

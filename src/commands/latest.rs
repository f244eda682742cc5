//! `TLOG.LATEST prefix [tag [RAW]]`: the newest record of a flow, or nil.

use super::{parse_read, reply_record, Spec};
use crate::error::Result;
use crate::ffi::{Ctx, Reply};
use crate::store::Flow;

pub static SPEC: Spec = Spec {
    name: "tlog.latest",
    flags: "readonly fast",
    arity: -2,
    writes: false,
    summary: "Returns the newest record of a tag's flow (by default of every record), or nil.",
    complexity: "O(1), plus O(K) for K ids at the head of the flow whose record no longer exists.",
    since: "0.1.0",
    args: super::READ_ARGS,
    handler: run,
};

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse_read(args)?;
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    let reply = Reply::new(ctx);
    // Nothing is replied until a record is found, so an ACL error can still be the reply.
    for i in 0..flow.len() {
        let Some(id) = flow.id_at(i) else { continue };
        let key = flow.record_key(id)?;
        if flow.with_record(&key, |stored| reply_record(&reply, id, stored, req.raw))?.is_some() {
            return Ok(());
        }
    }
    reply.null();
    Ok(())
}

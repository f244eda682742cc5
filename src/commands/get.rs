//! `TLOG.GET prefix [tag [RAW]]`: every record of a flow, newest first.

use super::{parse_read, reply_record, Spec};
use crate::error::Result;
use crate::ffi::{Ctx, Reply};
use crate::store::Flow;

pub static SPEC: Spec = Spec {
    name: "tlog.get",
    flags: "readonly",
    arity: -2,
    writes: false,
    summary: "Returns the records of a tag's flow (by default every record), newest first.",
    complexity: "O(N) where N is the number of records in the flow.",
    since: "0.1.0",
    args: super::READ_ARGS,
    handler: run,
};

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse_read(args)?;
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    // Check every record key before the first byte of the reply: an error cannot follow it.
    let mut records = Vec::with_capacity(flow.len());
    for i in 0..flow.len() {
        if let Some(id) = flow.id_at(i) {
            records.push((id, flow.record_key(id)?));
        }
    }
    let reply = Reply::new(ctx);
    reply.array_postponed();
    let mut n = 0;
    for (id, key) in &records {
        if flow.with_record(key, |stored| reply_record(&reply, *id, stored, req.raw))?.is_some() {
            n += 1;
        }
    }
    reply.set_array_len(n);
    Ok(())
}

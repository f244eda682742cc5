//! `TLOG.LOG prefix message [tag ...]`: logs a text message. Every argument is data: a message
//! or a tag is never read as an option, whatever its text.

use super::{message_text, new_record_tags, Arg, ArgKind, Spec};
use crate::error::{Error, Result};
use crate::ffi::{Ctx, Reply};
use crate::record::JsonMessage;
use crate::store::{self, NewRecord};

pub static SPEC: Spec = Spec {
    name: "tlog.log",
    flags: "write deny-oom",
    arity: -3,
    writes: true,
    summary: "Logs a text message with tags and returns the new record's id.",
    complexity: "O(T) where T is the number of tags.",
    since: "0.1.0",
    args: &[
        Arg::new("prefix", ArgKind::Key),
        Arg::new("message", ArgKind::String),
        Arg::new("tag", ArgKind::String).optional().multiple(),
    ],
    entry: crate::command_entry!(run),
};

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let [prefix, message, tags @ ..] = args else {
        return Err(Error::Syntax);
    };
    store::check_prefix(prefix)?;
    let message = JsonMessage::text(message_text(message)?);
    let tags = new_record_tags(prefix, tags)?;
    let id = store::append(
        ctx,
        &NewRecord {
            prefix,
            message: &message,
            tags: &tags,
            ts: None,
            attrs: None,
            ttl_secs: None,
            limits: Default::default(),
            evict_cap: usize::MAX,
        },
    )?;
    Reply::new(ctx).int(id);
    Ok(())
}

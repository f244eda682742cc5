//! The only code that touches the keyspace: it derives key names from a prefix, checks the
//! caller's ACL and every key's type, and only then writes, replicates and notifies. Nothing
//! else opens a key, runs a command on keys or scans the keyspace (the seam test holds this).
//!
//! Writes follow one path: check everything (ACL, types, counter) with read-only opens -> open
//! for write and write -> replicate the effects as plain commands with concrete values ->
//! keyspace notifications. Nothing is written before the last check passes (a module gets no
//! rollback). Keys written are signalled to WATCH explicitly, only once written.
//!
//! `append` writes records, `delete` removes them, `flow` reads flows and records, `tags` lists
//! a prefix's tags, `retention` removes records from the oldest end and trims dead ids,
//! `purge` removes a whole prefix, `floor_cache` remembers the newest timestamp per prefix.

mod append;
mod delete;
pub mod floor_cache;
mod flow;
pub mod purge;
pub mod retention;
mod tags;

pub use append::{append, NewRecord};
pub use delete::delete;
pub use flow::{Fetched, Flow};
pub use purge::check_purge;
pub use tags::tags_page;

use crate::error::{Error, Result};
use crate::ffi::{Acl, Ctx, Flags};
use crate::keys::{self, Keys};

/// The key names of a prefix and the caller's ACL. In cluster mode the prefix must hold a hash
/// tag: the server routes the command by the prefix, and without a tag the derived keys would
/// belong to slots of other nodes (a module's key access is not slot-checked).
fn open_prefix(ctx: Ctx, prefix: &[u8]) -> Result<(Keys<'_>, Acl)> {
    open_prefix_flags(ctx, prefix).map(|(keys, acl, _)| (keys, acl))
}

/// Refuses a prefix with a `flow` segment (`flow`, `a:flow`, `a:flow:b`): its keys would be
/// flows of another prefix (`a:flow:b:counter` is the flow of tag `b:counter` of `a`), so no
/// command could tell its data from that prefix's.
pub fn check_prefix(prefix: &[u8]) -> Result<()> {
    match keys::flow_segment_outer(prefix) {
        Some(outer) => Err(Error::FlowPrefix { prefix: prefix.to_vec(), outer: outer.map(<[u8]>::to_vec) }),
        None => Ok(()),
    }
}

/// As `open_prefix`, also returning the context flags.
fn open_prefix_flags(ctx: Ctx, prefix: &[u8]) -> Result<(Keys<'_>, Acl, Flags)> {
    check_prefix(prefix)?;
    let flags = ctx.flags()?;
    if flags.cluster() && !keys::has_hash_tag(prefix) {
        return Err(Error::NeedsHashTag);
    }
    Ok((Keys::new(prefix), Acl::of_caller(ctx, flags)?, flags))
}

//! The tag catalog of a prefix (TLOG.TAGS), paged like SCAN.

use crate::error::Result;
use crate::ffi::{Access, Ctx, Key, KeyKind, Mode};
use crate::keys;
use crate::record;

use super::open_prefix;

/// A tag of a prefix, as the catalog lists it.
#[derive(Debug)]
pub struct TagInfo {
    pub tag: Vec<u8>,
    /// Ids in its flow.
    pub count: usize,
    pub newest_id: Option<i64>,
    pub newest_ts: Option<i64>,
}

/// One page of a prefix's tags: SCAN over `<prefix>:flow:<pattern>` (the prefix escaped, so
/// only its own flows match), then each flow's length and newest record. `__all__` is not a
/// tag and is left out, and so are `<prefix>:flow:` (no tag is empty) and keys of nested
/// prefixes (see `keys::nested_key`). Returns the next cursor ("0" when done) and the page.
///
/// A listing shows only what the caller may read, as SCAN would if it checked keys: a flow
/// the caller may not read is left out (an error naming it would tell the tag, and MATCH would
/// make that an oracle), and the time of a newest record the caller may not read is not given.
/// Its id is: it is the head of the flow, which the caller may read.
pub fn tags_page(
    ctx: Ctx,
    prefix: &[u8],
    cursor: &[u8],
    pattern: &[u8],
    count: &[u8],
) -> Result<(Vec<u8>, Vec<TagInfo>)> {
    let (keys, acl) = open_prefix(ctx, prefix)?;
    // Listing a prefix's tags takes the right to read the prefix's flow of every record,
    // checked first, so a caller without it learns nothing, not even from an empty page.
    acl.check(&ctx.string(&keys.all_flow())?, Access::Read)?;
    let base = keys.flow(b"");
    let mut glob = Vec::with_capacity(base.len() * 2 + pattern.len());
    for &c in base.iter() {
        if matches!(c, b'*' | b'?' | b'[' | b']' | b'\\') {
            glob.push(b'\\');
        }
        glob.push(c);
    }
    glob.extend_from_slice(pattern);
    let (next, found) = ctx.scan(cursor, &glob, count)?;
    let mut page = Vec::with_capacity(found.len());
    for key in found {
        let Some(tag) = key.strip_prefix(&*base) else { continue };
        // Keys of a nested prefix (`<prefix>:flow:x:counter`) are not tags of this one.
        if tag.is_empty() || tag == keys::ALL_FLOW || keys::nested_key(tag).is_some() {
            continue;
        }
        let name = ctx.string(&key)?;
        if acl.check(&name, Access::Read).is_err() {
            continue;
        }
        let flow = Key::open(ctx, &name, Mode::Read)?;
        if flow.kind() != KeyKind::List {
            continue;
        }
        let newest_id = flow.list_get(ctx, 0).and_then(|s| keys::parse_id(s.as_bytes()));
        let newest_ts = match newest_id {
            Some(id) => {
                let name = ctx.string(&keys.msg(id))?;
                if acl.check(&name, Access::Read).is_ok() {
                    let k = Key::open_string(ctx, &name, Mode::Read)?;
                    match k.kind() {
                        KeyKind::String => record::decode_ts(k.string_value()?),
                        _ => None,
                    }
                } else {
                    None
                }
            }
            None => None,
        };
        page.push(TagInfo { tag: tag.to_vec(), count: flow.len(), newest_id, newest_ts });
    }
    Ok((next, page))
}

//! Deleting records: each record's key and its id in every flow it is in.

use crate::error::{Error, Result};
use crate::ffi::{Access, Ctx, Key, KeyKind, Mode, RString};
use crate::keys;
use crate::{record, stats};

use super::{open_prefix, retention, Flow};

/// A record to delete: its key, its id as text, and each (flow, LREM count) to remove it with.
type Deletion = (RString, RString, Vec<(RString, RString)>);

/// Deletes records `ids` (distinct): each record's key and its id in `__all__` and in the
/// flow of each tag its JSON lists. Records that do not exist are not counted. Everything is
/// checked (ACL, key types) before the first write; the writes run as LREM and DEL, replicated
/// as such. Returns how many records were deleted.
///
/// An id is removed from each flow by an LREM from the nearer end of the flow with the count
/// of its occurrences there, which stops at the last of them: O(log N) to find where the id
/// sits (ids are sorted along a flow), then O(distance from that end), never a scan of the
/// whole flow (`LREM key 0 id` scans every element even after a match).
pub fn delete(ctx: Ctx, prefix: &[u8], ids: &[i64]) -> Result<usize> {
    let (keys, acl) = open_prefix(ctx, prefix)?;
    let acl = std::rc::Rc::new(acl);
    let all = ctx.string(&keys.all_flow())?;
    acl.check(&all, Access::ReadWrite)?;
    // Per record: its key, its id as text, and each (flow, LREM count) to remove it with.
    let mut plan: Vec<Deletion> = Vec::new();
    for &id in ids {
        let msg = ctx.string(&keys.msg(id))?;
        acl.check(&msg, Access::ReadWrite)?;
        let k = Key::open_string(ctx, &msg, Mode::Read)?;
        if k.kind() != KeyKind::String {
            continue;
        }
        // Only a record of the prefix: a string holding its own id. Another client's value at
        // the name (`msg:999` with the empty prefix in use) is left alone and not counted.
        let body = k.string_value()?;
        if !retention::is_record_body(body, id) {
            continue;
        }
        // Decoding drops the tags that name no tag flow ("" and __all__); a tag listed twice
        // is removed from its flow once. A tag naming a key of a nested prefix (written by
        // another client) has no flow here.
        let mut tags: Vec<Vec<u8>> = record::decode(body).tags.iter().map(|t| t.as_bytes().to_vec()).collect();
        drop(k);
        tags.retain(|t| keys::nested_key(t).is_none());
        tags.sort_unstable();
        tags.dedup();
        for tag in &tags {
            acl.check(&ctx.string(&keys.flow(tag))?, Access::ReadWrite)?;
        }
        let mut removals = Vec::with_capacity(tags.len() + 1);
        for tag in std::iter::once(keys::ALL_FLOW).chain(tags.iter().map(Vec::as_slice)) {
            let flow = Flow::open_with(ctx, keys, acl.clone(), tag)?;
            if let Some(count) = lrem_count(&flow, id)? {
                let mut buf = keys::itoa_buf();
                removals.push((ctx.string(flow.name.as_bytes())?, ctx.string(keys::fmt_id(count, &mut buf))?));
            }
        }
        let mut buf = keys::itoa_buf();
        plan.push((msg, ctx.string(keys::fmt_id(id, &mut buf))?, removals));
    }
    // Every check passed: write.
    for (msg, id, removals) in &plan {
        for (flow, count) in removals {
            ctx.call_replicated(c"LREM", &[flow, count, id])?;
        }
        ctx.call_replicated(c"DEL", &[msg])?;
    }
    stats::add(&stats::DELETED, plan.len() as u64);
    Ok(plan.len())
}

/// The LREM count that removes `id` from `flow` from its nearer end: the number of its
/// occurrences where the order of the flow puts them (within the read window, as reads find
/// ids that other clients pushed out of order), positive to remove them from the head,
/// negative from the tail. `None` if the flow does not hold it there: a flow holds it nowhere
/// else unless another client pushed it further out of place, and LREM would then scan the
/// whole flow.
fn lrem_count(flow: &Flow<'_>, id: i64) -> Result<Option<i64>> {
    use crate::query::{self, Query, Work};
    let work = Work::new(crate::config::read_window(), crate::config::read_scan_limit());
    let q = Query { after: Some(id - 1), before: id.checked_add(1), ..Query::default() };
    // The search for the id passes runs of entries that are not ids (another client's) up to
    // the scan limit, as a read does: past that, the whole DEL is refused before any write.
    let range = match query::plan_in(flow, &q, &work) {
        Ok(plan) => plan.range,
        Err(Error::Message(m)) if m.starts_with(query::RUN_ERROR) => {
            let at = m.split(';').next().unwrap_or_default();
            return Err(Error::Message(format!(
                "{at} {}, looking for id {id}; nothing was deleted: raise tlog.read-scan-limit (0: no limit) or remove those entries",
                String::from_utf8_lossy(flow.name.as_bytes())
            )));
        }
        Err(e) => return Err(e),
    };
    // One LRANGE for the range where it can be, else entry by entry.
    let found: Vec<usize> = match flow.ids_in(range.clone())? {
        Some(ids) => ids.iter().enumerate().filter(|(_, x)| **x == Some(id)).map(|(k, _)| range.start + k).collect(),
        None => range.clone().filter(|&i| flow.id_at(i) == Some(id)).collect(),
    };
    let (Some(&first), Some(&last)) = (found.first(), found.last()) else {
        return Ok(None);
    };
    let n = i64::try_from(found.len()).unwrap_or(i64::MAX);
    let from_tail = flow.len().saturating_sub(last + 1);
    Ok(Some(if first <= from_tail { n } else { -n }))
}

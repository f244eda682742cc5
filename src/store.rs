//! The only code that touches the keyspace: it derives key names from a prefix, checks the
//! caller's ACL and every key's type, and only then writes, replicates and notifies.
//!
//! Writes follow one path: check everything (ACL, types, counter) with read-only opens -> open
//! for write and write -> replicate the effects as plain commands with concrete values ->
//! keyspace notifications. Nothing is written before the last check passes (a module gets no
//! rollback). Keys written are signalled to WATCH explicitly, only once written.

use std::ffi::c_int;

use redis_module::raw;

use crate::cleaner;
use crate::error::{Error, Result};
use crate::ffi::{Access, Acl, Ctx, Key, KeyKind, Mode, RString};
use crate::keys::{self, Keys};
use crate::record::{self, JsonMessage};
use crate::retention::{self, Limits};

/// How far ahead of this server's clock the newest record's timestamp may be and still hold
/// back new timestamps. Beyond it, the newest record is taken to be from a client with a broken
/// clock (or seconds given in milliseconds), and is not allowed to drag every new record's time
/// into the future.
pub const MAX_CLOCK_LEAD_MICROS: i64 = 3600 * 1_000_000;

/// A new record to append: validated and deduplicated by the command.
pub struct NewRecord<'a> {
    pub prefix: &'a [u8],
    pub message: &'a JsonMessage<'a>,
    /// UTF-8, non-empty, not `__all__`, no duplicates, in the order given.
    pub tags: &'a [&'a str],
    /// The record's key expires this long after the record's time.
    pub ttl_secs: Option<i64>,
    /// Limits this call enforces on the prefix (MAXLEN, MAXAGE), after adding the record.
    pub limits: Limits,
    /// At most this many records are removed by the limits in this call.
    pub evict_cap: usize,
}

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
fn open_prefix_flags(ctx: Ctx, prefix: &[u8]) -> Result<(Keys<'_>, Acl, u32)> {
    check_prefix(prefix)?;
    let flags = ctx.flags()?;
    if flags & raw::REDISMODULE_CTX_FLAGS_CLUSTER != 0 && !keys::has_hash_tag(prefix) {
        return Err(Error::NeedsHashTag);
    }
    Ok((Keys::new(prefix), Acl::of_caller(ctx, flags)?, flags))
}

/// Appends a record: allocates its id, writes `msg:<id>`, pushes the id on `__all__` and on
/// each tag's flow. Returns the id.
pub fn append(ctx: Ctx, rec: &NewRecord<'_>) -> Result<i64> {
    let (keys, acl, flags) = open_prefix_flags(ctx, rec.prefix)?;
    // In cluster mode a record missing here may be on another node (a slot being migrated):
    // a write then removes no dead ids; the cleaner, which knows the slots, does.
    let cluster = flags & raw::REDISMODULE_CTX_FLAGS_CLUSTER != 0;
    let db = ctx.selected_db();
    if cleaner::purging(db, rec.prefix) {
        return Err(Error::Purging);
    }

    let counter_key = ctx.string(&keys.counter())?;
    let mut flow_keys = Vec::with_capacity(rec.tags.len() + 1);
    flow_keys.push(ctx.string(&keys.all_flow())?);
    for tag in rec.tags {
        flow_keys.push(ctx.string(&keys.flow(tag.as_bytes()))?);
    }

    // ACL first: a denied caller learns nothing about the keys' contents or types.
    acl.check(&counter_key, Access::ReadWrite)?;
    acl.check(&flow_keys[0], Access::ReadWrite)?;
    for k in &flow_keys[1..] {
        acl.check(k, Access::Write)?;
    }
    let channels = publish_channels(ctx, &keys, rec.tags, &acl)?;

    // Keys are opened for writing up front, one lookup each: the module option
    // NO_IMPLICIT_SIGNAL_MODIFIED (set at load) keeps a key we end up not writing from
    // invalidating WATCH; the keys written are signalled below.
    let counter_handle = Key::open(ctx, &counter_key, Mode::Write)?;
    let counter = match counter_handle.kind() {
        KeyKind::Empty => 0,
        KeyKind::String => keys::parse_i64(counter_handle.string_value()?).ok_or(Error::CounterNotInteger)?,
        _ => return Err(Error::WrongType),
    };
    let mut flows = Vec::with_capacity(flow_keys.len());
    for k in &flow_keys {
        let flow = Key::open(ctx, k, Mode::Write)?;
        if !matches!(flow.kind(), KeyKind::Empty | KeyKind::List) {
            return Err(Error::WrongType);
        }
        flows.push(flow);
    }
    let newest = flows[0].list_get(ctx, 0).and_then(|s| keys::parse_id(s.as_bytes()));

    // The next id follows both the counter and the newest id of __all__ (a lost counter must
    // not reuse ids), and skips ids whose msg key exists: a record is never overwritten.
    let mut id = counter.max(newest.unwrap_or(0)).max(0).checked_add(1).ok_or(Error::CounterOverflow)?;
    let (msg_key, msg_handle) = loop {
        let k = ctx.string(&keys.msg(id))?;
        // Checked before the key is looked at: a caller without write access to records
        // learns nothing of which ids exist.
        acl.check(&k, Access::Write)?;
        let handle = Key::open(ctx, &k, Mode::Write)?;
        if handle.kind() == KeyKind::Empty {
            break (k, handle);
        }
        id = id.checked_add(1).ok_or(Error::CounterOverflow)?;
    };

    // Timestamps never decrease as ids grow: a clock that stepped back reuses the newest time.
    let now = record::now_micros();
    // `first`: the first write of the prefix this server sees (or since the cache forgot);
    // the cleaner learns of the prefix once the record is written.
    let (floor, first) = match newest {
        Some(newest) => match floor_cache::get(db, rec.prefix, newest) {
            Some(ts) => (Some(ts), false),
            None => (newest_ts(ctx, &keys, newest)?, true),
        },
        None => (None, true),
    };
    // The records this call's limits remove, checked now like everything else.
    let evictions = if rec.limits.any() {
        let rules = retention::Rules { limits: rec.limits, now_micros: now, adding: 1, archive: cleaner::archive() };
        Some(retention::plan(ctx, &keys, &acl, rules, retention::Step::capped(rec.evict_cap, !cluster))?)
    } else {
        None
    };
    let ts = floor.filter(|&f| f - now <= MAX_CLOCK_LEAD_MICROS).map_or(now, |f| f.max(now));

    let mut id_buf = keys::itoa_buf();
    let id_str = ctx.string(keys::fmt_id(id, &mut id_buf))?;
    let body = ctx.string(&record::encode(id, ts, rec.message, rec.tags))?;

    // Every check passed: write.
    counter_handle.set_string(&id_str)?;
    msg_handle.set_string(&body)?;
    for flow in &flows {
        flow.push_head(&id_str)?;
    }
    // Dead ids at the oldest end of the flows written go now, every TOUCH_EVERY-th record
    // (the cleaner does the rest). Not from `__all__` when limits remove from its end below.
    // How many were removed from each flow (empty when not looked at: no allocation then).
    let mut trimmed: Vec<usize> = Vec::new();
    if id % TOUCH_EVERY == 0 && !cluster {
        trimmed = vec![0; flows.len()];
        let skip_all = evictions.as_ref().is_some_and(|p| !p.is_empty());
        for (i, flow) in flows.iter().enumerate().skip(usize::from(skip_all)) {
            trimmed[i] = trim_touched(ctx, &keys, &acl, flow, &flow_keys[i], i == 0);
        }
    }
    // Close the keys before anything else touches them (the TTL below runs a command).
    drop((counter_handle, msg_handle, flows));
    floor_cache::put(db, rec.prefix, id, ts);
    if first {
        // Only now: a write refused above (a limit's plan, a key's type) shows nothing.
        let _ = cleaner::know(db, rec.prefix);
    }
    ctx.signal_modified(&counter_key);
    ctx.signal_modified(&msg_key);
    for k in &flow_keys {
        ctx.signal_modified(k);
    }

    // Effects with concrete values, so a replica (even one without this module) and an AOF
    // replay end identical to this server, timestamps included. The data is written: from
    // here on nothing may turn the command into an error (a client would retry and log the
    // record twice), so a failure is logged (at load, the commands were checked to exist).
    let mut effects = ctx.replicate(c"MSET", &[&counter_key, &id_str, &msg_key, &body]);
    for k in &flow_keys {
        effects = effects.and_then(|()| ctx.replicate(c"LPUSH", &[k, &id_str]));
    }
    if let Some(secs) = rec.ttl_secs {
        // An absolute time, from the record's own timestamp: the master, its replicas and an
        // AOF replay agree on it to the millisecond.
        let at = ts.div_euclid(1000).saturating_add(secs.saturating_mul(1000));
        let mut buf = keys::itoa_buf();
        effects = effects.and_then(|()| {
            let at = ctx.string(keys::fmt_id(at, &mut buf))?;
            ctx.call_replicated(c"PEXPIREAT", &[&msg_key, &at])
        });
    }
    for (k, &n) in flow_keys.iter().zip(&trimmed) {
        if n > 0 {
            let mut buf = keys::itoa_buf();
            effects =
                effects.and_then(|()| ctx.replicate(c"RPOP", &[k, &ctx.string(keys::fmt_id(n as i64, &mut buf))?]));
        }
    }
    if let Err(e) = effects {
        ctx.log_warning(&format!("tlog: record {id} was written but not fully replicated: {e}"));
    }
    cleaner::stats::add(&cleaner::stats::LOGGED, 1);
    cleaner::note_tags(db, rec.prefix, rec.tags, rec.ttl_secs.is_some());
    if let Some((all, tags)) = trimmed.split_first() {
        cleaner::stats::add(&cleaner::stats::EXPIRED, *all as u64);
        cleaner::stats::add(&cleaner::stats::TRIMMED, tags.iter().sum::<usize>() as u64);
    }
    if let Some(plan) = &evictions {
        match retention::execute(ctx, plan) {
            Ok(removed) => cleaner::stats::removed(&removed),
            Err(e) => {
                ctx.log_warning(&format!("tlog: record {id} was written but its limits were not fully applied: {e}"))
            }
        }
    }

    ctx.notify(raw::REDISMODULE_NOTIFY_STRING, c"incrby", &counter_key);
    ctx.notify(raw::REDISMODULE_NOTIFY_STRING, c"set", &msg_key);
    for (i, k) in flow_keys.iter().enumerate() {
        // Also what wakes the TLOG.TAIL readers blocked on the flow (see
        // `registry::listen_to_list_pushes`), as a plain client's LPUSH does.
        ctx.notify(raw::REDISMODULE_NOTIFY_LIST as c_int, c"lpush", k);
        if trimmed.get(i).is_some_and(|&n| n > 0) {
            ctx.notify(raw::REDISMODULE_NOTIFY_LIST as c_int, c"rpop", k);
        }
    }
    for channel in &channels {
        ctx.publish(channel, &body);
    }
    Ok(id)
}

/// Every this many ids, a write looks at the oldest end of each flow it writes to (a look
/// costs about a tenth of a write: one in eight keeps it near 1%)...
const TOUCH_EVERY: i64 = 8;
/// ...and removes up to this many dead ids there: more than it adds meanwhile.
const TOUCH_TRIM: usize = 16;

/// Pops up to `TOUCH_TRIM` dead ids from the end of a flow just written (open for writing),
/// if the caller may read and write the flow. Returns how many.
fn trim_touched(ctx: Ctx, keys: &Keys<'_>, acl: &Acl, flow: &Key, name: &RString, is_all: bool) -> usize {
    // `__all__` was checked for reading and writing already; a tag flow only for writing. The
    // flow is the prefix's: this command just wrote to it, and its name is no other prefix's
    // key (the prefix and the tags were checked: `keys::nested_key`).
    if !is_all && acl.check(name, Access::ReadWrite).is_err() {
        return 0;
    }
    let mut n = 0;
    while n < TOUCH_TRIM && flow.len() > 1 {
        let Some(tail) = flow.list_tail(ctx) else { break };
        let dead = match keys::parse_id(tail.as_bytes()) {
            None => true,
            Some(id) => {
                // Whether the record exists is read only where the caller may read it.
                let Ok(msg) = ctx.string(&keys.msg(id)) else { break };
                if acl.check(&msg, Access::Read).is_err() {
                    break;
                }
                // Dead unless a record of the prefix is there (a string holding its own id).
                let Ok(k) = Key::open(ctx, &msg, Mode::Read) else { break };
                !(k.kind() == KeyKind::String && k.string_value().is_ok_and(|v| retention::is_record_body(v, id)))
            }
        };
        if !dead || !flow.pop_tail() {
            break;
        }
        n += 1;
    }
    n
}

/// The channels a new record is published on, where the module configuration asks for it
/// (off by default), each checked against the caller's channel permissions. A caller who may
/// not publish on one of them gets NOPERM before anything is written, as its own PUBLISH
/// would: a write is refused whole rather than published in part, so a missing permission
/// shows at the first write instead of as a subscriber that never hears of some records.
fn publish_channels(ctx: Ctx, keys: &Keys<'_>, tags: &[&str], acl: &Acl) -> Result<Vec<RString>> {
    use crate::registry::config::{PUBLISH, PUBLISH_TAGS};
    use std::sync::atomic::Ordering;
    let mut channels = Vec::new();
    if PUBLISH.load(Ordering::Relaxed) {
        channels.push(ctx.string(&keys.channel(None))?);
    }
    if PUBLISH_TAGS.load(Ordering::Relaxed) {
        for tag in tags {
            channels.push(ctx.string(&keys.channel(Some(tag.as_bytes())))?);
        }
    }
    for channel in &channels {
        acl.check_channel(channel)?;
    }
    Ok(channels)
}

/// The timestamp of record `id`, if it exists and has one. An internal read: nothing of the
/// record is returned, and it only ever holds a new timestamp back.
fn newest_ts(ctx: Ctx, keys: &Keys<'_>, id: i64) -> Result<Option<i64>> {
    let name = ctx.string(&keys.msg(id))?;
    let k = Key::open(ctx, &name, Mode::Read)?;
    Ok(match k.kind() {
        KeyKind::String => record::decode_ts(k.string_value()?),
        _ => None,
    })
}

/// How many TLOG.TAIL readers are blocked, on any flow: list pushes signal their keys only
/// while some are (the signal costs a lookup per key). `INFO tlog` shows it.
pub mod readers {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static WAITING: AtomicUsize = AtomicUsize::new(0);

    pub fn add() {
        WAITING.fetch_add(1, Ordering::Relaxed);
    }

    pub fn remove() {
        // Never below zero, whatever happens.
        let _ = WAITING.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn any() -> bool {
        WAITING.load(Ordering::Relaxed) > 0
    }

    pub fn count() -> usize {
        WAITING.load(Ordering::Relaxed)
    }
}

/// The id and timestamp of the last record this server logged per prefix, so the next record
/// of the prefix finds its timestamp floor without reading the newest record back. An entry
/// counts only while its id is still the newest of `__all__`; anything else reads the record.
/// A fixed number of slots: memory stays bounded whatever the number of prefixes.
pub mod floor_cache {
    use std::cell::RefCell;

    const SLOTS: usize = 256;

    struct Slot {
        db: i32,
        prefix: Vec<u8>,
        id: i64,
        ts: i64,
    }

    thread_local! {
        // Commands run on the server's main thread only.
        static CACHE: RefCell<Vec<Option<Slot>>> = RefCell::new((0..SLOTS).map(|_| None).collect());
    }

    fn slot_of(db: i32, prefix: &[u8]) -> usize {
        // FNV-1a: a few bytes per command, no need for a keyed hash (a collision only costs
        // a read of the record).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ db as u64;
        for &b in prefix {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        (h % SLOTS as u64) as usize
    }

    pub fn get(db: i32, prefix: &[u8], newest: i64) -> Option<i64> {
        CACHE.with(|c| {
            let c = c.borrow();
            match c.get(slot_of(db, prefix))? {
                Some(s) if s.db == db && s.id == newest && s.prefix == prefix => Some(s.ts),
                _ => None,
            }
        })
    }

    /// Forgets everything: the keyspace changed under the cache (FLUSHDB, SWAPDB, a load, a
    /// change of replication role).
    pub fn clear() {
        CACHE.with(|c| c.borrow_mut().iter_mut().for_each(|slot| *slot = None));
    }

    pub fn put(db: i32, prefix: &[u8], id: i64, ts: i64) {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if let Some(slot) = c.get_mut(slot_of(db, prefix)) {
                match slot {
                    Some(s) => {
                        s.db = db;
                        s.prefix.clear();
                        s.prefix.extend_from_slice(prefix);
                        s.id = id;
                        s.ts = ts;
                    }
                    None => *slot = Some(Slot { db, prefix: prefix.to_vec(), id, ts }),
                }
            }
        });
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn an_entry_counts_only_for_its_db_prefix_and_newest_id() {
            put(0, b"app", 7, 100);
            assert_eq!(get(0, b"app", 7), Some(100));
            assert_eq!(get(0, b"app", 8), None);
            assert_eq!(get(1, b"app", 7), None);
            assert_eq!(get(0, b"apq", 7), None);
            put(0, b"app", 8, 90);
            assert_eq!(get(0, b"app", 8), Some(90));
            assert_eq!(get(0, b"app", 7), None);
            clear();
            assert_eq!(get(0, b"app", 8), None);
        }
    }
}

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
    let mut plan: Vec<(RString, RString, Vec<(RString, RString)>)> = Vec::new();
    for &id in ids {
        let msg = ctx.string(&keys.msg(id))?;
        acl.check(&msg, Access::ReadWrite)?;
        let k = Key::open(ctx, &msg, Mode::Read)?;
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
    cleaner::stats::add(&cleaner::stats::DELETED, plan.len() as u64);
    Ok(plan.len())
}

/// The LREM count that removes `id` from `flow` from its nearer end: the number of its
/// occurrences where the order of the flow puts them (within the read window, as reads find
/// ids that other clients pushed out of order), positive to remove them from the head,
/// negative from the tail. `None` if the flow does not hold it there: a flow holds it nowhere
/// else unless another client pushed it further out of place, and LREM would then scan the
/// whole flow.
fn lrem_count(flow: &Flow<'_>, id: i64) -> Result<Option<i64>> {
    use crate::query::{self, Query};
    use crate::registry::config::READ_WINDOW;
    let window = usize::try_from(READ_WINDOW.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(0);
    let q = Query { after: Some(id - 1), before: id.checked_add(1), ..Query::default() };
    let range = query::plan(flow, &q, window)?.range;
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

/// Checks that the caller may remove every key of the prefix: write access to the keys its
/// ACL patterns would have to cover, `<prefix>:msg:*` and `<prefix>:flow:*` taken literally
/// (a pattern that matches the literal text matches every name it stands for).
pub fn check_purge(ctx: Ctx, prefix: &[u8]) -> Result<()> {
    let (keys, acl) = open_prefix(ctx, prefix)?;
    for name in [keys.counter(), keys.archive(), keys.flow(b"*"), keys.with_tail(b"msg:*")] {
        acl.check(&ctx.string(&name)?, Access::ReadWrite)?;
    }
    Ok(())
}

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
                    let k = Key::open(ctx, &name, Mode::Read)?;
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

/// How many records selection keeps open for the reply: a page's worth, so a huge unbounded
/// read does not hold a key handle per record (the rest are reopened for the reply).
const HELD_RECORDS: usize = 1024;

/// How far a flow read may step its list iterator before a fresh seek is cheaper.
const SEEK_STEPS: usize = 64;

/// A flow opened for reading, with the caller's ACL checked for it.
pub struct Flow<'a> {
    ctx: Ctx,
    keys: Keys<'a>,
    acl: std::rc::Rc<Acl>,
    name: RString,
    key: std::cell::RefCell<Key>,
    /// Records found while selecting, still open, in the order found.
    held: std::cell::RefCell<std::collections::VecDeque<(i64, Key)>>,
    /// The index the key's list iterator stands at, if any (see `id_at`).
    at: std::cell::Cell<Option<usize>>,
}

impl crate::query::IdList for Flow<'_> {
    fn len(&self) -> usize {
        Flow::len(self)
    }

    fn id(&self, index: usize) -> Option<i64> {
        self.id_at(index)
    }

    fn ids(&self, range: std::ops::Range<usize>) -> Vec<Option<i64>> {
        // One LRANGE for a run costs far less than a list read per entry; where the server
        // will not run it for the module, entry by entry.
        match self.ids_in(range.clone()) {
            Ok(Some(ids)) => ids,
            _ => range.map(|i| self.id_at(i)).collect(),
        }
    }

    fn probe_ts(&self, id: i64) -> Result<Option<i64>> {
        let name = self.record_key(id)?;
        Ok(self.with_record(&name, record::decode_ts)?.flatten())
    }

    fn ceiling(&self) -> Option<i64> {
        // Only to skip work: a caller who may not read the counter gets the same answer, the
        // long way.
        let name = self.ctx.string(&self.keys.counter()).ok()?;
        self.acl.check(&name, Access::Read).ok()?;
        let k = Key::open(self.ctx, &name, Mode::Read).ok()?;
        if k.kind() != KeyKind::String {
            return None;
        }
        keys::parse_id(k.string_value().ok()?)
    }

    fn records_ts(&self, ids: &[i64], need_ts: bool) -> Result<(Vec<Option<Option<i64>>>, Option<Error>)> {
        // One MGET for the batch; where the server will not run it for the module, one by one.
        let Some((batch, refused)) = self.fetch(ids)? else {
            return crate::query::records_ts_one_by_one(self, ids, need_ts);
        };
        let ts = |stored: &[u8]| if need_ts { record::decode_ts(stored) } else { None };
        Ok((batch.by_position().into_iter().map(|r| r.map(ts)).collect(), refused))
    }

    fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>> {
        let name = self.record_key(id)?;
        let k = Key::open(self.ctx, &name, Mode::Read)?;
        if k.kind() != KeyKind::String {
            return Ok(None);
        }
        // Read the value now, while this is the only handle on the key: the server may replace
        // a shared or integer-encoded value on first access, which would leave any other open
        // handle on the key dangling.
        let value = k.string_value()?;
        let ts = if need_ts { record::decode_ts(value) } else { None };
        // Keep the record open for the reply that usually follows (see `with_record_id`). A
        // second handle on the same key (a flow may hold an id twice) is safe: the value was
        // made plain above, before it existed.
        let mut held = self.held.borrow_mut();
        if held.len() < HELD_RECORDS {
            held.push_back((id, k));
        }
        Ok(Some(ts))
    }
}

impl<'a> Flow<'a> {
    /// Opens `<prefix>:flow:<tag>` for reading. A missing flow reads as empty; a key of
    /// another type is WRONGTYPE.
    pub fn open(ctx: Ctx, prefix: &'a [u8], tag: &[u8]) -> Result<Self> {
        let (keys, acl) = open_prefix(ctx, prefix)?;
        Self::open_with(ctx, keys, std::rc::Rc::new(acl), tag)
    }

    /// Another flow of the same prefix, for the same caller.
    pub fn sibling(&self, tag: &[u8]) -> Result<Self> {
        Self::open_with(self.ctx, self.keys, self.acl.clone(), tag)
    }

    fn open_with(ctx: Ctx, keys: Keys<'a>, acl: std::rc::Rc<Acl>, tag: &[u8]) -> Result<Self> {
        let name = ctx.string(&keys.flow(tag))?;
        acl.check(&name, Access::Read)?;
        let key = Key::open(ctx, &name, Mode::Read)?;
        if !matches!(key.kind(), KeyKind::Empty | KeyKind::List) {
            return Err(Error::WrongType);
        }
        Ok(Flow {
            ctx,
            keys,
            acl,
            name,
            key: std::cell::RefCell::new(key),
            held: std::cell::RefCell::new(std::collections::VecDeque::new()),
            at: std::cell::Cell::new(None),
        })
    }

    pub fn len(&self) -> usize {
        self.key.borrow().len()
    }

    /// The id at `index` (0 is the newest); `None` past the end or for an entry that is not
    /// an id (written by another client).
    pub fn id_at(&self, index: usize) -> Option<i64> {
        // The server keeps one list iterator per open key and reaches a new index by stepping
        // from the last one, element by element: fine for a scan, O(N) for the jumps of a
        // search. A far jump reopens the key, so the server seeks afresh from the nearer end.
        if self.at.get().is_some_and(|at| at.abs_diff(index) > SEEK_STEPS) {
            if let Ok(fresh) = Key::open(self.ctx, &self.name, Mode::Read) {
                *self.key.borrow_mut() = fresh;
            }
        }
        self.at.set(Some(index));
        self.key.borrow().list_get(self.ctx, index).and_then(|s| keys::parse_id(s.as_bytes()))
    }

    /// The name of record `id`'s key, checked against the caller's read permission. Check
    /// every record a reply will hold before replying: an error cannot follow a partial reply.
    pub fn record_key(&self, id: i64) -> Result<RString> {
        let name = self.ctx.string(&self.keys.msg(id))?;
        self.acl.check(&name, Access::Read)?;
        Ok(name)
    }

    /// Calls `f` with the stored bytes of record `id`, if it exists: from the key selection left
    /// open, or opened now (ACL-checked).
    pub fn with_record_id<T>(&self, id: i64, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        let held = {
            let mut held = self.held.borrow_mut();
            // Records are replied in the order they were looked at, so the one wanted is at
            // or near the front; those before it were looked at and not selected.
            match held.iter().position(|(h, _)| *h == id) {
                Some(i) => {
                    held.drain(..i);
                    held.pop_front().map(|(_, k)| k)
                }
                None => None,
            }
        };
        if let Some(k) = held {
            return Ok(Some(f(k.string_value()?)));
        }
        let name = self.record_key(id)?;
        self.with_record(&name, f)
    }

    /// The ids at the indices `range` (0 is the newest), in list order, read with one LRANGE;
    /// `None` for an entry that is not an id (written by another client). `Ok(None)` if the
    /// server would not run the LRANGE (see [`Ctx::call_strings`]).
    pub fn ids_in(&self, range: std::ops::Range<usize>) -> Result<Option<Vec<Option<i64>>>> {
        if range.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut a = keys::itoa_buf();
        let mut b = keys::itoa_buf();
        let start = self.ctx.string(keys::fmt_id(range.start as i64, &mut a))?;
        let stop = self.ctx.string(keys::fmt_id(range.end as i64 - 1, &mut b))?;
        let Some(reply) = self.ctx.call_strings(c"LRANGE", [&self.name, &start, &stop]) else { return Ok(None) };
        Ok(Some((0..reply.len()).map(|i| reply.get(i).and_then(keys::parse_id)).collect()))
    }

    /// Reads records `ids` with one MGET: for a page, one command costs less than a key opened
    /// per record. Those missing (expired, deleted, or a key of another type) are left out, as
    /// MGET leaves them. Each key is ACL-checked first, in order. At the first one the caller
    /// may not read, the read stops short: the records before it come back with that key's
    /// error beside them, for the caller to raise only if it needs a record from there on
    /// (the first key refused is an error at once). `Ok(None)` if the server would not run the
    /// MGET (see [`Ctx::call_strings`]).
    pub fn fetch(&self, ids: &[i64]) -> Result<Option<(Fetched, Option<Error>)>> {
        // The names share `<prefix>:msg:`; only the digits change.
        let mut name = self.keys.msg_base();
        let base = name.len();
        let mut names = Vec::with_capacity(ids.len());
        let mut refused = None;
        for &id in ids {
            let mut buf = keys::itoa_buf();
            name.truncate(base);
            name.extend_from_slice(keys::fmt_id(id, &mut buf));
            let key = self.ctx.string(&name)?;
            if let Err(e) = self.acl.check(&key, Access::Read) {
                if names.is_empty() {
                    return Err(e);
                }
                refused = Some(e);
                break;
            }
            names.push(key);
        }
        if names.is_empty() {
            return Ok(Some((Fetched { reply: None, found: Vec::new() }, refused)));
        }
        let Some(reply) = self.ctx.call_strings(c"MGET", &names) else { return Ok(None) };
        let found = ids
            .iter()
            .enumerate()
            .take(names.len())
            .filter(|&(i, _)| reply.get(i).is_some())
            .map(|(i, &id)| (id, i))
            .collect();
        Ok(Some((Fetched { reply: Some(reply), found }, refused)))
    }

    /// Calls `f` with the stored bytes of record key `name`, if it holds a string. A missing
    /// record (expired, deleted) or a key of another type is skipped, as MGET skips it.
    pub fn with_record<T>(&self, name: &RString, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        let k = Key::open(self.ctx, name, Mode::Read)?;
        if k.kind() != KeyKind::String {
            return Ok(None);
        }
        Ok(Some(f(k.string_value()?)))
    }
}

/// Records read by [`Flow::fetch`].
pub struct Fetched {
    /// The MGET reply; none when no id was asked.
    reply: Option<crate::ffi::CallStrings>,
    /// Each record found and kept: its id and its place in the reply, in the order asked.
    found: Vec<(i64, usize)>,
}

impl Fetched {
    /// How many records were found and kept.
    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// Every record asked for was found and kept: the reply is exactly the page.
    pub fn complete(&self) -> bool {
        self.reply.as_ref().is_some_and(|r| self.found.len() == r.len())
    }

    /// For each id asked (up to a refused key), its stored record, `None` if missing.
    pub fn by_position(&self) -> Vec<Option<&[u8]>> {
        let Some(reply) = &self.reply else { return Vec::new() };
        (0..reply.len()).map(|i| reply.get(i)).collect()
    }

    /// Keeps the records for which `keep(id, stored)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(i64, &[u8]) -> bool) {
        let Some(reply) = &self.reply else { return };
        self.found.retain(|&(id, i)| reply.get(i).is_some_and(|stored| keep(id, stored)));
    }

    /// Keeps the first `n` records.
    pub fn truncate(&mut self, n: usize) {
        self.found.truncate(n);
    }

    /// The MGET reply, for forwarding as it is when [`Fetched::complete`].
    pub fn reply(&self) -> Option<&crate::ffi::CallStrings> {
        self.reply.as_ref()
    }

    /// The records kept: id and stored bytes, in the order asked.
    pub fn records(&self) -> impl Iterator<Item = (i64, &[u8])> + '_ {
        self.found.iter().filter_map(|&(id, i)| Some((id, self.reply.as_ref()?.get(i)?)))
    }
}

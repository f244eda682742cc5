//! Appending a record: every check first (ACL, key types, the counter, the limits' plan),
//! then the writes, their effects replicated with concrete values, and notifications.

use crate::error::{Error, Result};
use crate::ffi::Notify;
use crate::ffi::{Access, Acl, Ctx, Key, KeyKind, Mode, RString};
use crate::keys::{self, Keys};
use crate::record::{self, JsonMessage};
use crate::{prefixes, stats};

use super::{floor_cache, open_prefix_flags, retention};
use retention::Limits;

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
    /// The record's time as the caller gives it (`TLOG.ADD ... TS`), checked by [`Plan::given`];
    /// `None`: the clock's.
    pub ts: Option<i64>,
    /// The record's attributes: a compact JSON object.
    pub attrs: Option<&'a str>,
    /// The record's key expires this long after the record's time.
    pub ttl_secs: Option<i64>,
    /// Limits this call enforces on the prefix (MAXLEN, MAXAGE), after adding the record.
    pub limits: Limits,
    /// At most this many records are removed by the limits in this call.
    pub evict_cap: usize,
}

/// Appends a record: allocates its id, writes `msg:<id>`, pushes the id on `__all__` and on
/// each tag's flow. Returns the id. Every check runs first ([`check`]); only then is anything
/// written ([`apply`]).
pub fn append(ctx: Ctx, rec: &NewRecord<'_>) -> Result<i64> {
    let checked = check(ctx, rec)?;
    apply(ctx, rec, checked)
}

/// What the append decides from what it read: the record's id and time, when its key
/// expires, and whether this write trims dead ids. Pure, so unit tests cover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    id: i64,
    ts: i64,
    /// PEXPIREAT's time, in milliseconds.
    expire_at_ms: Option<i64>,
    /// The oldest end of each flow written is looked at for dead ids.
    touch: bool,
}

impl Plan {
    /// The first id to try: after both the counter and the newest id of `__all__` (a lost
    /// counter must not reuse ids). Ids whose key exists are skipped after it.
    fn first_id(counter: i64, newest: Option<i64>) -> Result<i64> {
        counter.max(newest.unwrap_or(0)).max(0).checked_add(1).ok_or(Error::CounterOverflow)
    }

    /// `id`: the id found free; `floor`: the newest record's time, if known; `now`: this
    /// server's clock. Timestamps never decrease as ids grow (a clock that stepped back
    /// reuses the newest time), unless the newest time is further ahead than
    /// `MAX_CLOCK_LEAD_MICROS` (a broken clock). The TTL counts from the record's own time,
    /// as an absolute time: the master, its replicas and an AOF replay agree on it to the
    /// millisecond. In cluster mode a record missing here may be on another node (a slot
    /// being migrated): a write then removes no dead ids; the cleaner, which knows the
    /// slots, does.
    fn new(id: i64, floor: Option<i64>, now: i64, ttl_secs: Option<i64>, cluster: bool) -> Self {
        let ts = floor.filter(|&f| f - now <= MAX_CLOCK_LEAD_MICROS).map_or(now, |f| f.max(now));
        let expire_at_ms = ttl_secs.map(|secs| ts.div_euclid(1000).saturating_add(secs.saturating_mul(1000)));
        Plan { id, ts, expire_at_ms, touch: id % TOUCH_EVERY == 0 && !cluster }
    }

    /// [`Plan::new`] for a time `ts` the caller gives, refused unless the record fits where
    /// the clock's time would: not before the floor [`Plan::new`] holds times to (equal is
    /// fine), not more than `MAX_CLOCK_LEAD_MICROS` ahead of the clock (it would hold every
    /// later record's time there), not expired by its TTL, and not older than `max_age`
    /// (the strictest limit on age and its name) keeps: a record must not be gone on arrival.
    fn given(
        id: i64,
        ts: i64,
        floor: Option<i64>,
        now: i64,
        ttl_secs: Option<i64>,
        max_age: Option<(i64, &'static str)>,
        cluster: bool,
    ) -> Result<Self> {
        if ts.saturating_sub(now) > MAX_CLOCK_LEAD_MICROS {
            return Err(Error::TsAhead);
        }
        if let Some(f) = floor.filter(|&f| f - now <= MAX_CLOCK_LEAD_MICROS && ts < f) {
            return Err(Error::TsBeforeNewest(f));
        }
        if let Some((_, name)) = max_age.filter(|&(age, _)| ts < now.saturating_sub(age)) {
            return Err(Error::TsTooOld(name));
        }
        let plan = Plan::new(id, Some(ts), ts, ttl_secs, cluster);
        // PEXPIREAT runs on the server's clock a moment after this one was read: a record that
        // would expire within this millisecond or the next is refused, not deleted at once.
        if plan.expire_at_ms.is_some_and(|at| at <= now.div_euclid(1000).saturating_add(1)) {
            return Err(Error::TsExpired);
        }
        Ok(plan)
    }
}

/// The strictest limit on age a new record meets: this call's MAXAGE and `tlog.max-age`,
/// in microseconds, with the name to give in an error.
fn strictest_age(call: Option<i64>) -> Option<(i64, &'static str)> {
    let server = crate::config::server_limits().1.map(|a| (a, "tlog.max-age"));
    let call = call.map(|a| (a, "MAXAGE"));
    match (call, server) {
        (Some(c), Some(s)) => Some(if s.0 < c.0 { s } else { c }),
        (c, s) => c.or(s),
    }
}

/// Everything an append checked, with the keys it writes open for writing: nothing is
/// written yet.
struct Checked<'a> {
    keys: Keys<'a>,
    acl: Acl,
    db: i32,
    plan: Plan,
    counter_key: RString,
    counter: Key,
    msg_key: RString,
    msg: Key,
    /// `__all__` first, then each tag's flow.
    flow_keys: Vec<RString>,
    flows: Vec<Key>,
    channels: Vec<RString>,
    /// The records this call's limits remove.
    evictions: Option<retention::Plan>,
    /// The first write of the prefix this server sees (or since the cache forgot).
    first: bool,
}

/// Every check of an append, in order: the prefix, the ACL of every key and channel, the key
/// types, the counter, a free id, the limits' plan. Nothing is written.
fn check<'a>(ctx: Ctx, rec: &NewRecord<'a>) -> Result<Checked<'a>> {
    let (keys, acl, flags) = open_prefix_flags(ctx, rec.prefix)?;
    let cluster = flags.cluster();
    let db = ctx.selected_db();
    if prefixes::purging(db, rec.prefix) {
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
    let counter_handle = Key::open_string(ctx, &counter_key, Mode::Write)?;
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

    // Ids whose msg key exists are skipped: a record is never overwritten.
    let mut id = Plan::first_id(counter, newest)?;
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

    let now = record::now_micros();
    // `first`: the cleaner learns of the prefix once the record is written.
    // The cached time counts only while the counter still holds the id it came with: a counter
    // that moved on (or was reset) means another client wrote, maybe that very id again.
    let (floor, first) = match newest {
        Some(newest) => match floor_cache::get(db, rec.prefix, newest).filter(|_| counter == newest) {
            Some(ts) => (Some(ts), false),
            None => (newest_ts(ctx, &keys, newest)?, true),
        },
        None => (None, true),
    };
    // A given time is checked against the newest record that has one: the head's may be gone
    // (its key expired or deleted) or have none (another client's record).
    let floor = match (floor, rec.ts) {
        (None, Some(_)) => newest_time(ctx, &keys, &flows[0])?,
        _ => floor,
    };
    let plan = match rec.ts {
        None => Plan::new(id, floor, now, rec.ttl_secs, cluster),
        Some(ts) => Plan::given(id, ts, floor, now, rec.ttl_secs, strictest_age(rec.limits.max_age_micros), cluster)?,
    };
    // The records this call's limits remove, checked now like everything else.
    let evictions = if rec.limits.any() {
        let rules = retention::Rules { limits: rec.limits, now_micros: now, adding: 1, archive: retention::archive() };
        Some(retention::plan(ctx, &keys, &acl, rules, retention::Step::capped(rec.evict_cap, !cluster))?)
    } else {
        None
    };
    Ok(Checked {
        keys,
        acl,
        db,
        plan,
        counter_key,
        counter: counter_handle,
        msg_key,
        msg: msg_handle,
        flow_keys,
        flows,
        channels,
        evictions,
        first,
    })
}

/// Writes what [`check`] allowed, replicates it and notifies. Once the data is written nothing
/// may turn the command into an error (a client would retry and log the record twice), so a
/// failure to replicate or to apply the limits is logged instead.
fn apply(ctx: Ctx, rec: &NewRecord<'_>, checked: Checked<'_>) -> Result<i64> {
    let Checked {
        keys,
        acl,
        db,
        plan,
        counter_key,
        counter: mut counter_handle,
        msg_key,
        msg: mut msg_handle,
        flow_keys,
        flows,
        channels,
        evictions,
        first,
    } = checked;
    let Plan { id, ts, expire_at_ms, touch } = plan;
    let mut id_buf = keys::itoa_buf();
    let id_str = ctx.string(keys::fmt_id(id, &mut id_buf))?;
    let body = ctx.string(&record::encode(id, ts, rec.message, rec.tags, rec.attrs))?;

    // Every check passed: write.
    // In place where it ends the same: the counter stays a plain string, which the next
    // write reads without the server copying it first.
    if !counter_handle.overwrite_string(id_str.as_bytes())? {
        counter_handle.set_string(&id_str)?;
    }
    msg_handle.set_string(&body)?;
    for flow in &flows {
        flow.push_head(&id_str)?;
    }
    // Dead ids at the oldest end of the flows written go now, every TOUCH_EVERY-th record
    // (the cleaner does the rest). Not from `__all__` when limits remove from its end below.
    // How many were removed from each flow (empty when not looked at: no allocation then).
    let mut trimmed: Vec<usize> = Vec::new();
    if touch {
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
        let _ = prefixes::know(db, rec.prefix);
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
    if let Some(at) = expire_at_ms {
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
    stats::add(&stats::LOGGED, 1);
    prefixes::note_tags(db, rec.prefix, rec.tags, rec.ttl_secs.is_some());
    if let Some((all, tags)) = trimmed.split_first() {
        stats::add(&stats::EXPIRED, *all as u64);
        stats::add(&stats::TRIMMED, tags.iter().sum::<usize>() as u64);
    }
    if let Some(plan) = &evictions {
        match retention::execute(ctx, plan) {
            Ok(removed) => stats::removed(removed.evicted, removed.dead, removed.archived),
            Err(e) => {
                ctx.log_warning(&format!("tlog: record {id} was written but its limits were not fully applied: {e}"))
            }
        }
    }

    ctx.notify(Notify::String, c"incrby", &counter_key);
    ctx.notify(Notify::String, c"set", &msg_key);
    for (i, k) in flow_keys.iter().enumerate() {
        // Also what wakes the TLOG.TAIL readers blocked on the flow (see
        // `ffi::events::listen_to_list_pushes`), as a plain client's LPUSH does.
        ctx.notify(Notify::List, c"lpush", k);
        if trimmed.get(i).is_some_and(|&n| n > 0) {
            ctx.notify(Notify::List, c"rpop", k);
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
                let Ok(k) = Key::open_string(ctx, &msg, Mode::Read) else { break };
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
    let (publish, publish_tags) = crate::config::publish();
    let mut channels = Vec::new();
    if publish {
        channels.push(ctx.string(&keys.channel(None))?);
    }
    if publish_tags {
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
/// How many entries from the head of `__all__` a write with TS looks through for the newest
/// record that has a time.
const TS_FLOOR_PROBES: usize = 128;

/// The time of the newest record of `all` (the prefix's `__all__`) that has one, from the
/// first [`TS_FLOOR_PROBES`] entries: `None` if the flow ends before any; an error if it goes
/// on past them, the time a given TS must not precede being unknown.
fn newest_time(ctx: Ctx, keys: &Keys<'_>, all: &Key) -> Result<Option<i64>> {
    let n = all.len();
    for i in 0..n.min(TS_FLOOR_PROBES) {
        let Some(id) = all.list_get(ctx, i).and_then(|s| keys::parse_id(s.as_bytes())) else { continue };
        if let Some(ts) = newest_ts(ctx, keys, id)? {
            return Ok(Some(ts));
        }
    }
    if n > TS_FLOOR_PROBES {
        return Err(Error::TsUnchecked(TS_FLOOR_PROBES));
    }
    Ok(None)
}

fn newest_ts(ctx: Ctx, keys: &Keys<'_>, id: i64) -> Result<Option<i64>> {
    let name = ctx.string(&keys.msg(id))?;
    let k = Key::open_string(ctx, &name, Mode::Read)?;
    Ok(match k.kind() {
        KeyKind::String => record::decode_ts(k.string_value()?),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_id_follows_the_counter_and_the_newest_id() {
        assert_eq!(Plan::first_id(0, None), Ok(1));
        assert_eq!(Plan::first_id(7, Some(3)), Ok(8));
        // A lost or reset counter does not reuse the ids still in `__all__`.
        assert_eq!(Plan::first_id(0, Some(41)), Ok(42));
        assert_eq!(Plan::first_id(-5, None), Ok(1));
        assert_eq!(Plan::first_id(i64::MAX, None), Err(Error::CounterOverflow));
        assert_eq!(Plan::first_id(1, Some(i64::MAX)), Err(Error::CounterOverflow));
    }

    #[test]
    fn timestamps_never_go_back_unless_the_newest_is_far_ahead() {
        let now = 1_700_000_000_000_000;
        assert_eq!(Plan::new(1, None, now, None, false).ts, now);
        assert_eq!(Plan::new(2, Some(now - 5), now, None, false).ts, now);
        // A clock that stepped back reuses the newest time.
        assert_eq!(Plan::new(3, Some(now + 5), now, None, false).ts, now + 5);
        assert_eq!(Plan::new(4, Some(now + MAX_CLOCK_LEAD_MICROS), now, None, false).ts, now + MAX_CLOCK_LEAD_MICROS);
        // A newest time too far ahead (a broken clock) drags nothing along.
        assert_eq!(Plan::new(5, Some(now + MAX_CLOCK_LEAD_MICROS + 1), now, None, false).ts, now);
    }

    #[test]
    fn the_ttl_counts_from_the_records_time_in_milliseconds() {
        let p = Plan::new(1, Some(1_000_999_999), 1_000_000_000, Some(60), false);
        assert_eq!((p.ts, p.expire_at_ms), (1_000_999_999, Some(1_000_999 + 60_000)));
        assert_eq!(Plan::new(1, None, 5_000, None, false).expire_at_ms, None);
    }

    #[test]
    fn a_given_time_fits_where_the_clocks_would() {
        let now = 1_700_000_000_000_000;
        let given = |ts, floor, ttl, age| Plan::given(1, ts, floor, now, ttl, age, false);
        // Back-dated, at the floor, ahead up to the clock lead: written with that time.
        assert_eq!(given(now - 10_000_000, None, None, None).map(|p| p.ts), Ok(now - 10_000_000));
        assert_eq!(given(now - 5, Some(now - 5), None, None).map(|p| p.ts), Ok(now - 5));
        assert_eq!(given(now + MAX_CLOCK_LEAD_MICROS, None, None, None).map(|p| p.ts), Ok(now + MAX_CLOCK_LEAD_MICROS));
        // Before the newest record, or too far ahead: refused.
        assert_eq!(given(now - 6, Some(now - 5), None, None), Err(Error::TsBeforeNewest(now - 5)));
        assert_eq!(given(now + MAX_CLOCK_LEAD_MICROS + 1, None, None, None), Err(Error::TsAhead));
        // A newest time too far ahead is no floor, as for the clock's times.
        let broken = now + MAX_CLOCK_LEAD_MICROS + 1;
        assert_eq!(given(now - 5, Some(broken), None, None).map(|p| p.ts), Ok(now - 5));
        // The TTL counts from the given time: refused if it has run out.
        assert_eq!(given(now - 60_000_000, None, Some(60), None), Err(Error::TsExpired));
        // Expiring in the next millisecond: refused too, the server's clock may be there by
        // the time the expiry is set.
        assert_eq!(given(now - 59_999_000, None, Some(60), None), Err(Error::TsExpired));
        assert_eq!(given(now - 59_998_000, None, Some(60), None).map(|p| p.expire_at_ms), Ok(Some(now / 1000 + 2)));
        let p = given(now - 59_000_000, None, Some(60), None).unwrap();
        assert_eq!(p.expire_at_ms, Some((now - 59_000_000) / 1000 + 60_000));
        // Older than a limit on age keeps: refused, naming the limit.
        assert_eq!(given(now - 61_000_000, None, None, Some((60_000_000, "MAXAGE"))), Err(Error::TsTooOld("MAXAGE")));
        assert!(given(now - 60_000_000, None, None, Some((60_000_000, "MAXAGE"))).is_ok());
    }

    #[test]
    fn every_eighth_write_trims_except_in_cluster_mode() {
        let touched: Vec<i64> = (1..=24).filter(|&id| Plan::new(id, None, 0, None, false).touch).collect();
        assert_eq!(touched, vec![8, 16, 24]);
        assert!(!Plan::new(8, None, 0, None, true).touch);
    }
}

//! Retention: records leave a prefix from the oldest end of its `__all__` flow, because a limit
//! says so (at most N records, none older than D) or because they are already gone (expired or
//! deleted by another client, leaving a dead id behind). Also the trimming of dead ids from the
//! oldest end of any flow shown to be a prefix's.
//!
//! Removal follows the path of every write: a plan is made with read-only opens (ACL, key
//! types, which records go), then carried out as plain commands run and replicated as such
//! (`XADD` to the archive, `DEL`, `LREM`, `RPOP`), so replicas and an AOF replay need no module.

use crate::error::{Error, Result};
use crate::ffi::{Access, Acl, Ctx, Key, KeyKind, Mode, RString};
use crate::keys::{self, Keys};
use crate::record;

/// How many records one call may remove when its limit is approximate (`~`).
pub const APPROX_BATCH: usize = 100;

/// The limits a removal enforces. `None`: no such limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_records: Option<u64>,
    pub max_age_micros: Option<i64>,
}

impl Limits {
    pub fn any(&self) -> bool {
        self.max_records.is_some() || self.max_age_micros.is_some()
    }
}

/// How much one plan may take on.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Entries of `__all__`.
    pub entries: usize,
    /// Removals of ids from tag flows (a record with many tags costs as much as many
    /// records); at least one record is taken whatever its tags.
    pub flow_ops: usize,
    /// Whether an id without a record may go. Not where the record may be on another node
    /// (a cluster slot being migrated): there a dead id ends the plan.
    pub dead_removable: bool,
}

impl Step {
    /// At most `entries` entries.
    pub fn capped(entries: usize, dead_removable: bool) -> Self {
        Step { entries, flow_ops: usize::MAX, dead_removable }
    }
}

/// Where removed records are archived: `<prefix>:archive`, a stream capped at `maxlen`.
pub struct Archive {
    pub maxlen: i64,
}

/// The archive records removed by retention go to, if archiving is on.
pub fn archive() -> Option<Archive> {
    crate::config::archive_maxlen().map(|maxlen| Archive { maxlen })
}

/// One entry leaving the tail of `__all__`: a record, or a dead id.
struct Eviction {
    /// The entry as stored in the flow.
    entry: RString,
    /// The record's key and stored JSON; `None` for a dead id (no record behind it).
    record: Option<(RString, Vec<u8>, i64)>,
    /// The flows of the record's tags (from its `"tags"`), each to lose the id.
    flows: Vec<RString>,
}

/// What a removal will do, checked and not yet done.
pub struct Plan {
    all: RString,
    /// The length of `__all__` when planned.
    len: usize,
    archive: Option<(RString, i64)>,
    evictions: Vec<Eviction>,
    /// The step's bounds ended the plan, not the limits: there may be more to remove.
    more: bool,
    /// The plan ended at a record of the prefix that stays.
    kept_record: bool,
}

/// What a removal did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Records removed because a limit said so.
    pub evicted: u64,
    /// Dead ids removed (their record had expired or was deleted).
    pub dead: u64,
    pub archived: u64,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.evictions.is_empty()
    }

    /// True if the step's bounds ended the plan: another step may find more to remove.
    pub fn more(&self) -> bool {
        self.more
    }

    /// True if `__all__` is missing, or the plan removes every entry of it.
    pub fn empties(&self) -> bool {
        self.evictions.len() == self.len
    }

    /// True if the plan removes a record, or ended at one that stays: the oldest id of
    /// `__all__` with a record is then the id of a record of the prefix, which shows that the
    /// list is the prefix's (see [`shown_by_contents`]).
    pub fn meets_a_record(&self) -> bool {
        self.kept_record || self.evictions.iter().any(|e| e.record.is_some())
    }

    /// True if the plan removes an entry that is not an id.
    pub fn removes_a_non_id(&self) -> bool {
        self.evictions.iter().any(|e| e.record.is_none() && keys::parse_id(e.entry.as_bytes()).is_none())
    }

    /// Keeps only the entries before the first one that is not an id (the plan then ends
    /// there): what may go from a list whose contents do not show it, on trust alone.
    pub fn keep_ids_only(&mut self) {
        if let Some(i) =
            self.evictions.iter().position(|e| e.record.is_none() && keys::parse_id(e.entry.as_bytes()).is_none())
        {
            self.evictions.truncate(i);
            self.more = false;
        }
    }
}

/// What a removal enforces, and when.
pub struct Rules {
    pub limits: Limits,
    /// The time ages are measured at.
    pub now_micros: i64,
    /// Records about to be logged, counted against `max_records`.
    pub adding: u64,
    /// Where removed records go first, if anywhere.
    pub archive: Option<Archive>,
}

/// The entries to remove from the tail of `__all__` of `keys`: while the rules' limits are
/// exceeded or the entry is a dead id, within `step`. Every key to be written is checked
/// against `acl` and for its type first.
pub fn plan(ctx: Ctx, keys: &Keys<'_>, acl: &Acl, rules: Rules, step: Step) -> Result<Plan> {
    let Rules { limits, now_micros, adding, archive } = rules;
    let all = ctx.string(&keys.all_flow())?;
    acl.check(&all, Access::ReadWrite)?;
    let flow = Key::open(ctx, &all, Mode::Read)?;
    if !matches!(flow.kind(), KeyKind::Empty | KeyKind::List) {
        return Err(Error::WrongType);
    }
    let len = flow.len();
    let excess = limits.max_records.map_or(0, |max| (len as u64).saturating_add(adding).saturating_sub(max));
    let cutoff = limits.max_age_micros.map(|age| now_micros.saturating_sub(age));
    let mut evictions: Vec<Eviction> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut any_record = false;
    let mut flow_ops = 0usize;
    let mut more = len > step.entries;
    let mut kept_record = false;
    for k in 0..len.min(step.entries) {
        let Some(entry) = flow.list_get(ctx, len - 1 - k) else { break };
        let by_count = (evictions.len() as u64) < excess;
        let id = keys::parse_id(entry.as_bytes());
        // A repeated id (written by another client) is dead the second time: its record goes
        // with the first.
        let Some(id) = id.filter(|id| !seen.contains(id)) else {
            if !step.dead_removable {
                more = false;
                break;
            }
            evictions.push(Eviction { entry, record: None, flows: Vec::new() });
            continue;
        };
        let msg = ctx.string(&keys.msg(id))?;
        // Checked before the record is looked at: whether it is old enough to go is its content.
        acl.check(&msg, Access::ReadWrite)?;
        let k = Key::open_string(ctx, &msg, Mode::Read)?;
        // A record of the prefix is a string holding its own id (see `record::decode_id`).
        // Anything else at its name is another client's key: the id is dead, and the key is
        // left as it is.
        let body = match k.kind() {
            KeyKind::String => Some(k.string_value()?).filter(|b| is_record_body(b, id)).map(<[u8]>::to_vec),
            _ => None,
        };
        drop(k);
        let Some(body) = body else {
            if !step.dead_removable {
                more = false;
                break;
            }
            evictions.push(Eviction { entry, record: None, flows: Vec::new() });
            continue;
        };
        let old = cutoff.is_some_and(|c| record::decode_ts(&body).is_some_and(|ts| ts < c));
        if !(by_count || old) {
            more = false;
            kept_record = true;
            break;
        }
        if any_record && flow_ops >= step.flow_ops {
            more = true;
            break;
        }
        let mut flows = Vec::new();
        for tag in record::decode(&body).tags.iter() {
            // Only the flows of the record's own tags, and never a key of a nested prefix (a
            // tag `x:counter` written by another client): see `keys::nested_key`.
            if tag.is_empty() || tag.as_bytes() == keys::ALL_FLOW || keys::nested_key(tag.as_bytes()).is_some() {
                continue;
            }
            let name = ctx.string(&keys.flow(tag.as_bytes()))?;
            acl.check(&name, Access::ReadWrite)?;
            if !matches!(Key::open(ctx, &name, Mode::Read)?.kind(), KeyKind::Empty | KeyKind::List) {
                return Err(Error::WrongType);
            }
            flows.push(name);
        }
        flow_ops += flows.len();
        any_record = true;
        seen.insert(id);
        evictions.push(Eviction { entry, record: Some((msg, body, id)), flows });
    }
    let archive = match archive {
        Some(a) if any_record => {
            let name = ctx.string(&keys.archive())?;
            acl.check(&name, Access::Write)?;
            if !matches!(Key::open(ctx, &name, Mode::Read)?.kind(), KeyKind::Empty | KeyKind::Stream) {
                return Err(Error::WrongType);
            }
            Some((name, a.maxlen))
        }
        _ => None,
    };
    Ok(Plan { all, len, archive, evictions, more, kept_record })
}

/// Carries out a plan. Called once every check has passed; a failing command is reported, but
/// what was done stays done (a module gets no rollback).
pub fn execute(ctx: Ctx, plan: &Plan) -> Result<Removed> {
    let mut done = Removed::default();
    if plan.evictions.is_empty() {
        return Ok(done);
    }
    let minus_one = ctx.string(b"-1")?;
    let mut records: Vec<&RString> = Vec::new();
    for e in &plan.evictions {
        let Some((msg, body, _)) = &e.record else {
            done.dead += 1;
            continue;
        };
        if let Some((archive, maxlen)) = &plan.archive {
            let mut buf = keys::itoa_buf();
            let maxlen = ctx.string(keys::fmt_id(*maxlen, &mut buf))?;
            let body = ctx.string(body)?;
            let args = [
                archive,
                &ctx.string(b"MAXLEN")?,
                &maxlen,
                &ctx.string(b"*")?,
                &ctx.string(b"id")?,
                &e.entry,
                &ctx.string(b"record")?,
                &body,
            ];
            ctx.call_replicated(c"XADD", &args)?;
            done.archived += 1;
        }
        // The oldest occurrence, searched from the tail, where an evicted record's id is.
        for f in &e.flows {
            ctx.call_replicated(c"LREM", &[f, &minus_one, &e.entry])?;
        }
        records.push(msg);
        done.evicted += 1;
    }
    if !records.is_empty() {
        ctx.call_replicated(c"DEL", &records)?;
    }
    let mut buf = keys::itoa_buf();
    let n = ctx.string(keys::fmt_id(plan.evictions.len() as i64, &mut buf))?;
    ctx.call_replicated(c"RPOP", &[&plan.all, &n])?;
    Ok(done)
}

/// How many entries at each end of a flow are looked at to show whose flow it is.
pub const PROOF_LOOK: usize = 16;

/// What is known of whether a list is the flow of the prefix and tag its name reads as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Proof {
    /// This server remembers the flow as the prefix's (it wrote to it, or its contents showed
    /// it earlier): its dead ids may go. Not an entry that is no id: only the contents can
    /// show that such an entry is in a flow of tlog's.
    pub remembered: bool,
    /// What its contents showed, once looked at (see [`shown_by_contents`]).
    pub contents: Option<bool>,
}

impl Proof {
    pub fn shown(&self) -> bool {
        self.contents == Some(true)
    }
}

/// What [`trim_dead_tail`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trim {
    /// Entries removed.
    pub removed: u64,
    /// The list is missing (or of another type), or this call emptied it.
    pub gone: bool,
    /// The oldest entry is the id of a record of the prefix that lists the tag: the list is
    /// shown to be the flow (looked at only when asked and nothing was dead).
    pub live_tail_shows: bool,
}

/// Removes the dead ids at the oldest end of flow `name`, flow `tag` of `keys`, at most `max`:
/// entries that are not ids, or that lead to no record of the prefix. Only as far as `proof`
/// allows: everything dead if the contents show the flow to be the prefix's (looked at here,
/// once per `proof`, only if needed), the dead ids before the first entry that is not an id if
/// this server remembers the flow, nothing otherwise. Names alone prove nothing: a list
/// `flow:queue` of numbers is, by name, a flow of the empty prefix. Runs as `RPOP name count`.
/// With `probe_live_tail`, a live oldest entry is also checked against its record's tags.
pub fn trim_dead_tail(
    ctx: Ctx,
    name: &RString,
    keys: &Keys<'_>,
    tag: &[u8],
    max: usize,
    proof: &mut Proof,
    probe_live_tail: bool,
) -> Result<Trim> {
    let flow = Key::open(ctx, name, Mode::Read)?;
    if flow.kind() != KeyKind::List {
        return Ok(Trim { gone: true, ..Trim::default() });
    }
    let len = flow.len();
    let mut dead = 0;
    let mut first_non_id = None;
    let mut oldest_live = None;
    while dead < len.min(max) {
        let Some(entry) = flow.list_get(ctx, len - 1 - dead) else { break };
        match keys::parse_id(entry.as_bytes()) {
            None => {
                first_non_id.get_or_insert(dead);
            }
            Some(id) if is_record(ctx, keys, id)? => {
                oldest_live = Some(id);
                break;
            }
            Some(_) => {}
        }
        dead += 1;
    }
    drop(flow);
    if dead == 0 {
        let live_tail_shows = match oldest_live {
            Some(id) if probe_live_tail => shows(ctx, keys, tag, id)?,
            _ => false,
        };
        return Ok(Trim { live_tail_shows, ..Trim::default() });
    }
    let needs_contents = !proof.remembered || first_non_id.is_some();
    if proof.contents.is_none() && needs_contents {
        // The oldest live id among the `PROOF_LOOK` oldest entries is known already: the
        // entries before it are the dead ones just read.
        let oldest = match oldest_live {
            Some(id) if dead < PROOF_LOOK => Oldest::Known(Some(id)),
            Some(_) => Oldest::Known(None),
            None if dead >= PROOF_LOOK.min(len) => Oldest::Known(None),
            None => Oldest::Probe,
        };
        proof.contents = Some(shown_by(ctx, keys, tag, name, oldest)?);
    }
    let removable = if proof.shown() {
        dead
    } else if proof.remembered {
        first_non_id.unwrap_or(dead)
    } else {
        0
    };
    if removable == 0 {
        return Ok(Trim::default());
    }
    let mut buf = keys::itoa_buf();
    let n = ctx.string(keys::fmt_id(removable as i64, &mut buf))?;
    ctx.call_replicated(c"RPOP", &[name, &n])?;
    Ok(Trim { removed: removable as u64, gone: removable == len, live_tail_shows: false })
}

/// True if record `id` of `keys` exists: a string at its name holding a JSON object whose
/// `"id"` is `id`. Anything else there is not a record of the prefix.
fn is_record(ctx: Ctx, keys: &Keys<'_>, id: i64) -> Result<bool> {
    let msg = ctx.string(&keys.msg(id))?;
    let k = Key::open_string(ctx, &msg, Mode::Read)?;
    Ok(k.kind() == KeyKind::String && is_record_body(k.string_value()?, id))
}

/// The oldest end of a list, for [`shown_by`]: to be looked at, or already known.
enum Oldest {
    Probe,
    /// The oldest id with a record among the `PROOF_LOOK` oldest entries, if any.
    Known(Option<i64>),
}

/// True if the contents of list `name` show that it is flow `tag` of `keys`: among its
/// `PROOF_LOOK` newest ids, or the oldest of its `PROOF_LOOK` oldest ids whose record exists,
/// one is the id of a record of the prefix that lists `tag` in its `"tags"` (for `__all__`,
/// any record of the prefix). A record of the prefix is a string `<prefix>:msg:<id>` holding
/// a JSON object whose `"id"` is `<id>`. A flow whose ids are all dead shows nothing.
pub fn shown_by_contents(ctx: Ctx, keys: &Keys<'_>, tag: &[u8], name: &RString) -> Result<bool> {
    shown_by(ctx, keys, tag, name, Oldest::Probe)
}

fn shown_by(ctx: Ctx, keys: &Keys<'_>, tag: &[u8], name: &RString, oldest: Oldest) -> Result<bool> {
    let mut ids = Vec::with_capacity(PROOF_LOOK + 1);
    let flow = Key::open(ctx, name, Mode::Read)?;
    if flow.kind() != KeyKind::List {
        return Ok(false);
    }
    let len = flow.len();
    match oldest {
        Oldest::Known(id) => ids.extend(id),
        Oldest::Probe => {
            for k in 0..len.min(PROOF_LOOK) {
                let Some(id) = flow.list_get(ctx, len - 1 - k).and_then(|e| keys::parse_id(e.as_bytes())) else {
                    continue;
                };
                if is_record(ctx, keys, id)? {
                    ids.push(id);
                    break;
                }
            }
        }
    }
    // Each end from a fresh open: the server reaches an index by stepping from the last one
    // read, and a jump from one end to the other would step through the whole list.
    drop(flow);
    let flow = Key::open(ctx, name, Mode::Read)?;
    for i in 0..len.min(PROOF_LOOK).min(flow.len()) {
        if let Some(id) = flow.list_get(ctx, i).and_then(|e| keys::parse_id(e.as_bytes())) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    drop(flow);
    for id in ids {
        if shows(ctx, keys, tag, id)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// True if record `id` of `keys` exists, is a record of the prefix (its `"id"` is `id`) and
/// lists `tag` in its `"tags"`; for `__all__`, if it is a record of the prefix.
fn shows(ctx: Ctx, keys: &Keys<'_>, tag: &[u8], id: i64) -> Result<bool> {
    let msg = ctx.string(&keys.msg(id))?;
    let k = Key::open_string(ctx, &msg, Mode::Read)?;
    if k.kind() != KeyKind::String {
        return Ok(false);
    }
    let body = k.string_value()?;
    if record::decode_id(body) != Some(id) {
        return Ok(false);
    }
    Ok(tag == keys::ALL_FLOW || record::decode(body).tags.iter().any(|t| t.as_bytes() == tag))
}

/// The length and newest entry of list `name` (`None` if it is no list): what shows whether a
/// list changed since it was last looked at.
pub fn list_state(ctx: Ctx, name: &RString) -> Option<(usize, Vec<u8>)> {
    let k = Key::open(ctx, name, Mode::Read).ok()?;
    if k.kind() != KeyKind::List {
        return None;
    }
    let head = k.list_get(ctx, 0).map(|e| e.as_bytes().to_vec()).unwrap_or_default();
    Some((k.len(), head))
}

/// True if `__all__` of `prefix` in the selected database is a list.
pub fn has_all_flow(ctx: Ctx, prefix: &[u8]) -> bool {
    ctx.string(&Keys::new(prefix).all_flow())
        .and_then(|name| Ok(Key::open(ctx, &name, Mode::Read)?.kind()))
        .is_ok_and(|k| k == KeyKind::List)
}

/// One SCAN step over the selected database for the keys named like flows (`*flow:*`):
/// `(next cursor, keys)`, at most about `count` keys looked at.
pub fn scan_flows(ctx: Ctx, cursor: &[u8], count: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>)> {
    ctx.scan(cursor, b"*flow:*", count)
}

/// True if `body`, stored at record `id`'s name, is a record of the prefix: it holds its own
/// id (see `record::decode_id`). What TLOG.DEL, TLOG.PURGE and the limits require before they
/// remove a key `<prefix>:msg:<id>`.
pub fn is_record_body(body: &[u8], id: i64) -> bool {
    record::decode_id(body) == Some(id)
}

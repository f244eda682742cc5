//! Read queries over one flow: the options, time values, and the plan that seeks into the flow
//! by binary search and then scans it. Pure: the flow is reached through [`IdList`], so the
//! plan is tested here against plain vectors.
//!
//! A flow holds ids newest first (LPUSH of increasing ids), and tlog's timestamps never
//! decrease as ids grow, so both ids and timestamps are sorted along a flow: a bound on either
//! is found in O(log N) probes. Other clients may push an id a few places out of order (an id
//! taken with INCR, pushed after others): up to a window of positions, reads stay exact, by
//! widening each bound's search by the window and sorting the ids through a small heap. Every
//! record returned is still checked against every bound.

use std::cell::Cell;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::ops::Range;

use chrono::DateTime;

use crate::error::{Error, Result};
use crate::keys;

/// The options of TLOG.GET / TLOG.LATEST / TLOG.COUNT after the tag.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    pub limit: Option<usize>,
    /// Oldest first.
    pub asc: bool,
    /// Only ids below this one (the next page of a newest-first listing).
    pub before: Option<i64>,
    /// Only ids above this one (catching up from the last id seen).
    pub after: Option<i64>,
    /// Only records at or after this time (microseconds since the epoch).
    pub since: Option<i64>,
    /// Only records at or before this time.
    pub until: Option<i64>,
    pub raw: bool,
    /// TLOG.TAIL: wait this many milliseconds for a record (0: without a timeout).
    pub block: Option<i64>,
    /// Tags a record must all have too (besides the flow's own).
    pub and: Vec<Vec<u8>>,
    /// Tags of which a record must have at least one.
    pub or: Vec<Vec<u8>>,
    /// Tags a record must not have.
    pub not: Vec<Vec<u8>>,
    /// SCANLIMIT: at most this many ids passed over in the call (0: no limit); `None`: the
    /// configured `tlog.read-scan-limit`.
    pub scan_limit: Option<u64>,
    /// WITHCURSOR: the reply says where the next call goes on from.
    pub with_cursor: bool,
    /// WHERE and MATCH: what each record must hold (see [`crate::filter`]).
    pub filter: crate::filter::Filter,
    /// TLOG.COUNT BUCKET: counts per bucket of this many seconds.
    pub bucket: Option<i64>,
}

impl Query {
    pub fn has_tag_filter(&self) -> bool {
        !(self.and.is_empty() && self.or.is_empty() && self.not.is_empty())
    }

    /// WHERE or MATCH: each record is read to be checked.
    pub fn has_record_filter(&self) -> bool {
        !self.filter.is_empty()
    }

    pub fn has_time_bounds(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// True if a record passes every bound (the scan checks each one).
    pub fn admits(&self, id: i64, ts: Option<i64>) -> bool {
        self.before.is_none_or(|b| id < b)
            && self.after.is_none_or(|a| id > a)
            && (!self.has_time_bounds()
                || ts.is_some_and(|t| self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)))
    }
}

/// Which options a command takes.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    pub limit: bool,
    pub order: bool,
    pub raw: bool,
    /// BEFORE, AFTER, SINCE, UNTIL.
    pub bounds: bool,
    /// COUNT and BLOCK (TLOG.TAIL).
    pub tail: bool,
    /// BUCKET (TLOG.COUNT).
    pub bucket: bool,
}

impl Allowed {
    pub const GET: Allowed = Allowed { limit: true, order: true, raw: true, bounds: true, tail: false, bucket: false };
    pub const LATEST: Allowed =
        Allowed { limit: false, order: false, raw: true, bounds: true, tail: false, bucket: false };
    pub const COUNT: Allowed =
        Allowed { limit: false, order: false, raw: false, bounds: true, tail: false, bucket: true };
    pub const TAIL: Allowed =
        Allowed { limit: false, order: false, raw: true, bounds: false, tail: true, bucket: false };
}

/// Parses the options after the tag. Each may appear once; values are checked.
pub fn parse_options(opts: &[&[u8]], allowed: Allowed) -> Result<Query> {
    let mut q = Query::default();
    let mut order_given: Option<&'static str> = None;
    let mut i = 0;
    while i < opts.len() {
        let opt = opts[i];
        let value = opts.get(i + 1).copied();
        let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
        let mut takes_value = true;
        if is("LIMIT") && allowed.limit {
            let v = value.ok_or(Error::Syntax)?;
            let n =
                keys::parse_i64(v).filter(|&n| n >= 0).ok_or(Error::BadNumber("LIMIT", "a non-negative integer"))?;
            set(&mut q.limit, usize::try_from(n).unwrap_or(usize::MAX), "LIMIT")?;
        } else if is("BEFORE") && allowed.bounds {
            let v = value.ok_or(Error::Syntax)?;
            set(&mut q.before, keys::parse_id(v).ok_or(Error::BadNumber("BEFORE", "a record id"))?, "BEFORE")?;
        } else if is("AFTER") && allowed.bounds {
            let v = value.ok_or(Error::Syntax)?;
            // AFTER 0 means from the very first record.
            let id = keys::parse_i64(v).filter(|&n| n >= 0).ok_or(Error::BadNumber("AFTER", "a record id"))?;
            set(&mut q.after, id, "AFTER")?;
        } else if is("SINCE") && allowed.bounds {
            // A time between two microseconds: SINCE starts at the later one.
            let (t, finer) = parse_time_finer(value.ok_or(Error::Syntax)?)?;
            set(&mut q.since, t.saturating_add(i64::from(finer)), "SINCE")?;
        } else if is("UNTIL") && allowed.bounds {
            set(&mut q.until, parse_time(value.ok_or(Error::Syntax)?)?, "UNTIL")?;
        } else if is("COUNT") && allowed.tail {
            let v = value.ok_or(Error::Syntax)?;
            let n = keys::parse_i64(v).filter(|&n| n > 0).ok_or(Error::BadNumber("COUNT", "a positive integer"))?;
            set(&mut q.limit, usize::try_from(n).unwrap_or(usize::MAX), "COUNT")?;
        } else if is("BLOCK") && allowed.tail {
            let v = value.ok_or(Error::Syntax)?;
            let ms = keys::parse_i64(v)
                .filter(|&n| n >= 0)
                .ok_or(Error::BadNumber("BLOCK", "a timeout in milliseconds (0: no timeout)"))?;
            set(&mut q.block, ms, "BLOCK")?;
        } else if (is("ASC") || is("DESC")) && allowed.order {
            let this = if is("ASC") { "ASC" } else { "DESC" };
            if let Some(prev) = order_given {
                return Err(if prev == this {
                    Error::RepeatedOption(this)
                } else {
                    Error::ConflictingOptions("ASC", "DESC")
                });
            }
            order_given = Some(this);
            q.asc = this == "ASC";
            takes_value = false;
        } else if is("AND") || is("OR") || is("NOT") {
            let (name, list) = if is("AND") {
                ("AND", &mut q.and)
            } else if is("OR") {
                ("OR", &mut q.or)
            } else {
                ("NOT", &mut q.not)
            };
            if !list.is_empty() {
                return Err(Error::RepeatedOption(name));
            }
            // One error for every count out of range, huge ones included (beyond i64 too).
            let max = crate::record::MAX_TAGS;
            let n = value
                .and_then(keys::parse_i64)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| (1..=max).contains(&n))
                .ok_or(Error::NumTags(name, max))?;
            let tags = opts.get(i + 2..i + 2 + n).ok_or(Error::Syntax)?;
            if tags.iter().any(|t| t.is_empty()) {
                return Err(Error::EmptyTag);
            }
            list.extend(tags.iter().map(|t| t.to_vec()));
            i += n;
        } else if is("WHERE") {
            i += q.filter.parse_where(opts, i)?;
            continue;
        } else if is("MATCH") {
            i += q.filter.parse_match(opts, i)?;
            continue;
        } else if is("BUCKET") && allowed.bucket {
            let v = value.ok_or(Error::Syntax)?;
            let n = keys::parse_i64(v)
                .filter(|&n| n > 0)
                .ok_or(Error::BadNumber("BUCKET", "a positive integer of seconds"))?;
            set(&mut q.bucket, n, "BUCKET")?;
        } else if is("SCANLIMIT") {
            let v = value.ok_or(Error::Syntax)?;
            let n = keys::parse_i64(v)
                .filter(|&n| n >= 0)
                .ok_or(Error::BadNumber("SCANLIMIT", "a non-negative integer (0: no limit)"))?;
            set(&mut q.scan_limit, u64::try_from(n).unwrap_or(u64::MAX), "SCANLIMIT")?;
        } else if is("WITHCURSOR") {
            if q.with_cursor {
                return Err(Error::RepeatedOption("WITHCURSOR"));
            }
            q.with_cursor = true;
            takes_value = false;
        } else if is("RAW") && allowed.raw {
            if q.raw {
                return Err(Error::RepeatedOption("RAW"));
            }
            q.raw = true;
            takes_value = false;
        } else {
            return Err(Error::Syntax);
        }
        i += if takes_value { 2 } else { 1 };
    }
    if let (Some(a), Some(b)) = (q.after, q.before) {
        if a >= b {
            return Err(Error::InvertedRange("AFTER must be below BEFORE"));
        }
    }
    if let (Some(s), Some(u)) = (q.since, q.until) {
        if s > u {
            return Err(Error::InvertedRange("SINCE must not be after UNTIL"));
        }
    }
    if let Some(secs) = q.bucket {
        crate::filter::check_buckets(q.since, q.until, secs)?;
    }
    Ok(q)
}

fn set<T>(slot: &mut Option<T>, v: T, name: &'static str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::RepeatedOption(name));
    }
    *slot = Some(v);
    Ok(())
}

/// A time: unix seconds (`1700000000`, `1700000000.25`) or RFC 3339 with an offset
/// (`2026-11-23T10:15:02.5+01:00`, `...Z`). Microseconds since the epoch, rounded down: in
/// either form, decimals past the sixth (nanoseconds, from other systems) are dropped.
pub fn parse_time(v: &[u8]) -> Result<i64> {
    parse_time_finer(v).map(|(t, _)| t)
}

/// [`parse_time`], and whether the time given is finer than that, past the microsecond it is
/// rounded down to.
pub fn parse_time_finer(v: &[u8]) -> Result<(i64, bool)> {
    let bad = || Error::BadTime(String::from_utf8_lossy(v).into_owned());
    let text = std::str::from_utf8(v).map_err(|_| bad())?;
    let (neg, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if digits(int) && (frac.is_empty() && !unsigned.ends_with('.') || digits(frac)) {
        if int.len() > 12 {
            return Err(bad());
        }
        let (frac, finer) = frac.split_at(frac.len().min(6));
        let finer = finer.bytes().any(|c| c != b'0');
        let secs: i64 = int.parse().map_err(|_| bad())?;
        let micros: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
        let t = secs * 1_000_000 + micros;
        // Rounded down, below zero too.
        return Ok(if neg { (-t - i64::from(finer), finer) } else { (t, finer) });
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| (t.timestamp_micros(), t.timestamp_subsec_nanos() % 1000 != 0))
        .map_err(|_| bad())
}

/// What [`IdList::records_ts`] finds: per id, `None` if gone, else its timestamp; and the
/// error that stopped it short, if any.
pub type RecordsTs = (Vec<Option<Option<i64>>>, Option<Error>);

/// [`IdList::records_ts`] by one [`IdList::record_ts`] per id.
pub fn records_ts_one_by_one<L: IdList + ?Sized>(list: &L, ids: &[i64], need_ts: bool) -> Result<RecordsTs> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        match list.record_ts(id, need_ts) {
            Ok(r) => out.push(r),
            Err(e) if out.is_empty() => return Err(e),
            Err(e) => return Ok((out, Some(e))),
        }
    }
    Ok((out, None))
}

/// A flow seen by the plan: entries newest first.
pub trait IdList {
    fn len(&self) -> usize;
    /// The id at `index`, `None` for an entry that is not an id.
    fn id(&self, index: usize) -> Option<i64>;
    /// Record `id`: `None` if it is gone, else its timestamp (`None` if it has none, or if
    /// `need_ts` is false: then only its existence is asked).
    fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>>;

    /// The entries at the indices `range`, in list order, as [`IdList::id`] reads them. A
    /// flow reads a run of entries at once for less than one by one.
    fn ids(&self, range: Range<usize>) -> Vec<Option<i64>> {
        range.map(|i| self.id(i)).collect()
    }

    /// An id no id of the flow is above, if known at little cost (the prefix's counter: the
    /// last id given out). `None` when unknown.
    fn ceiling(&self) -> Option<i64> {
        None
    }

    /// A time that, if record `id` still holds it, proves no id of the flow is above `id`,
    /// known at no cost (a flow: the record this server last logged for the prefix). `None`
    /// when unknown: [`IdList::ceiling`] is asked instead.
    fn newest_if_ts(&self, _id: i64) -> Option<i64> {
        None
    }

    /// [`IdList::record_ts`] of each of `ids`, in order. At the first record the caller may
    /// not read, the answers stop short, with that error beside them (an error at once if it
    /// is the first). A flow reads many records at once for less than one by one.
    fn records_ts(&self, ids: &[i64], need_ts: bool) -> Result<RecordsTs> {
        records_ts_one_by_one(self, ids, need_ts)
    }

    /// The timestamp of record `id` for a search probe; `None` if unknown.
    fn probe_ts(&self, id: i64) -> Result<Option<i64>> {
        Ok(self.record_ts(id, true)?.flatten())
    }

    /// The timestamp of the record at `index`; `None` if unknown.
    fn ts(&self, index: usize) -> Result<Option<i64>> {
        match self.id(index) {
            Some(id) => self.probe_ts(id),
            None => Ok(None),
        }
    }
}

/// A flow whose records can be read whole: what WHERE and MATCH check.
pub trait RecordList: IdList {
    /// Calls `f` with the stored bytes of record `id`: `None` if it is gone.
    fn with_record_id<T>(&self, id: i64, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>>;

    /// Calls `f` with the stored records of `ids`, in order (`None`: gone), read at once:
    /// `Ok(None)` if they cannot be, to be read one by one. An error if the caller may not read
    /// one of them.
    fn with_records<T>(&self, _ids: &[i64], _f: impl FnOnce(&[Option<&[u8]>]) -> T) -> Result<Option<T>> {
        Ok(None)
    }
}

/// What one read may do: how far out of order it takes ids and times to be, and how many ids
/// it may pass over before it stops early.
///
/// The window: an id (or a record's time) may sit up to `window` positions away from the place
/// sorted order would give it in its flow, as when another client takes an id with INCR and
/// pushes it a few records later. Positions are counted in ids: entries that are not ids take
/// none. Reads stay exact within the window: each bound's search is widened by twice the
/// window of ids on each side, and the ids are put in order through a heap of at most
/// `2 * window + 1` of them.
///
/// The scan limit: an id passed over is one looked at and not returned (its record gone,
/// filtered out by a tag or a time, a repeat, or an entry that is not an id), in any flow the
/// read goes through, a probe of a search that skips ahead in a flow counting twice; for a
/// count with a tag filter, every id counted too. With a tag filter, each flow an id is looked
/// up in past the first counts one, and so does each read of an id from merged OR flows past
/// the first: with many tags, they are most of the work. Finding where the bounds start (the
/// search, and the ids within the window of the start) is not counted: it costs O(log N + w)
/// per flow whatever the limit. A read stops after the first id that brings it to
/// the limit, so each call gets past at least one id and a continuation always moves on.
pub struct Work {
    pub window: usize,
    /// 0: no limit.
    limit: u64,
    passed: Cell<u64>,
    /// Records may be read many at once (see [`IdList::records_ts`]).
    batches: Cell<bool>,
    /// The glob steps MATCH may still spend ([`crate::filter::MATCH_STEPS`], none counted
    /// without a scan limit), and whether they ran out.
    steps: Cell<u64>,
    steps_out: Cell<bool>,
}

impl Work {
    pub fn new(window: usize, limit: u64) -> Self {
        let steps = Cell::new(if limit == 0 { u64::MAX } else { crate::filter::MATCH_STEPS });
        Work { window, limit, passed: Cell::new(0), batches: Cell::new(true), steps, steps_out: Cell::new(false) }
    }

    /// Whether a stored record passes the query's WHERE and MATCH, under the call's glob steps:
    /// `None` if they ran out first (see [`Work::steps_ran_out`]).
    pub fn filter_admits(&self, f: &crate::filter::Filter, stored: &[u8]) -> Option<bool> {
        let mut left = self.steps.get();
        let admits = f.admits(stored, &mut left);
        self.steps.set(left);
        self.steps_out.set(self.steps_out.get() || admits.is_none());
        admits
    }

    /// The call stopped where MATCH's glob steps ran out, not at the scan limit.
    pub fn steps_ran_out(&self) -> bool {
        self.steps_out.get()
    }

    pub fn pass(&self, n: u64) {
        self.passed.set(self.passed.get().saturating_add(n));
    }

    /// The ids passed over so far.
    pub fn passed(&self) -> u64 {
        self.passed.get()
    }

    pub fn exhausted(&self) -> bool {
        self.limit > 0 && self.passed.get() >= self.limit
    }

    /// How many more ids may be passed over (`u64::MAX` without a limit).
    pub fn left(&self) -> u64 {
        if self.limit == 0 {
            u64::MAX
        } else {
            self.limit.saturating_sub(self.passed.get())
        }
    }

    /// Records may still be read many at once (no read fell back to one by one).
    pub fn batches_allowed(&self) -> bool {
        self.batches.get()
    }

    /// Starts over, for a read done again another way: record by record, where the server
    /// would not read many at once.
    pub fn again_one_by_one(&self) {
        self.passed.set(0);
        self.steps.set(Work::new(self.window, self.limit).steps.get());
        self.batches.set(false);
    }
}

/// How a scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Every id within the bounds was looked at.
    Done,
    /// The reply reached its limit (LIMIT, COUNT, one record for LATEST).
    Full,
    /// The scan limit was reached: every id up to `Outcome::last`, in reply order, was looked
    /// at, and none after it.
    Cut,
}

/// How a scan ended, and the last id within the bounds it looked at, in reply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub end: End,
    pub last: Option<i64>,
}

impl Outcome {
    pub const DONE: Outcome = Outcome { end: End::Done, last: None };

    /// Where the next call goes on from, `None` if the scan is complete: the id to pass as
    /// BEFORE (newest first) or AFTER (oldest first). After a full page, the last id returned.
    pub fn cursor(&self) -> Option<i64> {
        match self.end {
            End::Done => None,
            End::Full | End::Cut => self.last,
        }
    }
}

/// What a probe of a search that skips ahead in a flow counts toward the scan limit: a jump
/// into a list costs about twice what reading on costs.
const PROBE_COST: u64 = 2;

/// Entries that are not ids a read passes over before it has returned any id, at least, before
/// it stops (with an error: it has no id to go on from), whatever its scan limit.
const NOT_IDS_FIRST: u64 = 2000;

/// Entries read at once when a flow is read in order, at most.
const READ_AHEAD_MAX: usize = 1024;

/// The ids [`Sorted`] has read and not handed out, as keys, largest first: a deque kept in
/// order. A flow is read in order but for a few ids, so almost every key read goes at the back
/// and every key handed out comes from the front, each in O(1), where a binary heap costs
/// O(log w) twice per id. A key out of order is inserted at its place, moving the keys on the
/// shorter side of it: at most as many as are held, `2 * window + 1`.
#[derive(Default)]
struct Held(VecDeque<i64>);

impl Held {
    fn push(&mut self, key: i64) {
        match self.0.back() {
            Some(&b) if b < key => {
                let at = self.0.partition_point(|&k| k >= key);
                self.0.insert(at, key);
            }
            _ => self.0.push_back(key),
        }
    }

    fn peek(&self) -> Option<&i64> {
        self.0.front()
    }

    fn pop(&mut self) -> Option<i64> {
        self.0.pop_front()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn clear(&mut self) {
        self.0.clear()
    }
}

/// A flow read in reply order (newest first, or oldest first for ASC), handing out its ids in
/// sorted order: exactly, as long as no id sits more than `window` positions away from its
/// sorted place. The next id in order is always among the next ids read: within `window + 1`
/// from an end of the flow, within `2 * window + 1` from anywhere else (for the entries of a
/// run of the flow, any of the first `2w + 1` holds one of the `w + 1` largest ids of the whole
/// flow at or after it, and nothing further on can beat that one). A heap of that many ids
/// holds them. Repeats of an id are handed out once.
pub struct Sorted<'l, L> {
    list: &'l L,
    asc: bool,
    window: usize,
    n: usize,
    /// The next logical position to read (0 is the first in reply order), and where to stop.
    next: usize,
    end: usize,
    /// The ids read and not yet handed out, as keys: the largest key comes first.
    heap: Held,
    cap: usize,
    /// Entries read ahead, from logical position `next` on.
    buf: VecDeque<Option<i64>>,
    ahead: usize,
    /// The last id handed out or passed.
    last: Option<i64>,
    /// Where the last search found its id: the next search, for an id further on, starts
    /// there (every id it stops coming before is before that one too).
    probe_from: usize,
    /// The last probe [`Sorted::advance`] made to decide whether to search: its logical
    /// position and the entry there.
    far_probe: Option<(usize, Option<i64>)>,
    work: &'l Work,
    /// Stop reading in a run of entries that are not ids once the scan limit is reached
    /// (reads of one flow; a flow read beside another must not end early).
    stops: bool,
    /// The reader handed out an id past its start: from then on, a run stops at the scan
    /// limit; before, at [`NOT_IDS_FIRST`] entries past it at least.
    returned: bool,
    /// Stopped so: the logical position where it stopped.
    cut_at: Option<usize>,
}

impl<'l, L: IdList> Sorted<'l, L> {
    /// Reads the logical positions `range` of `list` in reply order, `hint` entries at a time
    /// to start with.
    pub fn new(list: &'l L, asc: bool, range: Range<usize>, hint: usize, work: &'l Work) -> Self {
        let n = list.len();
        let end = range.end.min(n);
        let next = range.start.min(end);
        let window = work.window;
        let cap = if next == 0 { window.saturating_add(1) } else { window.saturating_mul(2).saturating_add(1) };
        // Away from an end, the first twice the window of ids are mostly before the start
        // bound: read them with the rest.
        let hint = if next == 0 { hint } else { hint.saturating_add(window.saturating_mul(2)) };
        Sorted {
            list,
            asc,
            window,
            n,
            next,
            end,
            heap: Held::default(),
            cap,
            buf: VecDeque::new(),
            ahead: hint.clamp(1, READ_AHEAD_MAX),
            last: None,
            probe_from: 0,
            far_probe: None,
            work,
            stops: false,
            returned: false,
            cut_at: None,
        }
    }

    /// A range of list indices as logical positions in reply order.
    pub fn logical(n: usize, asc: bool, r: Range<usize>) -> Range<usize> {
        if asc {
            n.saturating_sub(r.end)..n.saturating_sub(r.start)
        } else {
            r
        }
    }

    fn key(&self, id: i64) -> i64 {
        // Ids are positive, so the negation cannot overflow.
        if self.asc {
            -id
        } else {
            id
        }
    }

    /// `a` comes before `b` in reply order.
    fn before(&self, a: i64, b: i64) -> bool {
        if self.asc {
            a < b
        } else {
            a > b
        }
    }

    fn index(&self, k: usize) -> usize {
        if self.asc {
            self.n - 1 - k
        } else {
            k
        }
    }

    /// The entry at logical position `k` as it stands in the list, for a search probe.
    fn raw(&self, k: usize) -> Option<i64> {
        if k >= self.n {
            return None;
        }
        match k.checked_sub(self.next).and_then(|i| self.buf.get(i)) {
            Some(e) => *e,
            None => self.list.id(self.index(k)),
        }
    }

    /// The entry at logical position `next`, without taking it: read ahead in runs, no further
    /// than `ahead` where nothing was read ahead.
    fn front(&mut self) -> Option<Option<i64>> {
        if self.next >= self.end {
            return None;
        }
        if self.buf.is_empty() {
            let size = self.ahead.min(self.end - self.next);
            self.read_on(size);
        }
        self.buf.front().copied()
    }

    /// Reads the next `size` entries from logical position `next` on into the read-ahead.
    fn read_on(&mut self, size: usize) {
        let range = if self.asc { self.n - self.next - size..self.n - self.next } else { self.next..self.next + size };
        let mut run = self.list.ids(range);
        if self.asc {
            run.reverse();
        }
        // A list shorter than it was (never, within one command) reads as the end.
        if run.is_empty() {
            self.end = self.next;
            return;
        }
        self.buf.extend(run);
        self.ahead = self.ahead.saturating_mul(2).min(READ_AHEAD_MAX);
    }

    /// The entry at logical position `next`, read ahead in runs.
    fn pull(&mut self) -> Option<Option<i64>> {
        if self.next >= self.end {
            return None;
        }
        if self.buf.is_empty() {
            // What the heap lacks, and what is expected to be handed out from it. Each read of
            // a run deep in a list walks the list to it: one read rather than several.
            let want = self.cap.saturating_sub(self.heap.len()).saturating_add(self.ahead);
            let size = want.min(self.end - self.next).min(READ_AHEAD_MAX.max(self.cap));
            self.read_on(size);
            if self.buf.is_empty() {
                return None;
            }
        }
        let e = self.buf.pop_front()?;
        self.next += 1;
        Some(e)
    }

    fn fill(&mut self) {
        while self.heap.len() < self.cap && self.cut_at.is_none() {
            match self.pull() {
                Some(Some(id)) => self.heap.push(self.key(id)),
                Some(None) => {
                    self.work.pass(1);
                    if self.stops && self.run_stops(0) && self.next < self.end {
                        self.cut_at = Some(self.next);
                    }
                }
                None => break,
            }
        }
    }

    /// A run of entries that are not ids stops the read here, with `more` of them passed and not
    /// yet counted: at the scan limit once an id was handed out, before at [`NOT_IDS_FIRST`] at
    /// least.
    fn run_stops(&self, more: u64) -> bool {
        let limit = self.work.limit;
        let passed = self.work.passed().saturating_add(more);
        limit > 0 && passed >= if self.returned { limit } else { limit.max(NOT_IDS_FIRST) }
    }

    /// The error of a read stopped in a run of entries that are not ids, if it stopped so.
    fn run_error(&self) -> Option<Error> {
        self.cut_at.map(|k| run_error(self.index(k)))
    }

    /// [`Sorted::raw`] for a probe of a search: one that reads the list counts as
    /// [`PROBE_COST`] ids passed over; one answered from what was read ahead costs nothing.
    fn probe(&self, k: usize) -> Option<i64> {
        let buffered = k.checked_sub(self.next).is_some_and(|i| i < self.buf.len());
        if !buffered && k < self.n {
            self.work.pass(PROBE_COST);
        }
        self.raw(k)
    }

    /// The next id in sorted order, without taking it.
    pub fn peek(&mut self) -> Option<i64> {
        loop {
            self.fill();
            // Stopped short of a full heap: its top may not be the next id in order.
            if self.cut_at.is_some() {
                return None;
            }
            let top = *self.heap.peek()?;
            let id = if self.asc { -top } else { top };
            if self.last == Some(id) {
                self.heap.pop();
                self.work.pass(1);
                continue;
            }
            return Some(id);
        }
    }

    /// Takes the next id in sorted order.
    pub fn next_id(&mut self) -> Option<i64> {
        let id = self.peek()?;
        self.heap.pop();
        self.last = Some(id);
        Some(id)
    }

    /// Passes over the ids that come before `x` in reply order: one by one when they are few,
    /// else by a galloping search to where `x` would be, from where the heap is filled anew.
    pub fn skip_to(&mut self, x: i64) {
        // Nothing read yet: probe far first, so that a flow whose start is far on does not read
        // the window at its head only to drop it.
        let fresh = self.heap.is_empty() && self.buf.is_empty() && self.last.is_none();
        let far = self.next.saturating_add(self.reach());
        if fresh && far < self.end && self.probe(far).is_some_and(|id| self.before(id, x)) {
            let (s, _) = self.search(x);
            self.seek(s);
        }
        self.advance(x, false);
    }

    /// How far on an id that still comes before the one sought puts that one beyond the heap's
    /// reach, by more than the window on either side.
    fn reach(&self) -> usize {
        self.window.saturating_mul(4).saturating_add(64)
    }

    /// [`Sorted::skip_to`]; with `find`, a search that lands on `x` itself answers at once
    /// (true), leaving the reading position behind: `x` is in the flow, and the window around
    /// it need not be read.
    fn advance(&mut self, x: i64, find: bool) -> bool {
        let Some(top) = self.peek() else { return false };
        if !self.before(top, x) {
            return false;
        }
        // An id at least this far on that still comes before `x` puts `x` beyond the heap's
        // reach by more than the window on either side: search. Each probe counts as an id
        // passed over.
        // A search already went past here, for an id before `x`: far, without a probe.
        let far = self.next.saturating_add(self.reach());
        // An id still ahead that `x` does not come after was found by an earlier probe: `x` is
        // near, no further than that one. Each driver id of a dense filter would otherwise pay
        // a jump into the list (a fresh seek of the server's iterator) for nothing.
        let near = self.far_probe.is_some_and(|(k, id)| k >= self.next && id.is_some_and(|id| !self.before(id, x)));
        let jump = self.probe_from > far
            || (!near && far < self.end && {
                let id = self.probe(far);
                self.far_probe = Some((far, id));
                id.is_some_and(|id| self.before(id, x))
            });
        if jump {
            let (s, at_s) = self.search(x);
            if find && at_s == Some(x) {
                return true;
            }
            self.seek(s);
        }
        while let Some(top) = self.peek() {
            if !self.before(top, x) {
                break;
            }
            self.heap.pop();
            self.last = Some(top);
            self.work.pass(1);
        }
        false
    }

    /// The first logical position from `next` on whose id, as it stands, does not come before
    /// `x`: galloping, then binary search. On ids out of order within the window, `x`'s sorted
    /// place is within the window of it.
    /// Also returns the id at that position, as it stands.
    fn search(&mut self, x: i64) -> (usize, Option<i64>) {
        let from = self.next.max(self.probe_from);
        let seen: Cell<Option<(usize, Option<i64>)>> = Cell::new(None);
        let not_before = |k: usize| -> Result<Option<bool>> {
            let id = self.probe(k);
            seen.set(Some((k, id)));
            Ok(id.map(|id| !self.before(id, x)))
        };
        let mut step = 1usize;
        let mut hi = from;
        while hi < self.end {
            if let Ok(Some(true)) = not_before(hi) {
                break;
            }
            hi = from.saturating_add(step);
            step = step.saturating_mul(2);
        }
        let s = partition(from, hi.min(self.end), not_before).unwrap_or(self.end);
        // Only a search that found an id before `x` (at `s - 1`) tells where `x` is.
        if s > from {
            self.probe_from = s;
        }
        let at_s = match seen.get() {
            Some((k, id)) if k == s => id,
            _ => self.raw(s),
        };
        (s, at_s)
    }

    /// The entries at the logical positions `r`, in reply order.
    fn read(&self, r: Range<usize>) -> Vec<Option<i64>> {
        let indices = Self::logical(self.n, self.asc, r);
        let mut run = self.list.ids(indices);
        if self.asc {
            run.reverse();
        }
        run
    }

    /// Moves the reading position to twice the window of ids before `s`, the place
    /// [`Sorted::search`] found for an id. The entries between, read to find where that is,
    /// are kept to be read on from.
    fn seek(&mut self, s: usize) {
        let w2 = self.window.saturating_mul(2);
        let mut start = s;
        let mut found = 0usize;
        let mut kept: VecDeque<Option<i64>> = VecDeque::new();
        // Entries that are not ids, read back on the way: counted where they are read on from,
        // but a long run of them stops the read here, as it would reading on.
        let mut not_ids = 0u64;
        while found < w2 && start > self.next {
            let size = (w2 - found).clamp(16, READ_AHEAD_MAX).min(start - self.next);
            let run = self.read(start - size..start);
            if run.len() != size {
                return; // a list shorter than it was (never, within one command)
            }

            let mut from = 0;
            for (i, e) in run.iter().enumerate().rev() {
                if e.is_some() {
                    found += 1;
                    if found >= w2 {
                        from = i;
                        break;
                    }
                } else if self.stops {
                    not_ids += 1;
                    if self.run_stops(not_ids) {
                        self.work.pass(not_ids);
                        self.cut_at = Some(start - size + i);
                        return;
                    }
                }
            }
            for e in run[from..].iter().rev() {
                kept.push_front(*e);
            }
            start = start - size + from;
        }
        if start <= self.next {
            return;
        }
        // Everything read so far sits before `start`, so (within the window) before the id
        // searched for. The ids in the heap were looked at; those read ahead and dropped were
        // not.
        let skipped = (start - self.next).min(self.buf.len());
        self.buf.drain(..skipped);
        if skipped < start - self.next {
            self.buf = kept;
        }
        self.work.pass(self.heap.len() as u64);
        self.heap.clear();
        self.next = start;
        self.cap = self.window.saturating_mul(2).saturating_add(1);
        // Read up to `x` and the heap beyond it, no further: the next jump may come soon.
        self.ahead = self.window.saturating_mul(2).saturating_add(1);
    }

    /// Whether the flow holds `x`, for ids asked in reply order: the ids before `x` are passed
    /// over, and `x` itself taken.
    pub fn has(&mut self, x: i64) -> bool {
        // Nothing held, and `x` stands next: taken without reading the window (a flow in
        // order, the usual case, is checked an entry at a time).
        if self.heap.is_empty() && self.front() == Some(Some(x)) {
            self.buf.pop_front();
            self.next += 1;
            self.last = Some(x);
            return true;
        }
        if self.advance(x, true) {
            return true;
        }
        if self.peek() == Some(x) {
            self.heap.pop();
            self.last = Some(x);
            true
        } else {
            false
        }
    }
}

/// Probes one search makes at most: a plain binary search of 2^32 entries takes 32, the
/// interpolation of [`search`] at most twice that, and a run of unknown entries about twice its
/// logarithm. A search that runs out of probes answers with the bracket it has: the entries
/// between are read one by one, under the scan limit.
const SEARCH_PROBES: usize = 128;

/// The first entry at or after `at`, below `hi`, whose value is known, with its value: `at`
/// itself, else by galloping past entries of unknown value (`at + 1`, `at + 2`, `at + 4`, ...)
/// to a known one, then bisecting back between the last unknown entry probed and it. A run
/// of unknown entries costs O(log run) probes, not one per entry. The entry found follows an
/// unknown one; entries between `at` and it were not all probed, so some may be known.
/// `None` if none was found before `hi` or the probes ran out (`probes` counts them up to
/// [`SEARCH_PROBES`]).
fn known_from<T>(
    at: usize,
    hi: usize,
    probe: &mut impl FnMut(usize) -> Result<Option<T>>,
    probes: &mut usize,
) -> Result<Option<(usize, T)>> {
    let mut look = |i: usize, probes: &mut usize| {
        *probes += 1;
        probe(i)
    };
    if at >= hi {
        return Ok(None);
    }
    if let Some(v) = look(at, probes)? {
        return Ok(Some((at, v)));
    }
    let (mut unknown, mut step) = (at, 1usize);
    let (mut k, mut v) = loop {
        if *probes >= SEARCH_PROBES || unknown + 1 >= hi {
            return Ok(None);
        }
        let i = at.saturating_add(step).min(hi - 1);
        match look(i, probes)? {
            Some(v) => break (i, v),
            None => unknown = i,
        }
        step = step.saturating_mul(2);
    };
    while k - unknown > 1 && *probes < SEARCH_PROBES {
        let m = unknown + (k - unknown) / 2;
        match look(m, probes)? {
            Some(x) => (k, v) = (m, x),
            None => unknown = m,
        }
    }
    Ok(Some((k, v)))
}

/// The first index of `lo..hi` where `pred` holds, `pred` being false then true along it.
/// An index whose value is unknown (`None`) takes the answer of a known one after it. At most
/// [`SEARCH_PROBES`] probes: out of probes, or where unknown entries hide known ones, the
/// index returned may be before the first where `pred` holds, never after it.
fn partition(lo: usize, hi: usize, mut probe: impl FnMut(usize) -> Result<Option<bool>>) -> Result<usize> {
    let (mut lo, mut hi) = (lo, hi);
    let mut probes = 0;
    while lo < hi && probes < SEARCH_PROBES {
        let mid = lo + (hi - lo) / 2;
        match known_from(mid, hi, &mut probe, &mut probes)? {
            Some((j, false)) => lo = j + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// [`partition`] over values that descend along the index, `past(v)` turning true from some
/// value on. Steps alternate between interpolation (where the target value should sit, given
/// the values at both ends) and bisection: a few probes on evenly spread ids or times, and
/// never more than twice the probes of a plain binary search; a run of entries of unknown
/// value (not ids, records gone) costs O(log run) more (see [`known_from`]). At most
/// [`SEARCH_PROBES`] probes.
///
/// Returns the index found and the first index at or after it whose value is known to be past
/// (`hi` if none): the entries between them are uncertain (unknown ones, and any known ones the
/// search skipped or had no probes left for), to be checked one by one. The entry before the
/// index found is known not to be past, unless the index is `lo`. On values out of order by up
/// to `w` positions, the true boundary is within `w` of the first and of the second index.
fn search(
    lo: usize,
    hi: usize,
    target: i64,
    mut value: impl FnMut(usize) -> Result<Option<i64>>,
    past: impl Fn(i64) -> bool,
) -> Result<(usize, usize)> {
    let (mut lo, mut hi) = (lo, hi);
    let mut known_past = hi;
    // The known values just below `lo` (not past) and at `known_past` (past), once probed.
    let (mut lo_val, mut hi_val): (Option<i64>, Option<i64>) = (None, None);
    let mut interpolate = false;
    let mut first = true;
    let mut seeded = false;
    let mut probes = 0;
    while lo < hi && probes < SEARCH_PROBES {
        let mid = match (interpolate, lo_val, hi_val) {
            (true, Some(a), Some(b)) if a > b && target <= a && target >= b => {
                // Between the values where they were found: `known_past` may lie past `hi`,
                // beyond a run of unknown entries.
                let frac = (a - target) as f64 / (a - b) as f64;
                let guess = (lo as f64 - 1.0 + frac * (known_past - lo + 1) as f64).round();
                guess.clamp(lo as f64, (hi - 1) as f64) as usize
            }
            // Seed both ends first, so interpolation has something to go on (the far end once:
            // where it is unknown, bisection goes on).
            _ if first => lo,
            _ if lo_val.is_some() && hi_val.is_none() && !seeded => {
                seeded = true;
                hi - 1
            }
            _ => lo + (hi - lo) / 2,
        };
        first = false;
        interpolate = !interpolate;
        match known_from(mid, hi, &mut value, &mut probes)? {
            Some((j, v)) if !past(v) => {
                lo = j + 1;
                lo_val = Some(v);
            }
            Some((j, v)) => {
                hi = mid;
                hi_val = Some(v);
                known_past = j;
            }
            // Unknown from `mid` to `hi` as far as the probes saw: the first known past value
            // is still the one after.
            None => hi = mid,
        }
    }
    Ok((lo, known_past))
}

/// Where one bound's search landed (see [`search`]), and which side of it is within the
/// bound. Index by index along the flow, with `a` twice the window of ids before `s` and `d`
/// just after twice the window of ids from `j` on: before `a` the entries are all on one side,
/// from `a` to `s` and from `j` to `d` they must be checked one by one, from `s` to `j` they
/// are uncertain (entries that are not ids, records without a time, and any the search had no
/// probes left to place): checked one by one too, each counting toward the scan limit; from
/// `d` on they are all on the other side. The window is a number of ids: entries that are not
/// ids do not count toward it.
#[derive(Debug, Clone, Copy)]
struct Cut {
    s: usize,
    j: usize,
    /// The entries at the head side are outside the bound (BEFORE, UNTIL) rather than inside
    /// it (AFTER, SINCE).
    head_out: bool,
    /// Where the search ran: `a` and `d` stay within it.
    within: (usize, usize),
    /// `a` for a bound whose head side is outside, `d` for the others: the end of the plan's
    /// range. The other one is found only for a count, the one read that needs it.
    edge: usize,
    /// A time bound (SINCE, UNTIL) rather than an id bound.
    time: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Out,
    /// Within the window of a bound: checked one by one.
    Check,
    /// Between where a bound's search stopped on either side: checked one by one, each entry
    /// counting toward the scan limit.
    Span,
    In,
}

impl Cut {
    /// The cut of a search over `within` that found `s` and `j`, widened by `w2` ids.
    fn new(
        list: &impl IdList,
        within: Range<usize>,
        (s, j): (usize, usize),
        w2: usize,
        head_out: bool,
        room: &Cell<u64>,
    ) -> Result<Cut> {
        let edge =
            if head_out { ids_back(list, within.start, s, w2, room)? } else { ids_on(list, j, within.end, w2, room)? };
        Ok(Cut { s, j, head_out, within: (within.start, within.end), edge, time: false })
    }

    fn points(&self, list: &impl IdList, w2: usize, room: &Cell<u64>) -> Result<[usize; 4]> {
        let (a, d) = if self.head_out {
            (self.edge, ids_on(list, self.j, self.within.1, w2, room)?)
        } else {
            (ids_back(list, self.within.0, self.s, w2, room)?, self.edge)
        };
        Ok([a, self.s, self.j, d])
    }

    fn side(points: &[usize; 4], head_out: bool, i: usize) -> Side {
        let [a, b, c, d] = *points;
        let (head, tail) = if head_out { (Side::Out, Side::In) } else { (Side::In, Side::Out) };
        if i < a {
            head
        } else if i < b || (i >= c && i < d) {
            Side::Check
        } else if i < c {
            Side::Span
        } else {
            tail
        }
    }
}

/// The part of a flow a query's bounds can reach, found by searching the ids and times (O(log
/// N) probes at worst, a few on evenly spread values; each time probe reads one record).
#[derive(Debug)]
pub struct Plan {
    /// Every entry within the bounds has its index here.
    pub range: Range<usize>,
    cuts: Vec<Cut>,
    w2: usize,
}

#[cfg(test)]
pub fn plan(list: &impl IdList, q: &Query, window: usize) -> Result<Plan> {
    plan_in(list, q, &Work::new(window, 0))
}

/// [`plan`] under a read's scan limit: the entries that are not ids passed while widening the
/// bounds are bounded by it (see [`widen_room`]).
pub fn plan_in(list: &impl IdList, q: &Query, work: &Work) -> Result<Plan> {
    let n = list.len();
    let w2 = work.window.saturating_mul(2);
    let room = widen_room(work);
    let mut cuts = Vec::new();
    let (mut start, mut end) = (0, n);
    if let Some(b) = q.before {
        let (s, j) = search(0, n, b, |i| Ok(list.id(i)), |id| id < b)?;
        let cut = Cut::new(list, 0..n, (s, j), w2, true, &room)?;
        start = cut.edge;
        cuts.push(cut);
    }
    if let Some(a) = q.after {
        let (s, j) = search(start, n, a, |i| Ok(list.id(i)), |id| id <= a)?;
        let cut = Cut::new(list, start..n, (s, j), w2, false, &room)?;
        end = cut.edge;
        cuts.push(cut);
    }
    // A time bound is searched for over the whole flow, whatever the id bounds: where it falls
    // next to entries without a time (records gone), the entries its search places inside are
    // counted by position and the others checked, so the same search in every call of a count
    // followed through its continuations (each with its own BEFORE) places each entry alike.
    if let Some(u) = q.until {
        let (s, j) = search(0, n, u, |i| list.ts(i), |t| t <= u)?;
        let cut = Cut { time: true, ..Cut::new(list, 0..n, (s, j), w2, true, &room)? };
        start = start.max(cut.edge);
        cuts.push(cut);
    }
    if let Some(since) = q.since {
        let (s, j) = search(0, n, since, |i| list.ts(i), |t| t < since)?;
        let cut = Cut { time: true, ..Cut::new(list, 0..n, (s, j), w2, false, &room)? };
        end = end.min(cut.edge);
        cuts.push(cut);
    }
    Ok(Plan { range: start..end.max(start), cuts, w2 })
}

/// The index `n` ids before `at`, not below `lo`: the first of the last `n` ids of `lo..at`
/// (`lo` if it holds fewer). Entries that are not ids are passed on the way without counting
/// toward `n`, as [`Sorted`] fills its heap: the window is a number of ids. A long run of them
/// stops the widening with an error (see [`widen_room`]).
fn ids_back(list: &impl IdList, lo: usize, at: usize, n: usize, room: &Cell<u64>) -> Result<usize> {
    let mut k = at;
    let mut found = 0usize;
    while found < n && k > lo {
        let size = (n - found)
            .clamp(16, READ_AHEAD_MAX)
            .min(k - lo)
            .min(usize::try_from(room.get()).unwrap_or(usize::MAX).max(1));
        let run = list.ids(k - size..k);
        if run.len() != size {
            return Ok(lo); // a list shorter than it was (never, within one command)
        }
        for (i, e) in run.iter().enumerate().rev() {
            if e.is_some() {
                found += 1;
                if found >= n {
                    return Ok(k - size + i);
                }
            } else {
                widened_past(room, k - size + i)?;
            }
        }
        k -= size;
    }
    Ok(k)
}

/// The index just after the `n`-th id from `at` on, not above `hi` (`hi` if there are fewer):
/// [`ids_back`] the other way.
fn ids_on(list: &impl IdList, at: usize, hi: usize, n: usize, room: &Cell<u64>) -> Result<usize> {
    let mut k = at;
    let mut found = 0usize;
    while found < n && k < hi {
        let size = (n - found)
            .clamp(16, READ_AHEAD_MAX)
            .min(hi - k)
            .min(usize::try_from(room.get()).unwrap_or(usize::MAX).max(1));
        let run = list.ids(k..k + size);
        if run.len() != size {
            return Ok(hi);
        }
        for (i, e) in run.iter().enumerate() {
            if e.is_some() {
                found += 1;
                if found >= n {
                    return Ok(k + i + 1);
                }
            } else {
                widened_past(room, k + i)?;
            }
        }
        k += size;
    }
    Ok(k)
}

/// How many entries that are not ids the widenings of a read's bounds may pass, together: up to
/// the scan limit, and at least [`NOT_IDS_FIRST`] (they come before any id is returned). The
/// read passes them again, where it reads them, and counts them there.
fn widen_room(work: &Work) -> Cell<u64> {
    Cell::new(if work.limit == 0 { u64::MAX } else { work.limit.max(NOT_IDS_FIRST).saturating_sub(work.passed()) })
}

/// How the error of a read stopped in a run of entries that are not ids begins.
pub const RUN_ERROR: &str = "ERR scan limit reached in a run of entries that are not record ids";

/// The error of a read stopped at index `at`, in a run of entries that are not ids, with no id
/// to go on from.
fn run_error(at: usize) -> Error {
    Error::Message(format!(
        "{RUN_ERROR}, at index {at} of the flow; read past it with a larger SCANLIMIT, or SCANLIMIT 0 for no limit"
    ))
}

/// Passes an entry that is not an id, at index `at`, while widening a bound: past the room
/// left, the read fails there, having no id to go on from.
fn widened_past(room: &Cell<u64>, at: usize) -> Result<()> {
    if room.get() == 0 {
        return Err(run_error(at));
    }
    room.set(room.get() - 1);
    Ok(())
}

impl Plan {
    /// Splits the range into runs whose entries are, for every bound: all within it (`In`),
    /// outside some bound (`Out`), or to be checked one by one (`Check`, and `Span` where a
    /// search could not tell); and, for each run, whether a time bound is among those to check
    /// there (each entry's record read), rather than only id bounds.
    fn runs(&self, list: &impl IdList, work: &Work) -> Result<Vec<Run>> {
        let mut cuts: Vec<([usize; 4], bool, bool)> = Vec::with_capacity(self.cuts.len());
        let room = widen_room(work);
        for c in &self.cuts {
            cuts.push((c.points(list, self.w2, &room)?, c.head_out, c.time));
        }
        let mut points: Vec<usize> = vec![self.range.start, self.range.end];
        for (c, _, _) in &cuts {
            points.extend(c.iter().copied().filter(|p| self.range.contains(p)));
        }
        points.sort_unstable();
        points.dedup();
        Ok(points
            .windows(2)
            .map(|p| {
                let sides = cuts.iter().map(|(c, head_out, _)| Cut::side(c, *head_out, p[0]));
                let side = sides.fold(Side::In, |acc, s| match (acc, s) {
                    (Side::Out, _) | (_, Side::Out) => Side::Out,
                    (Side::Span, _) | (_, Side::Span) => Side::Span,
                    (Side::Check, _) | (_, Side::Check) => Side::Check,
                    _ => Side::In,
                });
                let timed = cuts.iter().any(|(c, head_out, time)| *time && Cut::side(c, *head_out, p[0]) != Side::In);
                Run { at: p[0]..p[1], side, timed }
            })
            .collect())
    }
}

/// A run of a plan's range whose entries are alike for every bound (see [`Plan::runs`]).
#[derive(Debug)]
struct Run {
    at: Range<usize>,
    side: Side,
    /// A time bound is to be checked here: each record's time is read, and a record gone (or
    /// without a time) does not count. Where only id bounds are to be checked, each entry that
    /// is an id within them counts, as the time bounds' own searches placed it inside them.
    timed: bool,
}

/// How many entries of a flow are within the query's id and time bounds, without a tag filter,
/// and how the count ended: the entries well inside the bounds are counted by position,
/// without reading them (records gone and entries that are not ids included); those near a
/// bound, within the window, are checked one by one (each record's time read for a time
/// bound), and count only if they are ids within the bounds. So are the entries a bound's
/// search could not place (a long run of records gone, or of entries that are not ids, where
/// the bound falls): each of those counts toward the scan limit. When they are more than the
/// scan limit lets pass, the count stops at an id `x` among them and counts the ids from `x`
/// up ([`End::Cut`], `last` `x`): the rest is the same count with `BEFORE x`.
pub fn count(list: &impl IdList, q: &Query, work: &Work) -> Result<(usize, Outcome)> {
    let p = plan_in(list, q, work)?;
    let runs = p.runs(list, work)?;
    let uncertain: usize = runs.iter().filter(|r| r.side == Side::Span).map(|r| r.at.len()).sum();
    if uncertain as u64 > work.left() {
        if let Some(x) = cut_id(list, q, &runs, work.left())? {
            let mut upper = q.clone();
            upper.after = Some(x - 1);
            // The ids from `x` up: the spans up to about `x`, under the limit again (past `x`
            // they may run on): a count that stops again stops at an id above `x`.
            let more = Work::new(work.window, work.left().max(1).saturating_mul(2));
            let (n, out) = count(list, &upper, &more)?;
            work.pass(more.passed());
            let last = if out.end == End::Cut { out.last } else { Some(x) };
            return Ok((n, Outcome { end: End::Cut, last }));
        }
    }
    let mut n: usize = runs.iter().filter(|r| r.side == Side::In).map(|r| r.at.len()).sum();
    let checked = |side: &Side| matches!(side, Side::Check | Side::Span);
    // The runs to check, read together where they are close: each read deep in a list walks
    // the list to it.
    let mut spans: Vec<Range<usize>> = Vec::new();
    for r in runs.iter().filter(|r| checked(&r.side)) {
        match spans.last_mut() {
            Some(last) if r.at.start <= last.end.saturating_add(64) => last.end = r.at.end,
            _ => spans.push(r.at.clone()),
        }
    }
    let run_of = |i: usize| runs.iter().find(|r| r.at.contains(&i));
    for span in spans {
        // The ids within the id bounds whose times are to be checked.
        let mut ids = Vec::new();
        for chunk in (span.start..span.end).step_by(READ_AHEAD_MAX) {
            let entries = list.ids(chunk..(chunk + READ_AHEAD_MAX).min(span.end));
            for (k, entry) in entries.into_iter().enumerate() {
                let Some(run) = run_of(chunk + k) else { continue };
                if run.side == Side::Span {
                    work.pass(1);
                }
                let Some(id) = entry.filter(|_| checked(&run.side)) else { continue };
                if q.before.is_none_or(|b| id < b) && q.after.is_none_or(|a| id > a) {
                    if run.timed {
                        ids.push(id);
                    } else {
                        n += 1;
                    }
                }
            }
        }
        for batch in ids.chunks(READ_AHEAD_MAX) {
            let (found, refused) = list.records_ts(batch, true)?;
            if found.len() < batch.len() {
                return Err(refused.unwrap_or(Error::Internal("a record read came back short")));
            }
            n += batch.iter().zip(found).filter(|(&id, r)| matches!(r, Some(ts) if q.admits(id, *ts))).count();
        }
    }
    Ok((n, Outcome::DONE))
}

/// Where a count whose uncertain spans hold more entries than `left` stops: the first id within
/// the query's id bounds at or after the entry where the spans, taken newest first, reach
/// `left` entries, no more than `left` (or [`NOT_IDS_FIRST`]) entries on; `None` if the spans
/// end before. An error if there is none within reach: the count has
/// no id to go on from.
fn cut_id(list: &impl IdList, q: &Query, runs: &[Run], left: u64) -> Result<Option<i64>> {
    let target = left.max(1);
    let mut seen = 0u64;
    let mut at = None;
    for r in runs.iter().filter(|r| r.side == Side::Span).map(|r| &r.at) {
        let room = target - seen;
        if (r.len() as u64) >= room {
            at = Some(r.start + usize::try_from(room).unwrap_or(usize::MAX));
            break;
        }
        seen += r.len() as u64;
    }
    let Some(start) = at else { return Ok(None) };
    let reach = usize::try_from(target.max(NOT_IDS_FIRST)).unwrap_or(usize::MAX);
    let spans_end = runs.last().map_or(0, |r| r.at.end);
    let end = spans_end.min(start.saturating_add(reach));
    let mut k = start;
    while k < end {
        let size = READ_AHEAD_MAX.min(end - k);
        let found = list
            .ids(k..k + size)
            .into_iter()
            .flatten()
            .find(|&id| q.before.is_none_or(|b| id < b) && q.after.is_none_or(|a| id > a.saturating_add(1)));
        if found.is_some() {
            return Ok(found);
        }
        k += size;
    }
    if end == spans_end {
        return Ok(None); // no id to the end: the spans are read in full, about as much again
    }
    Err(Error::Message(format!(
        "ERR scan limit reached in a run of entries that are not record ids, or of records gone, at index {start} of the flow; count past it with a larger SCANLIMIT, or SCANLIMIT 0 for no limit"
    )))
}

/// Where the search of an edge between two buckets landed (see [`search`]), and its window:
/// `a` twice the window of ids before `s`, `d` just after twice the window of ids from `j` on.
#[derive(Debug, Clone, Copy)]
struct Landing {
    s: usize,
    j: usize,
    a: usize,
    d: usize,
}

/// The edges between the buckets of a histogram, placed in a flow: a function of the flow,
/// SINCE, UNTIL and the buckets alone, never of the call's id bounds, cursor or scan limit,
/// so that every call of a histogram followed through its continuations places each entry
/// alike.
///
/// The edges `1..nb` (edge `k` starts bucket `k`) are searched as a balanced binary tree over
/// their indices: the middle edge over the range from UNTIL's search to SINCE's edge, each
/// other edge between the landings of its two nearest ancestors (the newer one's `s` to the
/// older one's `j`), its landing held within theirs. So the landings go down the flow as the
/// edges go back in time, an edge whose bracket is empty lands where its ancestor did at no
/// cost, and an edge deep in the flow is reached in O(log B) searches. Landings are kept for
/// the call.
struct Edges<'l, L> {
    list: &'l L,
    first: i64,
    secs: i64,
    since: i64,
    until: i64,
    w2: usize,
    /// The root's bracket: UNTIL's `s` and SINCE's edge.
    lo: usize,
    hi: usize,
    /// How many entries that are not ids the widening of one edge's window may pass (see
    /// [`widen_room`]).
    room: u64,
    landed: Vec<Option<Landing>>,
    /// The windows found, by where their edge landed: edges that land in one place (buckets
    /// with no record between them) share one window, read once.
    windows: HashMap<(usize, usize), (usize, usize)>,
    /// Ranges of the flow read and found to hold only ids, sorted and apart: the windows of
    /// edges a few records apart overlap, and only what is new of each is read.
    clean: Vec<Range<usize>>,
}

/// Entries of a flow an edge's window passes while it is found, for one unit of the scan
/// limit: reading an id costs a small part of checking a record.
const WINDOW_READS_PER_UNIT: u64 = 16;

impl<L: IdList> Edges<'_, L> {
    fn nb(&self) -> usize {
        self.landed.len()
    }

    /// Where edge `k` (`1..nb`) lands: found down the tree from its root, each search's probes
    /// counting toward the scan limit.
    fn land(&mut self, k: usize, work: &Work) -> Result<Landing> {
        let (mut lo, mut hi) = (1usize, self.nb() - 1);
        let (mut newer, mut older): (Option<Landing>, Option<Landing>) = (None, None);
        loop {
            let m = lo + (hi - lo) / 2;
            let e = match self.landed[m] {
                Some(e) => e,
                None => {
                    let e = self.search(m, newer, older, work)?;
                    self.landed[m] = Some(e);
                    e
                }
            };
            if k == m || lo >= hi {
                return Ok(e);
            }
            if k > m {
                (lo, older) = (m + 1, Some(e));
            } else {
                (hi, newer) = (m - 1, Some(e));
            }
        }
    }

    /// The search of edge `m` between its nearest ancestors' landings, held within them.
    fn search(&mut self, m: usize, newer: Option<Landing>, older: Option<Landing>, work: &Work) -> Result<Landing> {
        let list = self.list;
        let t = crate::filter::bucket_range(self.first, self.secs, m as i64, self.since, self.until).0;
        let lo = newer.map_or(self.lo, |e| e.s);
        let hi = older.map_or(self.hi, |e| e.j).max(lo);
        let probes = Cell::new(0u64);
        let (s, j) = search(
            lo,
            hi,
            t,
            |i| {
                probes.set(probes.get() + 1);
                list.ts(i)
            },
            |v| v < t,
        )?;
        work.pass(probes.get());
        let s = older.map_or(s, |o| s.min(o.s));
        let j = newer.map_or(j, |e| j.max(e.j)).max(s);
        if let Some(&(a, d)) = self.windows.get(&(s, j)) {
            return Ok(Landing { s, j, a, d });
        }
        // Its own room to widen past entries that are not ids: the same in every call.
        let room = Cell::new(self.room);
        let w2 = self.w2;
        // Where the ids already known end, toward the head from `s` and toward the tail from
        // `j`: only past them is read, for the ids still to find.
        let known_back = self.known_around(s, true).map_or(s, |r| r.start.max(s.saturating_sub(w2)));
        let known_on = self.known_around(j, false).map_or(j, |r| r.end.min(j.saturating_add(w2)));
        let a = match s - known_back {
            n if n >= w2 => known_back,
            n => ids_back(list, 0, known_back, w2 - n, &room)?,
        };
        let d = match known_on - j {
            n if n >= w2 => known_on,
            n => ids_on(list, known_on, list.len(), w2 - n, &room)?,
        };
        // What was read counts toward the scan limit too, at a small part of a record's check.
        work.pass(((known_back - a) + (d - known_on)) as u64 / WINDOW_READS_PER_UNIT);
        if s - a == w2 {
            self.known_ids(a..s);
        }
        if d - j == w2 {
            self.known_ids(j..d);
        }
        self.windows.insert((s, j), (a, d));
        Ok(Landing { s, j, a, d })
    }

    /// The range known to hold only ids that holds the entry just before `at` (`before`) or
    /// the entry at `at`.
    fn known_around(&self, at: usize, before: bool) -> Option<Range<usize>> {
        let i = self.clean.partition_point(|c| if before { c.end < at } else { c.end <= at });
        self.clean.get(i).filter(|c| if before { c.start < at } else { c.start <= at }).cloned()
    }

    /// Notes that `r` holds only ids (merged with the ranges it touches, which lie together in
    /// the sorted list: from the first that ends at or after its start to the last that starts
    /// at or before its end).
    fn known_ids(&mut self, r: Range<usize>) {
        if r.is_empty() {
            return;
        }
        let from = self.clean.partition_point(|c| c.end < r.start);
        let to = self.clean.partition_point(|c| c.start <= r.end).max(from);
        let merged = self.clean[from..to].iter().fold(r, |m, c| m.start.min(c.start)..m.end.max(c.end));
        self.clean.splice(from..to, [merged]);
    }

    /// The newest edge whose window ends after `at` (0 if none): the one to start from at
    /// `at`, found down the tree.
    fn first_from(&mut self, at: usize, work: &Work) -> Result<usize> {
        let (mut lo, mut hi, mut best) = (1usize, self.nb() - 1, 0usize);
        while lo <= hi {
            let m = lo + (hi - lo) / 2;
            if self.land(m, work)?.d > at {
                (best, lo) = (m, m + 1);
            } else if m == 1 {
                break;
            } else {
                hi = m - 1;
            }
        }
        Ok(best)
    }
}

/// What [`count_buckets`] has placed so far, up to the frontier `f`: entries counted by
/// position, each run in one bucket, and runs to check one by one (each entry's record read
/// and counted in the bucket of its time).
struct Sweep {
    f: usize,
    checks: Vec<Range<usize>>,
    by_position: Vec<(Range<usize>, usize)>,
    /// Where the searches of the query's own bounds could not tell: each entry counts toward
    /// the scan limit, whatever it is placed as.
    spans: Vec<Range<usize>>,
    /// The edge the sweep is at (0: past the last one).
    k: usize,
    /// The frontier where the scan limit stopped the sweep.
    cut_at: Option<usize>,
}

impl Sweep {
    /// Places the entries from the frontier to `to`: by position in `bucket`, or (`None`)
    /// checked, each counting toward the scan limit; the entries of the spans count toward it
    /// either way. With `limited`, false if the limit stops it before `to` (at `cut_at`).
    fn advance(&mut self, to: usize, bucket: Option<usize>, work: &Work, limited: bool) -> bool {
        while self.f < to {
            let f = self.f;
            let (end, counted) = match self.spans.iter().find(|r| r.contains(&f)) {
                Some(r) => (r.end.min(to), true),
                None => {
                    let next = self.spans.iter().map(|r| r.start).filter(|&s| s > f).min();
                    (next.unwrap_or(to).min(to), bucket.is_none())
                }
            };
            let mut take = end - f;
            let cost = if counted { take as u64 } else { 0 };
            let stop = limited && cost > work.left();
            if stop {
                take = usize::try_from(work.left().max(1)).unwrap_or(usize::MAX).min(take);
            }
            if counted {
                work.pass(take as u64);
            }
            match bucket {
                Some(b) => self.by_position.push((f..f + take, b)),
                None => self.checks.push(f..f + take),
            }
            self.f = f + take;
            if stop {
                self.cut_at = Some(self.f);
                return false;
            }
        }
        true
    }

    /// Goes on, edge by edge, to `to`. With `limited`, false if the scan limit stops it first:
    /// within a run counted toward it, or after an edge.
    fn run<L: IdList>(&mut self, edges: &mut Edges<'_, L>, to: usize, work: &Work, limited: bool) -> Result<bool> {
        while self.k >= 1 && self.f < to {
            let e = edges.land(self.k, work)?;
            if !self.advance(e.a.min(to), Some(self.k), work, limited)
                || !self.advance(e.d.min(to), None, work, limited)
            {
                return Ok(false);
            }
            if self.f < e.d {
                break; // at `to`, inside the edge's window
            }
            self.k -= 1;
            if limited && work.exhausted() && self.k >= 1 && self.f < to {
                self.cut_at = Some(self.f);
                return Ok(false);
            }
        }
        Ok(self.k >= 1 || self.advance(to, Some(0), work, limited))
    }
}

/// `ranges` sorted and merged.
fn merged(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.retain(|r| !r.is_empty());
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The parts of `r` inside (`inside`) or outside the sorted, merged `set`.
fn split(r: &Range<usize>, set: &[Range<usize>], inside: bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = r.start;
    for c in set[set.partition_point(|c| c.end <= r.start)..].iter().take_while(|c| c.start < r.end) {
        let (s, e) = (c.start.max(r.start), c.end.min(r.end));
        if !inside && s > at {
            out.push(at..s);
        }
        if inside {
            out.push(s..e);
        }
        at = e;
    }
    if !inside && at < r.end {
        out.push(at..r.end);
    }
    out
}

/// TLOG.COUNT ... BUCKET without a tag filter, WHERE or MATCH: the ids within the query's
/// bounds counted into `counts`, bucket `k` holding the times from `first + k * secs` seconds
/// for `secs` seconds (clipped to SINCE and UNTIL), as [`count`] counts a range.
///
/// Two layers. The time layer places each entry of the flow by SINCE, UNTIL and the edges
/// between buckets alone (see [`Edges`]), the same in every call: by position in a bucket
/// (between the windows of two edges), checked (within twice the window of ids of an edge, of
/// SINCE or of UNTIL, or where a search could not place its bound: its record read and counted
/// in the bucket of its time, a record gone or without a time not counted), or out. The id
/// layer is the call's: in the windows of BEFORE and AFTER, an entry counts only if it is an
/// id within them, and then as the time layer places it (by position without reading its
/// record, or checked); elsewhere, as the time layer places it.
///
/// The sweep goes from the call's start (the newest edge whose window reaches it, found down
/// the tree of edges) edge by edge. Probes and entries checked count toward the scan limit
/// (those of SINCE, UNTIL, BEFORE and AFTER only where their searches could not tell). At the
/// limit, the sweep stops after an edge, at an id `x`: the counts are those of the ids from `x`
/// up ([`End::Cut`], `last` `x`), AFTER `x - 1` placed as an id bound, and the rest is the same
/// call with BEFORE `x`: followed through its continuations, a histogram adds up bucket by
/// bucket to the one at once.
pub fn count_buckets(
    list: &impl IdList,
    q: &Query,
    first: i64,
    secs: i64,
    counts: &mut [u64],
    work: &Work,
) -> Result<Outcome> {
    let nb = counts.len();
    let (Some(since), Some(until)) = (q.since, q.until) else {
        return Err(Error::Internal("BUCKET without SINCE and UNTIL"));
    };
    if nb == 0 {
        return Ok(Outcome::DONE);
    }
    let mut bq = q.clone();
    bq.bucket = None;
    let p = plan_in(list, &bq, work)?;
    let (start, end) = (p.range.start, p.range.end);
    if start >= end {
        return Ok(Outcome::DONE);
    }
    let w2 = p.w2;
    let room = widen_room(work);
    // The windows of SINCE and UNTIL (checked), of BEFORE and AFTER (ids within them only),
    // and where the searches of all four could not tell (each entry counted toward the limit).
    let (mut time_checks, mut id_windows, mut spans) = (Vec::new(), Vec::new(), Vec::new());
    let (mut lo, mut hi) = (0, list.len());
    for c in &p.cuts {
        let [a, s, j, d] = c.points(list, w2, &room)?;
        if c.time {
            time_checks.push(a..d);
            if c.head_out {
                lo = s;
            } else {
                hi = d;
            }
        } else {
            id_windows.push(a..d);
        }
        spans.push(s.max(start)..j.min(end));
    }
    spans.retain(|r| !r.is_empty());
    let mut edges = Edges {
        list,
        first,
        secs,
        since,
        until,
        w2,
        lo,
        hi: hi.max(lo),
        room: if work.limit == 0 { u64::MAX } else { work.limit.max(NOT_IDS_FIRST) },
        landed: vec![None; nb],
        windows: HashMap::new(),
        clean: Vec::new(),
    };
    let k = if nb > 1 { edges.first_from(start, work)? } else { 0 };
    let mut sw = Sweep { f: start, checks: Vec::new(), by_position: Vec::new(), spans, k, cut_at: None };
    sw.run(&mut edges, end, work, true)?;
    let mut checked_q = bq;
    let mut outcome = Outcome::DONE;
    let mut upto = end;
    if let Some(c) = sw.cut_at.filter(|&c| c < end) {
        // The ids from `x` up, `x` the first id within the bounds at or after the frontier:
        // AFTER x - 1 is placed as an id bound, the time layer placed through its window.
        let reach = usize::try_from(work.left().max(1).max(NOT_IDS_FIRST)).unwrap_or(usize::MAX);
        let stop = end.min(c.saturating_add(reach));
        let in_ids = |id: i64| q.before.is_none_or(|b| id < b) && q.after.is_none_or(|a| id > a.saturating_add(1));
        let mut x = None;
        let mut at = c;
        while at < stop && x.is_none() {
            let size = READ_AHEAD_MAX.min(stop - at);
            x = list.ids(at..at + size).into_iter().flatten().find(|&id| in_ids(id));
            at += size;
        }
        match x {
            Some(x) => {
                let after = x - 1;
                let (s, j) = search(start, end, after, |i| Ok(list.id(i)), |id| id <= after)?;
                let free = Cell::new(u64::MAX);
                let a = ids_back(list, start, s, w2, &free)?;
                let d = ids_on(list, j, end, w2, &free)?;
                let m = c.min(a).max(start);
                upto = d.max(m);
                id_windows.push(m..upto);
                checked_q.after = Some(after);
                outcome = Outcome { end: End::Cut, last: Some(x) };
            }
            // No id to the end: the rest is placed through, only ids within the bounds (at
            // most AFTER's next one) counted.
            None if stop == end => id_windows.push(c..end),
            None => {
                return Err(Error::Message(format!(
                    "ERR scan limit reached in a run of entries that are not record ids, or of records gone, at index {c} of the flow; count past it with a larger SCANLIMIT, or SCANLIMIT 0 for no limit"
                )))
            }
        }
        sw.spans.clear();
        sw.run(&mut edges, upto, work, false)?;
    }
    let within = |r: &Range<usize>| r.start.max(start)..r.end.min(upto);
    let checks = merged(sw.checks.iter().chain(&time_checks).map(within).collect());
    let id_windows = merged(id_windows.iter().map(within).collect());
    let in_ids = |id: &i64| checked_q.before.is_none_or(|b| *id < b) && checked_q.after.is_none_or(|a| *id > a);
    let ids_in = |r: &Range<usize>| -> Vec<i64> {
        let mut ids = Vec::new();
        for chunk in (r.start..r.end).step_by(READ_AHEAD_MAX) {
            ids.extend(list.ids(chunk..(chunk + READ_AHEAD_MAX).min(r.end)).into_iter().flatten().filter(in_ids));
        }
        ids
    };
    // By position: away from the windows of BEFORE and AFTER, every entry; within them, the
    // ids within them.
    for (r, b) in &sw.by_position {
        for part in split(&within(r), &checks, false) {
            let away: usize = split(&part, &id_windows, false).iter().map(|r| r.len()).sum();
            let near: usize = split(&part, &id_windows, true).iter().map(|r| ids_in(r).len()).sum();
            if let Some(slot) = counts.get_mut(*b) {
                *slot += (away + near) as u64;
            }
        }
    }
    // Checked: each record's time.
    for r in checks {
        let ids = ids_in(&r);
        for batch in ids.chunks(READ_AHEAD_MAX) {
            let (found, refused) = list.records_ts(batch, true)?;
            if found.len() < batch.len() {
                return Err(refused.unwrap_or(Error::Internal("a record read came back short")));
            }
            for (&id, rec) in batch.iter().zip(found) {
                let Some(Some(ts)) = rec else { continue };
                if checked_q.admits(id, Some(ts)) {
                    if let Some(b) = crate::filter::bucket_of(ts, first, secs, nb as i64) {
                        counts[b] += 1;
                    }
                }
            }
        }
    }
    Ok(outcome)
}

/// The ids of a flow within a query's id bounds, in sorted reply order, each once, with no tag
/// filter: the ids of the plan's range, sorted through the window. Ids outside the bounds and
/// entries that are not ids are passed over.
pub struct Candidates<'l, L> {
    sorted: Sorted<'l, L>,
    lo: Option<i64>,
    hi: Option<i64>,
    asc: bool,
    done: bool,
}

impl<'l, L: IdList> Candidates<'l, L> {
    /// `hint`: how many ids the caller expects to need first.
    pub fn new(list: &'l L, q: &Query, plan: &Plan, hint: usize, work: &'l Work) -> Self {
        let logical = Sorted::<L>::logical(list.len(), q.asc, plan.range.clone());
        let mut sorted = Sorted::new(list, q.asc, logical, hint, work);
        sorted.stops = true;
        Candidates { sorted, lo: q.after, hi: q.before, asc: q.asc, done: false }
    }

    /// Up to `size` of the next ids (fewer at the end).
    pub fn next_ids(&mut self, size: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(size);
        while ids.len() < size {
            match self.next_id() {
                Some(id) => ids.push(id),
                None => break,
            }
        }
        ids
    }

    pub fn next_id(&mut self) -> Option<i64> {
        while !self.done {
            let Some(id) = self.sorted.next_id() else { break };
            let (past_end, short) = if self.asc {
                (self.hi.is_some_and(|h| id >= h), self.lo.is_some_and(|l| id <= l))
            } else {
                (self.lo.is_some_and(|l| id <= l), self.hi.is_some_and(|h| id >= h))
            };
            if past_end {
                // Sorted: every id after this one is past the end too.
                self.done = true;
                break;
            }
            if short {
                // Before the start bound, within the window: part of finding the start, which
                // costs the same whatever the limit.
                continue;
            }
            self.sorted.returned = true;
            return Some(id);
        }
        self.done = true;
        None
    }

    /// How a read ended once the candidates ran out, `last` the last id it looked at: done,
    /// or cut in a run of entries that are not ids. The next call goes on from the last id
    /// before the run, and reads the run again; one that got to no id says where the run is,
    /// rather than hand out a cursor that would not move on.
    pub fn outcome(&self, last: Option<i64>) -> Result<Outcome> {
        let Some(k) = self.sorted.cut_at else { return Ok(Outcome { end: End::Done, last }) };
        if last.is_none() {
            return Err(run_error(self.sorted.index(k)));
        }
        Ok(Outcome { end: End::Cut, last })
    }
}

/// The ids of the records a query returns, in reply order, with no tag filter: the
/// candidates, each record checked to exist and to pass every bound, up to the limit or the
/// scan limit.
pub fn select(list: &impl IdList, q: &Query, work: &Work) -> Result<(Vec<i64>, Outcome)> {
    let limit = q.limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    if limit == 0 {
        return Ok((out, Outcome::DONE));
    }
    // The newest record: an id at the head equal to the counter (or the one this server last
    // gave out, its record unchanged) is the largest there is, with no need to read the
    // window of ids after it.
    if limit == 1 && !q.asc && q.before.is_none() && q.until.is_none() && work.window > 0 {
        if let Some(head) = list.id(0).filter(|&h| q.after.is_none_or(|a| h > a)) {
            let known = list.newest_if_ts(head);
            if known.is_some() || list.ceiling() == Some(head) {
                // A record written again since (by a client that started its ids over after
                // the keys were removed) holds another time: the counter decides then.
                let read = list.record_ts(head, q.has_time_bounds() || known.is_some())?;
                if let Some(ts) = read.filter(|&ts| known.is_none_or(|k| ts == Some(k)) || list.ceiling() == Some(head))
                {
                    if q.admits(head, ts) {
                        return Ok((vec![head], Outcome { end: End::Full, last: Some(head) }));
                    }
                }
            }
        }
    }
    let p = plan_in(list, q, work)?;
    let mut ids = Candidates::new(list, q, &p, limit.min(READ_AHEAD_MAX), work);
    let mut last = None;
    // The records the reply needs are looked at one by one; after a miss (a record gone or
    // outside the time bounds), those after it a batch at a time, each batch twice the one
    // before, never more than the scan limit lets pass: a long run of records gone costs a
    // few reads, not one per record.
    let mut batch = 1usize;
    let mut one_by_one = limit;
    loop {
        let size = if one_by_one > 0 || !work.batches.get() {
            1
        } else {
            batch.min(usize::try_from(work.left()).unwrap_or(usize::MAX)).max(1)
        };
        let mut round = Vec::with_capacity(size);
        while round.len() < size {
            match ids.next_id() {
                Some(id) => round.push(id),
                None => break,
            }
        }
        if round.is_empty() {
            return Ok((out, ids.outcome(last)?));
        }
        let (found, refused) = if size == 1 {
            (vec![list.record_ts(round[0], q.has_time_bounds())?], None)
        } else {
            list.records_ts(&round, q.has_time_bounds())?
        };
        for (k, &id) in round.iter().enumerate() {
            // A key the caller may not read fails the read only if the read gets to it.
            let Some(record) = found.get(k) else {
                return Err(refused.unwrap_or(Error::Internal("a record read came back short")));
            };
            last = Some(id);
            match record {
                Some(ts) if q.admits(id, *ts) => {
                    out.push(id);
                    one_by_one = one_by_one.saturating_sub(1);
                }
                _ => {
                    work.pass(1);
                    one_by_one = 0;
                }
            }
            if out.len() >= limit {
                return Ok((out, Outcome { end: End::Full, last }));
            }
            if work.exhausted() {
                return Ok((out, Outcome { end: End::Cut, last }));
            }
        }
        if one_by_one == 0 {
            batch = batch.saturating_mul(2).min(READ_AHEAD_MAX);
        }
    }
}

/// The flows of a query with a tag filter: the flow named by the tag (`base`) and one per tag
/// of AND, OR and NOT, in the order the query gives them.
pub struct Sources<'s, L> {
    pub base: &'s L,
    /// The base is `__all__`: every record, so no constraint of its own.
    pub base_is_all: bool,
    pub and: &'s [L],
    pub or: &'s [L],
    pub not: &'s [L],
}

/// What [`each_match`] does with a match besides handing it out.
#[derive(Debug, Clone, Copy)]
pub struct Matching {
    /// Check that each match's record exists (and passes the time bounds, which are always
    /// checked on the records).
    pub read_records: bool,
    /// Matches count toward the scan limit too (a count, whose work is not bounded by a reply).
    pub count_matches: bool,
}

/// What [`extreme_ids`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extreme {
    Id(i64),
    /// The range holds no id at all.
    NoIds,
    /// The scan limit was reached in entries that are not ids before enough ids were read.
    Unknown,
}

/// The largest of the first `reach` ids of `range` (`head`), or the smallest of its last
/// `reach` ids: the entries that are not ids are skipped, each passed over, as [`Sorted`]
/// does. With ids out of order within the window and `reach` twice the window plus one, that
/// is the largest (smallest) id of the whole range.
fn extreme_ids<L: IdList>(list: &L, range: Range<usize>, head: bool, reach: usize, work: &Work) -> Extreme {
    let (mut from, mut to) = (range.start, range.end);
    let mut found = 0usize;
    let mut best: Option<i64> = None;
    while from < to && found < reach {
        let size = (reach - found).clamp(16, READ_AHEAD_MAX).min(to - from);
        let run = if head { from..from + size } else { to - size..to };
        let mut ids = list.ids(run);
        if ids.is_empty() {
            break;
        }
        if !head {
            ids.reverse();
        }
        for e in ids {
            if head {
                from += 1;
            } else {
                to -= 1;
            }
            match e {
                Some(id) => {
                    best = Some(best.map_or(id, |b| if head { b.max(id) } else { b.min(id) }));
                    found += 1;
                    if found >= reach {
                        break;
                    }
                }
                None => work.pass(1),
            }
        }
        if found < reach && from < to && work.exhausted() {
            return Extreme::Unknown;
        }
    }
    best.map_or(Extreme::NoIds, Extreme::Id)
}

/// Calls `f` with each id matching the query's tag filter and bounds, in reply order, until
/// `f` says stop or the scan limit is reached. Time bounds become id bounds through the base
/// flow, and every match's record is checked against them.
///
/// The driver is the smallest flow every match must be in (or the union of the OR flows when
/// there is none), read in sorted order; every other flow is read in sorted order too, alongside,
/// skipping ahead by a galloping search where the driver jumps far. Cost: the driver's ids
/// scanned, each probing each other flow in O(log gap), plus about four windows of ids read
/// per far jump.
pub fn each_match<L: IdList>(
    src: &Sources<'_, L>,
    q: &Query,
    how: Matching,
    work: &Work,
    mut f: impl FnMut(i64) -> bool,
) -> Result<Outcome> {
    let (mut lo, mut hi) = (q.after, q.before);
    let w = work.window;
    if q.has_time_bounds() {
        let r = plan_in(src.base, q, work)?.range;
        // The largest id of a run of entries is among its first 2w + 1, the smallest among
        // its last 2w + 1 (see `Sorted`).
        let reach = w.saturating_mul(2).saturating_add(1);
        let newest = extreme_ids(src.base, r.clone(), true, reach, work);
        let oldest = extreme_ids(src.base, r, false, reach, work);
        if newest == Extreme::NoIds || oldest == Extreme::NoIds {
            return Ok(Outcome::DONE); // no id in the range: nothing within the times
        }
        // A side whose ids were not found within the scan limit gives no id bound: every
        // match's record is checked against the times anyway.
        if let Extreme::Id(newest) = newest {
            let newest = newest.saturating_add(1);
            hi = Some(hi.map_or(newest, |h| h.min(newest)));
        }
        if let Extreme::Id(oldest) = oldest {
            let oldest = oldest.saturating_sub(1);
            lo = Some(lo.map_or(oldest, |l| l.max(oldest)));
        }
    }
    if lo.is_some_and(|l| l == i64::MAX)
        || hi.is_some_and(|h| h <= 1)
        || lo.zip(hi).is_some_and(|(l, h)| l.saturating_add(1) >= h)
    {
        return Ok(Outcome::DONE); // no id can be above the largest or below 1, or between
    }
    let in_bounds = |id: i64| lo.is_none_or(|l| id > l) && hi.is_none_or(|h| id < h);
    let past_end = |id: i64| if q.asc { hi.is_some_and(|h| id >= h) } else { lo.is_some_and(|l| id <= l) };
    // The first id in reply order that can match.
    let start = if q.asc { lo.map(|l| l + 1) } else { hi.map(|h| h - 1) };
    let asc = q.asc;
    fn stream<'a, L: IdList>(l: &'a L, asc: bool, hint: usize, work: &'a Work) -> Sorted<'a, L> {
        Sorted::new(l, asc, 0..l.len(), hint, work)
    }
    let hint = q.limit.unwrap_or(READ_AHEAD_MAX).clamp(16, READ_AHEAD_MAX);

    let mut positive: Vec<&L> = src.and.iter().collect();
    if !src.base_is_all {
        positive.push(src.base);
    }
    let driver_at = positive.iter().enumerate().min_by_key(|(_, l)| l.len()).map(|(i, _)| i);
    let driver: Option<&L> = driver_at.map(|i| positive.remove(i));
    // With no flow every match must be in, the merge of the OR flows is scanned, unless they
    // hold more than twice as many ids as the flow of every record (most ids are in several):
    // then that one is, each id looked up in the OR flows until one holds it.
    let or_ids = src.or.iter().fold(0usize, |n, l| n.saturating_add(l.len()));
    let union_driver =
        driver.is_none() && !src.or.is_empty() && !(src.base_is_all && or_ids > src.base.len().saturating_mul(2));
    // Read-ahead is shared among the flows read beside the one scanned: with many tags, read
    // ahead for each, it would be most of the reading (the first window of each is read
    // anyway, unless the flow is in order, see `Sorted::has`).
    let beside = positive.len() + src.or.len() + src.not.len();
    let each = (64 / beside.max(1)).max(1);
    let mut must: Vec<Sorted<'_, L>> = positive.into_iter().map(|l| stream(l, asc, each, work)).collect();
    let mut any: Vec<Sorted<'_, L>> =
        if union_driver { Vec::new() } else { src.or.iter().map(|l| stream(l, asc, each, work)).collect() };
    let mut none: Vec<Sorted<'_, L>> = src.not.iter().map(|l| stream(l, asc, each, work)).collect();
    let mut heads: Vec<Sorted<'_, L>> = if union_driver {
        let each = (hint / src.or.len()).max(1);
        src.or.iter().map(|l| stream(l, asc, each, work)).collect()
    } else {
        vec![stream(driver.unwrap_or(src.base), asc, hint, work)]
    };
    // The flows scanned stop in a long run of entries that are not ids, as a read of one flow
    // does; the flows an id is looked up in read on (an answer there must be whole).
    for h in heads.iter_mut() {
        h.stops = true;
    }
    if let Some(s) = start {
        // Finding the start costs O(log N + w) per flow whatever the limit: not counted.
        let before = work.passed();
        for h in heads.iter_mut().chain(must.iter_mut()).chain(any.iter_mut()).chain(none.iter_mut()) {
            h.skip_to(s);
        }
        work.passed.set(before);
    }

    // The heads by their next id, the first in reply order on top: with many OR flows, each id
    // costs O(log F), not a look at every flow.
    let key = |id: i64| if asc { -id } else { id };
    let mut order: BinaryHeap<(i64, usize)> = BinaryHeap::with_capacity(heads.len());
    for (i, h) in heads.iter_mut().enumerate() {
        if let Some(id) = h.peek() {
            order.push((key(id), i));
        }
    }
    if let Some(e) = heads.iter().find_map(Sorted::run_error) {
        return Err(e); // no id to go on from
    }
    let mut last = None;
    // The next id of the driver: with a union, the first of the heads, taken from each.
    while let Some(&(top, _)) = order.peek() {
        let id = if asc { -top } else { top };
        if past_end(id) {
            break;
        }
        // An id in several OR flows is read in each: every read past the first is passed over.
        let mut taken = 0u64;
        // A flow scanned stopped in a run after this id: the read ends with it.
        let mut cut = false;
        while let Some(&(k, i)) = order.peek() {
            if k != top {
                break;
            }
            order.pop();
            heads[i].next_id();
            taken += 1;
            if let Some(next) = heads[i].peek() {
                order.push((key(next), i));
            }
            cut |= heads[i].cut_at.is_some();
        }
        work.pass(taken.saturating_sub(1));
        last = Some(id);
        // Each flow an id is looked up in past the first counts as one id passed over: with
        // many tags, the lookups are most of the work.
        let checks = Cell::new(0u64);
        let mut check = |m: &mut Sorted<'_, L>| {
            checks.set(checks.get() + 1);
            m.has(id)
        };
        let mut hit = in_bounds(id)
            && must.iter_mut().all(&mut check)
            && (any.is_empty() || any.iter_mut().any(&mut check))
            && !none.iter_mut().any(&mut check);
        work.pass(checks.get().saturating_sub(1));
        if hit && (how.read_records || q.has_time_bounds()) {
            hit = matches!(src.base.record_ts(id, q.has_time_bounds())?, Some(ts) if q.admits(id, ts));
        }
        if !hit || how.count_matches {
            work.pass(1);
        }
        if hit && !f(id) {
            return Ok(Outcome { end: End::Full, last });
        }
        if cut || work.exhausted() {
            return Ok(Outcome { end: End::Cut, last });
        }
    }
    Ok(Outcome { end: End::Done, last })
}

/// Whether record `id` exists and passes the query's time bounds, WHERE and MATCH: `None` if
/// MATCH's glob steps for the call ran out first.
fn keeps<L: RecordList>(list: &L, q: &Query, work: &Work, id: i64) -> Result<Option<bool>> {
    let keep = |stored: &[u8]| {
        if !q.admits(id, crate::record::decode_ts(stored)) {
            return Some(false);
        }
        work.filter_admits(&q.filter, stored)
    };
    Ok(list.with_record_id(id, keep)?.unwrap_or(Some(false)))
}

/// Where a scan whose glob steps ran out at record `at` stops: just before it, at `before`
/// (the id looked at before it, in reply order). With none, not even the call's first record
/// could be checked: an error.
fn cut_before(at: i64, before: Option<i64>) -> Result<Outcome> {
    let before = before.ok_or(Error::MatchTooCostly(at))?;
    Ok(Outcome { end: End::Cut, last: Some(before) })
}

/// [`select`] for a query with WHERE or MATCH: each candidate's record is read and checked;
/// one that fails is passed over, under the scan limit, like an id a tag filter leaves out.
/// The tag filter's flows are those of `src`.
pub fn select_filtered<L: RecordList>(src: &Sources<'_, L>, q: &Query, work: &Work) -> Result<(Vec<i64>, Outcome)> {
    let flow = src.base;
    let limit = q.limit.unwrap_or(usize::MAX);
    let mut ids = Vec::new();
    if limit == 0 {
        return Ok((ids, Outcome::DONE));
    }
    if q.has_tag_filter() {
        let (mut cut, mut failed, mut out_at, mut prev) = (false, None, None, None);
        let how = Matching { read_records: false, count_matches: false };
        let mut outcome = each_match(src, q, how, work, |id| {
            match keeps(flow, q, work, id) {
                Ok(None) => {
                    out_at = Some(id);
                    return false;
                }
                Ok(Some(true)) => ids.push(id),
                Ok(Some(false)) => {
                    work.pass(1);
                    if work.exhausted() {
                        cut = true;
                        return false;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
            prev = Some(id);
            ids.len() < limit
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(at) = out_at {
            return Ok((ids, cut_before(at, prev)?));
        }
        if cut {
            outcome.end = End::Cut;
        }
        return Ok((ids, outcome));
    }
    let plan = plan_in(flow, q, work)?;
    let mut candidates = Candidates::new(flow, q, &plan, limit.min(FETCH_BATCH), work);
    let mut last = None;
    while let Some(id) = candidates.next_id() {
        let Some(keep) = keeps(flow, q, work, id)? else {
            return Ok((ids, cut_before(id, last)?));
        };
        last = Some(id);
        if keep {
            ids.push(id);
            if ids.len() >= limit {
                return Ok((ids, Outcome { end: End::Full, last }));
            }
        } else {
            work.pass(1);
            if work.exhausted() {
                return Ok((ids, Outcome { end: End::Cut, last }));
            }
        }
    }
    let outcome = candidates.outcome(last)?;
    Ok((ids, outcome))
}

/// At most this many records are read at once.
pub const FETCH_BATCH: usize = 1000;

/// Reads every record a query's bounds, tags, WHERE and MATCH admit, newest first, and calls
/// `f` with the time of each (for a count). Every id looked at counts toward the scan limit,
/// as a count with a tag filter counts them; at the limit the scan stops ([`End::Cut`], every
/// id from `last` up looked at). Without a tag filter, records are read many at once
/// ([`RecordList::with_records`]) in batches.
pub fn scan_matches<L: RecordList>(
    src: &Sources<'_, L>,
    q: &Query,
    work: &Work,
    mut f: impl FnMut(Option<i64>),
) -> Result<Outcome> {
    let flow = src.base;
    // For a record: `Some(Some(ts))` if it matches, `Some(None)` if not, `None` if MATCH's glob
    // steps ran out on it.
    let check = |id: i64, stored: &[u8]| {
        let ts = crate::record::decode_ts(stored);
        if !q.admits(id, ts) {
            return Some(None);
        }
        Some(work.filter_admits(&q.filter, stored)?.then_some(ts))
    };
    if q.has_tag_filter() {
        let (mut failed, mut out_at, mut prev) = (None, None, None);
        let how = Matching { read_records: false, count_matches: true };
        let outcome = each_match(src, q, how, work, |id| match flow.with_record_id(id, |s| check(id, s)) {
            Ok(Some(None)) => {
                out_at = Some(id);
                false
            }
            Ok(found) => {
                if let Some(ts) = found.flatten().flatten() {
                    f(ts);
                }
                prev = Some(id);
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        return match out_at {
            Some(at) => cut_before(at, prev),
            None => Ok(outcome),
        };
    }
    let plan = plan_in(flow, q, work)?;
    let mut candidates = Candidates::new(flow, q, &plan, FETCH_BATCH, work);
    let mut last = None;
    loop {
        let left = usize::try_from(work.left()).unwrap_or(usize::MAX);
        let ids = candidates.next_ids(FETCH_BATCH.min(left).max(1));
        let Some(&batch_last) = ids.last() else { break };
        if work.batches_allowed() {
            let stopped = flow.with_records(&ids, |found| {
                for (i, (&id, stored)) in ids.iter().zip(found).enumerate() {
                    match stored.map(|s| check(id, s)) {
                        Some(None) => {
                            work.pass(i as u64);
                            return Some(cut_before(id, if i > 0 { Some(ids[i - 1]) } else { last }));
                        }
                        Some(Some(Some(ts))) => f(ts),
                        _ => {}
                    }
                }
                None
            })?;
            match stopped {
                None => {
                    work.again_one_by_one();
                    return scan_matches(src, q, work, f);
                }
                Some(Some(cut)) => return cut,
                Some(None) => {}
            }
        } else {
            for (i, &id) in ids.iter().enumerate() {
                match flow.with_record_id(id, |s| check(id, s))? {
                    Some(None) => {
                        work.pass(i as u64);
                        return cut_before(id, if i > 0 { Some(ids[i - 1]) } else { last });
                    }
                    Some(Some(Some(ts))) => f(ts),
                    _ => {}
                }
            }
        }
        work.pass(ids.len() as u64);
        last = Some(batch_last);
        if work.exhausted() {
            return Ok(Outcome { end: End::Cut, last });
        }
    }
    candidates.outcome(last)
}

/// The newest id of a flow: the largest of its first `window + 1` entries (an id out of order
/// sits at most `window` places from the head), or if none of them is an id, the first id of
/// the next thousand entries.
pub fn newest(list: &impl IdList, window: usize) -> Option<i64> {
    let head = list.len().min(window.saturating_add(1));
    list.ids(0..head)
        .into_iter()
        .flatten()
        .max()
        .or_else(|| list.ids(head..list.len().min(head + 1000)).into_iter().flatten().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids newest first, each with a timestamp (None: a missing record).
    struct Flow(Vec<(Option<i64>, Option<i64>)>);

    impl IdList for Flow {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn id(&self, i: usize) -> Option<i64> {
            self.0.get(i).and_then(|e| e.0)
        }
        fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>> {
            let e = self.0.iter().find(|e| e.0 == Some(id));
            Ok(e.filter(|e| e.1 != Some(GONE)).map(|e| e.1.filter(|_| need_ts)))
        }
    }

    /// The time of a record that is gone (expired, deleted): its id stays in the flow.
    const GONE: i64 = i64::MIN;

    fn flow(ids: &[i64]) -> Flow {
        Flow(ids.iter().map(|&id| (Some(id), Some(id * 10))).collect())
    }

    const ALL: Allowed = Allowed::GET;

    fn q(words: &[&str]) -> Query {
        let w: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        parse_options(&w, ALL).unwrap()
    }

    /// The plan against a brute-force filter over every entry.
    fn brute(f: &Flow, query: &Query) -> Vec<usize> {
        (0..f.len()).filter(|&i| f.id(i).is_some_and(|id| query.admits(id, f.0[i].1))).collect()
    }

    /// A count with time bounds next to records gone or without a time, in runs (expired or
    /// deleted together) and one by one, and ids out of order within the window: the count at
    /// once is at least the records dated within the bounds and at most those plus the entries
    /// without a time within the id bounds; followed through its continuations, at every scan
    /// limit, the calls add up to it, as each call places each entry on the same side of a time
    /// bound.
    #[test]
    fn counts_add_up_through_continuations() {
        let seeds: u64 = std::env::var("TLOG_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(150);
        for seed in 1..=seeds {
            let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let w = [0usize, 1, 2, 5, 16, 40][rng.below(6) as usize];
            let n = 20 + rng.below(400) as usize;
            // (record, without a time)
            let mut recs: Vec<(ModelRec, bool)> = Vec::with_capacity(n);
            let (mut id, mut ts) = (0i64, 1_700_000_000_000_000i64);
            for _ in 0..n {
                id += 1 + rng.below(3) as i64;
                // Seconds apart, so that buckets of a few seconds split them.
                ts += rng.below(4) as i64 * 1_000_000;
                recs.push((ModelRec { id, ts, tags: 0, gone: rng.chance(10), msg: 0, attrs: 0 }, false));
            }
            for _ in 0..1 + rng.below(3) {
                let len = 1 + rng.below(n as u64 / 2) as usize;
                let at = rng.below((n - len + 1) as u64) as usize;
                let no_ts = rng.chance(30);
                for r in &mut recs[at..at + len] {
                    (r.0.gone, r.1) = (!no_ts, no_ts);
                }
            }
            let plain: Vec<ModelRec> = recs.iter().map(|r| r.0).collect();
            let both = rng.chance(50);
            let order = displaced(&mut rng, &plain, w, both);
            let flow = Flow(
                order
                    .iter()
                    .map(|&i| {
                        let (r, no_ts) = recs[i];
                        (Some(r.id), if r.gone { Some(GONE) } else { (!no_ts).then_some(r.ts) })
                    })
                    .collect(),
            );
            let max_id = id + 2;
            for round in 0..20 {
                let mut query = Query::default();
                if rng.chance(35) {
                    query.before = Some(1 + rng.below(max_id as u64) as i64);
                }
                if rng.chance(35) {
                    let a = rng.below(max_id as u64) as i64;
                    query.after = Some(a).filter(|a| query.before.is_none_or(|b| *a < b));
                }
                // Times of records gone too: bounds fall inside their runs.
                let near = |rng: &mut Rng| ts_of(&plain, rng) + [0i64, 1, -1][rng.below(3) as usize];
                query.since = rng.chance(70).then(|| near(&mut rng));
                query.until = rng.chance(70).then(|| near(&mut rng));
                if let (Some(s), Some(u)) = (query.since, query.until) {
                    (query.since, query.until) = (Some(s.min(u)), Some(s.max(u)));
                }
                let ctx = format!("seed {seed} round {round} window {w}: {query:?}");
                let in_ids = |id: i64| query.before.is_none_or(|b| id < b) && query.after.is_none_or(|a| id > a);
                let dated =
                    recs.iter().filter(|(r, no_ts)| !r.gone && !no_ts && query.admits(r.id, Some(r.ts))).count();
                let undated = recs.iter().filter(|(r, no_ts)| (r.gone || *no_ts) && in_ids(r.id)).count();
                let (at_once, out) = count(&flow, &query, &Work::new(w, 0)).unwrap();
                assert_eq!(out.end, End::Done, "{ctx}");
                assert!(at_once >= dated && at_once <= dated + undated, "{at_once} not in {dated}..+{undated}: {ctx}");
                for limit in 1..=12 {
                    let (mut total, mut next) = (0, query.clone());
                    for call in 0.. {
                        assert!(call < 10 * n + 10, "no end: {ctx}");
                        let (k, out) = count(&flow, &next, &Work::new(w, limit)).unwrap();
                        total += k;
                        match out.cursor() {
                            Some(c) => next.before = Some(c),
                            None => break,
                        }
                    }
                    assert_eq!(total, at_once, "continued at scan limit {limit}: {ctx}");
                }
                // The histogram: followed through its continuations, the calls add up bucket
                // by bucket to the histogram at once.
                let (Some(since), Some(until)) = (query.since, query.until) else { continue };
                let secs = [1i64, 2, 3, 7, 20][rng.below(5) as usize];
                let (first, nb) = crate::filter::buckets(since, until, secs);
                let bq = Query { bucket: Some(secs), ..query.clone() };
                let ctx = format!("{ctx}; BUCKET {secs}");
                let mut hist = vec![0u64; nb as usize];
                let out = count_buckets(&flow, &bq, first, secs, &mut hist, &Work::new(w, 0)).unwrap();
                assert_eq!(out.end, End::Done, "{ctx}");
                let total = hist.iter().sum::<u64>() as usize;
                assert!(total >= dated && total <= dated + undated, "{hist:?} not in {dated}..+{undated}: {ctx}");
                for limit in 1..=12 {
                    let (mut sum, mut next) = (vec![0u64; nb as usize], bq.clone());
                    for call in 0.. {
                        assert!(call < 10 * n + 10, "no end: {ctx}");
                        let mut part = vec![0u64; nb as usize];
                        let out = count_buckets(&flow, &next, first, secs, &mut part, &Work::new(w, limit)).unwrap();
                        sum.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
                        match out.cursor() {
                            Some(c) => next.before = Some(c),
                            None => break,
                        }
                    }
                    assert_eq!(sum, hist, "BUCKET continued at scan limit {limit}: {ctx}");
                }
            }
        }
    }

    #[test]
    fn held_ids_come_out_as_from_a_heap() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for _ in 0..200 {
            let (mut held, mut heap) = (Held::default(), BinaryHeap::new());
            let mut base = 1_000i64;
            for _ in 0..300 {
                if next(3) == 0 {
                    assert_eq!(held.pop(), heap.pop());
                } else {
                    // Mostly in order (decreasing keys), some out of order by a few places.
                    base -= 1;
                    let key = if next(5) == 0 { base + next(20) as i64 } else { base };
                    held.push(key);
                    heap.push(key);
                }
                assert_eq!(held.peek(), heap.peek());
                assert_eq!(held.len(), heap.len());
            }
            while let Some(k) = heap.pop() {
                assert_eq!(held.pop(), Some(k));
            }
            assert!(held.is_empty());
        }
    }

    #[test]
    fn windows_match_a_full_scan() {
        let f = flow(&[20, 17, 15, 12, 9, 8, 5, 3, 1]);
        let queries = [
            vec![],
            vec!["BEFORE", "12"],
            vec!["BEFORE", "13"],
            vec!["AFTER", "8"],
            vec!["AFTER", "8", "BEFORE", "17"],
            vec!["SINCE", "0.000090"],
            vec!["UNTIL", "0.000150"],
            vec!["SINCE", "0.000050", "UNTIL", "0.000170"],
            vec!["BEFORE", "1"],
            vec!["AFTER", "20"],
            vec!["AFTER", "0"],
        ];
        for words in queries {
            let query = q(&words);
            let w = plan(&f, &query, 0).unwrap().range;
            let inside: Vec<usize> = w.clone().filter(|&i| query.admits(f.id(i).unwrap(), f.0[i].1)).collect();
            assert_eq!(inside, brute(&f, &query), "{words:?} window {w:?}");
            // The window is tight on a sorted flow.
            assert_eq!(w.len(), inside.len(), "{words:?}");
        }
    }

    #[test]
    fn unknown_entries_do_not_mislead_the_search() {
        let mut f = flow(&[9, 8, 7, 6, 5, 4, 3, 2, 1]);
        f.0[4] = (None, None); // not an id
        f.0[5].1 = None; // record gone
        f.0[6].1 = None;
        for words in [vec!["BEFORE", "6"], vec!["BEFORE", "4"], vec!["UNTIL", "0.000040"], vec!["SINCE", "0.000030"]] {
            let query = q(&words);
            let w = plan(&f, &query, 0).unwrap().range;
            let inside: Vec<usize> = w.filter(|&i| f.id(i).is_some_and(|id| query.admits(id, f.0[i].1))).collect();
            assert_eq!(inside, brute(&f, &query), "{words:?}");
        }
    }

    #[test]
    fn binary_search_probes_log_n_entries() {
        struct Counting(Vec<i64>, std::cell::Cell<usize>);
        impl IdList for Counting {
            fn len(&self) -> usize {
                self.0.len()
            }
            fn id(&self, i: usize) -> Option<i64> {
                self.1.set(self.1.get() + 1);
                self.0.get(i).copied()
            }
            fn record_ts(&self, id: i64, _: bool) -> Result<Option<Option<i64>>> {
                Ok(Some(Some(id)))
            }
        }
        let f = Counting((1..=1_000_000).rev().collect(), std::cell::Cell::new(0));
        let w = plan(&f, &q(&["BEFORE", "500000", "AFTER", "400000"]), 0).unwrap().range;
        assert_eq!(w.len(), 99_999);
        // Evenly spread ids: interpolation lands at once.
        assert!(f.1.get() <= 12, "{} probes", f.1.get());
        // Skewed ids (a tag that was rare, then frequent): still within twice binary search.
        let mut ids: Vec<i64> = (0..500_000).map(|i| 10_000_000 + i).collect();
        ids.extend((0..500_000).map(|i| i * 19));
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let f = Counting(ids, std::cell::Cell::new(0));
        for bound in [5, 4_000_000, 9_499_999, 10_000_001, 10_250_000, 99_999_999] {
            f.1.set(0);
            let w = plan(&f, &q(&["BEFORE", &bound.to_string()]), 0).unwrap().range;
            assert!(w.start == f.0.len() || f.0[w.start] < bound);
            assert!(w.start == 0 || f.0[w.start - 1] >= bound, "{bound}");
            assert!(f.1.get() <= 2 * 21 + 2, "{bound}: {} probes", f.1.get());
        }
    }

    #[test]
    fn select_pages_without_repeating_or_skipping() {
        let f = flow(&(1..=50).rev().collect::<Vec<_>>());
        let mut seen = Vec::new();
        let mut before: Option<i64> = None;
        loop {
            let mut query = q(&["LIMIT", "7"]);
            query.before = before;
            let page = select(&f, &query, &Work::new(0, 0)).unwrap().0;
            if page.is_empty() {
                break;
            }
            before = page.last().copied();
            seen.extend(page);
        }
        assert_eq!(seen, (1..=50).rev().collect::<Vec<_>>());
        let sel = |words: &[&str]| select(&f, &q(words), &Work::new(0, 0)).unwrap().0;
        assert_eq!(sel(&["AFTER", "45", "ASC", "LIMIT", "3"]), vec![46, 47, 48]);
        assert_eq!(sel(&["ASC", "LIMIT", "2"]), vec![1, 2]);
        assert_eq!(sel(&["LIMIT", "0"]), Vec::<i64>::new());
    }

    /// Flows of a prefix built from records (id, ts, tags), for tag-filter checks.
    fn flows_of(recs: &[(i64, &[&str])], tag: &str) -> Flow {
        Flow(
            recs.iter()
                .rev()
                .filter(|r| tag == "__all__" || r.1.contains(&tag))
                .map(|r| (Some(r.0), Some(r.0 * 10)))
                .collect(),
        )
    }

    #[test]
    fn tag_filters_match_set_algebra() {
        let mut recs: Vec<(i64, Vec<&str>)> = Vec::new();
        let names = ["a", "b", "c", "d"];
        let mut x: u64 = 7;
        for id in 1..=300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let tags: Vec<&str> =
                names.iter().enumerate().filter(|(i, _)| x >> (i * 3) & 3 == 0).map(|(_, t)| *t).collect();
            recs.push((id, tags));
        }
        let view: Vec<(i64, &[&str])> = recs.iter().map(|(id, t)| (*id, t.as_slice())).collect();
        type Case<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str], &'a [&'a str]);
        let cases: &[Case] = &[
            ("a", &["b"], &[], &[], &[]),
            ("__all__", &["a", "b"], &[], &[], &["ASC"]),
            ("__all__", &[], &["c", "d"], &[], &[]),
            ("__all__", &[], &["a", "b", "c"], &["d"], &["ASC", "LIMIT", "9"]),
            ("a", &[], &[], &["b"], &["BEFORE", "200", "LIMIT", "5"]),
            ("__all__", &[], &[], &["a"], &["AFTER", "100", "ASC"]),
            ("b", &["c"], &["a", "d"], &["x"], &["SINCE", "0.001000", "UNTIL", "0.002500"]),
            ("__all__", &["a"], &["b"], &[], &["ASC", "BEFORE", "250", "AFTER", "30"]),
            ("d", &["d"], &[], &[], &[]),
        ];
        for (base, and, or, not, opts) in cases {
            let mut query = q(opts);
            query.and = and.iter().map(|t| t.as_bytes().to_vec()).collect();
            query.or = or.iter().map(|t| t.as_bytes().to_vec()).collect();
            query.not = not.iter().map(|t| t.as_bytes().to_vec()).collect();
            let fl = |t: &&str| flows_of(&view, t);
            let (b, a, o, n): (Flow, Vec<Flow>, Vec<Flow>, Vec<Flow>) =
                (fl(base), and.iter().map(fl).collect(), or.iter().map(fl).collect(), not.iter().map(fl).collect());
            let src = Sources { base: &b, base_is_all: *base == "__all__", and: &a, or: &o, not: &n };
            let mut got = Vec::new();
            let limit = query.limit.unwrap_or(usize::MAX);
            let how = Matching { read_records: true, count_matches: false };
            each_match(&src, &query, how, &Work::new(0, 0), |id| {
                got.push(id);
                got.len() < limit
            })
            .unwrap();
            let has = |r: &(i64, Vec<&str>), t: &str| t == "__all__" || r.1.contains(&t);
            let mut want: Vec<i64> = recs
                .iter()
                .filter(|r| {
                    has(r, base)
                        && and.iter().all(|t| has(r, t))
                        && (or.is_empty() || or.iter().any(|t| has(r, t)))
                        && !not.iter().any(|t| has(r, t))
                })
                .filter(|r| query.admits(r.0, Some(r.0 * 10)))
                .map(|r| r.0)
                .collect();
            if !query.asc {
                want.reverse();
            }
            want.truncate(limit);
            assert_eq!(got, want, "{base} AND {and:?} OR {or:?} NOT {not:?} {opts:?}");
        }
    }

    #[test]
    fn tag_lists_parse_with_their_counts() {
        let query = q(&["AND", "2", "LIMIT", "x", "NOT", "1", "AND", "LIMIT", "3"]);
        assert_eq!(query.and, vec![b"LIMIT".to_vec(), b"x".to_vec()]);
        assert_eq!(query.not, vec![b"AND".to_vec()]);
        assert_eq!(query.limit, Some(3));
        let w = |words: &[&str]| {
            let v: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
            parse_options(&v, ALL)
        };
        for bad in ["0", "-1", "x", "1025", "9223372036854775808", "18446744073709551617"] {
            assert_eq!(w(&["AND", bad, "t"]), Err(Error::NumTags("AND", 1024)), "{bad}");
        }
        assert_eq!(Error::NumTags("AND", 1024).to_string(), "ERR AND numtags must be an integer from 1 to 1024");
        assert_eq!(w(&["OR", "3", "a", "b"]), Err(Error::Syntax));
        assert_eq!(w(&["NOT", "1", ""]), Err(Error::EmptyTag));
        assert_eq!(w(&["OR", "1", "a", "OR", "1", "b"]), Err(Error::RepeatedOption("OR")));
    }

    /// Nanoseconds, as other systems write them, in either form: rounded down to the
    /// microsecond alike; SINCE starts at the next microsecond when the time is finer.
    #[test]
    fn times_finer_than_a_microsecond_round_down_in_both_forms() {
        for (unix, rfc) in [
            (&b"1700000000.0000019"[..], &b"2023-11-14T22:13:20.0000019Z"[..]),
            (b"1700000000.123456789", b"2023-11-14T22:13:20.123456789Z"),
            (b"1700000000.1234560", b"2023-11-14T22:13:20.1234560Z"),
        ] {
            assert_eq!(parse_time(unix).unwrap(), parse_time(rfc).unwrap(), "{unix:?}");
            assert_eq!(parse_time_finer(unix).unwrap(), parse_time_finer(rfc).unwrap(), "{unix:?}");
        }
        assert_eq!(parse_time_finer(b"1700000000.0000019").unwrap(), (1_700_000_000_000_001, true));
        assert_eq!(parse_time_finer(b"1700000000.1234560").unwrap(), (1_700_000_000_123_456, false));
        assert_eq!(parse_time(b"-1.0000015").unwrap(), -1_000_002);
        let w = |words: &[&str]| parse_options(&words.iter().map(|w| w.as_bytes()).collect::<Vec<_>>(), Allowed::GET);
        let q = w(&["SINCE", "1700000000.0000019", "UNTIL", "1700000000.0000019"]);
        assert_eq!(q.map(|q| (q.since, q.until)), Err(Error::InvertedRange("SINCE must not be after UNTIL")));
        let q = w(&["SINCE", "1700000000.0000010", "UNTIL", "2023-11-14T22:13:20.0000019Z"]).unwrap();
        assert_eq!((q.since, q.until), (Some(1_700_000_000_000_001), Some(1_700_000_000_000_001)));
        // A record at ...001 is not at or after ...0019, and is at or before it.
        let q = w(&["SINCE", "1700000000.0000009"]).unwrap();
        assert!(q.admits(1, Some(1_700_000_000_000_001)) && !q.admits(1, Some(1_700_000_000_000_000)));
    }

    #[test]
    fn times_parse_as_seconds_or_rfc3339() {
        assert_eq!(parse_time(b"1700000000").unwrap(), 1_700_000_000_000_000);
        assert_eq!(parse_time(b"1700000000.25").unwrap(), 1_700_000_000_250_000);
        assert_eq!(parse_time(b"1700000000.000001").unwrap(), 1_700_000_000_000_001);
        assert_eq!(parse_time(b"-1.5").unwrap(), -1_500_000);
        assert_eq!(parse_time(b"2023-11-14T22:13:20.25Z").unwrap(), 1_700_000_000_250_000);
        assert_eq!(parse_time(b"2023-11-14T23:13:20+01:00").unwrap(), 1_700_000_000_000_000);
        for bad in [&b""[..], b"yesterday", b"1.", b".5", b"2023-11-14T22:13:20", b"1e9", b"\xff", b"+1"] {
            let e = parse_time(bad).unwrap_err();
            assert!(e.to_string().starts_with("ERR invalid time"), "{e}");
        }
    }

    #[test]
    fn options_are_checked() {
        let w = |words: &[&str]| {
            let v: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
            parse_options(&v, ALL)
        };
        assert_eq!(
            q(&["limit", "10", "asc", "RAW"]),
            Query { limit: Some(10), asc: true, raw: true, ..Query::default() }
        );
        assert_eq!(w(&["LIMIT"]), Err(Error::Syntax));
        assert_eq!(w(&["LIMIT", "-1"]), Err(Error::BadNumber("LIMIT", "a non-negative integer")));
        assert_eq!(w(&["LIMIT", "1", "LIMIT", "2"]), Err(Error::RepeatedOption("LIMIT")));
        assert_eq!(w(&["BEFORE", "0"]), Err(Error::BadNumber("BEFORE", "a record id")));
        assert_eq!(w(&["BEFORE", "x"]), Err(Error::BadNumber("BEFORE", "a record id")));
        assert_eq!(w(&["AFTER", "5", "BEFORE", "5"]), Err(Error::InvertedRange("AFTER must be below BEFORE")));
        assert_eq!(w(&["SINCE", "10", "UNTIL", "9"]), Err(Error::InvertedRange("SINCE must not be after UNTIL")));
        assert_eq!(w(&["ASC", "DESC"]), Err(Error::ConflictingOptions("ASC", "DESC")));
        assert_eq!(w(&["ASC", "ASC"]), Err(Error::RepeatedOption("ASC")));
        assert_eq!(w(&["BOGUS"]), Err(Error::Syntax));
        assert_eq!(
            q(&["SCANLIMIT", "0", "WITHCURSOR"]),
            Query { scan_limit: Some(0), with_cursor: true, ..Query::default() }
        );
        assert_eq!(w(&["SCANLIMIT", "-1"]), Err(Error::BadNumber("SCANLIMIT", "a non-negative integer (0: no limit)")));
        assert_eq!(w(&["SCANLIMIT"]), Err(Error::Syntax));
        assert_eq!(w(&["SCANLIMIT", "5", "SCANLIMIT", "5"]), Err(Error::RepeatedOption("SCANLIMIT")));
        assert_eq!(w(&["WITHCURSOR", "withcursor"]), Err(Error::RepeatedOption("WITHCURSOR")));
        let count_only = Allowed::COUNT;
        assert_eq!(parse_options(&[b"LIMIT", b"1"], count_only), Err(Error::Syntax));
        assert_eq!(parse_options(&[b"RAW"], count_only), Err(Error::Syntax));
    }

    /// A small deterministic generator (xorshift), so a failure can be replayed from its seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    /// A record of the model: id, time, tags (bit i: tag i), and whether it is gone.
    #[derive(Clone, Copy)]
    struct ModelRec {
        id: i64,
        ts: i64,
        tags: u8,
        gone: bool,
        /// Its message: an index into [`MESSAGES`].
        msg: u8,
        /// Its attributes: `level` in bits 0-1 (none, "warn", "error"), `n` in bits 2-3 (none,
        /// 1, 2, 1.0), `ok` in bits 4-5 (none, true, false, null); 0: no `"attrs"` at all.
        attrs: u8,
    }

    /// Messages as stored (JSON), and their text as MATCH sees it.
    const MESSAGES: [(&str, &str); 8] = [
        ("\"error: disk full\"", "error: disk full"),
        ("\"warn: disk slow\"", "warn: disk slow"),
        ("\"user login\"", "user login"),
        ("\"Error x\"", "Error x"),
        ("\"\"", ""),
        ("\"a*b\"", "a*b"),
        ("42", "42"),
        ("{\"k\":1}", "{\"k\":1}"),
    ];

    /// MATCH patterns, each with an oracle written without globs.
    type Oracle = fn(&str) -> bool;
    const PATTERNS: [(&str, Oracle); 9] = [
        ("*disk*", |m| m.contains("disk")),
        ("error*", |m| m.starts_with("error")),
        ("*[Ee]rror*", |m| m.contains("error") || m.contains("Error")),
        ("?ser*", |m| m.get(1..4) == Some("ser")),
        ("*", |_| true),
        ("a\\*b", |m| m == "a*b"),
        ("4?", |m| m.len() == 2 && m.starts_with('4')),
        ("{*}", |m| m.starts_with('{') && m.ends_with('}')),
        ("*x", |m| m.ends_with('x')),
    ];

    /// WHERE pairs to draw from.
    const PAIRS: [(&str, &str); 12] = [
        ("level", "warn"),
        ("level", "error"),
        ("level", "\"warn\""),
        ("n", "1"),
        ("n", "1.0"),
        ("n", "1e0"),
        ("n", "2"),
        ("ok", "true"),
        ("ok", "false"),
        ("ok", "null"),
        ("nope", "1"),
        ("n", "01"),
    ];

    /// The model's own WHERE equality, by cases.
    fn attr_equals(r: &ModelRec, field: &str, arg: &str) -> bool {
        let (level, n, ok) = (r.attrs & 3, r.attrs >> 2 & 3, r.attrs >> 4 & 3);
        match field {
            "level" => (level == 1 && arg == "warn") || (level == 2 && arg == "error"),
            "n" => match n {
                1 | 3 => ["1", "1.0", "1e0"].contains(&arg),
                2 => arg == "2",
                _ => false,
            },
            "ok" => (ok == 1 && arg == "true") || (ok == 2 && arg == "false") || (ok == 3 && arg == "null"),
            _ => false,
        }
    }

    /// Whether the model record passes the query's WHERE and MATCH, by the oracles above.
    fn model_admits(r: &ModelRec, query: &Query) -> bool {
        let text = MESSAGES[r.msg as usize].1;
        let pattern_ok = query.filter.pattern.as_ref().is_none_or(|p| {
            let (_, oracle) = PATTERNS.iter().find(|(g, _)| g.as_bytes() == &p[..]).unwrap();
            oracle(text)
        });
        pattern_ok
            && query
                .filter
                .where_
                .iter()
                .all(|(f, v)| attr_equals(r, std::str::from_utf8(f).unwrap(), std::str::from_utf8(v).unwrap()))
    }

    /// The record as a client stores it, dated `ts`.
    fn stored_record(r: &ModelRec, ts: i64) -> Vec<u8> {
        let mut attrs = Vec::new();
        match r.attrs & 3 {
            1 => attrs.push("\"level\":\"warn\"".to_string()),
            2 => attrs.push("\"level\":\"error\"".to_string()),
            _ => {}
        }
        match r.attrs >> 2 & 3 {
            1 => attrs.push("\"n\":1".to_string()),
            2 => attrs.push("\"n\":2".to_string()),
            3 => attrs.push("\"n\":1.0".to_string()),
            _ => {}
        }
        match r.attrs >> 4 & 3 {
            1 => attrs.push("\"ok\":true".to_string()),
            2 => attrs.push("\"ok\":false".to_string()),
            3 => attrs.push("\"ok\":null".to_string()),
            _ => {}
        }
        let attrs = if r.attrs == 0 { String::new() } else { format!(",\"attrs\":{{{}}}", attrs.join(",")) };
        let ts = format!("{}.{:06}", ts.div_euclid(1_000_000), ts.rem_euclid(1_000_000));
        format!("{{\"id\":{},\"ts\":{ts},\"message\":{},\"tags\":[]{attrs}}}", r.id, MESSAGES[r.msg as usize].0)
            .into_bytes()
    }

    /// A flow of the model with its records' bytes (those gone have none): read one by one,
    /// or many at once if `batched`.
    struct Stored<'a> {
        flow: Flow,
        bytes: &'a std::collections::HashMap<i64, Vec<u8>>,
        batched: bool,
    }

    impl IdList for Stored<'_> {
        fn len(&self) -> usize {
            self.flow.len()
        }
        fn id(&self, i: usize) -> Option<i64> {
            self.flow.id(i)
        }
        fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>> {
            self.flow.record_ts(id, need_ts)
        }
    }

    impl RecordList for Stored<'_> {
        fn with_record_id<T>(&self, id: i64, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
            Ok(self.bytes.get(&id).map(|b| f(b)))
        }
        fn with_records<T>(&self, ids: &[i64], f: impl FnOnce(&[Option<&[u8]>]) -> T) -> Result<Option<T>> {
            if !self.batched {
                return Ok(None);
            }
            let found: Vec<Option<&[u8]>> = ids.iter().map(|id| self.bytes.get(id).map(Vec::as_slice)).collect();
            Ok(Some(f(&found)))
        }
    }

    /// Flows built as other clients build them: each record pushed up to `w` pushes late (or,
    /// in `both` mode, up to `w / 2` early or late), so that no id of any flow sits more than
    /// `w` places from its sorted place.
    fn displaced(rng: &mut Rng, recs: &[ModelRec], w: usize, both: bool) -> Vec<usize> {
        let mut keyed: Vec<(i64, u64, usize)> = (0..recs.len())
            .map(|i| {
                let shift = if w == 0 || rng.chance(60) {
                    0
                } else if both {
                    rng.below(w as u64 / 2 + 1) as i64 * if rng.chance(50) { -1 } else { 1 }
                } else {
                    rng.below(w as u64 + 1) as i64
                };
                (i as i64 + shift, rng.next(), i)
            })
            .collect();
        keyed.sort_unstable();
        // Newest first: the last pushed at the head.
        keyed.iter().rev().map(|k| k.2).collect()
    }

    const NAMES: [&str; 4] = ["a", "b", "c", "d"];

    /// The time of a record of the model drawn at random.
    fn ts_of(recs: &[ModelRec], rng: &mut Rng) -> i64 {
        recs[rng.below(recs.len() as u64) as usize].ts
    }

    fn words_of(rng: &mut Rng, recs: &[ModelRec]) -> Vec<String> {
        let max_id = recs.last().map_or(1, |r| r.id) + 2;
        let mut w: Vec<String> = Vec::new();
        let ts_near = |rng: &mut Rng| {
            let r = recs[rng.below(recs.len() as u64) as usize];
            r.ts + [0i64, 1, -1][rng.below(3) as usize]
        };
        let text = |t: i64| format!("{}.{:06}", t.div_euclid(1_000_000), t.rem_euclid(1_000_000));
        let mut before = None;
        if rng.chance(35) {
            let b = 1 + rng.below(max_id as u64) as i64;
            before = Some(b);
            w.extend(["BEFORE".into(), b.to_string()]);
        }
        if rng.chance(35) {
            let a = rng.below(max_id as u64) as i64;
            if before.is_none_or(|b| a < b) {
                w.extend(["AFTER".into(), a.to_string()]);
            }
        }
        let (mut since, mut until) = (rng.chance(30).then(|| ts_near(rng)), rng.chance(30).then(|| ts_near(rng)));
        if let (Some(s), Some(u)) = (since, until) {
            (since, until) = (Some(s.min(u)), Some(s.max(u)));
        }
        if let Some(s) = since {
            w.extend(["SINCE".into(), text(s)]);
        }
        if let Some(u) = until {
            w.extend(["UNTIL".into(), text(u)]);
        }
        for op in ["AND", "OR", "NOT"] {
            if rng.chance(20) {
                let n = 1 + rng.below(2) as usize;
                w.extend([op.to_string(), n.to_string()]);
                for _ in 0..n {
                    w.push(NAMES[rng.below(4) as usize].to_string());
                }
            }
        }
        if rng.chance(50) {
            w.extend(["LIMIT".into(), rng.below(30).to_string()]);
        }
        if rng.chance(40) {
            w.push("ASC".into());
        }
        w
    }

    /// Every read against a sorted, filtered vector: flows whose ids and times are out of order
    /// within the window, bounds, tag filters, limits, both orders, counts, and continuations
    /// after each scan limit, for many seeds.
    #[test]
    fn reads_are_exact_within_the_window() {
        let seeds: u64 = std::env::var("TLOG_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(400);
        for seed in 1..=seeds {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
            let w = [0usize, 1, 2, 5, 16, 40][rng.below(6) as usize];
            let n = 20 + rng.below(300) as usize;
            let gone = rng.chance(30);
            let mut recs = Vec::with_capacity(n);
            let (mut id, mut ts) = (0i64, 1_700_000_000_000_000i64);
            for _ in 0..n {
                id += 1 + rng.below(3) as i64;
                ts += rng.below(4) as i64; // ties too
                let tags = (rng.next() & 0xf) as u8;
                let gone = gone && rng.chance(15);
                let msg = rng.below(MESSAGES.len() as u64) as u8;
                let attrs = if rng.chance(15) { 0 } else { rng.below(64) as u8 };
                recs.push(ModelRec { id, ts, tags, gone, msg, attrs });
            }
            let both = rng.chance(50);
            let order = displaced(&mut rng, &recs, w, both);
            // Times follow the pushes instead of the ids (a client's clock read at SET).
            if rng.chance(30) {
                let mut by_push: Vec<i64> = recs.iter().map(|r| r.ts).collect();
                by_push.sort_unstable();
                for (k, &i) in order.iter().rev().enumerate() {
                    recs[i].ts = by_push[k];
                }
            }
            // Entries that are not ids, pushed by other clients: runs at the head and the tail
            // of a flow, and some between its ids.
            let junk = rng.chance(30);
            let junk_seed = rng.next();
            let flow_of = |tag: Option<usize>| -> Flow {
                let mut entries: Vec<(Option<i64>, Option<i64>)> = Vec::new();
                let mut x = junk_seed ^ tag.map_or(0, |t| t as u64 + 1).wrapping_mul(0x9e37_79b9);
                let mut junk_run = |entries: &mut Vec<(Option<i64>, Option<i64>)>, percent: u64, most: u64| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if junk && x % 100 < percent {
                        for _ in 0..1 + (x >> 8) % most {
                            entries.push((None, None));
                        }
                    }
                };
                junk_run(&mut entries, 50, 4 * w as u64 + 3);
                for r in order.iter().map(|&i| recs[i]).filter(|r| tag.is_none_or(|t| r.tags >> t & 1 == 1)) {
                    junk_run(&mut entries, 5, 2 * w as u64 + 3);
                    entries.push((Some(r.id), Some(if r.gone { GONE } else { r.ts })));
                }
                junk_run(&mut entries, 50, 4 * w as u64 + 3);
                Flow(entries)
            };
            let all = flow_of(None);
            // The records' bytes, as stored, and as dated for the histograms below.
            let spread = |t: i64| if t == GONE { GONE } else { (t - 1_700_000_000_000_000) * 1_000_000 };
            let bytes_of = |f: &dyn Fn(i64) -> i64| -> std::collections::HashMap<i64, Vec<u8>> {
                recs.iter().filter(|r| !r.gone).map(|r| (r.id, stored_record(r, f(r.ts)))).collect()
            };
            let (bytes, spread_bytes) = (bytes_of(&|t| t), bytes_of(&spread));
            let tagged: Vec<Flow> = (0..4).map(|t| flow_of(Some(t))).collect();
            let tag_index = |t: &[u8]| NAMES.iter().position(|n| n.as_bytes() == t).unwrap();
            for round in 0..40 {
                let mut words = words_of(&mut rng, &recs);
                // WHERE and MATCH, in half the rounds.
                if rng.chance(50) {
                    let with_where = rng.chance(70);
                    if with_where {
                        let k = 1 + rng.below(2) as usize;
                        words.extend(["WHERE".to_string(), k.to_string()]);
                        for _ in 0..k {
                            let (f, v) = PAIRS[rng.below(PAIRS.len() as u64) as usize];
                            words.extend([f.to_string(), v.to_string()]);
                        }
                    }
                    if !with_where || rng.chance(50) {
                        let p = PATTERNS[rng.below(PATTERNS.len() as u64) as usize].0;
                        words.extend(["MATCH".to_string(), p.to_string()]);
                    }
                }
                let ctx = format!("seed {seed} round {round} window {w}: {words:?}");
                let w_refs: Vec<&str> = words.iter().map(String::as_str).collect();
                let query = q(&w_refs);
                let base_tag = if rng.chance(40) { None } else { Some(rng.below(4) as usize) };
                let base = match base_tag {
                    None => &all,
                    Some(t) => &tagged[t],
                };
                let has = |r: &ModelRec, t: &Vec<u8>| r.tags >> tag_index(t) & 1 == 1;
                let mut want: Vec<i64> = recs
                    .iter()
                    .filter(|r| base_tag.is_none_or(|t| r.tags >> t & 1 == 1))
                    .filter(|r| query.and.iter().all(|t| has(r, t)))
                    .filter(|r| query.or.is_empty() || query.or.iter().any(|t| has(r, t)))
                    .filter(|r| !query.not.iter().any(|t| has(r, t)))
                    .filter(|r| query.admits(r.id, Some(r.ts)))
                    .filter(|r| !r.gone)
                    .filter(|r| model_admits(r, &query))
                    .map(|r| r.id)
                    .collect();
                if !query.asc {
                    want.reverse();
                }
                let (and, or, not): (Vec<Flow>, Vec<Flow>, Vec<Flow>) = (
                    query.and.iter().map(|t| flow_of(Some(tag_index(t)))).collect(),
                    query.or.iter().map(|t| flow_of(Some(tag_index(t)))).collect(),
                    query.not.iter().map(|t| flow_of(Some(tag_index(t)))).collect(),
                );
                let src = Sources { base, base_is_all: base_tag.is_none(), and: &and, or: &or, not: &not };
                // The same flows with their records, for WHERE and MATCH: read as the commands
                // read them (many at once where the server lets them, or one by one).
                let batched = rng.chance(50);
                let with_bytes = |bytes| {
                    let st = |f: Flow| Stored { flow: f, bytes, batched };
                    let tags = |ts: &[Vec<u8>]| -> Vec<Stored> {
                        ts.iter().map(|t| st(flow_of(Some(tag_index(t))))).collect()
                    };
                    (st(flow_of(base_tag)), tags(&query.and), tags(&query.or), tags(&query.not))
                };
                let (s_base, s_and, s_or, s_not) = with_bytes(&bytes);
                let s_src =
                    Sources { base: &s_base, base_is_all: base_tag.is_none(), and: &s_and, or: &s_or, not: &s_not };
                // One read with the query as given; `limit` 0 for no scan limit.
                let read = |query: &Query, limit: u64| -> (Vec<i64>, Outcome) {
                    let work = Work::new(w, limit);
                    if query.has_record_filter() {
                        select_filtered(&s_src, query, &work).unwrap()
                    } else if query.has_tag_filter() {
                        let cap = query.limit.unwrap_or(usize::MAX);
                        let mut got = Vec::new();
                        if cap == 0 {
                            return (got, Outcome::DONE);
                        }
                        let how = Matching { read_records: true, count_matches: false };
                        let out = each_match(&src, query, how, &work, |id| {
                            got.push(id);
                            got.len() < cap
                        })
                        .unwrap();
                        (got, out)
                    } else {
                        select(base, query, &work).unwrap()
                    }
                };
                let (got, out) = read(&query, 0);
                let mut page = want.clone();
                page.truncate(query.limit.unwrap_or(usize::MAX));
                assert_eq!(got, page, "{ctx}");
                assert_ne!(out.end, End::Cut, "{ctx}");

                // Following each continuation of a scan limit gives exactly the whole result.
                let scan_limit = 1 + rng.below(12);
                let mut q2 = query.clone();
                q2.limit = None;
                let mut seen = Vec::new();
                for call in 0.. {
                    assert!(call < 10 * n + 10, "no end: {ctx}");
                    let (got, out) = read(&q2, scan_limit);
                    seen.extend(got);
                    match out.end {
                        End::Done => break,
                        End::Full => panic!("full without a limit: {ctx}"),
                        End::Cut => {
                            let c = out.last.unwrap();
                            // Each call moves on.
                            if q2.asc {
                                assert!(q2.after.is_none_or(|a| c > a), "{ctx}");
                                q2.after = Some(c);
                            } else {
                                assert!(q2.before.is_none_or(|b| c < b), "{ctx}");
                                q2.before = Some(c);
                            }
                            if q2.after.zip(q2.before).is_some_and(|(a, b)| a >= b) {
                                break;
                            }
                        }
                    }
                }
                assert_eq!(seen, want, "continued after scan limit {scan_limit}: {ctx}");

                // Counts: by position where nothing is gone and every entry is an id (gone ids
                // and other entries count there, as LLEN).
                let count_want = want.len();
                // With WHERE or MATCH every record is read: exact whatever is gone; and cut
                // short at a scan limit, the parts add up.
                if query.has_record_filter() {
                    let mut q3 = query.clone();
                    (q3.asc, q3.limit) = (false, None);
                    let mut n_all = 0;
                    let out = scan_matches(&s_src, &q3, &Work::new(w, 0), |_| n_all += 1).unwrap();
                    assert_eq!((n_all, out.end), (count_want, End::Done), "filtered count: {ctx}");
                    let mut total = 0;
                    for call in 0.. {
                        assert!(call < 10 * n + 10, "no end: {ctx}");
                        let out = scan_matches(&s_src, &q3, &Work::new(w, scan_limit), |_| total += 1).unwrap();
                        if out.end != End::Cut {
                            break;
                        }
                        let c = out.last.unwrap();
                        assert!(q3.before.is_none_or(|b| c < b), "{ctx}");
                        q3.before = Some(c);
                        if q3.after.is_some_and(|a| a >= c) {
                            break;
                        }
                    }
                    assert_eq!(total, count_want, "filtered count, scan limit {scan_limit}: {ctx}");
                } else if !gone && !junk {
                    if query.has_tag_filter() {
                        let mut total = 0;
                        let mut q3 = query.clone();
                        q3.asc = false;
                        loop {
                            let work = Work::new(w, scan_limit);
                            let how = Matching { read_records: false, count_matches: true };
                            let mut k = 0;
                            let out = each_match(&src, &q3, how, &work, |_| {
                                k += 1;
                                true
                            })
                            .unwrap();
                            total += k;
                            if out.end != End::Cut {
                                break;
                            }
                            q3.before = out.last;
                            if q3.after.zip(q3.before).is_some_and(|(a, b)| a >= b) {
                                break;
                            }
                        }
                        assert_eq!(total, count_want, "count, scan limit {scan_limit}: {ctx}");
                    } else {
                        assert_eq!(count(base, &query, &Work::new(w, 0)).unwrap().0, count_want, "count: {ctx}");
                    }
                }

                // Histograms (no tag filter): times spread to seconds, so that buckets of a
                // few seconds split the records.
                if query.has_record_filter() {
                    // BUCKET with WHERE or MATCH (and tags): each record read and counted in
                    // the bucket of its time.
                    let respread = |s: Stored| Stored {
                        flow: Flow(s.flow.0.iter().map(|&(id, t)| (id, t.map(spread))).collect()),
                        bytes: &spread_bytes,
                        batched,
                    };
                    let (h_base, h_and, h_or, h_not) = with_bytes(&spread_bytes);
                    let (h_base, h_and, h_or, h_not) = (
                        respread(h_base),
                        h_and.into_iter().map(respread).collect::<Vec<_>>(),
                        h_or.into_iter().map(respread).collect::<Vec<_>>(),
                        h_not.into_iter().map(respread).collect::<Vec<_>>(),
                    );
                    let h_src =
                        Sources { base: &h_base, base_is_all: base_tag.is_none(), and: &h_and, or: &h_or, not: &h_not };
                    let lo = spread(ts_of(&recs, &mut rng)) - 1_000_000;
                    let hi = lo.max(spread(ts_of(&recs, &mut rng)) + 1_000_000);
                    let secs = [1i64, 2, 3, 7, 20][rng.below(5) as usize];
                    let mut bq = query.clone();
                    (bq.since, bq.until, bq.bucket, bq.asc, bq.limit) = (Some(lo), Some(hi), Some(secs), false, None);
                    let (first, nb) = crate::filter::buckets(lo, hi, secs);
                    let ctx = format!("{ctx}; filtered BUCKET {secs} SINCE {lo} UNTIL {hi}");
                    let mut brute = vec![0u64; nb as usize];
                    for r in recs.iter().filter(|r| !r.gone && base_tag.is_none_or(|t| r.tags >> t & 1 == 1)) {
                        let tagged = bq.and.iter().all(|t| has(r, t))
                            && (bq.or.is_empty() || bq.or.iter().any(|t| has(r, t)))
                            && !bq.not.iter().any(|t| has(r, t));
                        if tagged && model_admits(r, &bq) && bq.admits(r.id, Some(spread(r.ts))) {
                            brute[crate::filter::bucket_of(spread(r.ts), first, secs, nb).unwrap()] += 1;
                        }
                    }
                    let hist_of = |bq: &Query, limit: u64, counts: &mut [u64]| {
                        scan_matches(&h_src, bq, &Work::new(w, limit), |ts| {
                            if let Some(k) = ts.and_then(|t| crate::filter::bucket_of(t, first, secs, nb)) {
                                counts[k] += 1;
                            }
                        })
                        .unwrap()
                    };
                    let mut got = vec![0u64; nb as usize];
                    assert_eq!(hist_of(&bq, 0, &mut got).end, End::Done, "{ctx}");
                    assert_eq!(got, brute, "{ctx}");
                    let mut sum = vec![0u64; nb as usize];
                    for call in 0.. {
                        assert!(call < 10 * n + 10, "no end: {ctx}");
                        let out = hist_of(&bq, scan_limit, &mut sum);
                        match out.cursor() {
                            Some(c) => {
                                assert!(bq.before.is_none_or(|b| c < b), "{ctx}");
                                bq.before = Some(c);
                            }
                            None => break,
                        }
                    }
                    assert_eq!(sum, brute, "filtered BUCKET continued at scan limit {scan_limit}: {ctx}");
                    continue;
                }
                if query.has_tag_filter() || rng.chance(50) {
                    continue;
                }
                let hist = Flow(base.0.iter().map(|&(id, t)| (id, t.map(spread))).collect());
                let lo = spread(ts_of(&recs, &mut rng)) + rng.below(3) as i64 * 1_000_000 - 1_000_000;
                let hi = lo.max(spread(ts_of(&recs, &mut rng)) + rng.below(3) as i64 * 1_000_000 - 1_000_000);
                let secs = [1i64, 1, 2, 3, 7, 20][rng.below(6) as usize];
                let mut bq = Query { since: Some(lo), until: Some(hi), bucket: Some(secs), ..Query::default() };
                (bq.before, bq.after) = (query.before, query.after);
                let (first, nb) = crate::filter::buckets(lo, hi, secs);
                let ctx =
                    format!("{ctx}; BUCKET {secs} SINCE {lo} UNTIL {hi} BEFORE {:?} AFTER {:?}", bq.before, bq.after);
                let mut brute = vec![0u64; nb as usize];
                for r in recs.iter().filter(|r| !r.gone && base_tag.is_none_or(|t| r.tags >> t & 1 == 1)) {
                    let t = spread(r.ts);
                    if bq.admits(r.id, Some(t)) {
                        brute[crate::filter::bucket_of(t, first, secs, nb).unwrap()] += 1;
                    }
                }
                // Gone records and entries that are not ids count by position, away from the
                // edges: as many at most as there are.
                let extra = hist.0.iter().filter(|e| e.0.is_none() || e.1 == Some(GONE)).count() as u64;
                let agrees = |got: &[u64], what: &str| {
                    if !gone && !junk {
                        assert_eq!(got, &brute[..], "{what}: {ctx}");
                    } else {
                        assert!(got.iter().zip(&brute).all(|(g, b)| g >= b), "{what}: {got:?} {brute:?} {ctx}");
                        let (g, b): (u64, u64) = (got.iter().sum(), brute.iter().sum());
                        assert!(g <= b + extra, "{what}: {got:?} {brute:?} {ctx}");
                    }
                };
                let mut got = vec![0u64; nb as usize];
                let out = count_buckets(&hist, &bq, first, secs, &mut got, &Work::new(w, 0)).unwrap();
                assert_eq!(out.end, End::Done, "{ctx}");
                agrees(&got, "BUCKET");
                // Followed at a scan limit, the parts add up bucket by bucket.
                let mut sum = vec![0u64; nb as usize];
                let mut next = bq.clone();
                for call in 0.. {
                    assert!(call < 10 * n + 10, "no end: {ctx}");
                    let mut part = vec![0u64; nb as usize];
                    let work = Work::new(w, scan_limit);
                    let out = count_buckets(&hist, &next, first, secs, &mut part, &work).unwrap();
                    sum.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
                    match out.cursor() {
                        Some(c) => {
                            assert!(next.before.is_none_or(|b| c < b), "{ctx}");
                            next.before = Some(c);
                        }
                        None => break,
                    }
                }
                agrees(&sum, &format!("BUCKET continued at scan limit {scan_limit}"));
            }
        }
    }

    /// Ids `1..=n` newest first, record `id` dated `time(id)` (`None`: the record is gone, its
    /// id left in the flow); counts the records read and the list entries read.
    struct Counted {
        n: i64,
        time: Box<dyn Fn(i64) -> Option<i64>>,
        records: Cell<u64>,
        entries: Cell<u64>,
    }

    impl Counted {
        fn new(n: i64, time: impl Fn(i64) -> Option<i64> + 'static) -> Counted {
            Counted { n, time: Box::new(time), records: Cell::new(0), entries: Cell::new(0) }
        }
    }

    impl IdList for Counted {
        fn len(&self) -> usize {
            self.n as usize
        }
        fn id(&self, i: usize) -> Option<i64> {
            self.entries.set(self.entries.get() + 1);
            (i < self.len()).then(|| self.n - i as i64)
        }
        fn ids(&self, range: Range<usize>) -> Vec<Option<i64>> {
            self.entries.set(self.entries.get() + range.len() as u64);
            range.map(|i| (i < self.len()).then(|| self.n - i as i64)).collect()
        }
        fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>> {
            self.records.set(self.records.get() + 1);
            Ok((self.time)(id).map(|t| need_ts.then_some(t)))
        }
    }

    #[test]
    fn ranges_known_to_hold_ids_merge_and_are_found() {
        let f = flow(&[1]);
        let mut e = Edges {
            list: &f,
            first: 0,
            secs: 1,
            since: 0,
            until: 0,
            w2: 0,
            lo: 0,
            hi: 0,
            room: 0,
            landed: Vec::new(),
            windows: HashMap::new(),
            clean: Vec::new(),
        };
        for r in [10..20, 30..40, 20..25, 50..60, 24..31, 70..70, 62..65] {
            e.known_ids(r);
        }
        assert_eq!(e.clean, vec![10..40, 50..60, 62..65]);
        // The entry before `at`, or the entry at `at`.
        assert_eq!(e.known_around(10, true), None);
        assert_eq!(e.known_around(11, true), Some(10..40));
        assert_eq!(e.known_around(40, true), Some(10..40));
        assert_eq!(e.known_around(41, true), None);
        assert_eq!(e.known_around(40, false), None);
        assert_eq!(e.known_around(39, false), Some(10..40));
        assert_eq!(e.known_around(10, false), Some(10..40));
        assert_eq!(e.known_around(61, false), None);
        assert_eq!(e.known_around(62, false), Some(62..65));
        e.known_ids(60..62);
        assert_eq!(e.clean, vec![10..40, 50..65]);
    }

    /// A histogram call reads a bounded number of list entries: edges that land in one place
    /// (buckets with no record between them) share one window, and the windows of edges a few
    /// records apart, which overlap, count toward the scan limit as they are read. Followed
    /// through, the calls add up to the histogram at once.
    #[test]
    fn a_histogram_call_reads_a_bounded_number_of_list_entries() {
        // Records dated a second apart, but 500 of them all at one time.
        let f =
            Counted::new(200_000, |id| Some(if (100_000..=100_499).contains(&id) { 100_000 } else { id } * 1_000_000));
        let (since, until) = (100_000 * 1_000_000, 109_999 * 1_000_000 + 999_999);
        let q = Query { since: Some(since), until: Some(until), bucket: Some(1), ..Query::default() };
        let (first, nb) = crate::filter::buckets(since, until, 1);
        let mut at_once = vec![0u64; nb as usize];
        count_buckets(&f, &q, first, 1, &mut at_once, &Work::new(100, 0)).unwrap();
        assert_eq!(at_once.iter().sum::<u64>(), 10_000);
        let (mut sum, mut next, mut calls) = (vec![0u64; nb as usize], q.clone(), 0);
        loop {
            calls += 1;
            assert!(calls < 1_000, "no end");
            f.entries.set(0);
            let mut part = vec![0u64; nb as usize];
            let out = count_buckets(&f, &next, first, 1, &mut part, &Work::new(100, 2_000)).unwrap();
            assert!(f.entries.get() <= 100_000, "call {calls}: {} list entries read", f.entries.get());
            sum.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
            match out.cursor() {
                Some(c) => next.before = Some(c),
                None => break,
            }
        }
        assert_eq!(sum, at_once, "after {calls} calls");
    }

    /// A bound that falls in a long run of records gone (or on the far side of it) costs a
    /// bounded number of record reads: the search gallops over the run, at most
    /// `SEARCH_PROBES` probes, and what it could not place is scanned under the scan limit,
    /// with continuations that give exactly the unlimited answer.
    #[test]
    fn a_time_bound_over_a_long_run_of_records_gone_reads_a_bounded_number() {
        let time = |id: i64| format!("{}.{:06}", id * 10 / 1_000_000, id * 10 % 1_000_000);
        for gone in [100_001..=400_000, 50_001..=350_000] {
            let dead = gone.clone();
            let f = Counted::new(400_000, move |id| (!dead.contains(&id)).then_some(id * 10));
            for at in [20_000i64, 75_000, 250_000, 399_000] {
                for words in [vec!["SINCE", &time(at)[..]], vec!["UNTIL", &time(at)[..]]] {
                    let query = q(&words);
                    let ctx = format!("gone {gone:?}, {words:?}");
                    // The search alone.
                    f.records.set(0);
                    plan(&f, &query, 100).unwrap();
                    assert!(f.records.get() <= SEARCH_PROBES as u64, "{ctx}: {} records read", f.records.get());

                    // GET LIMIT 10 and LATEST, newest first, and COUNT: one call each.
                    for limit in ["10", "1"] {
                        let mut page = query.clone();
                        page.limit = Some(limit.parse().unwrap());
                        f.records.set(0);
                        f.entries.set(0);
                        let work = Work::new(100, 2000);
                        let (_, out) = select(&f, &page, &work).unwrap();
                        let reads = f.records.get();
                        assert!(reads <= 2000 + 2 * SEARCH_PROBES as u64, "{ctx} LIMIT {limit}: {reads} records read");
                        assert!(f.entries.get() <= 20_000, "{ctx}: {} entries read", f.entries.get());
                        assert!(out.end != End::Cut || work.passed() <= 2000, "{ctx}");
                    }
                    f.records.set(0);
                    f.entries.set(0);
                    let work = Work::new(100, 2000);
                    count(&f, &query, &work).unwrap();
                    let reads = f.records.get();
                    assert!(reads <= 2000 + 1000 + 4 * SEARCH_PROBES as u64, "{ctx} COUNT: {reads} records read");
                    assert!(f.entries.get() <= 20_000, "{ctx} COUNT: {} entries read", f.entries.get());

                    // Following the continuations gives the unlimited answer.
                    let want = select(&f, &query, &Work::new(100, 0)).unwrap().0;
                    let mut got = Vec::new();
                    let mut next = query.clone();
                    for call in 0.. {
                        assert!(call < 1000, "{ctx}: no end");
                        let (ids, out) = select(&f, &next, &Work::new(100, 2000)).unwrap();
                        got.extend(ids);
                        match out.cursor() {
                            Some(c) => next.before = Some(c),
                            None => break,
                        }
                    }
                    assert_eq!(got, want, "{ctx}: GET continued");
                    let want = count(&f, &query, &Work::new(100, 0)).unwrap().0;
                    let (mut total, mut next) = (0, query.clone());
                    for call in 0.. {
                        assert!(call < 1000, "{ctx}: no end");
                        let (n, out) = count(&f, &next, &Work::new(100, 2000)).unwrap();
                        total += n;
                        match out.cursor() {
                            Some(c) => next.before = Some(c),
                            None => break,
                        }
                    }
                    assert_eq!(total, want, "{ctx}: COUNT continued");
                }
            }
        }
    }

    /// A flow that counts the entries read from it.
    struct Reads<'a>(&'a Flow, &'a Cell<u64>);

    impl IdList for Reads<'_> {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn id(&self, i: usize) -> Option<i64> {
            self.1.set(self.1.get() + 1);
            self.0.id(i)
        }
        fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>> {
            self.0.record_ts(id, need_ts)
        }
    }

    /// A flow that counts the entries read one at a time (the probes of a search); runs of
    /// entries are read without counting.
    struct Probes<'a>(&'a Flow, &'a Cell<u64>);

    impl IdList for Probes<'_> {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn id(&self, i: usize) -> Option<i64> {
            self.1.set(self.1.get() + 1);
            self.0.id(i)
        }
        fn ids(&self, range: Range<usize>) -> Vec<Option<i64>> {
            range.map(|i| self.0.id(i)).collect()
        }
        fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>> {
            self.0.record_ts(id, need_ts)
        }
    }

    /// A dense AND reads the flows through in runs: a far probe (a fresh seek into the list)
    /// is not made again for each driver id while an earlier one shows the next id is near.
    #[test]
    fn a_dense_and_does_not_probe_far_for_every_id() {
        let n = 40_000;
        let a = flow(&(1..=n).rev().filter(|i| i % 2 == 0).collect::<Vec<_>>());
        let b = flow(&(1..=n).rev().filter(|i| i % 4 == 0).collect::<Vec<_>>());
        let probes = Cell::new(0u64);
        let (base, and) = (Probes(&a, &probes), [Probes(&b, &probes)]);
        let src = Sources { base: &base, base_is_all: false, and: &and, or: &[], not: &[] };
        let q = Query { and: vec![b"b".to_vec()], ..Query::default() };
        for count_matches in [true, false] {
            probes.set(0);
            let how = Matching { read_records: !count_matches, count_matches };
            let mut got = Vec::new();
            let out = each_match(&src, &q, how, &Work::new(100, 0), |id| {
                got.push(id);
                true
            })
            .unwrap();
            assert_eq!(out.end, End::Done);
            assert_eq!(got, (1..=n).rev().filter(|i| i % 4 == 0).collect::<Vec<_>>());
            // 10,000 driver ids, 20,000 entries of `a`: about one probe per few hundred entries.
            assert!(probes.get() <= 200, "{} probes", probes.get());
        }
    }

    /// Reads with 1,024 tag flows stop at the scan limit, the lookups in each flow counting
    /// toward it, read no more than about twice the limit besides the window of each flow, and
    /// following the continuations gives exactly the unlimited result.
    #[test]
    fn reads_over_many_tag_flows_count_what_each_flow_reads() {
        // Record i: tags i % 1024 and (7 i) % 1024; every 100th has all 1024 tags, every 7th
        // none.
        let tags_of = |i: i64| -> Vec<usize> {
            if i % 100 == 0 {
                (0..1024).collect()
            } else if i % 7 == 0 {
                Vec::new()
            } else {
                vec![(i % 1024) as usize, (i * 7 % 1024) as usize]
            }
        };
        let n = 1200;
        let all = flow(&(1..=n).rev().collect::<Vec<_>>());
        let flows: Vec<Flow> =
            (0..1024).map(|t| flow(&(1..=n).rev().filter(|&i| tags_of(i).contains(&t)).collect::<Vec<_>>())).collect();
        let reads = Cell::new(0u64);
        let base = Reads(&all, &reads);
        let tagged: Vec<Reads> = flows.iter().map(|f| Reads(f, &reads)).collect();
        let window = 2;
        let names: Vec<Vec<u8>> = (0..1024).map(|t| format!("t{t}").into_bytes()).collect();
        let none: &[Reads] = &[];
        for (op, count_matches) in [("OR", true), ("OR", false), ("AND", false), ("NOT", false), ("NOT", true)] {
            let mut query = Query::default();
            let list = match op {
                "OR" => &mut query.or,
                "AND" => &mut query.and,
                _ => &mut query.not,
            };
            *list = names.clone();
            let src = Sources {
                base: &base,
                base_is_all: true,
                and: if op == "AND" { &tagged } else { none },
                or: if op == "OR" { &tagged } else { none },
                not: if op == "NOT" { &tagged } else { none },
            };
            let how = Matching { read_records: !count_matches, count_matches };
            let call = |query: &Query, limit: u64| {
                let work = Work::new(window, limit);
                let mut got = Vec::new();
                reads.set(0);
                let out = each_match(&src, query, how, &work, |id| {
                    got.push(id);
                    true
                })
                .unwrap();
                (got, out, reads.get())
            };
            let (want, out, _) = call(&query, 0);
            assert_eq!(out.end, End::Done);
            let brute: Vec<i64> = (1..=n)
                .rev()
                .filter(|&i| match op {
                    "OR" => !tags_of(i).is_empty(),
                    "AND" => tags_of(i).len() == 1024,
                    _ => tags_of(i).is_empty(),
                })
                .collect();
            assert_eq!(want, brute, "{op}");
            let (mut got, mut next, mut calls) = (Vec::new(), query.clone(), 0);
            loop {
                calls += 1;
                assert!(calls <= 2 * n, "{op}: no end");
                let (ids, out, read) = call(&next, 2000);
                // Twice the limit at most, besides the window of each flow where it starts.
                assert!(read <= 2 * 2000 + 1024 * (4 * window as u64 + 8), "{op}: {read} entries read");
                got.extend(ids);
                match out.end {
                    End::Cut => next.before = out.last,
                    _ => break,
                }
            }
            assert!(calls > 1, "{op} (counting {count_matches}): one call read it all");
            assert_eq!(got, want, "{op}");
        }
    }

    /// A probe answered from what was read ahead costs nothing; one that reads the list costs
    /// `PROBE_COST`: the ids passed over are exactly those the reads passed, plus those probes.
    #[test]
    fn probes_count_only_when_they_read_the_list() {
        let f = flow(&(1..=2000).rev().collect::<Vec<_>>());
        // Read 1,024 entries ahead: every far probe below is answered from them.
        let work = Work::new(0, 0);
        let mut s = Sorted::new(&f, false, 0..2000, READ_AHEAD_MAX, &work);
        for k in 1..=100 {
            assert!(s.has(2000 - 2 * k));
        }
        // 2000 and 1999 before 1998, then one odd id before each even one.
        assert_eq!(work.passed(), 101);
        // Read one entry ahead: the first far probe reads the list.
        let work = Work::new(0, 0);
        let mut s = Sorted::new(&f, false, 0..2000, 1, &work);
        assert!(s.has(1998));
        assert_eq!(work.passed(), 2 + PROBE_COST);
    }

    /// The flow of the report: one id out of order near the head (`11 16 15 14 13 12`).
    #[test]
    fn one_id_out_of_order_near_the_head_hides_nothing() {
        let f = flow(&[11, 16, 15, 14, 13, 12]);
        let work = || Work::new(100, 0);
        let sel = |words: &[&str]| select(&f, &q(words), &work()).unwrap().0;
        assert_eq!(sel(&["AFTER", "12", "ASC"]), vec![13, 14, 15, 16]);
        assert_eq!(sel(&["AFTER", "13"]), vec![16, 15, 14]);
        assert_eq!(sel(&[]), vec![16, 15, 14, 13, 12, 11]);
        assert_eq!(count(&f, &q(&["AFTER", "13"]), &work()).unwrap().0, 3);
        assert_eq!(count(&f, &q(&["BEFORE", "13"]), &work()).unwrap().0, 2);
        let mut pages = Vec::new();
        let mut before = None;
        loop {
            let mut query = q(&["LIMIT", "2"]);
            query.before = before;
            let page = select(&f, &query, &work()).unwrap().0;
            let Some(&last) = page.last() else { break };
            before = Some(last);
            pages.extend(page);
        }
        assert_eq!(pages, vec![16, 15, 14, 13, 12, 11]);
        assert_eq!(newest(&f, 100), Some(16));
    }

    /// A scan limit stops a read after the id that reaches it, and the ids it passed over in
    /// other flows count too.
    #[test]
    fn the_scan_limit_counts_ids_passed_over() {
        let f = flow(&(1..=1000).rev().collect::<Vec<_>>());
        let work = Work::new(10, 100);
        let src = Sources { base: &f, base_is_all: false, and: &[], or: &[], not: std::slice::from_ref(&f) };
        let how = Matching { read_records: true, count_matches: false };
        let out = each_match(&src, &q(&[]), how, &work, |_| true).unwrap();
        // Each id of the base is passed over (taking the same id from the NOT flow is free).
        assert_eq!(out, Outcome { end: End::Cut, last: Some(901) });
        assert_eq!(work.passed(), 100);
        // Unlimited: the whole flow, and nothing matches.
        let out = each_match(&src, &q(&[]), how, &Work::new(10, 0), |_| true).unwrap();
        assert_eq!(out.end, End::Done);
    }

    /// A run of entries that are not ids stops a read at the scan limit: at the head, with no
    /// id before it, the read says where the run is; after ids, it stops at the last one, and
    /// following the continuations over shorter runs gives exactly the full result.
    #[test]
    fn a_run_of_entries_that_are_not_ids_stops_at_the_scan_limit() {
        let junk = |n: usize| std::iter::repeat_n((None, None), n);
        let mut entries: Vec<(Option<i64>, Option<i64>)> = junk(300_000).collect();
        entries.extend((1..=100).rev().map(|id| (Some(id), Some(id * 10))));
        let f = Flow(entries);
        let work = Work::new(100, 2000);
        let err = select(&f, &q(&["LIMIT", "10"]), &work).unwrap_err();
        assert!(err.to_string().starts_with("ERR scan limit reached in a run"), "{err}");
        assert!(work.passed() <= 2000, "{} passed", work.passed());

        // Runs shorter than the limit between ids: each call stops in one at most, and goes on.
        let mut entries = Vec::new();
        for block in (0..6i64).rev() {
            entries.extend((1..=300).rev().map(|k| block * 300 + k).map(|id| (Some(id), Some(id * 10))));
            entries.extend(junk(700));
        }
        let f = Flow(entries);
        let want = select(&f, &q(&[]), &Work::new(100, 0)).unwrap().0;
        assert_eq!(want.len(), 1800);
        let (mut got, mut next) = (Vec::new(), q(&[]));
        for call in 0.. {
            assert!(call < 100, "no end");
            let work = Work::new(100, 2000);
            let (ids, out) = select(&f, &next, &work).unwrap();
            assert!(work.passed() <= 2000 + 1, "{} passed", work.passed());
            got.extend(ids);
            match out.cursor() {
                Some(c) => next.before = Some(c),
                None => break,
            }
        }
        assert_eq!(got, want);
    }

    /// A time bound in a long run of entries that are not ids: COUNT reads about the scan
    /// limit's worth of entries, not the run, and fails where it has no id to go on from.
    #[test]
    fn a_count_with_a_time_bound_in_a_run_of_entries_that_are_not_ids_is_bounded() {
        let mut entries: Vec<(Option<i64>, Option<i64>)> =
            (1001..=2001).rev().map(|id| (Some(id), Some(id * 10))).collect();
        entries.extend(std::iter::repeat_n((None, None), 200_000));
        entries.extend((1..=1000).rev().map(|id| (Some(id), Some(id * 10))));
        let f = Flow(entries);
        let reads = Cell::new(0u64);
        let r = Reads(&f, &reads);
        let query = q(&["SINCE", "0.010005"]);
        let want = count(&r, &query, &Work::new(4, 0)).unwrap().0;
        assert_eq!(want, 1001);
        reads.set(0);
        let (mut total, mut next) = (0, query.clone());
        for call in 0.. {
            assert!(call < 100, "no end");
            reads.set(0);
            let res = count(&r, &next, &Work::new(4, 2000));
            assert!(reads.get() <= 20_000, "{} entries read", reads.get());
            let Ok((n, out)) = res else { break };
            total += n;
            match out.cursor() {
                Some(c) => next.before = Some(c),
                None => break,
            }
        }
        assert!(total <= want);
    }

    /// A bound next to a long run of entries that are not ids, on the far side of the id beside
    /// it: widening the bound by the window reads about the scan limit's worth of entries, not
    /// the run, and fails where it has no id to go on from; with no scan limit, the answer is
    /// whole.
    #[test]
    fn widening_a_bound_next_to_a_run_of_entries_that_are_not_ids_is_bounded() {
        // Ids `hi..=2000`, the run, ids `1..hi`.
        let with_run = |hi: i64| {
            let mut entries: Vec<(Option<i64>, Option<i64>)> =
                (hi..=2000).rev().map(|id| (Some(id), Some(id * 10))).collect();
            entries.extend(std::iter::repeat_n((None, None), 300_000));
            entries.extend((1..hi).rev().map(|id| (Some(id), Some(id * 10))));
            Flow(entries)
        };
        let (f1, f2) = (with_run(1002), with_run(1001));
        let cases = [
            (&f1, ["BEFORE", "1001"], 1000),
            (&f1, ["UNTIL", "0.010010"], 1001),
            (&f2, ["AFTER", "1001"], 999),
            (&f2, ["SINCE", "0.010015"], 999),
        ];
        for (f, words, want) in cases {
            let query = q(&words);
            let reads = Cell::new(0u64);
            let r = Reads(f, &reads);
            let res = select(&r, &query, &Work::new(100, 2000));
            assert!(reads.get() <= 2000 + 4096, "{words:?}: {} entries read", reads.get());
            if let Err(e) = res {
                assert!(e.to_string().starts_with("ERR scan limit reached in a run"), "{words:?}: {e}");
            }
            reads.set(0);
            let res = count(&r, &query, &Work::new(100, 2000));
            assert!(reads.get() <= 2000 + 4096, "{words:?} COUNT: {} entries read", reads.get());
            if let Err(e) = res {
                assert!(e.to_string().starts_with("ERR scan limit reached in a run"), "{words:?} COUNT: {e}");
            }
            // No scan limit: every id within the bound.
            assert_eq!(select(f, &query, &Work::new(100, 0)).unwrap().0.len(), want, "{words:?}");
        }
    }
}

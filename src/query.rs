//! Read queries over one flow: the options, time values, and the plan that seeks into the flow
//! by binary search and then scans it. Pure: the flow is reached through [`IdList`], so the
//! plan is tested here against plain vectors.
//!
//! A flow holds ids newest first (LPUSH of increasing ids), and tlog's timestamps never
//! decrease as ids grow, so both ids and timestamps are sorted along a flow: a bound on either
//! is found in O(log N) probes. Every record returned is still checked against every bound.

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
}

impl Query {
    pub fn has_tag_filter(&self) -> bool {
        !(self.and.is_empty() && self.or.is_empty() && self.not.is_empty())
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
}

impl Allowed {
    pub const GET: Allowed = Allowed { limit: true, order: true, raw: true, bounds: true, tail: false };
    pub const LATEST: Allowed = Allowed { limit: false, order: false, raw: true, bounds: true, tail: false };
    pub const COUNT: Allowed = Allowed { limit: false, order: false, raw: false, bounds: true, tail: false };
    pub const TAIL: Allowed = Allowed { limit: false, order: false, raw: true, bounds: false, tail: true };
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
            let n = keys::parse_i64(v).filter(|&n| n >= 0).ok_or(Error::BadNumber("LIMIT", "a non-negative integer"))?;
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
            set(&mut q.since, parse_time(value.ok_or(Error::Syntax)?)?, "SINCE")?;
        } else if is("UNTIL") && allowed.bounds {
            set(&mut q.until, parse_time(value.ok_or(Error::Syntax)?)?, "UNTIL")?;
        } else if is("COUNT") && allowed.tail {
            let v = value.ok_or(Error::Syntax)?;
            let n = keys::parse_i64(v).filter(|&n| n > 0).ok_or(Error::BadNumber("COUNT", "a positive integer"))?;
            set(&mut q.limit, usize::try_from(n).unwrap_or(usize::MAX), "COUNT")?;
        } else if is("BLOCK") && allowed.tail {
            let v = value.ok_or(Error::Syntax)?;
            let ms = keys::parse_i64(v).filter(|&n| n >= 0).ok_or(Error::BadNumber("BLOCK", "a timeout in milliseconds (0: no timeout)"))?;
            set(&mut q.block, ms, "BLOCK")?;
        } else if (is("ASC") || is("DESC")) && allowed.order {
            let this = if is("ASC") { "ASC" } else { "DESC" };
            if let Some(prev) = order_given {
                return Err(if prev == this { Error::RepeatedOption(this) } else { Error::ConflictingOptions("ASC", "DESC") });
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
            let max = crate::commands::MAX_TAGS;
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
    Ok(q)
}

fn set<T>(slot: &mut Option<T>, v: T, name: &'static str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::RepeatedOption(name));
    }
    *slot = Some(v);
    Ok(())
}

/// A time: unix seconds (`1700000000`, `1700000000.25`, up to six decimals) or RFC 3339 with
/// an offset (`2026-11-23T10:15:02.5+01:00`, `...Z`). Microseconds since the epoch.
pub fn parse_time(v: &[u8]) -> Result<i64> {
    let bad = || Error::BadTime(String::from_utf8_lossy(v).into_owned());
    let text = std::str::from_utf8(v).map_err(|_| bad())?;
    let (neg, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if digits(int) && (frac.is_empty() && !unsigned.ends_with('.') || digits(frac)) {
        if frac.len() > 6 || int.len() > 12 {
            return Err(bad());
        }
        let secs: i64 = int.parse().map_err(|_| bad())?;
        let micros: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
        let t = secs * 1_000_000 + micros;
        return Ok(if neg { -t } else { t });
    }
    DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_micros()).map_err(|_| bad())
}

/// A flow seen by the plan: entries newest first.
pub trait IdList {
    fn len(&self) -> usize;
    /// The id at `index`, `None` for an entry that is not an id.
    fn id(&self, index: usize) -> Option<i64>;
    /// Record `id`: `None` if it is gone, else its timestamp (`None` if it has none, or if
    /// `need_ts` is false: then only its existence is asked).
    fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>>;

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

/// The ids of the records a query returns, in reply order: the window, scanned in the
/// query's order, each record checked against every bound, up to the limit. Missing records
/// and entries that are not ids are skipped.
pub fn select(list: &impl IdList, q: &Query) -> Result<Vec<i64>> {
    let w = window(list, q)?;
    let limit = q.limit.unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(w.len().min(limit).min(1024));
    let mut visit = |i: usize| -> Result<bool> {
        if out.len() >= limit {
            return Ok(false);
        }
        if let Some(id) = list.id(i) {
            if let Some(ts) = list.record_ts(id, q.has_time_bounds())? {
                if q.admits(id, ts) {
                    out.push(id);
                }
            }
        }
        Ok(true)
    };
    if q.asc {
        for i in w.rev() {
            if !visit(i)? {
                break;
            }
        }
    } else {
        for i in w {
            if !visit(i)? {
                break;
            }
        }
    }
    Ok(out)
}

/// The first index of `lo..hi` where `pred` holds, `pred` being false then true along it.
/// An index whose value is unknown (`None`) takes the answer of the next known one.
fn partition(lo: usize, hi: usize, mut probe: impl FnMut(usize) -> Result<Option<bool>>) -> Result<usize> {
    let (mut lo, mut hi) = (lo, hi);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let mut j = mid;
        let answer = loop {
            if j >= hi {
                break true;
            }
            match probe(j)? {
                Some(a) => break a,
                None => j += 1,
            }
        };
        if answer {
            hi = mid;
        } else {
            lo = j + 1;
        }
    }
    Ok(lo)
}

/// [`partition`] over values that descend along the index, `past(v)` turning true from some
/// value on. Steps alternate between interpolation (where the target value should sit, given
/// the values at both ends) and bisection: a few probes on evenly spread ids or times, and
/// never more than twice the probes of a plain binary search.
fn search(
    lo: usize,
    hi: usize,
    target: i64,
    mut value: impl FnMut(usize) -> Result<Option<i64>>,
    past: impl Fn(i64) -> bool,
) -> Result<usize> {
    let (mut lo, mut hi) = (lo, hi);
    // The known values just below `lo` (not past) and at `hi` (past), once probed.
    let (mut lo_val, mut hi_val): (Option<i64>, Option<i64>) = (None, None);
    let mut interpolate = false;
    let mut first = true;
    while lo < hi {
        let mid = match (interpolate, lo_val, hi_val) {
            (true, Some(a), Some(b)) if a > b && target <= a && target >= b => {
                let frac = (a - target) as f64 / (a - b) as f64;
                let guess = (lo as f64 - 1.0 + frac * (hi - lo + 1) as f64).round();
                guess.clamp(lo as f64, (hi - 1) as f64) as usize
            }
            // Seed both ends first, so interpolation has something to go on.
            _ if first => lo,
            _ if lo_val.is_some() && hi_val.is_none() => hi - 1,
            _ => lo + (hi - lo) / 2,
        };
        first = false;
        interpolate = !interpolate;
        let mut j = mid;
        let v = loop {
            if j >= hi {
                break None;
            }
            match value(j)? {
                Some(v) => break Some(v),
                None => j += 1,
            }
        };
        match v {
            Some(v) if !past(v) => {
                lo = j + 1;
                lo_val = Some(v);
            }
            other => {
                hi = mid;
                hi_val = other.or(hi_val);
            }
        }
    }
    Ok(lo)
}

/// The index range of the flow that can hold records within the query's bounds, found by
/// search over the sorted ids and times: O(log N) probes at worst (a few on evenly spread
/// data), and as many records read for time bounds.
pub fn window(list: &impl IdList, q: &Query) -> Result<Range<usize>> {
    let n = list.len();
    let mut start = 0;
    let mut end = n;
    if let Some(b) = q.before {
        start = search(0, n, b, |i| Ok(list.id(i)), |id| id < b)?;
    }
    if let Some(a) = q.after {
        end = search(start, n, a, |i| Ok(list.id(i)), |id| id <= a)?;
    }
    if let Some(u) = q.until {
        start = search(start, end, u, |i| list.ts(i), |t| t <= u)?;
    }
    if let Some(s) = q.since {
        end = search(start, end, s, |i| list.ts(i), |t| t < s)?;
    }
    Ok(start..end.max(start))
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

/// A flow read in the query's order: logical index 0 is the first id of the reply order.
struct View<'l, L> {
    list: &'l L,
    asc: bool,
}

impl<L: IdList> View<'_, L> {
    fn len(&self) -> usize {
        self.list.len()
    }

    fn id(&self, k: usize) -> Option<i64> {
        let n = self.list.len();
        if k >= n {
            return None;
        }
        self.list.id(if self.asc { n - 1 - k } else { k })
    }

    /// `a` comes before `b` in reply order.
    fn before(&self, a: i64, b: i64) -> bool {
        if self.asc { a < b } else { a > b }
    }

    /// The first logical index at or after `from` whose id does not come before `id`:
    /// galloping then binary search, O(log distance).
    fn seek(&self, from: usize, id: i64) -> usize {
        let n = self.len();
        let not_before = |k: usize| Ok(self.id(k).map(|x| !self.before(x, id)));
        let mut step = 1;
        let mut hi = from;
        while hi < n {
            match not_before(hi) {
                Ok(Some(true)) => break,
                _ => {
                    hi = from + step;
                    step *= 2;
                }
            }
        }
        partition(from, hi.min(n), not_before).unwrap_or(n)
    }
}

/// Membership in one flow for ids that come in reply order: the position only moves forward.
struct Member<'l, L> {
    view: View<'l, L>,
    pos: usize,
}

impl<L: IdList> Member<'_, L> {
    fn has(&mut self, id: i64) -> bool {
        self.pos = self.view.seek(self.pos, id);
        self.view.id(self.pos) == Some(id)
    }
}

/// Calls `f` with each id matching the query's tag filter and id bounds, in reply order, until
/// `f` says stop. Time bounds become id bounds through the base flow (timestamps ascend with
/// ids); with `read_records` each record is also checked to exist and to pass every bound.
///
/// The driver is the smallest flow every match must be in (or the union of the OR flows when
/// there is none); the other flows are probed with forward-only galloping searches. Cost: the
/// driver's ids scanned, each probing O(log gap) entries per other flow.
pub fn each_match<L: IdList>(
    src: &Sources<'_, L>,
    q: &Query,
    read_records: bool,
    mut f: impl FnMut(i64) -> bool,
) -> Result<()> {
    let (mut lo, mut hi) = (q.after, q.before);
    if q.has_time_bounds() {
        let w = window(src.base, q)?;
        let newest = w.clone().find_map(|i| src.base.id(i));
        let oldest = w.rev().find_map(|i| src.base.id(i));
        let (Some(newest), Some(oldest)) = (newest, oldest) else {
            return Ok(());
        };
        let (newest, oldest) = (newest.saturating_add(1), oldest.saturating_sub(1));
        hi = Some(hi.map_or(newest, |h| h.min(newest)));
        lo = Some(lo.map_or(oldest, |l| l.max(oldest)));
    }
    let in_bounds = |id: i64| lo.is_none_or(|l| id > l) && hi.is_none_or(|h| id < h);
    let view = |l| View { list: l, asc: q.asc };

    let mut positive: Vec<&L> = src.and.iter().collect();
    if !src.base_is_all {
        positive.push(src.base);
    }
    let driver_at = positive.iter().enumerate().min_by_key(|(_, l)| l.len()).map(|(i, _)| i);
    let driver: Option<&L> = driver_at.map(|i| positive.remove(i));
    let union_driver = driver.is_none() && !src.or.is_empty();
    let mut must: Vec<Member<'_, L>> = positive.into_iter().map(|l| Member { view: view(l), pos: 0 }).collect();
    let mut any: Vec<Member<'_, L>> = if union_driver {
        Vec::new()
    } else {
        src.or.iter().map(|l| Member { view: view(l), pos: 0 }).collect()
    };
    let mut none: Vec<Member<'_, L>> = src.not.iter().map(|l| Member { view: view(l), pos: 0 }).collect();

    // The first bound in reply order, to seek the drivers to.
    if lo.is_some_and(|l| l == i64::MAX) || hi.is_some_and(|h| h <= 1) {
        return Ok(()); // no id can be above the largest or below 1
    }
    let start = if q.asc { lo.map(|l| l + 1) } else { hi.map(|h| h - 1) };
    let past_end = |id: i64| if q.asc { hi.is_some_and(|h| id >= h) } else { lo.is_some_and(|l| id <= l) };

    let mut accept = |id: i64| -> Result<bool> {
        if !in_bounds(id)
            || !must.iter_mut().all(|m| m.has(id))
            || (!any.is_empty() && !any.iter_mut().any(|m| m.has(id)))
            || none.iter_mut().any(|m| m.has(id))
        {
            return Ok(true);
        }
        if read_records {
            match src.base.record_ts(id, q.has_time_bounds())? {
                Some(ts) if q.admits(id, ts) => {}
                _ => return Ok(true),
            }
        }
        Ok(f(id))
    };

    if union_driver {
        // k-way merge of the OR flows, each id once.
        let mut heads: Vec<(View<'_, L>, usize)> = src
            .or
            .iter()
            .map(|l| {
                let v = view(l);
                let k = start.map_or(0, |s| v.seek(0, s));
                (v, k)
            })
            .collect();
        loop {
            let mut next: Option<i64> = None;
            for (v, k) in heads.iter_mut() {
                while *k < v.len() && v.id(*k).is_none() {
                    *k += 1;
                }
                if let Some(id) = v.id(*k) {
                    if next.is_none_or(|n| v.before(id, n)) {
                        next = Some(id);
                    }
                }
            }
            let Some(id) = next else { break };
            if past_end(id) {
                break;
            }
            for (v, k) in heads.iter_mut() {
                if v.id(*k) == Some(id) {
                    *k += 1;
                }
            }
            if !accept(id)? {
                break;
            }
        }
    } else {
        let v = view(driver.unwrap_or(src.base));
        let mut k = start.map_or(0, |s| v.seek(0, s));
        while k < v.len() {
            if let Some(id) = v.id(k) {
                if past_end(id) {
                    break;
                }
                if !accept(id)? {
                    break;
                }
            }
            k += 1;
        }
    }
    Ok(())
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
            Ok(self.0.iter().find(|e| e.0 == Some(id)).map(|e| e.1.filter(|_| need_ts)))
        }
    }

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
            let w = window(&f, &query).unwrap();
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
            let w = window(&f, &query).unwrap();
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
        let w = window(&f, &q(&["BEFORE", "500000", "AFTER", "400000"])).unwrap();
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
            let w = window(&f, &q(&["BEFORE", &bound.to_string()])).unwrap();
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
            let page = select(&f, &query).unwrap();
            if page.is_empty() {
                break;
            }
            before = page.last().copied();
            seen.extend(page);
        }
        assert_eq!(seen, (1..=50).rev().collect::<Vec<_>>());
        assert_eq!(select(&f, &q(&["AFTER", "45", "ASC", "LIMIT", "3"])).unwrap(), vec![46, 47, 48]);
        assert_eq!(select(&f, &q(&["ASC", "LIMIT", "2"])).unwrap(), vec![1, 2]);
        assert_eq!(select(&f, &q(&["LIMIT", "0"])).unwrap(), Vec::<i64>::new());
    }

    /// Flows of a prefix built from records (id, ts, tags), for tag-filter checks.
    fn flows_of(recs: &[(i64, &[&str])], tag: &str) -> Flow {
        Flow(recs.iter().rev().filter(|r| tag == "__all__" || r.1.contains(&tag)).map(|r| (Some(r.0), Some(r.0 * 10))).collect())
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
            let tags: Vec<&str> = names.iter().enumerate().filter(|(i, _)| x >> (i * 3) & 3 == 0).map(|(_, t)| *t).collect();
            recs.push((id, tags));
        }
        let view: Vec<(i64, &[&str])> = recs.iter().map(|(id, t)| (*id, t.as_slice())).collect();
        let cases: &[(&str, &[&str], &[&str], &[&str], &[&str])] = &[
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
            let (b, a, o, n): (Flow, Vec<Flow>, Vec<Flow>, Vec<Flow>) = (fl(base), and.iter().map(fl).collect(), or.iter().map(fl).collect(), not.iter().map(fl).collect());
            let src = Sources { base: &b, base_is_all: *base == "__all__", and: &a, or: &o, not: &n };
            let mut got = Vec::new();
            let limit = query.limit.unwrap_or(usize::MAX);
            each_match(&src, &query, true, |id| {
                got.push(id);
                got.len() < limit
            })
            .unwrap();
            let has = |r: &(i64, Vec<&str>), t: &str| t == "__all__" || r.1.contains(&t);
            let mut want: Vec<i64> = recs
                .iter()
                .filter(|r| has(r, base) && and.iter().all(|t| has(r, t)) && (or.is_empty() || or.iter().any(|t| has(r, t))) && !not.iter().any(|t| has(r, t)))
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

    #[test]
    fn times_parse_as_seconds_or_rfc3339() {
        assert_eq!(parse_time(b"1700000000").unwrap(), 1_700_000_000_000_000);
        assert_eq!(parse_time(b"1700000000.25").unwrap(), 1_700_000_000_250_000);
        assert_eq!(parse_time(b"1700000000.000001").unwrap(), 1_700_000_000_000_001);
        assert_eq!(parse_time(b"-1.5").unwrap(), -1_500_000);
        assert_eq!(parse_time(b"2023-11-14T22:13:20.25Z").unwrap(), 1_700_000_000_250_000);
        assert_eq!(parse_time(b"2023-11-14T23:13:20+01:00").unwrap(), 1_700_000_000_000_000);
        for bad in [&b""[..], b"yesterday", b"1.", b".5", b"1.0000001", b"2023-11-14T22:13:20", b"1e9", b"\xff", b"+1"] {
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
        assert_eq!(q(&["limit", "10", "asc", "RAW"]), Query { limit: Some(10), asc: true, raw: true, ..Query::default() });
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
        let count_only = Allowed::COUNT;
        assert_eq!(parse_options(&[b"LIMIT", b"1"], count_only), Err(Error::Syntax));
        assert_eq!(parse_options(&[b"RAW"], count_only), Err(Error::Syntax));
    }
}

//! The read engine of TLOG.GET, TLOG.LATEST, TLOG.COUNT and TLOG.TAIL: request parsing
//! (`prefix [tag [option ...]]`), then selection through `query` over the flows the store
//! opens: one flow read in pages, or the streaming merge of a tag filter.

use crate::config;
use crate::error::{Error, Result, Resume};
use crate::ffi::Ctx;
use crate::keys::ALL_FLOW;
use crate::query::{self, Allowed, Candidates, End, Matching, Outcome, Query, Sources, Work, FETCH_BATCH};
use crate::record;
use crate::store::{Fetched, Flow};

/// What a read command was asked: `prefix [tag [option ...]]`.
#[derive(Debug, PartialEq, Eq)]
pub struct ReadRequest<'a> {
    pub prefix: &'a [u8],
    /// The flow to read: the given tag, or `__all__`.
    pub tag: &'a [u8],
    pub query: Query,
}

/// Parses `prefix [tag [option ...]]`. The argument after the prefix is always a tag, whatever
/// its text; options only follow a tag (`__all__` names the flow of every record).
pub fn parse_read<'a>(args: &[&'a [u8]], allowed: Allowed) -> Result<ReadRequest<'a>> {
    let (prefix, rest) = args.split_first().ok_or(Error::Syntax)?;
    let Some((tag, options)) = rest.split_first() else {
        return Ok(ReadRequest { prefix, tag: ALL_FLOW, query: Query::default() });
    };
    if tag.is_empty() {
        return Err(Error::EmptyTag);
    }
    Ok(ReadRequest { prefix, tag, query: query::parse_options(options, allowed)? })
}

/// What a read may do, from the configuration and the call's SCANLIMIT.
pub fn work_for(q: &Query) -> Work {
    Work::new(config::read_window(), q.scan_limit.unwrap_or_else(config::read_scan_limit))
}

/// The ids a read returns, in reply order, the base flow to read their records through, and
/// how the scan ended. Every record key is ACL-checked while selecting, before the reply
/// starts.
pub fn select<'a>(ctx: Ctx, req: &ReadRequest<'a>, work: &Work) -> Result<(Flow<'a>, Vec<i64>, Outcome)> {
    if req.query.has_record_filter() {
        return select_filtered(ctx, req, work);
    }
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    let q = &req.query;
    if !q.has_tag_filter() {
        let (ids, outcome) = query::select(&flow, q, work)?;
        return Ok((flow, ids, outcome));
    }
    let limit = q.limit.unwrap_or(usize::MAX);
    let mut ids = Vec::new();
    if limit == 0 {
        return Ok((flow, ids, Outcome::DONE));
    }
    let how = Matching { read_records: true, count_matches: false };
    let outcome = each_tag_match(&flow, req, how, work, |id| {
        ids.push(id);
        ids.len() < limit
    })?;
    Ok((flow, ids, outcome))
}

/// The records of a query without a tag filter, read with MGET in batches, in reply order,
/// and how the scan ended. `None` for a query with a tag filter, or if the server would not
/// run MGET for the module (see `Ctx::call_strings`): then the caller reads key by key. Every
/// record key is ACL-checked before the reply starts.
pub fn select_page(ctx: Ctx, req: &ReadRequest<'_>, work: &Work) -> Result<Option<(Vec<Fetched>, Outcome)>> {
    let q = &req.query;
    if q.has_tag_filter() {
        return Ok(None);
    }
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    let limit = q.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return Ok(Some((Vec::new(), Outcome::DONE)));
    }
    let plan = query::plan_in(&flow, q, work)?;
    let mut candidates = Candidates::new(&flow, q, &plan, limit.min(FETCH_BATCH), work);
    let mut batches = Vec::new();
    let mut found = 0;
    let mut last = None;
    // Each round asks for as many records as the page still needs; after a round that came
    // back short (records gone, outside the time bounds), it reads ahead twice as far, so a
    // long run of missing records costs a few rounds, not one per record; never further than
    // the scan limit lets it. What a round reads beyond the page is dropped; a key the caller
    // may not read counts only if the page needs a record from there on, as when records are
    // read one by one.
    let mut ahead = 0;
    while found < limit {
        let need = limit - found;
        let left = usize::try_from(work.left()).unwrap_or(usize::MAX);
        // A batch of records all gone passes over no more ids than are left to pass.
        let size = need.max(ahead).min(FETCH_BATCH).min(left).max(1);
        let ids = candidates.next_ids(size);
        let Some(&batch_last) = ids.last() else { break };
        let Some((mut batch, refused)) = flow.fetch(&ids)? else {
            work.again_one_by_one();
            return Ok(None);
        };
        // Where MATCH's glob steps ran out: the page stops before that record.
        let mut out_at = None;
        if q.has_time_bounds() || q.has_record_filter() {
            // Each record's time is checked: records of other clients may be out of order.
            let mut kept = 0;
            batch.retain(|id, stored| {
                if kept >= need || out_at.is_some() || !q.admits(id, record::decode_ts(stored)) {
                    return false;
                }
                match work.filter_admits(&q.filter, stored) {
                    Some(keep) => {
                        kept += usize::from(keep);
                        keep
                    }
                    None => {
                        out_at = Some(id);
                        false
                    }
                }
            });
        }
        if let Some(at) = out_at.filter(|_| batch.len() < need) {
            let pos = ids.iter().position(|&id| id == at).unwrap_or(0);
            let before = if pos > 0 { Some(ids[pos - 1]) } else { last };
            let Some(before) = before else { return Err(Error::MatchTooCostly(at)) };
            work.pass(pos.saturating_sub(batch.len()) as u64);
            batches.push(batch);
            return Ok(Some((batches, Outcome { end: End::Cut, last: Some(before) })));
        }
        // Records gone, outside the time bounds or failing WHERE or MATCH, and of those asked
        // beyond a refused key.
        work.pass(ids.len().saturating_sub(batch.len()) as u64);
        batch.truncate(need);
        found += batch.len();
        last = Some(batch_last);
        if found >= limit {
            last = batch.records().last().map(|(id, _)| id);
            batches.push(batch);
            return Ok(Some((batches, Outcome { end: End::Full, last })));
        }
        batches.push(batch);
        if let Some(e) = refused {
            return Err(e);
        }
        if work.exhausted() {
            return Ok(Some((batches, Outcome { end: End::Cut, last })));
        }
        ahead = size.saturating_mul(2);
    }
    Ok(Some((batches, candidates.outcome(last)?)))
}

/// Where a read without WITHCURSOR that found nothing before its scan limit goes on from.
pub fn scan_limit_error(work: &Work, q: &Query, outcome: &Outcome) -> Error {
    let at = outcome.last.unwrap_or(0);
    let resume = if q.asc { Resume::After(at) } else { Resume::Before(at) };
    cut_error(work, resume)
}

/// The error of a read cut short with nothing to return: at the scan limit, or where MATCH's
/// glob steps ran out.
pub fn cut_error(work: &Work, resume: Resume) -> Error {
    if work.steps_ran_out() {
        Error::MatchSteps { passed: work.passed(), resume }
    } else {
        Error::ScanLimit { passed: work.passed(), resume }
    }
}

/// How many ids of the flow a query's bounds and tag filter admit, and how the scan ended.
/// Without a tag filter, by position (see [`query::count`]): cut short only where a bound falls
/// in a long run of entries its search cannot place.
pub fn count(ctx: Ctx, req: &ReadRequest<'_>, work: &Work) -> Result<(usize, Outcome)> {
    if req.query.has_record_filter() {
        let mut n = 0;
        let outcome = scan_matches(ctx, req, work, |_| n += 1)?;
        return Ok((n, outcome));
    }
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    if !req.query.has_tag_filter() {
        return query::count(&flow, &req.query, work);
    }
    let mut n = 0;
    let how = Matching { read_records: false, count_matches: true };
    let outcome = each_tag_match(&flow, req, how, work, |_| {
        n += 1;
        true
    })?;
    Ok((n, outcome))
}

/// Calls `f` with the flows of the query: `base` and those of its AND, OR and NOT tags.
fn with_sources<'a, T>(
    base: &Flow<'a>,
    req: &ReadRequest<'_>,
    f: impl FnOnce(&Sources<'_, Flow<'a>>) -> Result<T>,
) -> Result<T> {
    let open_all = |tags: &[Vec<u8>]| -> Result<Vec<Flow<'a>>> { tags.iter().map(|t| base.sibling(t)).collect() };
    let q = &req.query;
    let (and, or, not) = (open_all(&q.and)?, open_all(&q.or)?, open_all(&q.not)?);
    f(&Sources { base, base_is_all: req.tag == ALL_FLOW, and: &and, or: &or, not: &not })
}

/// Opens the flows of the query's AND, OR and NOT tags and runs the streaming merge.
fn each_tag_match(
    base: &Flow<'_>,
    req: &ReadRequest<'_>,
    how: Matching,
    work: &Work,
    f: impl FnMut(i64) -> bool,
) -> Result<Outcome> {
    with_sources(base, req, |src| query::each_match(src, &req.query, how, work, f))
}

/// [`select`] for a query with WHERE or MATCH: see [`query::select_filtered`].
fn select_filtered<'a>(ctx: Ctx, req: &ReadRequest<'a>, work: &Work) -> Result<(Flow<'a>, Vec<i64>, Outcome)> {
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    let (ids, outcome) = with_sources(&flow, req, |src| query::select_filtered(src, &req.query, work))?;
    Ok((flow, ids, outcome))
}

/// Reads every record a query's bounds, tags, WHERE and MATCH admit, newest first, and calls
/// `f` with the time of each (for a count): see [`query::scan_matches`].
pub fn scan_matches(ctx: Ctx, req: &ReadRequest<'_>, work: &Work, f: impl FnMut(Option<i64>)) -> Result<Outcome> {
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    with_sources(&flow, req, |src| query::scan_matches(src, &req.query, work, f))
}

/// TLOG.COUNT ... BUCKET without WHERE, MATCH or a tag filter: see [`query::count_buckets`].
pub fn count_buckets(
    ctx: Ctx,
    req: &ReadRequest<'_>,
    work: &Work,
    first: i64,
    secs: i64,
    counts: &mut [u64],
) -> Result<Outcome> {
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    query::count_buckets(&flow, &req.query, first, secs, counts, work)
}

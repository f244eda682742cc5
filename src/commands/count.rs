//! `TLOG.COUNT prefix [tag [bounds]]`: how many ids a flow holds, within id and time bounds.

use super::{parse_read, Spec};
use crate::error::{Error, Result, Resume};
use crate::ffi::{Ctx, Reply};
use crate::filter;
use crate::query::{Allowed, End};
use super::ReadRequest;
use crate::query::Work;

pub static SPEC: Spec = Spec {
    name: "tlog.count",
    flags: "readonly",
    arity: -2,
    writes: false,
    summary: "Returns the number of ids in a tag's flow (by default of every record), optionally within id and time bounds.",
    complexity: "O(1) without bounds, O(log N + W) with them, where N is the number of records in the flow and W the read window (tlog.read-window), plus up to the scan limit of entries where a bound falls in a run of records gone; with AND, OR or NOT, O(M log N) where M is the number of ids scanned in the smallest flow a record must be in, at most the scan limit (tlog.read-scan-limit or SCANLIMIT). With WHERE or MATCH, O(M) records read (by MGET, in batches), M the ids within the bounds, each counting toward the scan limit. Checking one record costs O(S + P) for WHERE (S the record's size, P the field/value pairs) and, for MATCH, up to S x L glob steps (L the pattern's length, at most 1,024 bytes); a call with a scan limit spends at most 1,000,000 glob steps in all, and stops early with a continuation where they run out. With BUCKET and B buckets, O(B (log N + W)) at most without WHERE, MATCH, AND, OR or NOT (each edge between two buckets searched once and the window of ids around it checked, the probes and the records checked counting toward the scan limit); with them, the scan above, each record counted in the bucket of its time.",
    since: "0.1.0",
    args: super::COUNT_ARGS,
    entry: crate::command_entry!(run),
};

const OPTIONS: Allowed = Allowed::COUNT;

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse_read(args, OPTIONS)?;
    let q = &req.query;
    let work = super::work_for(q);
    if let Some(secs) = q.bucket {
        return run_buckets(ctx, &req, &work, secs);
    }
    let (n, outcome) = super::count(ctx, &req, &work)?;
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    // A partial count is never given as the count.
    if !q.with_cursor && outcome.end == End::Cut {
        let resume = Resume::Count { before: outcome.last.unwrap_or(0), counted: n.unsigned_abs() };
        return Err(super::cut_error(&work, resume));
    }
    let reply = Reply::new(ctx);
    if q.with_cursor {
        super::reply_cursor(&reply, &outcome);
    }
    reply.int(n);
    Ok(())
}

/// `BUCKET seconds`: `[[start, count], ...]`, one pair per bucket from SINCE to UNTIL, oldest
/// first. Without WHERE, MATCH or a tag filter, each bucket is counted by position; with them,
/// the records are read and each counted in the bucket of its time. Cut short by the scan
/// limit, the counts are those of the ids from the cursor up: with WITHCURSOR, the next call
/// with BEFORE the cursor counts the rest, to add bucket by bucket; without, an error.
fn run_buckets(ctx: Ctx, req: &ReadRequest<'_>, work: &Work, secs: i64) -> Result<()> {
    let q = &req.query;
    let (Some(since), Some(until)) = (q.since, q.until) else {
        return Err(Error::Message("ERR BUCKET needs both SINCE and UNTIL".into()));
    };
    let (first, n) = filter::buckets(since, until, secs);
    let mut counts = vec![0u64; usize::try_from(n).unwrap_or(0)];
    let outcome = if q.has_record_filter() || q.has_tag_filter() {
        super::scan_matches(ctx, req, work, |ts| {
            if let Some(k) = ts.and_then(|t| filter::bucket_of(t, first, secs, n)) {
                counts[k] += 1;
            }
        })?
    } else {
        super::count_buckets(ctx, req, work, first, secs, &mut counts)?
    };
    if !q.with_cursor && outcome.end == End::Cut {
        let why = if work.steps_ran_out() { "MATCH step limit reached" } else { "scan limit reached" };
        return Err(Error::Message(format!(
            "ERR {why}: {} ids scanned before every bucket was counted; count in parts with WITHCURSOR (each next call with BEFORE the cursor, its counts added bucket by bucket), or SCANLIMIT 0 for no limit",
            work.passed()
        )));
    }
    let reply = Reply::new(ctx);
    if q.with_cursor {
        super::reply_cursor(&reply, &outcome);
    }
    reply.array(counts.len());
    for (k, c) in counts.iter().enumerate() {
        reply.array(2);
        reply.int(first.saturating_add((k as i64).saturating_mul(secs)));
        reply.int(i64::try_from(*c).unwrap_or(i64::MAX));
    }
    Ok(())
}

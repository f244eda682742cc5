//! `TLOG.TAIL prefix tag id [filters] [COUNT count] [BLOCK milliseconds] [RAW]`: the records of
//! a flow newer than an id, oldest first; with BLOCK, waits for them as XREAD BLOCK does.

use super::{reply_records, select, Arg, ArgKind, ReadRequest, Spec, TAG_FILTERS};
use crate::error::{Error, Result, Resume};
use crate::ffi::events::{listen_to_list_pushes, ListWaiters};
use crate::ffi::{Ctx, OnKeys, Reply};
use crate::keys::{self, Keys};
use crate::query::{self, Allowed, End, Query};
use crate::store::Flow;

pub static SPEC: Spec = Spec {
    name: "tlog.tail",
    flags: "readonly",
    arity: -4,
    writes: false,
    summary: "Returns the records of a tag's flow newer than an id, oldest first, waiting for them with BLOCK like XREAD.",
    complexity: "O(log N + W + M) where N is the number of records in the flow, W the read window (tlog.read-window) and M the number of ids scanned, those passed over stopping at the scan limit (tlog.read-scan-limit or SCANLIMIT); a blocked client costs nothing until a record is logged to the flow it waits on. With WHERE or MATCH, each candidate record is read and checked: those that fail are passed over, up to the scan limit. Checking one record costs O(S + P) for WHERE (S the record's size, P the field/value pairs) and, for MATCH, up to S x L glob steps (L the pattern's length, at most 1,024 bytes); a call with a scan limit spends at most 1,000,000 glob steps in all, and stops early with a continuation where they run out.",
    since: "0.1.0",
    args: &[
        Arg::new("prefix", ArgKind::Key),
        Arg::new("tag", ArgKind::String),
        Arg::new("id", ArgKind::String),
        TAG_FILTERS[0],
        TAG_FILTERS[1],
        TAG_FILTERS[2],
        super::RECORD_FILTERS[0],
        super::RECORD_FILTERS[1],
        Arg::new("count", ArgKind::Integer).token("COUNT").optional(),
        Arg::new("milliseconds", ArgKind::Integer).token("BLOCK").optional(),
        super::SCAN_OPTIONS[0],
        super::SCAN_OPTIONS[1],
        Arg::new("raw", ArgKind::Token).token("RAW").optional(),
    ],
    entry: crate::command_entry!(run),
};

/// Where the reader stands: after an id, or after whatever is newest now (`$`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    Id(i64),
    Newest,
}

pub fn parse<'a>(args: &[&'a [u8]]) -> Result<(&'a [u8], &'a [u8], From, Query)> {
    let [prefix, tag, id, opts @ ..] = args else {
        return Err(Error::Syntax);
    };
    if tag.is_empty() {
        return Err(Error::EmptyTag);
    }
    let from = if *id == b"$" {
        From::Newest
    } else {
        From::Id(keys::parse_i64(id).filter(|&n| n >= 0).ok_or(Error::BadNumber("the id", "a record id, 0 or $"))?)
    };
    Ok((prefix, tag, from, query::parse_options(opts, Allowed::TAIL)?))
}

/// What a blocked reader waits for, kept by the server while it waits.
struct Waiting {
    prefix: Vec<u8>,
    tag: Vec<u8>,
    query: Query,
}

impl Waiting {
    /// A reader about to wait: counted until its state is dropped (by the server's free
    /// callback once it is unblocked, times out or disconnects, or here if it cannot block),
    /// so that writes wake readers only while some wait.
    fn new(prefix: &[u8], tag: &[u8], query: Query) -> Self {
        crate::stats::reader_blocked();
        Waiting { prefix: prefix.to_vec(), tag: tag.to_vec(), query }
    }

    fn request(&self) -> ReadRequest<'_> {
        ReadRequest { prefix: &self.prefix, tag: &self.tag, query: self.query.clone() }
    }
}

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let (prefix, tag, from, mut query) = parse(args)?;
    let after = match from {
        From::Id(id) => id,
        // The newest id of the flow itself (already ACL-checked for reading): later records of
        // the flow have higher ids. Entries that are not ids (another client's) are passed over.
        From::Newest => {
            let flow = Flow::open(ctx, prefix, tag)?;
            query::newest(&flow, super::work_for(&query).window).unwrap_or(0)
        }
    };
    query.after = Some(after);
    query.asc = true;
    let req = ReadRequest { prefix, tag, query };
    if serve(ctx, &req)? {
        return Ok(());
    }
    let Some(timeout) = req.query.block else {
        Reply::new(ctx).null();
        return Ok(());
    };
    if !ctx.may_block() {
        // Inside MULTI or a script: answer at once, as XREAD does.
        Reply::new(ctx).null();
        return Ok(());
    }
    let keys = wait_keys(ctx, &req)?;
    listen_to_list_pushes::<Readers>(ctx)?;
    ctx.block_on_keys(&keys, timeout, Waiting::new(prefix, tag, req.query.clone()))
}

/// Replies with the matching records if there are any: true if it replied. A scan cut short
/// by the scan limit with nothing found replies too: with WITHCURSOR, the id to go on from and
/// no records; without, an error naming that id (nil would leave the reader where it was).
fn serve(ctx: Ctx, req: &ReadRequest<'_>) -> Result<bool> {
    let q = &req.query;
    let work = super::work_for(q);
    let (flow, ids, outcome) = select(ctx, req, &work)?;
    let from = q.after.unwrap_or(0);
    if ids.is_empty() {
        let cut = outcome.end == End::Cut;
        if cut && !q.with_cursor {
            let resume = Resume::From(outcome.last.unwrap_or(from));
            return Err(super::cut_error(&work, resume));
        }
        // Without BLOCK, WITHCURSOR says how far the reader got even with nothing to return.
        if !(cut || q.with_cursor && q.block.is_none()) {
            return Ok(false);
        }
    }
    let reply = Reply::new(ctx);
    if q.with_cursor {
        // The id to pass next: the last one looked at (a record's, or one passed over).
        reply.array(2);
        reply.int(outcome.last.unwrap_or(from).max(from));
    }
    reply_records(&reply, &flow, &ids, q.raw)?;
    Ok(true)
}

/// [`serve`] for a blocked reader woken by a push: replies only with records. Where nothing
/// matches, the reader keeps waiting from the last id looked at, so that the next push scans
/// only what is new; a scan cut by the scan limit goes on from there at once (the work is
/// that of the records pushed since the last look), and a blocked reader never gets the
/// scan-limit error.
fn serve_waiting(ctx: Ctx, waiting: &mut Waiting) -> Result<bool> {
    loop {
        let req = waiting.request();
        let work = super::work_for(&req.query);
        let (flow, ids, outcome) = select(ctx, &req, &work)?;
        let from = req.query.after.unwrap_or(0);
        let last = outcome.last.unwrap_or(from).max(from);
        if ids.is_empty() {
            let cut = outcome.end == End::Cut && last > from;
            waiting.query.after = Some(last);
            if cut {
                continue;
            }
            return Ok(false);
        }
        let reply = Reply::new(ctx);
        if req.query.with_cursor {
            reply.array(2);
            reply.int(last);
        }
        reply_records(&reply, &flow, &ids, req.query.raw)?;
        return Ok(true);
    }
}

/// The flows whose new records can match.
fn wait_keys(ctx: Ctx, req: &ReadRequest<'_>) -> Result<Vec<crate::ffi::RString>> {
    let keys = Keys::new(req.prefix);
    let q = &req.query;
    // A match is pushed on the tag's flow, on every AND flow and on one of the OR flows. A
    // writer that is not atomic (a plain client's LPUSHes one at a time, or a master's on a
    // replica) may push them in any order, and only the last push finds the record complete:
    // so the reader waits on all of them. A push that cannot complete a match costs one query.
    let mut tags: Vec<&[u8]> = vec![req.tag];
    tags.extend(q.and.iter().chain(&q.or).map(Vec::as_slice));
    tags.sort_unstable();
    tags.dedup();
    tags.into_iter().map(|t| ctx.string(&keys.flow(t))).collect()
}

impl OnKeys for Waiting {
    /// A flow the reader waits on got a record: reply if one matches, else keep waiting.
    fn ready(&mut self, ctx: Ctx) -> bool {
        match serve_waiting(ctx, self) {
            Ok(replied) => replied,
            Err(e) => {
                Reply::new(ctx).error(&e);
                true
            }
        }
    }

    fn timed_out(&mut self, ctx: Ctx) {
        Reply::new(ctx).null();
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        crate::stats::reader_gone();
    }
}

/// The blocked readers, for the list events that wake them.
struct Readers;

impl ListWaiters for Readers {
    fn any() -> bool {
        crate::stats::readers() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_id_and_the_tail_options() {
        let (p, t, from, q) = parse(&[b"app", b"COUNT", b"$", b"COUNT", b"5", b"BLOCK", b"0"]).unwrap();
        assert_eq!((p, t, from, q.limit, q.block), (&b"app"[..], &b"COUNT"[..], From::Newest, Some(5), Some(0)));
        let (_, _, from, q) = parse(&[b"app", b"t", b"17", b"AND", b"1", b"BLOCK", b"RAW"]).unwrap();
        assert_eq!((from, q.and, q.raw, q.block), (From::Id(17), vec![b"BLOCK".to_vec()], true, None));
        assert_eq!(parse(&[b"a", b"t", b"x"]).unwrap_err(), Error::BadNumber("the id", "a record id, 0 or $"));
        assert_eq!(
            parse(&[b"a", b"t", b"0", b"BLOCK", b"-1"]).unwrap_err(),
            Error::BadNumber("BLOCK", "a timeout in milliseconds (0: no timeout)")
        );
        assert_eq!(
            parse(&[b"a", b"t", b"0", b"COUNT", b"0"]).unwrap_err(),
            Error::BadNumber("COUNT", "a positive integer")
        );
        assert_eq!(parse(&[b"a", b"t", b"0", b"LIMIT", b"1"]).unwrap_err(), Error::Syntax);
        assert_eq!(parse(&[b"a", b"t", b"0", b"BEFORE", b"1"]).unwrap_err(), Error::Syntax);
        assert_eq!(parse(&[b"a", b"", b"0"]).unwrap_err(), Error::EmptyTag);
    }
}

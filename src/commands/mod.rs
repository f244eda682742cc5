//! One file per command: argv -> typed request (pure, unit-tested) -> store -> reply.
//! This file holds what they share: the command table with its docs, tag validation and the
//! record reply.

use crate::error::{Error, Result, Resume};
use crate::ffi::Reply;
use crate::keys::{self, ALL_FLOW};
use crate::query::{self, Allowed, Candidates, End, Matching, Outcome, Query, Sources, Work};
use crate::record;
use crate::store::{Fetched, Flow};

pub mod add;
pub mod count;
pub mod del;
pub mod get;
pub mod latest;
pub mod log;
pub mod purge;
pub mod tags;
pub mod tail;

/// A command handler: `args` are the arguments after the command name.
pub type Handler = fn(crate::ffi::Ctx, &[&[u8]]) -> Result<()>;

/// How an argument is documented (`COMMAND DOCS`, the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Key,
    String,
    /// A keyword alone (`JSON`).
    Token,
    /// A keyword followed by subarguments (`MESSAGE message`).
    Block,
    /// One of the subarguments (`ASC | DESC`).
    OneOf,
    Integer,
}

#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    pub token: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
    pub subargs: &'static [Arg],
}

impl Arg {
    pub const fn new(name: &'static str, kind: ArgKind) -> Self {
        Arg { name, kind, token: None, optional: false, multiple: false, subargs: &[] }
    }
    pub const fn token(mut self, token: &'static str) -> Self {
        self.token = Some(token);
        self
    }
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    pub const fn multiple(mut self) -> Self {
        self.multiple = true;
        self
    }
    pub const fn subargs(mut self, subargs: &'static [Arg]) -> Self {
        self.subargs = subargs;
        self
    }
}

/// Everything the server and the docs know of a command, in one place.
pub struct Spec {
    /// As registered (lower case); the docs show it upper case.
    pub name: &'static str,
    pub flags: &'static str,
    /// Redis arity: N exact, -N at least N (the command name counts).
    pub arity: i32,
    /// The prefix argument writes (true) or only reads.
    pub writes: bool,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub since: &'static str,
    pub args: &'static [Arg],
    pub handler: Handler,
}

impl Spec {
    /// The syntax line as redis.io prints it: `TLOG.GET prefix [tag [RAW]]`.
    pub fn syntax(&self) -> String {
        let mut s = self.name.to_ascii_uppercase();
        for a in self.args {
            s.push(' ');
            s.push_str(&render(a));
        }
        s
    }
}

fn render(a: &Arg) -> String {
    let mut inner = match a.kind {
        ArgKind::Token => a.token.unwrap_or(a.name).to_string(),
        ArgKind::Block => {
            let mut parts: Vec<String> = a.token.map(str::to_string).into_iter().collect();
            parts.extend(a.subargs.iter().map(render));
            parts.join(" ")
        }
        ArgKind::OneOf => a.subargs.iter().map(render).collect::<Vec<_>>().join(" | "),
        _ => match a.token {
            Some(t) => format!("{t} {}", a.name),
            None => a.name.to_string(),
        },
    };
    if a.multiple {
        inner = format!("{inner} [{inner} ...]");
    }
    if a.optional {
        format!("[{inner}]")
    } else {
        inner
    }
}

pub const TAG_FILTERS: [Arg; 3] = [
    Arg::new("and", ArgKind::Block)
        .token("AND")
        .optional()
        .subargs(&[Arg::new("numtags", ArgKind::Integer), Arg::new("tag", ArgKind::String).multiple()]),
    Arg::new("or", ArgKind::Block)
        .token("OR")
        .optional()
        .subargs(&[Arg::new("numtags", ArgKind::Integer), Arg::new("tag", ArgKind::String).multiple()]),
    Arg::new("not", ArgKind::Block)
        .token("NOT")
        .optional()
        .subargs(&[Arg::new("numtags", ArgKind::Integer), Arg::new("tag", ArgKind::String).multiple()]),
];

/// `[SCANLIMIT limit] [WITHCURSOR]`: how many ids a call may pass over, and a reply that says
/// where the next call goes on from.
pub const SCAN_OPTIONS: [Arg; 2] = [
    Arg::new("limit", ArgKind::Integer).token("SCANLIMIT").optional(),
    Arg::new("withcursor", ArgKind::Token).token("WITHCURSOR").optional(),
];

const TIME_BOUNDS: [Arg; 4] = [
    Arg::new("before-id", ArgKind::Integer).token("BEFORE").optional(),
    Arg::new("after-id", ArgKind::Integer).token("AFTER").optional(),
    Arg::new("since-time", ArgKind::String).token("SINCE").optional(),
    Arg::new("until-time", ArgKind::String).token("UNTIL").optional(),
];

/// `TLOG.GET prefix [tag [options]]`.
pub const GET_ARGS: &[Arg] = &[
    Arg::new("prefix", ArgKind::Key),
    Arg::new("flow", ArgKind::Block).optional().subargs(&[
        Arg::new("tag", ArgKind::String),
        TAG_FILTERS[0],
        TAG_FILTERS[1],
        TAG_FILTERS[2],
        Arg::new("count", ArgKind::Integer).token("LIMIT").optional(),
        Arg::new("order", ArgKind::OneOf)
            .optional()
            .subargs(&[Arg::new("asc", ArgKind::Token).token("ASC"), Arg::new("desc", ArgKind::Token).token("DESC")]),
        TIME_BOUNDS[0],
        TIME_BOUNDS[1],
        TIME_BOUNDS[2],
        TIME_BOUNDS[3],
        SCAN_OPTIONS[0],
        SCAN_OPTIONS[1],
        Arg::new("raw", ArgKind::Token).token("RAW").optional(),
    ]),
];

/// `TLOG.LATEST prefix [tag [options]]`.
pub const LATEST_ARGS: &[Arg] = &[
    Arg::new("prefix", ArgKind::Key),
    Arg::new("flow", ArgKind::Block).optional().subargs(&[
        Arg::new("tag", ArgKind::String),
        TAG_FILTERS[0],
        TAG_FILTERS[1],
        TAG_FILTERS[2],
        TIME_BOUNDS[0],
        TIME_BOUNDS[1],
        TIME_BOUNDS[2],
        TIME_BOUNDS[3],
        SCAN_OPTIONS[0],
        SCAN_OPTIONS[1],
        Arg::new("raw", ArgKind::Token).token("RAW").optional(),
    ]),
];

/// `TLOG.COUNT prefix [tag [bounds]]`.
pub const COUNT_ARGS: &[Arg] = &[
    Arg::new("prefix", ArgKind::Key),
    Arg::new("flow", ArgKind::Block).optional().subargs(&[
        Arg::new("tag", ArgKind::String),
        TAG_FILTERS[0],
        TAG_FILTERS[1],
        TAG_FILTERS[2],
        TIME_BOUNDS[0],
        TIME_BOUNDS[1],
        TIME_BOUNDS[2],
        TIME_BOUNDS[3],
        SCAN_OPTIONS[0],
        SCAN_OPTIONS[1],
    ]),
];

/// Every command of the module, in the order of the command reference (docs/commands/).
pub static COMMANDS: &[&Spec] = &[
    &log::SPEC,
    &add::SPEC,
    &get::SPEC,
    &latest::SPEC,
    &count::SPEC,
    &tail::SPEC,
    &tags::SPEC,
    &del::SPEC,
    &purge::SPEC,
];

/// At most this many tags per record: a record's tags are written in one atomic command.
pub const MAX_TAGS: usize = 1024;

/// Validates the tags of a new record of `prefix` and drops repeats, keeping the first
/// occurrence's place. A tag must be UTF-8 (it is stored in the record's JSON), non-empty, not
/// `__all__`, and its flow must not be a key of a prefix nested under `<prefix>:flow` (see
/// [`keys::nested_key`]): `counter`, `msg:7`, `flow:x`, `x:counter` are refused.
pub fn new_record_tags<'a>(prefix: &[u8], raw: &[&'a [u8]]) -> Result<Vec<&'a str>> {
    if raw.len() > MAX_TAGS {
        return Err(Error::TooManyTags(MAX_TAGS));
    }
    let mut tags: Vec<&'a str> = Vec::with_capacity(raw.len());
    let mut seen = std::collections::HashSet::new();
    for &t in raw {
        let tag = std::str::from_utf8(t).map_err(|_| Error::NotUtf8("tag"))?;
        if tag.is_empty() {
            return Err(Error::EmptyTag);
        }
        if t == ALL_FLOW {
            return Err(Error::ReservedTag);
        }
        if let Some(n) = keys::nested_key(t) {
            return Err(Error::NestedTag {
                tag: t.to_vec(),
                nested: n.prefix_under(prefix),
                role: n.role,
                rest: n.rest.to_vec(),
            });
        }
        // A linear scan beats hashing for the usual handful of tags.
        let repeated = if raw.len() <= 16 { tags.contains(&tag) } else { !seen.insert(tag) };
        if !repeated {
            tags.push(tag);
        }
    }
    Ok(tags)
}

/// The text of a message, which must be UTF-8 to be stored in JSON.
pub fn message_text(raw: &[u8]) -> Result<&str> {
    std::str::from_utf8(raw).map_err(|_| Error::NotUtf8("message"))
}

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
    use crate::registry::config::{READ_SCAN_LIMIT, READ_WINDOW};
    use std::sync::atomic::Ordering;
    let window = usize::try_from(READ_WINDOW.load(Ordering::Relaxed)).unwrap_or(0);
    let limit = q.scan_limit.unwrap_or_else(|| u64::try_from(READ_SCAN_LIMIT.load(Ordering::Relaxed)).unwrap_or(0));
    Work::new(window, limit)
}

/// The ids a read returns, in reply order, the base flow to read their records through, and
/// how the scan ended. Every record key is ACL-checked while selecting, before the reply
/// starts.
pub fn select<'a>(ctx: crate::ffi::Ctx, req: &ReadRequest<'a>, work: &Work) -> Result<(Flow<'a>, Vec<i64>, Outcome)> {
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

/// At most this many records are read by one MGET.
const FETCH_BATCH: usize = 1000;

/// The records of a query without a tag filter, read with MGET in batches, in reply order,
/// and how the scan ended. `None` for a query with a tag filter, or if the server would not
/// run MGET for the module (see `Ctx::call_strings`): then the caller reads key by key. Every
/// record key is ACL-checked before the reply starts.
pub fn select_page(
    ctx: crate::ffi::Ctx,
    req: &ReadRequest<'_>,
    work: &Work,
) -> Result<Option<(Vec<Fetched>, Outcome)>> {
    let q = &req.query;
    if q.has_tag_filter() {
        return Ok(None);
    }
    let flow = Flow::open(ctx, req.prefix, req.tag)?;
    let limit = q.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return Ok(Some((Vec::new(), Outcome::DONE)));
    }
    let plan = query::plan(&flow, q, work.window)?;
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
        let mut ids = Vec::with_capacity(size);
        while ids.len() < size {
            match candidates.next_id() {
                Some(id) => ids.push(id),
                None => break,
            }
        }
        let Some(&batch_last) = ids.last() else { break };
        let Some((mut batch, refused)) = flow.fetch(&ids)? else {
            work.again_one_by_one();
            return Ok(None);
        };
        if q.has_time_bounds() {
            // Each record's time is checked: records of other clients may be out of order.
            batch.retain(|id, stored| q.admits(id, record::decode_ts(stored)));
        }
        // Records gone or outside the time bounds, and of those asked beyond a refused key.
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
    Ok(Some((batches, Outcome { end: End::Done, last })))
}

/// Replies with the records of [`select_page`] as an array. A page read whole by one MGET is
/// forwarded as MGET's reply in RAW form.
pub fn reply_page(reply: &Reply, batches: Vec<Fetched>, raw: bool) {
    if let [one] = batches.as_slice() {
        if raw && one.complete() && one.reply().is_some_and(|r| reply.forward(r)) {
            return;
        }
    }
    reply.array(batches.iter().map(Fetched::len).sum());
    // Each batch is freed once replied: the page is held once, not twice.
    for batch in batches {
        for (id, stored) in batch.records() {
            reply_record(reply, id, stored, raw);
        }
    }
}

/// WITHCURSOR: starts the reply `[cursor, result]`, the cursor 0 when the scan is complete.
pub fn reply_cursor(reply: &Reply, outcome: &Outcome) {
    reply.array(2);
    reply.int(outcome.cursor().unwrap_or(0));
}

/// Where a read without WITHCURSOR that found nothing before its scan limit goes on from.
pub fn scan_limit_error(work: &Work, q: &Query, outcome: &Outcome) -> Error {
    let at = outcome.last.unwrap_or(0);
    let resume = if q.asc { Resume::After(at) } else { Resume::Before(at) };
    Error::ScanLimit { passed: work.passed(), resume }
}

/// How many ids of the flow a query's bounds and tag filter admit, and how the scan ended.
/// Without a tag filter, by position (see [`query::count`]): cut short only where a bound falls
/// in a long run of entries its search cannot place.
pub fn count(ctx: crate::ffi::Ctx, req: &ReadRequest<'_>, work: &Work) -> Result<(usize, Outcome)> {
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

/// Opens the flows of the query's AND, OR and NOT tags and runs the streaming merge.
fn each_tag_match(
    base: &Flow<'_>,
    req: &ReadRequest<'_>,
    how: Matching,
    work: &Work,
    f: impl FnMut(i64) -> bool,
) -> Result<Outcome> {
    let open_all = |tags: &[Vec<u8>]| -> Result<Vec<Flow<'_>>> { tags.iter().map(|t| base.sibling(t)).collect() };
    let q = &req.query;
    let (and, or, not) = (open_all(&q.and)?, open_all(&q.or)?, open_all(&q.not)?);
    let src = Sources { base, base_is_all: req.tag == ALL_FLOW, and: &and, or: &or, not: &not };
    query::each_match(&src, q, how, work, f)
}

/// Replies with the records `ids` of `flow` (those that still exist), as an array.
pub fn reply_records(reply: &Reply, flow: &Flow<'_>, ids: &[i64], raw: bool) -> Result<()> {
    reply.array_postponed();
    let mut n = 0;
    for &id in ids {
        if flow.with_record_id(id, |stored| reply_record(reply, id, stored, raw))?.is_some() {
            n += 1;
        }
    }
    reply.set_array_len(n);
    Ok(())
}

/// Replies with one record: the stored JSON text if `raw`, otherwise a map (a flat
/// field/value array in RESP2) of `id`, `ts` (RFC 3339, or null if the record has none),
/// `message` (text, or compact JSON of a non-string message; null if absent) and `tags`.
pub fn reply_record(reply: &Reply, id: i64, stored: &[u8], raw: bool) {
    if raw {
        reply.bulk(stored);
        return;
    }
    let rec = record::decode(stored);
    reply.map(4);
    reply.bulk(b"id");
    reply.int(id);
    reply.bulk(b"ts");
    let mut buf = record::RFC3339_BUF;
    match rec.ts_micros {
        // A time outside the years 0000 to 9999 has no RFC 3339 form: null.
        Some(ts) => match record::rfc3339_into(ts, &mut buf) {
            Some(text) => reply.bulk(text),
            None => reply.null(),
        },
        None => reply.null(),
    }
    reply.bulk(b"message");
    match &rec.message {
        Some(m) => reply.bulk(m.as_bytes()),
        None => reply.null(),
    }
    reply.bulk(b"tags");
    reply.array(rec.tags.len());
    for t in rec.tags.iter() {
        reply.bulk(t.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keep_first_occurrence_order_without_repeats() {
        assert_eq!(new_record_tags(b"p", &[b"b", b"a", b"b", b"c", b"a"]).unwrap(), vec!["b", "a", "c"]);
        let many: Vec<Vec<u8>> = (0..40).map(|i| format!("t{}", i % 20).into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|v| v.as_slice()).collect();
        assert_eq!(new_record_tags(b"p", &refs).unwrap().len(), 20);
    }

    #[test]
    fn bad_tags_are_refused_with_coded_errors() {
        assert_eq!(new_record_tags(b"p", &[b"ok", b""]), Err(Error::EmptyTag));
        assert_eq!(new_record_tags(b"p", &[b"__all__"]), Err(Error::ReservedTag));
        assert_eq!(new_record_tags(b"p", &[b"\xff"]), Err(Error::NotUtf8("tag")));
        let too_many = vec![&b"t"[..]; MAX_TAGS + 1];
        assert_eq!(new_record_tags(b"p", &too_many), Err(Error::TooManyTags(MAX_TAGS)));
        assert_eq!(new_record_tags(b"p", &vec![&b"t"[..]; MAX_TAGS]).unwrap(), vec!["t"]);
        // NUL is just a byte of a tag.
        assert_eq!(new_record_tags(b"p", &[b"a\0b"]).unwrap(), vec!["a\0b"]);
    }

    #[test]
    fn tags_naming_keys_of_a_nested_prefix_are_refused() {
        let nested = |tag: &[u8], prefix: &[u8], role, rest: &[u8]| {
            Err(Error::NestedTag { tag: tag.to_vec(), nested: prefix.to_vec(), role, rest: rest.to_vec() })
        };
        assert_eq!(
            new_record_tags(b"a", &[b"ok", b"counter"]),
            nested(b"counter", b"a:flow", keys::Role::Counter, b"counter")
        );
        assert_eq!(
            new_record_tags(b"a", &[b"flow:__all__"]),
            nested(b"flow:__all__", b"a:flow", keys::Role::Flow, b"flow:__all__")
        );
        assert_eq!(new_record_tags(b"a", &[b"x:msg:5"]), nested(b"x:msg:5", b"a:flow:x", keys::Role::Record, b"msg:5"));
        assert_eq!(new_record_tags(b"", &[b"x:flow:y"]), nested(b"x:flow:y", b"flow:x", keys::Role::Flow, b"flow:y"));
        assert_eq!(
            new_record_tags(b"a", &[b"user:42", b"order:17", b"flow", b"workflow:x"]).unwrap(),
            vec!["user:42", "order:17", "flow", "workflow:x"]
        );
    }

    const ANY: Allowed = Allowed::GET;

    #[test]
    fn the_argument_after_the_prefix_is_always_a_tag() {
        let r = parse_read(&[b"p"], ANY).unwrap();
        assert_eq!((r.tag, r.query.raw), (ALL_FLOW, false));
        for word in [&b"RAW"[..], b"raw", b"LIMIT", b"__all__", b"ASC"] {
            let r = parse_read(&[b"p", word], ANY).unwrap();
            assert_eq!((r.tag, &r.query), (word, &Query::default()));
        }
        let r = parse_read(&[b"p", b"RAW", b"raw"], ANY).unwrap();
        assert_eq!((r.tag, r.query.raw), (&b"RAW"[..], true));
        let r = parse_read(&[b"p", b"LIMIT", b"LIMIT", b"3"], ANY).unwrap();
        assert_eq!((r.tag, r.query.limit), (&b"LIMIT"[..], Some(3)));
    }

    #[test]
    fn read_options_are_checked() {
        assert_eq!(parse_read(&[b"p", b"t", b"RAW", b"RAW"], ANY), Err(Error::RepeatedOption("RAW")));
        assert_eq!(parse_read(&[b"p", b"t", b"BOGUS"], ANY), Err(Error::Syntax));
        assert_eq!(parse_read(&[b"p", b""], ANY), Err(Error::EmptyTag));
    }

    #[test]
    fn syntax_lines_render_like_redis_io() {
        assert_eq!(log::SPEC.syntax(), "TLOG.LOG prefix message [tag [tag ...]]");
        assert_eq!(add::SPEC.syntax(), "TLOG.ADD prefix [JSON] [TTL seconds] [MAXLEN [= | ~] count] [MAXAGE [= | ~] seconds] MESSAGE message [tag [tag ...]]");
        assert_eq!(
            get::SPEC.syntax(),
            "TLOG.GET prefix [tag [AND numtags tag [tag ...]] [OR numtags tag [tag ...]] [NOT numtags tag [tag ...]] [LIMIT count] [ASC | DESC] [BEFORE before-id] [AFTER after-id] [SINCE since-time] [UNTIL until-time] [SCANLIMIT limit] [WITHCURSOR] [RAW]]"
        );
        assert_eq!(
            latest::SPEC.syntax(),
            "TLOG.LATEST prefix [tag [AND numtags tag [tag ...]] [OR numtags tag [tag ...]] [NOT numtags tag [tag ...]] [BEFORE before-id] [AFTER after-id] [SINCE since-time] [UNTIL until-time] [SCANLIMIT limit] [WITHCURSOR] [RAW]]"
        );
        assert_eq!(
            tail::SPEC.syntax(),
            "TLOG.TAIL prefix tag id [AND numtags tag [tag ...]] [OR numtags tag [tag ...]] [NOT numtags tag [tag ...]] [COUNT count] [BLOCK milliseconds] [SCANLIMIT limit] [WITHCURSOR] [RAW]"
        );
        assert_eq!(del::SPEC.syntax(), "TLOG.DEL prefix id [id ...]");
        assert_eq!(tags::SPEC.syntax(), "TLOG.TAGS prefix cursor [MATCH pattern] [COUNT count]");
        assert_eq!(count::SPEC.syntax(), "TLOG.COUNT prefix [tag [AND numtags tag [tag ...]] [OR numtags tag [tag ...]] [NOT numtags tag [tag ...]] [BEFORE before-id] [AFTER after-id] [SINCE since-time] [UNTIL until-time] [SCANLIMIT limit] [WITHCURSOR]]");
    }

    /// Each command's page in docs/commands/ and `COMMAND DOCS` come from these specs: the page
    /// must carry the command's syntax line, summary, version, complexity and flags exactly as
    /// the server reports them.
    #[test]
    fn command_pages_match_the_command_table() {
        const PAGES: &[(&str, &str)] = &[
            ("tlog.log", include_str!("../../docs/commands/tlog.log.md")),
            ("tlog.add", include_str!("../../docs/commands/tlog.add.md")),
            ("tlog.get", include_str!("../../docs/commands/tlog.get.md")),
            ("tlog.latest", include_str!("../../docs/commands/tlog.latest.md")),
            ("tlog.count", include_str!("../../docs/commands/tlog.count.md")),
            ("tlog.tail", include_str!("../../docs/commands/tlog.tail.md")),
            ("tlog.tags", include_str!("../../docs/commands/tlog.tags.md")),
            ("tlog.del", include_str!("../../docs/commands/tlog.del.md")),
            ("tlog.purge", include_str!("../../docs/commands/tlog.purge.md")),
        ];
        for spec in COMMANDS {
            let page = PAGES
                .iter()
                .find(|(name, _)| *name == spec.name)
                .map(|(_, page)| *page)
                .unwrap_or_else(|| panic!("no page docs/commands/{}.md", spec.name));
            let has_line = |want: &str| page.lines().any(|l| l.trim_end() == want);
            let file = format!("docs/commands/{}.md", spec.name);
            assert!(
                page.starts_with(&format!("# {}\n", spec.name.to_ascii_uppercase())),
                "{file} does not start with its title"
            );
            assert!(has_line(&format!("`{}`", spec.syntax())), "{file} lacks the syntax line `{}`", spec.syntax());
            assert!(has_line(spec.summary), "{file} lacks the summary line: {}", spec.summary);
            assert!(
                has_line(&format!("- **Available since:** {}", spec.since)),
                "{file} lacks the version {}",
                spec.since
            );
            assert!(
                has_line(&format!("- **Time complexity:** {}", spec.complexity)),
                "{file} lacks the complexity: {}",
                spec.complexity
            );
            assert!(has_line(&format!("- **Flags:** `{}`", spec.flags)), "{file} lacks the flags `{}`", spec.flags);
        }
        assert_eq!(PAGES.len(), COMMANDS.len(), "a page in docs/commands/ has no command");
    }
}

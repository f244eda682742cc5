//! `TLOG.TAGS prefix cursor [MATCH pattern] [COUNT count]`: the tag catalog of a prefix, paged
//! like SCAN, so a prefix with a million tags never blocks the server.

use super::{Arg, ArgKind, Spec};
use crate::error::{Error, Result};
use crate::ffi::{Ctx, Reply};
use crate::keys;
use crate::record;
use crate::store;

pub static SPEC: Spec = Spec {
    name: "tlog.tags",
    flags: "readonly",
    arity: -3,
    writes: false,
    summary: "Iterates the tags of a prefix with their record counts and newest record, like SCAN.",
    complexity:
        "O(1) for every call, O(N) for a complete iteration, where N is the number of keys in the database (as SCAN).",
    since: "0.1.0",
    args: &[
        Arg::new("prefix", ArgKind::Key),
        Arg::new("cursor", ArgKind::Integer),
        Arg::new("pattern", ArgKind::String).token("MATCH").optional(),
        Arg::new("count", ArgKind::Integer).token("COUNT").optional(),
    ],
    entry: crate::command_entry!(run),
};

/// The most work one call may ask of SCAN: a page must never block the server.
pub const MAX_COUNT: i64 = 10_000;

#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub prefix: &'a [u8],
    pub cursor: &'a [u8],
    pub pattern: &'a [u8],
    pub count: &'a [u8],
}

pub fn parse<'a>(args: &[&'a [u8]]) -> Result<Request<'a>> {
    let [prefix, cursor, opts @ ..] = args else {
        return Err(Error::Syntax);
    };
    // SCAN's cursor: an unsigned 64-bit integer.
    if cursor.is_empty()
        || cursor.len() > 20
        || !cursor.iter().all(u8::is_ascii_digit)
        || std::str::from_utf8(cursor).ok().and_then(|c| c.parse::<u64>().ok()).is_none()
    {
        return Err(Error::BadNumber("the cursor", "an unsigned integer (0 to start)"));
    }
    let mut req = Request { prefix, cursor, pattern: b"*", count: b"10" };
    let (mut seen_match, mut seen_count) = (false, false);
    let mut i = 0;
    while i < opts.len() {
        let value = opts.get(i + 1).copied().ok_or(Error::Syntax)?;
        if opts[i].eq_ignore_ascii_case(b"MATCH") {
            if seen_match {
                return Err(Error::RepeatedOption("MATCH"));
            }
            seen_match = true;
            req.pattern = value;
        } else if opts[i].eq_ignore_ascii_case(b"COUNT") {
            if seen_count {
                return Err(Error::RepeatedOption("COUNT"));
            }
            seen_count = true;
            keys::parse_i64(value)
                .filter(|&n| (1..=MAX_COUNT).contains(&n))
                .ok_or(Error::BadNumber("COUNT", "an integer from 1 to 10000"))?;
            req.count = value;
        } else {
            return Err(Error::Syntax);
        }
        i += 2;
    }
    Ok(req)
}

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse(args)?;
    let (next, page) = store::tags_page(ctx, req.prefix, req.cursor, req.pattern, req.count)?;
    let reply = Reply::new(ctx);
    reply.array(2);
    reply.bulk(&next);
    reply.array(page.len());
    let mut buf = record::RFC3339_BUF;
    for t in &page {
        reply.map(4);
        reply.bulk(b"tag");
        reply.bulk(&t.tag);
        reply.bulk(b"count");
        reply.int(i64::try_from(t.count).unwrap_or(i64::MAX));
        reply.bulk(b"newest-id");
        match t.newest_id {
            Some(id) => reply.int(id),
            None => reply.null(),
        }
        reply.bulk(b"newest-ts");
        match t.newest_ts.and_then(|ts| record::rfc3339_into(ts, &mut buf)) {
            Some(text) => reply.bulk(text),
            None => reply.null(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scan_style_arguments() {
        let r = parse(&[b"p", b"0"]).unwrap();
        assert_eq!((r.pattern, r.count), (&b"*"[..], &b"10"[..]));
        let r = parse(&[b"p", b"123", b"count", b"500", b"MATCH", b"user:*"]).unwrap();
        assert_eq!((r.cursor, r.pattern, r.count), (&b"123"[..], &b"user:*"[..], &b"500"[..]));
        assert_eq!(parse(&[b"p", b"x"]), Err(Error::BadNumber("the cursor", "an unsigned integer (0 to start)")));
        assert_eq!(
            parse(&[b"p", b"-1"]).unwrap_err(),
            Error::BadNumber("the cursor", "an unsigned integer (0 to start)")
        );
        assert_eq!(
            parse(&[b"p", b"18446744073709551616"]).unwrap_err(),
            Error::BadNumber("the cursor", "an unsigned integer (0 to start)")
        );
        assert_eq!(parse(&[b"p", b"0", b"COUNT", b"0"]), Err(Error::BadNumber("COUNT", "an integer from 1 to 10000")));
        assert_eq!(
            parse(&[b"p", b"0", b"COUNT", b"10001"]),
            Err(Error::BadNumber("COUNT", "an integer from 1 to 10000"))
        );
        assert_eq!(parse(&[b"p", b"0", b"MATCH"]), Err(Error::Syntax));
        assert_eq!(parse(&[b"p", b"0", b"MATCH", b"a", b"MATCH", b"b"]), Err(Error::RepeatedOption("MATCH")));
        assert_eq!(parse(&[b"p", b"0", b"LIMIT", b"1"]), Err(Error::Syntax));
    }
}

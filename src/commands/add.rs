//! `TLOG.ADD prefix [JSON] [TS time] [ATTRS object] [TTL seconds] [MAXLEN [= | ~] count]
//! [MAXAGE [= | ~] seconds] MESSAGE message [tag ...]`: logs a message with options. Options come first; `MESSAGE` ends them,
//! and everything after it is data (the message, then tags), as `STREAMS` ends XREAD's options.

use super::{message_text, new_record_tags, Arg, ArgKind, Spec};
use crate::error::{Error, Result};
use crate::ffi::{Ctx, Reply};
use crate::keys;
use crate::query::parse_time;
use crate::record::{self, JsonMessage, MAX_TTL};
use crate::store::retention::{Limits, APPROX_BATCH};
use crate::store::{self, NewRecord};

pub static SPEC: Spec = Spec {
    name: "tlog.add",
    flags: "write deny-oom",
    arity: -4,
    writes: true,
    summary: "Logs a message, text or any JSON value, with options and tags; returns the new record's id.",
    complexity: "O(T + M + A + E) where T is the number of tags, M the size of a JSON message, A the size of ATTRS and E the number of records MAXLEN or MAXAGE removes (at most 100 with ~).",
    since: "0.1.0",
    args: &[
        Arg::new("prefix", ArgKind::Key),
        Arg::new("json", ArgKind::Token).token("JSON").optional(),
        Arg::new("time", ArgKind::String).token("TS").optional(),
        Arg::new("object", ArgKind::String).token("ATTRS").optional(),
        Arg::new("seconds", ArgKind::Integer).token("TTL").optional(),
        Arg::new("maxlen", ArgKind::Block).token("MAXLEN").optional().subargs(&[
            Arg::new("trim", ArgKind::OneOf).optional().subargs(&[
                Arg::new("equal", ArgKind::Token).token("="),
                Arg::new("approximately", ArgKind::Token).token("~"),
            ]),
            Arg::new("count", ArgKind::Integer),
        ]),
        Arg::new("maxage", ArgKind::Block).token("MAXAGE").optional().subargs(&[
            Arg::new("trim", ArgKind::OneOf).optional().subargs(&[
                Arg::new("equal", ArgKind::Token).token("="),
                Arg::new("approximately", ArgKind::Token).token("~"),
            ]),
            Arg::new("seconds", ArgKind::Integer),
        ]),
        Arg::new("message", ArgKind::String).token("MESSAGE"),
        Arg::new("tag", ArgKind::String).optional().multiple(),
    ],
    entry: crate::command_entry!(run),
};

/// The largest MAXLEN.
pub const MAX_MAXLEN: i64 = 1_000_000_000_000;

#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub prefix: &'a [u8],
    pub json: bool,
    /// The record's time, in microseconds, instead of the clock's.
    pub ts: Option<i64>,
    /// The record's attributes, as given (validated by [`run`]).
    pub attrs: Option<&'a [u8]>,
    /// The record's key expires this many seconds after the record's time.
    pub ttl: Option<i64>,
    /// Keep at most this many records in the prefix.
    pub maxlen: Option<i64>,
    /// Keep no record older than this many seconds.
    pub maxage: Option<i64>,
    /// `~` was given: the limits may remove at most `APPROX_BATCH` records in this call.
    pub approx: bool,
    pub message: &'a [u8],
    pub tags: &'a [&'a [u8]],
}

pub fn parse<'a>(args: &'a [&'a [u8]]) -> Result<Request<'a>> {
    let (prefix, mut rest) = args.split_first().ok_or(Error::Syntax)?;
    let mut json = false;
    let mut ts = None;
    let mut attrs = None;
    let mut ttl = None;
    let mut maxlen = None;
    let mut maxage = None;
    let mut approx = false;
    loop {
        let (opt, tail) = rest.split_first().ok_or(Error::Syntax)?;
        rest = tail;
        if opt.eq_ignore_ascii_case(b"MESSAGE") {
            break;
        } else if opt.eq_ignore_ascii_case(b"JSON") {
            if json {
                return Err(Error::RepeatedOption("JSON"));
            }
            json = true;
        } else if opt.eq_ignore_ascii_case(b"TS") {
            if ts.is_some() {
                return Err(Error::RepeatedOption("TS"));
            }
            let (v, tail) = rest.split_first().ok_or(Error::Syntax)?;
            rest = tail;
            // Record times are not negative: other readers print them as dates from 1970 on.
            let t = parse_time(v)?;
            if t < 0 {
                return Err(Error::TsBefore1970);
            }
            ts = Some(t);
        } else if opt.eq_ignore_ascii_case(b"ATTRS") {
            if attrs.is_some() {
                return Err(Error::RepeatedOption("ATTRS"));
            }
            let (v, tail) = rest.split_first().ok_or(Error::Syntax)?;
            rest = tail;
            attrs = Some(*v);
        } else if opt.eq_ignore_ascii_case(b"TTL") {
            if ttl.is_some() {
                return Err(Error::RepeatedOption("TTL"));
            }
            let (v, tail) = rest.split_first().ok_or(Error::Syntax)?;
            rest = tail;
            ttl = Some(
                keys::parse_i64(v)
                    .filter(|&s| (1..=MAX_TTL).contains(&s))
                    .ok_or(Error::BadNumber("TTL", "seconds from 1 to 3153600000 (100 years)"))?,
            );
        } else if opt.eq_ignore_ascii_case(b"MAXLEN") || opt.eq_ignore_ascii_case(b"MAXAGE") {
            let is_len = opt.eq_ignore_ascii_case(b"MAXLEN");
            let (name, slot, max, what) = if is_len {
                ("MAXLEN", &mut maxlen, MAX_MAXLEN, "a count of records from 1 to 1000000000000")
            } else {
                ("MAXAGE", &mut maxage, MAX_TTL, "seconds from 1 to 3153600000 (100 years)")
            };
            if slot.is_some() {
                return Err(Error::RepeatedOption(name));
            }
            let (mut v, mut tail) = rest.split_first().ok_or(Error::Syntax)?;
            if *v == b"~" || *v == b"=" {
                approx |= *v == b"~";
                (v, tail) = tail.split_first().ok_or(Error::Syntax)?;
            }
            rest = tail;
            *slot = Some(keys::parse_i64(v).filter(|&n| (1..=max).contains(&n)).ok_or(Error::BadNumber(name, what))?);
        } else {
            return Err(Error::Syntax);
        }
    }
    let (message, tags) = rest.split_first().ok_or(Error::Syntax)?;
    Ok(Request { prefix, json, ts, attrs, ttl, maxlen, maxage, approx, message, tags })
}

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse(args)?;
    store::check_prefix(req.prefix)?;
    let text = message_text(req.message)?;
    let message = if req.json { JsonMessage::json(text)? } else { JsonMessage::text(text) };
    let tags = new_record_tags(req.prefix, req.tags)?;
    let attrs = match req.attrs {
        Some(a) => Some(record::attrs(std::str::from_utf8(a).map_err(|_| Error::NotUtf8("ATTRS"))?)?),
        None => None,
    };
    let limits =
        Limits { max_records: req.maxlen.map(|n| n as u64), max_age_micros: req.maxage.map(|s| s * 1_000_000) };
    let evict_cap = if req.approx { APPROX_BATCH } else { usize::MAX };
    let rec = NewRecord {
        prefix: req.prefix,
        message: &message,
        tags: &tags,
        ts: req.ts,
        attrs: attrs.as_deref(),
        ttl_secs: req.ttl,
        limits,
        evict_cap,
    };
    let id = store::append(ctx, &rec)?;
    Reply::new(ctx).int(id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_after_message_is_data() {
        let args: &[&[u8]] = &[b"p", b"json", b"MESSAGE", b"JSON", b"MESSAGE", b"TTL"];
        let r = parse(args).unwrap();
        assert!(r.json);
        assert_eq!(r.message, b"JSON");
        assert_eq!(r.tags, &[&b"MESSAGE"[..], b"TTL"]);
        let args: &[&[u8]] = &[b"p", b"TTL", b"60", b"JSON", b"MESSAGE", b"1", b"TTL"];
        let r = parse(args).unwrap();
        assert_eq!((r.ttl, r.json, r.message, r.tags), (Some(60), true, &b"1"[..], &[&b"TTL"[..]][..]));
        let args: &[&[u8]] = &[b"p", b"MESSAGE", b"x"];
        let r = parse(args).unwrap();
        assert!(!r.json && r.tags.is_empty());
        assert_eq!((r.maxlen, r.maxage, r.approx), (None, None, false));
        let args: &[&[u8]] = &[b"p", b"maxlen", b"~", b"10", b"MAXAGE", b"=", b"60", b"MESSAGE", b"x"];
        let r = parse(args).unwrap();
        assert_eq!((r.maxlen, r.maxage, r.approx), (Some(10), Some(60), true));
        let args: &[&[u8]] = &[b"p", b"MAXAGE", b"5", b"MESSAGE", b"x"];
        assert_eq!(parse(args).unwrap().maxage, Some(5));
    }

    #[test]
    fn ts_takes_the_times_since_and_until_take_and_attrs_its_text() {
        let args: &[&[u8]] = &[b"p", b"ts", b"1700000000.25", b"ATTRS", br#"{"a":1}"#, b"MESSAGE", b"m"];
        let r = parse(args).unwrap();
        assert_eq!((r.ts, r.attrs), (Some(1_700_000_000_250_000), Some(&br#"{"a":1}"#[..])));
        for (t, micros) in [
            (&b"1700000000"[..], 1_700_000_000_000_000),
            (b"1700000000.000001", 1_700_000_000_000_001),
            (b"2023-11-14T22:13:20.25Z", 1_700_000_000_250_000),
            (b"2023-11-14T23:13:20+01:00", 1_700_000_000_000_000),
        ] {
            assert_eq!(parse(&[b"p", b"TS", t, b"MESSAGE", b"m"]).unwrap().ts, Some(micros));
        }
        let r = parse(&[b"p", b"MESSAGE", b"m"]).unwrap();
        assert_eq!((r.ts, r.attrs), (None, None));
        // After MESSAGE they are data.
        let r = parse(&[b"p", b"MESSAGE", b"TS", b"ATTRS"]).unwrap();
        assert_eq!((r.ts, r.attrs, r.message, r.tags), (None, None, &b"TS"[..], &[&b"ATTRS"[..]][..]));
    }

    #[test]
    fn bad_option_lists_are_refused() {
        let cases: &[(&[&[u8]], Error)] = &[
            (&[b"p", b"JSON", b"JSON", b"MESSAGE", b"1"], Error::RepeatedOption("JSON")),
            (&[b"p", b"BOGUS", b"MESSAGE", b"1"], Error::Syntax),
            (&[b"p", b"JSON", b"1"], Error::Syntax),
            (&[b"p", b"MESSAGE"], Error::Syntax),
            (&[b"p"], Error::Syntax),
            (
                &[b"p", b"TTL", b"0", b"MESSAGE", b"m"],
                Error::BadNumber("TTL", "seconds from 1 to 3153600000 (100 years)"),
            ),
            (
                &[b"p", b"TTL", b"3153600001", b"MESSAGE", b"m"],
                Error::BadNumber("TTL", "seconds from 1 to 3153600000 (100 years)"),
            ),
            (&[b"p", b"TTL", b"1", b"TTL", b"1", b"MESSAGE", b"m"], Error::RepeatedOption("TTL")),
            (&[b"p", b"TTL"], Error::Syntax),
            (&[b"p", b"TS", b"yesterday", b"MESSAGE", b"m"], Error::BadTime("yesterday".into())),
            (&[b"p", b"TS", b"-1", b"MESSAGE", b"m"], Error::TsBefore1970),
            (&[b"p", b"TS", b"1969-12-31T23:59:59.999999Z", b"MESSAGE", b"m"], Error::TsBefore1970),
            (&[b"p", b"TS", b"2023-11-14T22:13:20", b"MESSAGE", b"m"], Error::BadTime("2023-11-14T22:13:20".into())),
            (&[b"p", b"TS", b"1", b"TS", b"1", b"MESSAGE", b"m"], Error::RepeatedOption("TS")),
            (&[b"p", b"TS"], Error::Syntax),
            (&[b"p", b"ATTRS", b"{}", b"ATTRS", b"{}", b"MESSAGE", b"m"], Error::RepeatedOption("ATTRS")),
            (&[b"p", b"ATTRS"], Error::Syntax),
            (
                &[b"p", b"MAXLEN", b"0", b"MESSAGE", b"m"],
                Error::BadNumber("MAXLEN", "a count of records from 1 to 1000000000000"),
            ),
            (
                &[b"p", b"MAXLEN", b"~", b"MESSAGE", b"m"],
                Error::BadNumber("MAXLEN", "a count of records from 1 to 1000000000000"),
            ),
            (&[b"p", b"MAXLEN", b"~"], Error::Syntax),
            (&[b"p", b"MAXLEN", b"1", b"MAXLEN", b"2", b"MESSAGE", b"m"], Error::RepeatedOption("MAXLEN")),
            (
                &[b"p", b"MAXAGE", b"-1", b"MESSAGE", b"m"],
                Error::BadNumber("MAXAGE", "seconds from 1 to 3153600000 (100 years)"),
            ),
        ];
        for (args, err) in cases {
            assert_eq!(parse(args).unwrap_err(), *err);
        }
    }
}

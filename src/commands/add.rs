//! `TLOG.ADD prefix [JSON] MESSAGE message [tag ...]`: logs a message with options. Options
//! come first; `MESSAGE` ends them, and everything after it is data (the message, then tags),
//! as `STREAMS` ends XREAD's options. Later options (TTL, an explicit time) join `JSON` there.

use super::{message_text, new_record_tags, Arg, ArgKind, Spec};
use crate::error::{Error, Result};
use crate::ffi::{Ctx, Reply};
use crate::record::JsonMessage;
use crate::keys;
use crate::store::{self, NewRecord};

pub static SPEC: Spec = Spec {
    name: "tlog.add",
    flags: "write deny-oom",
    arity: -4,
    writes: true,
    summary: "Logs a message, text or any JSON value, with options and tags; returns the new record's id.",
    complexity: "O(T + M) where T is the number of tags and M the size of a JSON message.",
    since: "0.1.0",
    args: &[
        Arg::new("prefix", ArgKind::Key),
        Arg::new("json", ArgKind::Token).token("JSON").optional(),
        Arg::new("seconds", ArgKind::Integer).token("TTL").optional(),
        Arg::new("message", ArgKind::String).token("MESSAGE"),
        Arg::new("tag", ArgKind::String).optional().multiple(),
    ],
    handler: run,
};

/// The longest TTL: 100 years, far from any overflow of milliseconds.
pub const MAX_TTL: i64 = 100 * 365 * 24 * 3600;

#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub prefix: &'a [u8],
    pub json: bool,
    /// The record's key expires this many seconds after the record's time.
    pub ttl: Option<i64>,
    pub message: &'a [u8],
    pub tags: &'a [&'a [u8]],
}

pub fn parse<'a>(args: &'a [&'a [u8]]) -> Result<Request<'a>> {
    let (prefix, mut rest) = args.split_first().ok_or(Error::Syntax)?;
    let mut json = false;
    let mut ttl = None;
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
        } else if opt.eq_ignore_ascii_case(b"TTL") {
            if ttl.is_some() {
                return Err(Error::RepeatedOption("TTL"));
            }
            let (v, tail) = rest.split_first().ok_or(Error::Syntax)?;
            rest = tail;
            ttl = Some(keys::parse_i64(v).filter(|&s| (1..=MAX_TTL).contains(&s)).ok_or(Error::BadNumber("TTL", "seconds from 1 to 3153600000 (100 years)"))?);
        } else {
            return Err(Error::Syntax);
        }
    }
    let (message, tags) = rest.split_first().ok_or(Error::Syntax)?;
    Ok(Request { prefix, json, ttl, message, tags })
}

pub fn run(ctx: Ctx, args: &[&[u8]]) -> Result<()> {
    let req = parse(args)?;
    let text = message_text(req.message)?;
    let message = if req.json { JsonMessage::json(text)? } else { JsonMessage::text(text) };
    let tags = new_record_tags(req.tags)?;
    let rec = NewRecord { prefix: req.prefix, message: &message, tags: &tags, ttl_secs: req.ttl };
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
    }

    #[test]
    fn bad_option_lists_are_refused() {
        let cases: &[(&[&[u8]], Error)] = &[
            (&[b"p", b"JSON", b"JSON", b"MESSAGE", b"1"], Error::RepeatedOption("JSON")),
            (&[b"p", b"BOGUS", b"MESSAGE", b"1"], Error::Syntax),
            (&[b"p", b"JSON", b"1"], Error::Syntax),
            (&[b"p", b"MESSAGE"], Error::Syntax),
            (&[b"p"], Error::Syntax),
            (&[b"p", b"TTL", b"0", b"MESSAGE", b"m"], Error::BadNumber("TTL", "seconds from 1 to 3153600000 (100 years)")),
            (&[b"p", b"TTL", b"3153600001", b"MESSAGE", b"m"], Error::BadNumber("TTL", "seconds from 1 to 3153600000 (100 years)")),
            (&[b"p", b"TTL", b"1", b"TTL", b"1", b"MESSAGE", b"m"], Error::RepeatedOption("TTL")),
            (&[b"p", b"TTL"], Error::Syntax),
        ];
        for (args, err) in cases {
            assert_eq!(parse(args).unwrap_err(), *err);
        }
    }
}

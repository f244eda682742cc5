//! The one error type of the module. Every message starts with its RESP error code, so that
//! clients can branch on the code (`ERR`, `WRONGTYPE`, `NOPERM`) and people can read the rest.

use std::fmt;

use crate::keys::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// `ERR syntax error`, as Redis says it for an unknown or misplaced token.
    Syntax,
    /// The same option given twice.
    RepeatedOption(&'static str),
    /// Options that exclude each other.
    ConflictingOptions(&'static str, &'static str),
    /// An option's value is not what it takes: (option, what it takes).
    BadNumber(&'static str, &'static str),
    /// A time that is neither unix seconds nor RFC 3339 with an offset.
    BadTime(String),
    /// A lower bound above the upper one: the rule, e.g. "AFTER must be below BEFORE".
    InvertedRange(&'static str),
    /// A message given as JSON that does not parse.
    InvalidJson(String),
    /// ATTRS that is not a JSON object: why it does not parse, if it does not.
    BadAttrs(Option<String>),
    /// A TS before the prefix's newest record's time (microseconds).
    TsBeforeNewest(i64),
    /// A TS more than `MAX_CLOCK_LEAD_MICROS` ahead of the server's clock.
    TsAhead,
    /// A TS whose TTL has run out already.
    TsExpired,
    /// TS given where none of the first this many entries of `__all__` is a record with a time.
    TsUnchecked(usize),
    /// A TS before the unix epoch.
    TsBefore1970,
    /// A TS older than a limit on age allows: the limit's name.
    TsTooOld(&'static str),
    /// Message or tag bytes that are not UTF-8 (JSON can only hold text).
    NotUtf8(&'static str),
    EmptyTag,
    ReservedTag,
    /// A tag whose flow would be a key of a prefix nested under `<prefix>:flow` (see
    /// `keys::nested_key`): the tag, the nested prefix, and the key's role and name there.
    NestedTag {
        tag: Vec<u8>,
        nested: Vec<u8>,
        role: Role,
        rest: Vec<u8>,
    },
    /// A prefix with a `flow` segment: its keys would be flows of `outer` (`None`: of no
    /// prefix, as for `:flow`; see `keys::flow_segment_outer`).
    FlowPrefix {
        prefix: Vec<u8>,
        outer: Option<Vec<u8>>,
    },
    TooManyTags(usize),
    /// The counter holds something that is not an integer (INCR's message).
    CounterNotInteger,
    /// The counter is at the largest id (INCR's message).
    CounterOverflow,
    /// A key holds another type than the layout expects (the standard message).
    WrongType,
    /// The caller's ACL user may not touch a key the command derives from the prefix.
    NoPerm {
        key: Vec<u8>,
        write: bool,
    },
    /// The caller's ACL user may not publish to a channel the command derives from the prefix.
    NoPermChannel(Vec<u8>),
    /// The count of a tag list (`AND numtags ...`) is not an integer from 1 to the maximum:
    /// (option, maximum).
    NumTags(&'static str, usize),
    /// Cluster mode and a prefix whose keys would spread over several slots.
    NeedsHashTag,
    /// The module was asked for an API the server does not have.
    Unsupported(&'static str),
    /// A write refused while TLOG.PURGE empties the prefix.
    Purging,
    /// A read stopped at its scan limit with nothing to return: how many ids it passed over,
    /// and how to go on from where it stopped.
    ScanLimit {
        passed: u64,
        resume: Resume,
    },
    /// As [`Error::ScanLimit`], where MATCH's glob steps for the call ran out instead.
    MatchSteps {
        passed: u64,
        resume: Resume,
    },
    /// The first record of a call needs more glob steps than a call may spend: its id.
    MatchTooCostly(i64),
    /// A message made elsewhere, starting with its code.
    Message(String),
    /// A bug: reached only if an invariant is broken. Never aborts the server.
    Internal(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax => f.write_str("ERR syntax error"),
            Error::RepeatedOption(opt) => write!(f, "ERR option {opt} given more than once"),
            Error::ConflictingOptions(a, b) => {
                write!(f, "ERR options {a} and {b} cannot be used together")
            }
            Error::BadNumber(opt, what) => write!(f, "ERR {opt} needs {what}"),
            Error::BadTime(t) => write!(
                f,
                "ERR invalid time '{}': use unix seconds in decimal (at most 12 digits before the point, any after it, kept to the microsecond; a leading '-' but no '+' or exponent) or RFC 3339 with an offset",
                t.replace(['\r', '\n'], " ")
            ),
            Error::InvertedRange(rule) => write!(f, "ERR {rule}"),
            Error::InvalidJson(why) => write!(f, "ERR message is not valid JSON: {why}"),
            Error::BadAttrs(None) => f.write_str("ERR ATTRS needs a JSON object"),
            Error::BadAttrs(Some(why)) => write!(f, "ERR ATTRS needs a JSON object: {why}"),
            Error::TsBeforeNewest(newest) => write!(
                f,
                "ERR TS is before the newest record's time {}: times never decrease within a prefix",
                crate::record::rfc3339_text(*newest)
            ),
            Error::TsAhead => f.write_str(
                "ERR TS is more than 1 hour ahead of the server's clock: every later record's time would be held there",
            ),
            Error::TsExpired => f.write_str("ERR TS plus TTL is already past: the record would expire on arrival"),
            Error::TsBefore1970 => f.write_str("ERR TS is before 1970-01-01T00:00:00Z: record times are not negative"),
            Error::TsUnchecked(n) => write!(
                f,
                "ERR TS cannot be checked: none of the newest {n} entries of __all__ is a record with a time, so TS could be before the newest record's; add without TS, or remove those entries"
            ),
            Error::TsTooOld(limit) => {
                write!(f, "ERR TS is older than {limit} keeps: the record would be removed on arrival")
            }
            Error::NotUtf8(what) => write!(f, "ERR {what} is not valid UTF-8"),
            Error::EmptyTag => f.write_str("ERR tag must not be empty"),
            Error::ReservedTag => {
                f.write_str("ERR tag '__all__' is reserved: every record is in it already")
            }
            Error::NestedTag { tag, nested, role, rest } => {
                write!(f, "ERR tag '{}' would name a key of the prefix '{}': its ", printable(tag), printable(nested))?;
                match role {
                    Role::Counter => f.write_str("counter"),
                    Role::Archive => f.write_str("archive"),
                    Role::Record => write!(f, "record {}", printable(rest.strip_prefix(b"msg:").unwrap_or(rest))),
                    Role::Flow => write!(f, "flow '{}'", printable(rest.strip_prefix(b"flow:").unwrap_or(rest))),
                }
            }
            Error::FlowPrefix { prefix, outer } => {
                write!(f, "ERR prefix '{}' has a 'flow' segment", printable(prefix))?;
                match outer {
                    None => f.write_str(", which tlog refuses in every prefix"),
                    Some(outer) if outer.is_empty() => f.write_str(": its keys would be flows of the empty prefix"),
                    Some(outer) => write!(f, ": its keys would be flows of the prefix '{}'", printable(outer)),
                }
            }
            Error::TooManyTags(max) => write!(f, "ERR too many tags (at most {max})"),
            Error::CounterNotInteger => f.write_str("ERR value is not an integer or out of range"),
            Error::CounterOverflow => f.write_str("ERR increment or decrement would overflow"),
            Error::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            Error::NoPerm { key, write } => write!(
                f,
                "NOPERM this user has no permissions to {} the '{}' key",
                if *write { "write" } else { "read" },
                printable(key)
            ),
            Error::NoPermChannel(channel) => write!(
                f,
                "NOPERM this user has no permissions to access the '{}' channel",
                printable(channel)
            ),
            Error::NumTags(opt, max) => write!(f, "ERR {opt} numtags must be an integer from 1 to {max}"),
            Error::NeedsHashTag => f.write_str(
                "ERR in cluster mode the prefix needs a hash tag, e.g. '{app}' instead of 'app', so that all its keys are in one slot",
            ),
            Error::Unsupported(what) => write!(f, "ERR this server lacks {what}"),
            Error::Internal(what) => write!(f, "ERR internal error: {what}"),
            Error::Purging => f.write_str("ERR TLOG.PURGE of this prefix is running; write again once it has returned"),
            Error::ScanLimit { passed, resume } | Error::MatchSteps { passed, resume } => {
                let how = "or use WITHCURSOR, or SCANLIMIT 0 for no limit";
                if matches!(self, Error::ScanLimit { .. }) {
                    f.write_str("ERR scan limit reached: ")?;
                } else {
                    write!(f, "ERR MATCH step limit reached: the pattern took {} glob steps; ", crate::filter::MATCH_STEPS)?;
                }
                match resume {
                    Resume::Before(id) => write!(f, "{passed} ids passed over without a match; continue with BEFORE {id} (in place of any BEFORE given), {how}"),
                    Resume::After(id) => write!(f, "{passed} ids passed over without a match; continue with AFTER {id} (in place of any AFTER given), {how}"),
                    Resume::From(id) => write!(f, "{passed} ids passed over without a match; continue from id {id}, {how}"),
                    Resume::Count { before, counted } => write!(
                        f,
                        "{passed} ids scanned, {counted} counted; count the rest with BEFORE {before} (in place of any BEFORE given) and add {counted}, {how}"
                    ),
                }
            }
            Error::MatchTooCostly(id) => write!(
                f,
                "ERR MATCH pattern too costly for the message at id {id}: it needs more than {} glob steps; use a pattern with fewer '*', '?' and classes, or SCANLIMIT 0 for no limit",
                crate::filter::MATCH_STEPS
            ),
            Error::Message(m) => f.write_str(m),
        }
    }
}

/// Where a read that stopped at its scan limit goes on from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// The same query with `BEFORE id` (newest first).
    Before(i64),
    /// The same query with `AFTER id` (oldest first).
    After(i64),
    /// TLOG.TAIL from this id.
    From(i64),
    /// TLOG.COUNT: the rest is counted with `BEFORE before`, to add to `counted`.
    Count { before: i64, counted: u64 },
}

/// A key name fit for a one-line error: lossy UTF-8, line breaks blanked.
fn printable(key: &[u8]) -> String {
    String::from_utf8_lossy(key).replace(['\r', '\n'], " ")
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_starts_with_its_resp_code() {
        let all = [
            Error::Syntax,
            Error::RepeatedOption("JSON"),
            Error::ConflictingOptions("A", "B"),
            Error::InvalidJson("x".into()),
            Error::BadAttrs(None),
            Error::BadAttrs(Some("x".into())),
            Error::TsBeforeNewest(1),
            Error::TsAhead,
            Error::TsExpired,
            Error::TsUnchecked(128),
            Error::TsBefore1970,
            Error::TsTooOld("MAXAGE"),
            Error::NotUtf8("tag"),
            Error::EmptyTag,
            Error::ReservedTag,
            Error::TooManyTags(3),
            Error::NestedTag {
                tag: b"x:counter".to_vec(),
                nested: b"a:flow:x".to_vec(),
                role: Role::Counter,
                rest: b"counter".to_vec(),
            },
            Error::FlowPrefix { prefix: b"a:flow\r\n".to_vec(), outer: Some(b"a".to_vec()) },
            Error::FlowPrefix { prefix: b":flow".to_vec(), outer: None },
            Error::CounterNotInteger,
            Error::CounterOverflow,
            Error::WrongType,
            Error::NoPerm { key: b"a:counter".to_vec(), write: true },
            Error::NoPermChannel(b"a:log-records:x".to_vec()),
            Error::NumTags("AND", 1024),
            Error::Unsupported("x"),
            Error::Internal("x"),
            Error::NeedsHashTag,
            Error::BadNumber("LIMIT", "x"),
            Error::BadTime("x".into()),
            Error::InvertedRange("A must be below B"),
            Error::ScanLimit { passed: 10, resume: Resume::Before(5) },
            Error::ScanLimit { passed: 10, resume: Resume::After(5) },
            Error::ScanLimit { passed: 10, resume: Resume::From(5) },
            Error::ScanLimit { passed: 10, resume: Resume::Count { before: 5, counted: 3 } },
            Error::MatchSteps { passed: 10, resume: Resume::Before(5) },
            Error::MatchTooCostly(5),
        ];
        for e in all {
            let s = e.to_string();
            let code = s.split(' ').next().unwrap_or("");
            assert!(["ERR", "WRONGTYPE", "NOPERM"].contains(&code), "{s}");
            assert!(!s.contains('\n') && !s.contains('\r'), "{s}");
        }
    }

    /// A continuation can be followed on a call that had the bound already: adding a second
    /// one would be refused (`option BEFORE given more than once`).
    #[test]
    fn continuations_replace_the_bound_given() {
        let e = |resume| Error::ScanLimit { passed: 2000, resume }.to_string();
        assert_eq!(e(Resume::Before(5)), "ERR scan limit reached: 2000 ids passed over without a match; continue with BEFORE 5 (in place of any BEFORE given), or use WITHCURSOR, or SCANLIMIT 0 for no limit");
        assert!(e(Resume::After(5)).contains("continue with AFTER 5 (in place of any AFTER given), "));
        assert!(e(Resume::Count { before: 5, counted: 3 })
            .contains("count the rest with BEFORE 5 (in place of any BEFORE given) and add 3, "));
    }

    #[test]
    fn colliding_names_say_which_key_they_would_be() {
        let nested = |tag: &[u8], nested: &[u8], role, rest: &[u8]| {
            Error::NestedTag { tag: tag.to_vec(), nested: nested.to_vec(), role, rest: rest.to_vec() }.to_string()
        };
        assert_eq!(
            nested(b"x:counter", b"a:flow:x", Role::Counter, b"counter"),
            "ERR tag 'x:counter' would name a key of the prefix 'a:flow:x': its counter"
        );
        assert_eq!(
            nested(b"archive", b"flow", Role::Archive, b"archive"),
            "ERR tag 'archive' would name a key of the prefix 'flow': its archive"
        );
        assert_eq!(
            nested(b"msg:7", b"a:flow", Role::Record, b"msg:7"),
            "ERR tag 'msg:7' would name a key of the prefix 'a:flow': its record 7"
        );
        assert_eq!(
            nested(b"flow:__all__", b"a:flow", Role::Flow, b"flow:__all__"),
            "ERR tag 'flow:__all__' would name a key of the prefix 'a:flow': its flow '__all__'"
        );
        let prefix = |p: &[u8], o: Option<&[u8]>| {
            Error::FlowPrefix { prefix: p.to_vec(), outer: o.map(<[u8]>::to_vec) }.to_string()
        };
        assert_eq!(
            prefix(b"a:flow:b", Some(b"a")),
            "ERR prefix 'a:flow:b' has a 'flow' segment: its keys would be flows of the prefix 'a'"
        );
        assert_eq!(
            prefix(b"flow", Some(b"")),
            "ERR prefix 'flow' has a 'flow' segment: its keys would be flows of the empty prefix"
        );
        assert_eq!(
            prefix(b":flow:x", None),
            "ERR prefix ':flow:x' has a 'flow' segment, which tlog refuses in every prefix"
        );
    }

    #[test]
    fn channel_noperm_names_the_channel_as_redis_does() {
        let e = Error::NoPermChannel(b"app:log-records:secret".to_vec());
        assert_eq!(e.to_string(), "NOPERM this user has no permissions to access the 'app:log-records:secret' channel");
    }

    #[test]
    fn noperm_names_the_key_and_the_access() {
        let e = Error::NoPerm { key: b"app:counter".to_vec(), write: true };
        assert_eq!(e.to_string(), "NOPERM this user has no permissions to write the 'app:counter' key");
    }
}

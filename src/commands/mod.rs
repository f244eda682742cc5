//! One file per command: argv -> typed request (pure, unit-tested) -> store -> reply. The
//! commands are listed once, in `commands!` below: registration, `COMMAND DOCS`, dispatch
//! and the docs test all read that list. Adding a command is one new file and its name there
//! (and its page in docs/commands/).
//!
//! Shared here: tag and message validation of new records. `spec` holds the argument lists
//! the read commands share, `read` their request parsing and selection, `reply` their replies.

use crate::error::{Error, Result};
use crate::keys::{self, ALL_FLOW};
use crate::record::MAX_TAGS;

mod read;
mod reply;
mod spec;

pub use read::{
    count, count_buckets, cut_error, parse_read, scan_limit_error, scan_matches, select, select_page, work_for,
    ReadRequest,
};
pub use reply::{reply_cursor, reply_page, reply_record, reply_records};
pub use spec::{Arg, ArgKind, Spec, COUNT_ARGS, GET_ARGS, LATEST_ARGS, RECORD_FILTERS, SCAN_OPTIONS, TAG_FILTERS};

/// Declares each command's module and lists its [`Spec`] in [`COMMANDS`].
macro_rules! commands {
    ($($name:ident),* $(,)?) => {
        $(pub mod $name;)*

        /// Every command of the module, in the order of the command reference (docs/commands/).
        pub static COMMANDS: &[&Spec] = &[$(&$name::SPEC),*];
    };
}

commands!(log, add, get, latest, count, tail, tags, del, purge);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Allowed, Query};

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
        assert_eq!(add::SPEC.syntax(), "TLOG.ADD prefix [JSON] [TS time] [ATTRS object] [TTL seconds] [MAXLEN [= | ~] count] [MAXAGE [= | ~] seconds] MESSAGE message [tag [tag ...]]");
        assert_eq!(
            get::SPEC.syntax(),
            "TLOG.GET prefix [tag [AND numtags tag [tag ...]] [OR numtags tag [tag ...]] [NOT numtags tag [tag ...]] [WHERE numpairs field value [field value ...]] [MATCH pattern] [LIMIT count] [ASC | DESC] [BEFORE before-id] [AFTER after-id] [SINCE since-time] [UNTIL until-time] [SCANLIMIT limit] [WITHCURSOR] [RAW]]"
        );
        assert_eq!(
            latest::SPEC.syntax(),
            "TLOG.LATEST prefix [tag [AND numtags tag [tag ...]] [OR numtags tag [tag ...]] [NOT numtags tag [tag ...]] [WHERE numpairs field value [field value ...]] [MATCH pattern] [BEFORE before-id] [AFTER after-id] [SINCE since-time] [UNTIL until-time] [SCANLIMIT limit] [WITHCURSOR] [RAW]]"
        );
        assert_eq!(
            tail::SPEC.syntax(),
            "TLOG.TAIL prefix tag id [AND numtags tag [tag ...]] [OR numtags tag [tag ...]] [NOT numtags tag [tag ...]] [WHERE numpairs field value [field value ...]] [MATCH pattern] [COUNT count] [BLOCK milliseconds] [SCANLIMIT limit] [WITHCURSOR] [RAW]"
        );
        assert_eq!(del::SPEC.syntax(), "TLOG.DEL prefix id [id ...]");
        assert_eq!(tags::SPEC.syntax(), "TLOG.TAGS prefix cursor [MATCH pattern] [COUNT count]");
        assert_eq!(count::SPEC.syntax(), "TLOG.COUNT prefix [tag [AND numtags tag [tag ...]] [OR numtags tag [tag ...]] [NOT numtags tag [tag ...]] [WHERE numpairs field value [field value ...]] [MATCH pattern] [BEFORE before-id] [AFTER after-id] [SINCE since-time] [UNTIL until-time] [BUCKET seconds] [SCANLIMIT limit] [WITHCURSOR]]");
    }

    /// Each command's page in docs/commands/ and `COMMAND DOCS` come from these specs: the page
    /// must carry the command's syntax line, summary, version, complexity and flags exactly as
    /// the server reports them.
    #[test]
    fn command_pages_match_the_command_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/commands");
        for spec in COMMANDS {
            let page = std::fs::read_to_string(dir.join(format!("{}.md", spec.name)))
                .unwrap_or_else(|_| panic!("no page docs/commands/{}.md", spec.name));
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
        let pages = std::fs::read_dir(&dir).expect("docs/commands/").count();
        assert_eq!(pages, COMMANDS.len(), "a page in docs/commands/ has no command");
    }
}

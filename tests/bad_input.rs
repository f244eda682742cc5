//! Every bad input gets a coded error and changes nothing (DEBUG DIGEST before and after).

mod common;

use common::*;
use redis::Commands;

/// Runs `words`, asserts the exact error line, and that the dataset is unchanged.
fn refused(s: &Server, words: &[&[u8]], expected: &str) {
    let before = s.digest();
    let mut con = s.conn();
    let e = err_of(run(&mut con, words));
    assert_eq!(e, expected, "{:?}", words.iter().map(|w| String::from_utf8_lossy(w)).collect::<Vec<_>>());
    assert_eq!(s.digest(), before, "the dataset changed after a refused command");
}

fn t(words: &[&'static str]) -> Vec<&'static [u8]> {
    words.iter().map(|w| w.as_bytes()).collect()
}

#[test]
fn wrong_arity_is_the_standard_error() {
    let s = Server::start();
    refused(&s, &t(&["TLOG.LOG", "p"]), "ERR wrong number of arguments for 'tlog.log' command");
    refused(&s, &t(&["TLOG.LOG"]), "ERR wrong number of arguments for 'tlog.log' command");
    refused(&s, &t(&["TLOG.ADD", "p", "MESSAGE"]), "ERR wrong number of arguments for 'tlog.add' command");
    refused(&s, &t(&["TLOG.GET"]), "ERR wrong number of arguments for 'tlog.get' command");
    refused(&s, &t(&["TLOG.LATEST"]), "ERR wrong number of arguments for 'tlog.latest' command");
}

#[test]
fn unknown_repeated_or_misplaced_options_are_refused() {
    let s = Server::start();
    refused(&s, &t(&["TLOG.ADD", "p", "BOGUS", "MESSAGE", "m"]), "ERR syntax error");
    refused(&s, &t(&["TLOG.ADD", "p", "JSON", "JSON", "MESSAGE", "1"]), "ERR option JSON given more than once");
    refused(&s, &t(&["TLOG.ADD", "p", "JSON", "1", "t"]), "ERR syntax error");
    refused(&s, &t(&["TLOG.ADD", "p", "JSON", "MESSAGE"]), "ERR syntax error");
    refused(&s, &t(&["TLOG.GET", "p", "t", "BOGUS"]), "ERR syntax error");
    refused(&s, &t(&["TLOG.GET", "p", "t", "RAW", "RAW"]), "ERR option RAW given more than once");
    refused(&s, &t(&["TLOG.LATEST", "p", "t", "RAW", "x"]), "ERR syntax error");
}

#[test]
fn invalid_json_is_refused() {
    let s = Server::start();
    refused(
        &s,
        &t(&["TLOG.ADD", "p", "JSON", "MESSAGE", "{\"a\":"]),
        "ERR message is not valid JSON: EOF while parsing a value at line 1 column 5",
    );
    refused(
        &s,
        &t(&["TLOG.ADD", "p", "JSON", "MESSAGE", "hello"]),
        "ERR message is not valid JSON: expected value at line 1 column 1",
    );
    refused(
        &s,
        &t(&["TLOG.ADD", "p", "JSON", "MESSAGE", "{} {}"]),
        "ERR message is not valid JSON: trailing characters at line 1 column 4",
    );
    let deep = "[".repeat(101) + &"]".repeat(101);
    refused(
        &s,
        &[b"TLOG.ADD", b"p", b"JSON", b"MESSAGE", deep.as_bytes()],
        "ERR message is not valid JSON: nested deeper than 100 levels",
    );
}

/// Half a UTF-16 surrogate pair is named, with its place, rather than worded as an
/// "unexpected end of hex escape".
#[test]
fn a_lone_surrogate_is_named() {
    let s = Server::start();
    refused(
        &s,
        &t(&["TLOG.ADD", "p", "JSON", "MESSAGE", r#""\ud800""#]),
        r#"ERR message is not valid JSON: lone surrogate \ud800 at line 1 column 2"#,
    );
    refused(
        &s,
        &t(&["TLOG.ADD", "p", "JSON", "MESSAGE", r#"{"a": "\uDC00"}"#]),
        r#"ERR message is not valid JSON: lone surrogate \uDC00 at line 1 column 8"#,
    );
    refused(
        &s,
        &t(&["TLOG.ADD", "p", "JSON", "MESSAGE", r#"["\ud83d\u0041"]"#]),
        r#"ERR message is not valid JSON: lone surrogate \ud83d at line 1 column 3"#,
    );
    // Leading white space: the place is counted in the text as given.
    refused(
        &s,
        &t(&["TLOG.ADD", "p", "JSON", "MESSAGE", "\n  \"\\ud800\""]),
        r#"ERR message is not valid JSON: lone surrogate \ud800 at line 2 column 4"#,
    );
    // A whole pair is a character.
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.ADD", "p", "JSON", "MESSAGE", r#""\ud83d\ude00""#]).unwrap();
    assert_eq!(text(&field(&cmd(&mut con, &["TLOG.LATEST", "p"]).unwrap(), "message")), "\u{1F600}");
}

/// The count of an AND, OR or NOT list out of range, huge ones included, says what it must be.
#[test]
fn a_tag_count_out_of_range_says_what_it_must_be() {
    let s = Server::start();
    for (opt, n) in [
        ("AND", "18446744073709551617"),
        ("AND", "0"),
        ("OR", "-1"),
        ("NOT", "1025"),
        ("AND", "x"),
        ("OR", "9223372036854775808"),
    ] {
        let want = format!("ERR {opt} numtags must be an integer from 1 to 1024");
        refused(&s, &t(&["TLOG.GET", "p", "t", opt, n, "a"]), &want);
        refused(&s, &t(&["TLOG.COUNT", "p", "t", opt, n, "a"]), &want);
        refused(&s, &t(&["TLOG.TAIL", "p", "t", "0", opt, n, "a"]), &want);
    }
}

#[test]
fn non_utf8_messages_and_tags_are_refused() {
    let s = Server::start();
    refused(&s, &[b"TLOG.LOG", b"p", b"caf\xe9"], "ERR message is not valid UTF-8");
    refused(&s, &[b"TLOG.LOG", b"p", b"ok", b"t\xff"], "ERR tag is not valid UTF-8");
    refused(&s, &[b"TLOG.ADD", b"p", b"JSON", b"MESSAGE", b"\"\xff\""], "ERR message is not valid UTF-8");
}

#[test]
fn reserved_empty_and_too_many_tags_are_refused() {
    let s = Server::start();
    refused(&s, &t(&["TLOG.LOG", "p", "m", "__all__"]), "ERR tag '__all__' is reserved: every record is in it already");
    refused(&s, &t(&["TLOG.LOG", "p", "m", "ok", ""]), "ERR tag must not be empty");
    refused(&s, &t(&["TLOG.GET", "p", ""]), "ERR tag must not be empty");
    let many: Vec<String> = (0..1025).map(|i| format!("t{i}")).collect();
    let mut words: Vec<&[u8]> = vec![b"TLOG.LOG", b"p", b"m"];
    words.extend(many.iter().map(|t| t.as_bytes()));
    refused(&s, &words, "ERR too many tags (at most 1024)");
    // 1024 distinct tags is the limit, and works.
    let mut con = s.conn();
    assert_eq!(int(&run(&mut con, &words[..words.len() - 1]).unwrap()), 1);
    let rec = cmd(&mut con, &["TLOG.LATEST", "p", "t1023"]).unwrap();
    assert_eq!(tags(&rec).len(), 1024);
}

#[test]
fn a_counter_that_is_not_an_integer_or_at_its_end_is_refused() {
    let s = Server::start();
    let mut con = s.conn();
    for bad in ["abc", "1.5", " 1", "01", ""] {
        let _: () = con.set("p:counter", bad).unwrap();
        refused(&s, &t(&["TLOG.LOG", "p", "m", "t"]), "ERR value is not an integer or out of range");
    }
    let _: () = con.set("p:counter", i64::MAX).unwrap();
    refused(&s, &t(&["TLOG.LOG", "p", "m", "t"]), "ERR increment or decrement would overflow");
    let _: () = con.del("p:counter").unwrap();
    let _: () = con.rpush("p:counter", "x").unwrap();
    refused(&s, &t(&["TLOG.LOG", "p", "m"]), "WRONGTYPE Operation against a key holding the wrong kind of value");
}

#[test]
fn flows_of_the_wrong_type_are_refused_before_any_write() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "first", "a"]).unwrap();
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    // The last tag's flow is a string: the counter, the record and the other flows stay as
    // they were.
    let _: () = con.set("p:flow:z", "oops").unwrap();
    refused(&s, &t(&["TLOG.LOG", "p", "m", "a", "b", "z"]), wrongtype);
    refused(&s, &t(&["TLOG.GET", "p", "z"]), wrongtype);
    refused(&s, &t(&["TLOG.LATEST", "p", "z"]), wrongtype);
    let _: () = con.del("p:flow:z").unwrap();
    let _: () = con.hset("p:flow:__all__:x", "f", "v").unwrap();
    let _: () = con.rename("p:flow:__all__", "p:keep").unwrap();
    let _: () = con.rename("p:flow:__all__:x", "p:flow:__all__").unwrap();
    refused(&s, &t(&["TLOG.LOG", "p", "m"]), wrongtype);
    refused(&s, &t(&["TLOG.GET", "p"]), wrongtype);
    assert_eq!(con.get::<_, String>("p:counter").unwrap(), "1");
}

#[test]
fn a_record_key_of_another_type_is_skipped_not_overwritten() {
    let s = Server::start();
    let mut con = s.conn();
    let _: () = con.sadd("p:msg:1", "member").unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "m"]).unwrap()), 2);
    let ty: String = redis::cmd("TYPE").arg("p:msg:1").query(&mut con).unwrap();
    assert_eq!(ty, "set");
}

#[test]
fn tags_that_would_name_a_key_of_a_nested_prefix_are_refused() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "a", "first", "t"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "", "bare", "t"]).unwrap();
    // The prefixes whose keys these tags would be, written by another client.
    plain_prefix(&mut con, "a:flow", &[1, 2]);
    plain_prefix(&mut con, "a:flow:x", &[1]);
    plain_prefix(&mut con, "flow", &[1]);
    let _: () = redis::cmd("XADD").arg("a:flow:archive").arg("*").arg("id").arg("1").query(&mut con).unwrap();
    // Each refused write leaves every key as it was (`refused` compares DEBUG DIGEST).
    for (words, error) in [
        (
            vec!["TLOG.LOG", "a", "outer", "flow:__all__"],
            "ERR tag 'flow:__all__' would name a key of the prefix 'a:flow': its flow '__all__'",
        ),
        (
            vec!["TLOG.LOG", "a", "m", "flow:t"],
            "ERR tag 'flow:t' would name a key of the prefix 'a:flow': its flow 't'",
        ),
        (
            vec!["TLOG.LOG", "a", "m", "ok", "counter"],
            "ERR tag 'counter' would name a key of the prefix 'a:flow': its counter",
        ),
        (vec!["TLOG.LOG", "a", "m", "msg:2"], "ERR tag 'msg:2' would name a key of the prefix 'a:flow': its record 2"),
        (
            vec!["TLOG.LOG", "a", "m", "archive"],
            "ERR tag 'archive' would name a key of the prefix 'a:flow': its archive",
        ),
        (
            vec!["TLOG.LOG", "a", "m", "x:counter"],
            "ERR tag 'x:counter' would name a key of the prefix 'a:flow:x': its counter",
        ),
        (
            vec!["TLOG.LOG", "a", "m", "x:flow:t"],
            "ERR tag 'x:flow:t' would name a key of the prefix 'a:flow:x': its flow 't'",
        ),
        (
            vec!["TLOG.ADD", "a", "TTL", "10", "MESSAGE", "m", "x:msg:1"],
            "ERR tag 'x:msg:1' would name a key of the prefix 'a:flow:x': its record 1",
        ),
        (
            vec!["TLOG.ADD", "a", "MAXLEN", "1", "MESSAGE", "m", "flow:__all__"],
            "ERR tag 'flow:__all__' would name a key of the prefix 'a:flow': its flow '__all__'",
        ),
        // The empty prefix's flows are the keys of the prefixes `flow` and `flow:...`.
        (vec!["TLOG.LOG", "", "m", "counter"], "ERR tag 'counter' would name a key of the prefix 'flow': its counter"),
        (
            vec!["TLOG.LOG", "", "m", "x:flow:__all__"],
            "ERR tag 'x:flow:__all__' would name a key of the prefix 'flow:x': its flow '__all__'",
        ),
    ] {
        refused(&s, &t(&words), error);
    }
    // Tags that name no other key work as before, and went only where they should.
    let before = dump(&mut con, "*");
    let ok_tags = ["user:42", "order:17", "flow", "x:flow", "workflow:x", "msg:x"];
    let mut words = vec!["TLOG.LOG", "a", "m"];
    words.extend(ok_tags);
    assert_eq!(int(&cmd(&mut con, &words).unwrap()), 2);
    for tag in ok_tags {
        assert_eq!(int(&cmd(&mut con, &["TLOG.COUNT", "a", tag]).unwrap()), 1, "{tag}");
    }
    // Only `a`'s own keys changed or appeared (`a:flow:flow` is the flow of tag `flow`: no key of
    // `a:flow`'s layout); the nested prefixes' keys are byte for byte as they were.
    let own: Vec<String> = ["a:counter", "a:msg:2", "a:flow:__all__"]
        .iter()
        .map(|k| k.to_string())
        .chain(ok_tags.iter().map(|t| format!("a:flow:{t}")))
        .collect();
    let others = |d: Vec<(String, Vec<u8>)>| d.into_iter().filter(|(k, _)| !own.contains(k)).collect::<Vec<_>>();
    assert_eq!(others(dump(&mut con, "*")), others(before));
}

#[test]
fn prefixes_with_a_flow_segment_are_refused_by_every_command() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "a", "first", "t"]).unwrap();
    plain_prefix(&mut con, "a:flow", &[1]);
    plain_prefix(&mut con, "flow", &[1]);
    let e = |p: &str, outer: &str| format!("ERR prefix '{p}' has a 'flow' segment: its keys would be flows of {outer}");
    for (p, outer) in [
        ("a:flow", "the prefix 'a'"),
        ("flow", "the empty prefix"),
        ("flow:x", "the empty prefix"),
        ("x:flow", "the prefix 'x'"),
        ("a:flow:b", "the prefix 'a'"),
    ] {
        let want = e(p, outer);
        for words in [
            vec!["TLOG.LOG", p, "m", "t"],
            vec!["TLOG.ADD", p, "MESSAGE", "m"],
            vec!["TLOG.GET", p],
            vec!["TLOG.GET", p, "t", "LIMIT", "1"],
            vec!["TLOG.LATEST", p],
            vec!["TLOG.COUNT", p, "t"],
            vec!["TLOG.TAIL", p, "t", "0"],
            vec!["TLOG.TAGS", p, "0"],
            vec!["TLOG.DEL", p, "1"],
            vec!["TLOG.PURGE", p],
        ] {
            refused(&s, &t(&words), &want);
        }
    }
    // `:flow` nests in no prefix (the empty prefix's flows are `flow:<tag>`), but has a `flow`
    // segment: refused, and the message says no more than that.
    for p in [":flow", ":flow:x"] {
        let want = format!("ERR prefix '{p}' has a 'flow' segment, which tlog refuses in every prefix");
        refused(&s, &t(&["TLOG.LOG", p, "m", "t"]), &want);
        refused(&s, &t(&["TLOG.PURGE", p]), &want);
    }
    // Segments are what `:` separates: these are ordinary prefixes.
    for p in ["flows", "workflow", "a:flowing", "{flow}", "Flow"] {
        assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", p, "m", "t"]).unwrap()), 1, "{p}");
    }
}

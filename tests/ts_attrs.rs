//! TLOG.ADD's TS and ATTRS, and the `attrs` and `format` fields of decoded records, against a
//! real server: round trips in RESP2 and RESP3, refusals that change nothing, replicas and AOF.

mod common;

use common::*;
use redis::Value;

/// Runs `words`, asserts the exact error line, and that the dataset is unchanged.
fn refused(s: &Server, words: &[&str], expected: &str) {
    let before = s.digest();
    let dbsize = |s: &Server| -> i64 { redis::cmd("DBSIZE").query(&mut s.conn()).unwrap() };
    let size = dbsize(s);
    assert_eq!(err_of(cmd(&mut s.conn(), words)), expected, "{words:?}");
    assert_eq!((s.digest(), dbsize(s)), (before, size), "the dataset changed after {words:?}");
}

fn stored(con: &mut redis::Connection, key: &str) -> String {
    text(&cmd(con, &["GET", key]).unwrap())
}

#[test]
fn ts_and_attrs_round_trip_in_resp2_and_resp3() {
    let s = Server::start();
    let mut con = s.conn();
    let add = |con: &mut redis::Connection, words: &[&str]| int(&cmd(con, words).unwrap());
    assert_eq!(
        add(
            &mut con,
            &[
                "TLOG.ADD",
                "p",
                "TS",
                "1700000000.25",
                "ATTRS",
                r#"{ "user" : 42, "b": [1, 2.50] }"#,
                "MESSAGE",
                "m",
                "t"
            ]
        ),
        1
    );
    assert_eq!(
        stored(&mut con, "p:msg:1"),
        r#"{"id":1,"ts":1700000000.250000,"message":"m","tags":["t"],"attrs":{"user":42,"b":[1,2.50]}}"#
    );
    // RFC 3339 with an offset, equal to the newest time: allowed.
    assert_eq!(
        add(&mut con, &["TLOG.ADD", "p", "JSON", "TS", "2023-11-14T23:13:20.25+01:00", "MESSAGE", "42", "t"]),
        2
    );
    assert_eq!(stored(&mut con, "p:msg:2"), r#"{"id":2,"ts":1700000000.250000,"message":42,"tags":["t"]}"#);
    // Without TS the clock's time follows, after the given ones.
    assert_eq!(add(&mut con, &["TLOG.LOG", "p", "42", "t"]), 3);
    for mut c in [s.conn(), s.conn3()] {
        let recs = array(&cmd(&mut c, &["TLOG.GET", "p", "t"]).unwrap());
        let names: Vec<String> = fields(&recs[0]).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["id", "ts", "message", "tags", "attrs", "format"]);
        // The text 42 and the JSON 42 are told apart.
        assert_eq!((text(&field(&recs[0], "message")), text(&field(&recs[0], "format"))), ("42".into(), "text".into()));
        assert_eq!((text(&field(&recs[1], "message")), text(&field(&recs[1], "format"))), ("42".into(), "json".into()));
        assert_eq!((field(&recs[0], "attrs"), field(&recs[1], "attrs")), (Value::Nil, Value::Nil));
        assert_eq!(text(&field(&recs[2], "attrs")), r#"{"user":42,"b":[1,2.50]}"#);
        assert_eq!(text(&field(&recs[2], "ts")), "2023-11-14T22:13:20.250000+00:00");
        assert_eq!(text(&field(&recs[1], "ts")), "2023-11-14T22:13:20.250000+00:00");
        // LATEST and a time bound find them by their given times.
        let latest = cmd(&mut c, &["TLOG.LATEST", "p", "t"]).unwrap();
        assert_eq!(text(&field(&latest, "format")), "text");
        let old = cmd(&mut c, &["TLOG.GET", "p", "t", "UNTIL", "1700000001"]).unwrap();
        assert_eq!(ids(&old), [2, 1]);
    }
}

#[test]
fn bad_ts_and_attrs_are_refused_and_change_nothing() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.ADD", "p", "TS", "1700000060", "MESSAGE", "newest", "t"]).unwrap();
    let base = ["TLOG.ADD", "p"];
    let with = |opts: &[&'static str]| -> Vec<&'static str> {
        base.iter().copied().chain(opts.iter().copied()).chain(["MESSAGE", "m", "t"]).collect()
    };
    refused(
        &s,
        &with(&["TS", "1700000059.999999"]),
        "ERR TS is before the newest record's time 2023-11-14T22:14:20.000000+00:00: times never decrease within a prefix",
    );
    refused(
        &s,
        &with(&["TS", "yesterday"]),
        "ERR invalid time 'yesterday': use unix seconds in decimal (at most 12 digits before the point, any after it, kept to the microsecond; a leading '-' but no '+' or exponent) or RFC 3339 with an offset",
    );
    let ahead = (server_time_us(&mut con) / 1_000_000 + 3600 + 60).to_string();
    let ahead: &'static str = Box::leak(ahead.into_boxed_str());
    refused(
        &s,
        &with(&["TS", ahead]),
        "ERR TS is more than 1 hour ahead of the server's clock: every later record's time would be held there",
    );
    refused(
        &s,
        &with(&["TS", "1700000060", "TTL", "60"]),
        "ERR TS plus TTL is already past: the record would expire on arrival",
    );
    refused(
        &s,
        &with(&["TS", "1700000060", "MAXAGE", "60"]),
        "ERR TS is older than MAXAGE keeps: the record would be removed on arrival",
    );
    cmd(&mut con, &["CONFIG", "SET", "tlog.max-age", "3600"]).unwrap();
    refused(
        &s,
        &with(&["TS", "1700000060"]),
        "ERR TS is older than tlog.max-age keeps: the record would be removed on arrival",
    );
    cmd(&mut con, &["CONFIG", "SET", "tlog.max-age", "0"]).unwrap();
    refused(&s, &with(&["ATTRS", "[1]"]), "ERR ATTRS needs a JSON object");
    refused(&s, &with(&["ATTRS", "42"]), "ERR ATTRS needs a JSON object");
    refused(
        &s,
        &with(&["ATTRS", r#"{"a":"#]),
        "ERR ATTRS needs a JSON object: EOF while parsing a value at line 1 column 5",
    );
    refused(&s, &with(&["ATTRS", "{}", "ATTRS", "{}"]), "ERR option ATTRS given more than once");
    refused(&s, &with(&["TS", "1700000060", "TS", "1700000060"]), "ERR option TS given more than once");
    // Still writable at the newest time, with both.
    let id = cmd(&mut con, &["TLOG.ADD", "p", "TS", "1700000060", "ATTRS", "{}", "MESSAGE", "m"]).unwrap();
    assert_eq!(int(&id), 2);
}

/// A TS is checked against the newest record that has a time, past newer entries without one
/// (another client's record without `ts`, an entry that is not an id); where the newest 128
/// entries hold none, TS is refused rather than accepted unchecked.
#[test]
fn ts_is_checked_against_the_newest_record_that_has_a_time() {
    let s = Server::start();
    let mut con = s.conn();
    assert_eq!(int(&cmd(&mut con, &["TLOG.ADD", "g", "TS", "1700000060", "MESSAGE", "m1"]).unwrap()), 1);
    // Another client's record without a time, and an entry that is not an id, at the head.
    cmd(&mut con, &["SET", "g:msg:2", r#"{"id":2,"message":"m"}"#]).unwrap();
    cmd(&mut con, &["LPUSH", "g:flow:__all__", "2", "x"]).unwrap();
    let add = |ts: &'static str| -> Vec<&'static str> { vec!["TLOG.ADD", "g", "TS", ts, "MESSAGE", "x"] };
    refused(
        &s,
        &add("1700000000"),
        "ERR TS is before the newest record's time 2023-11-14T22:14:20.000000+00:00: times never decrease within a prefix",
    );
    assert_eq!(int(&cmd(&mut con, &add("1700000060")).unwrap()), 3);
    // 128 entries without a time at the head: the newest time is not looked for further.
    let junk = vec!["x"; 128];
    let _: i64 = redis::Commands::lpush(&mut con, "g:flow:__all__", &junk).unwrap();
    refused(
        &s,
        &add("1700000070"),
        "ERR TS cannot be checked: none of the newest 128 entries of __all__ is a record with a time, so TS could be before the newest record's; add without TS, or remove those entries",
    );
    // Without TS, the clock's time, as before.
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "g", "m4"]).unwrap()), 4);
}

#[test]
fn a_replica_and_an_aof_replay_end_identical_with_ts_and_attrs() {
    let master = Server::start_with(true, &["--appendonly", "yes", "--appendfsync", "always"]);
    let replica = Server::replica_of(&master, false);
    let mut con = master.conn();
    let now = server_time_us(&mut con) / 1_000_000;
    let (back, ahead) = ((now - 600).to_string(), (now + 1800).to_string());
    cmd(&mut con, &["TLOG.ADD", "p", "TS", &back, "ATTRS", r#"{"k": [1, 2.5]}"#, "TTL", "3600", "MESSAGE", "m", "a"])
        .unwrap();
    cmd(&mut con, &["TLOG.ADD", "p", "TS", &ahead, "JSON", "ATTRS", r#"{"z":null}"#, "MESSAGE", "[1]", "b"]).unwrap();
    // The clock's record after one ahead of it takes the newest time.
    cmd(&mut con, &["TLOG.LOG", "p", "after", "a"]).unwrap();
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(acked, 1);
    let before = master.digest();
    assert_eq!(replica.digest(), before);
    let mut rcon = replica.conn();
    assert_eq!(stored(&mut rcon, "p:msg:1"), stored(&mut con, "p:msg:1"));
    assert!(stored(&mut con, "p:msg:3").contains(&format!("\"ts\":{ahead}.000000")));
    let ttl: i64 = redis::cmd("PEXPIRETIME").arg("p:msg:1").query(&mut rcon).unwrap();
    assert_eq!(ttl, (now - 600 + 3600) * 1000);
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).unwrap();
    assert_eq!(master.digest(), before);
}

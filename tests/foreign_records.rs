//! Records other clients wrote in the layout, with contents tlog would never write: a time
//! RFC 3339 cannot spell, a field given twice, tags that name no tag flow.

mod common;

use common::*;
use redis::{Commands, Value};

/// Writes record `id` as a plain client would: SET, then its id on `__all__` and `tags`.
fn plant(con: &mut redis::Connection, id: i64, body: &str, flows: &[&str]) {
    let _: () = con.set(format!("p:msg:{id}"), body).unwrap();
    let _: () = con.set("p:counter", id).unwrap();
    for f in std::iter::once("__all__").chain(flows.iter().copied()) {
        let _: () = con.lpush(format!("p:flow:{f}"), id).unwrap();
    }
}

#[test]
fn a_time_after_the_year_9999_is_replied_as_null() {
    let s = Server::start();
    for mut con in [s.conn(), s.conn3()] {
        let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
        // 10000-01-01T00:00:00.5Z, and a time before the year 0000.
        plant(&mut con, 1, r#"{"id":1,"ts":253402300800.5,"message":"far","tags":["t"]}"#, &["t"]);
        plant(&mut con, 2, r#"{"id":2,"ts":-62167219201,"message":"before","tags":["t"]}"#, &["t"]);
        plant(&mut con, 3, r#"{"id":3,"ts":"9999-12-31T23:59:59.999999Z","message":"last","tags":["t"]}"#, &["t"]);
        let recs = array(&cmd(&mut con, &["TLOG.GET", "p", "t"]).unwrap());
        assert_eq!(text(&field(&recs[0], "ts")), "9999-12-31T23:59:59.999999+00:00");
        assert_eq!(field(&recs[1], "ts"), Value::Nil);
        assert_eq!(field(&recs[2], "ts"), Value::Nil);
        assert_eq!(text(&field(&recs[2], "message")), "far");
        // RAW shows it as stored, and time bounds still compare it.
        let raw = array(&cmd(&mut con, &["TLOG.GET", "p", "t", "RAW", "ASC", "LIMIT", "1"]).unwrap());
        assert_eq!(text(&raw[0]), r#"{"id":1,"ts":253402300800.5,"message":"far","tags":["t"]}"#);
        let _: i64 = con.del("p:msg:3").unwrap();
        let _: i64 = con.lrem("p:flow:t", 0, 3).unwrap();
        let page = cmd(&mut con, &["TLOG.TAGS", "p", "0", "COUNT", "100"]).unwrap();
        let tag = &array(&array(&page)[1])[0];
        assert_eq!((int(&field(tag, "newest-id")), field(tag, "newest-ts")), (2, Value::Nil));
    }
}

#[test]
fn a_field_given_twice_takes_its_last_value() {
    let s = Server::start();
    let mut con = s.conn();
    plant(
        &mut con,
        1,
        r#"{"id":1,"ts":1700000000,"message":"a","message":"b","tags":["t"],"tags":["t","u"]}"#,
        &["t", "u"],
    );
    let rec = cmd(&mut con, &["TLOG.LATEST", "p", "t"]).unwrap();
    assert_eq!(text(&field(&rec, "message")), "b");
    assert_eq!(text(&field(&rec, "ts")), "2023-11-14T22:13:20.000000+00:00");
    assert_eq!(tags(&rec), ["t", "u"]);
    // TLOG.DEL follows the last "tags" too.
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "p", "1"]).unwrap()), 1);
    assert!(!con.exists::<_, bool>("p:flow:u").unwrap());
}

/// `""` and `__all__` in a record's "tags" name no tag flow: replies leave them out and no
/// write treats `p:flow:` or `p:flow:__all__` as the flow of such a tag.
#[test]
fn tags_that_name_no_flow_are_dropped_and_their_keys_left_alone() {
    let s = Server::start();
    let mut con = s.conn();
    plant(&mut con, 1, r#"{"id":1,"ts":1700000000.000001,"message":"m","tags":["__all__","","x"]}"#, &["x"]);
    plant(&mut con, 2, r#"{"id":2,"ts":1700000000.000002,"message":"m","tags":["","__all__"]}"#, &[]);
    // Another client's list that happens to be named `p:flow:`, holding both ids.
    let _: () = con.rpush("p:flow:", &[1, 2]).unwrap();
    for rec in array(&cmd(&mut con, &["TLOG.GET", "p"]).unwrap()) {
        let want: &[&str] = if int(&field(&rec, "id")) == 1 { &["x"] } else { &[] };
        assert_eq!(tags(&rec), want);
    }
    // TLOG.TAGS lists `x` only: neither `p:flow:` nor `__all__` is a tag.
    let page = cmd(&mut con, &["TLOG.TAGS", "p", "0", "COUNT", "1000"]).unwrap();
    let listed: Vec<String> = array(&array(&page)[1]).iter().map(|t| text(&field(t, "tag"))).collect();
    assert_eq!(listed, ["x"]);
    // Deleting both takes their ids out of __all__ and x, and leaves `p:flow:` as it was.
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "p", "1", "2"]).unwrap()), 2);
    assert_eq!(con.lrange::<_, Vec<i64>>("p:flow:", 0, -1).unwrap(), vec![1, 2]);
    assert!(!con.exists::<_, bool>("p:flow:__all__").unwrap());
    assert!(!con.exists::<_, bool>("p:flow:x").unwrap());
}

#[test]
fn attrs_written_by_a_plain_client_read_back() {
    let s = Server::start();
    for mut con in [s.conn(), s.conn3()] {
        let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
        let spaced =
            r#"{"id": 1, "ts": 1700000000, "message": "m", "tags": ["t"], "attrs": {"user_id": 1, "k": "a b"}}"#;
        plant(&mut con, 1, spaced, &["t"]);
        plant(
            &mut con,
            2,
            r#"{"id":2,"ts":1700000001,"message":{"n":1},"tags":["t"],"attrs":["not","an","object"]}"#,
            &["t"],
        );
        let recs = array(&cmd(&mut con, &["TLOG.GET", "p", "t"]).unwrap());
        assert_eq!(text(&field(&recs[1], "attrs")), r#"{"user_id":1,"k":"a b"}"#);
        assert_eq!(text(&field(&recs[1], "format")), "text");
        // attrs that are no object are left out; the message is JSON.
        assert_eq!(field(&recs[0], "attrs"), Value::Nil);
        assert_eq!(text(&field(&recs[0], "format")), "json");
        let raw = array(&cmd(&mut con, &["TLOG.GET", "p", "t", "RAW", "ASC", "LIMIT", "1"]).unwrap());
        assert_eq!(text(&raw[0]), spaced);
        // tlog's next record follows them.
        assert_eq!(
            int(&cmd(&mut con, &["TLOG.ADD", "p", "ATTRS", r#"{"user_id":2}"#, "MESSAGE", "x", "t"]).unwrap()),
            3
        );
    }
}

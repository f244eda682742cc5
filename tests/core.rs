//! TLOG.LOG, TLOG.ADD, TLOG.GET and TLOG.LATEST end to end, each test on its own server.

mod common;

use common::*;
use redis::{Commands, Value};

fn seed(con: &mut redis::Connection) {
    assert_eq!(int(&cmd(con, &["TLOG.LOG", "myapp", "foo created", "foo"]).unwrap()), 1);
    assert_eq!(int(&cmd(con, &["TLOG.LOG", "myapp", "bar created", "bar"]).unwrap()), 2);
    assert_eq!(int(&cmd(con, &["TLOG.LOG", "myapp", "foo gets bar", "foo", "bar"]).unwrap()), 3);
}

#[test]
fn seed_scenario_reads_back_newest_first() {
    let s = Server::start();
    let mut con = s.conn();
    seed(&mut con);

    let all = cmd(&mut con, &["TLOG.GET", "myapp"]).unwrap();
    assert_eq!(ids(&all), vec![3, 2, 1]);
    let recs = array(&all);
    assert_eq!(text(&field(&recs[0], "message")), "foo gets bar");
    assert_eq!(tags(&recs[0]), vec!["foo", "bar"]);
    assert_eq!(text(&field(&recs[2], "message")), "foo created");

    let foo = cmd(&mut con, &["TLOG.GET", "myapp", "foo"]).unwrap();
    assert_eq!(ids(&foo), vec![3, 1]);

    let latest = cmd(&mut con, &["TLOG.LATEST", "myapp", "bar"]).unwrap();
    assert_eq!(int(&field(&latest, "id")), 3);
    assert_eq!(text(&field(&latest, "message")), "foo gets bar");
    assert_eq!(
        fields(&latest).iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["id", "ts", "message", "tags", "attrs", "format"]
    );
    assert_eq!(cmd(&mut con, &["TLOG.LATEST", "myapp", "nobody"]).unwrap(), Value::Nil);
    assert_eq!(array(&cmd(&mut con, &["TLOG.GET", "myapp", "nobody"]).unwrap()).len(), 0);
    assert_eq!(array(&cmd(&mut con, &["TLOG.GET", "nothing"]).unwrap()).len(), 0);
}

#[test]
fn seed_scenario_writes_the_contract_layout() {
    let s = Server::start();
    let mut con = s.conn();
    seed(&mut con);

    let ty = |con: &mut redis::Connection, k: &str| -> String { redis::cmd("TYPE").arg(k).query(con).unwrap() };
    assert_eq!(ty(&mut con, "myapp:counter"), "string");
    assert_eq!(con.get::<_, String>("myapp:counter").unwrap(), "3");
    for k in ["myapp:flow:__all__", "myapp:flow:foo", "myapp:flow:bar"] {
        assert_eq!(ty(&mut con, k), "list");
    }
    let lr = |con: &mut redis::Connection, k: &str| -> Vec<String> { con.lrange(k, 0, -1).unwrap() };
    assert_eq!(lr(&mut con, "myapp:flow:__all__"), ["3", "2", "1"]);
    assert_eq!(lr(&mut con, "myapp:flow:foo"), ["3", "1"]);
    assert_eq!(lr(&mut con, "myapp:flow:bar"), ["3", "2"]);
    let mut keys: Vec<String> = con.keys("*").unwrap();
    keys.sort();
    assert_eq!(
        keys,
        [
            "myapp:counter",
            "myapp:flow:__all__",
            "myapp:flow:bar",
            "myapp:flow:foo",
            "myapp:msg:1",
            "myapp:msg:2",
            "myapp:msg:3"
        ]
    );

    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    let mut last_ts = 0.0;
    for id in 1..=3 {
        let raw: String = con.get(format!("myapp:msg:{id}")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(v["id"], id);
        let ts = v["ts"].as_f64().unwrap();
        assert!((now - ts).abs() < 60.0, "ts {ts} is not now ({now})");
        assert!(ts >= last_ts, "timestamps decrease");
        last_ts = ts;
        // Microsecond precision, written with six decimals.
        let ts_text = raw.split("\"ts\":").nth(1).unwrap().split(',').next().unwrap();
        assert_eq!(ts_text.split('.').nth(1).map(str::len), Some(6), "{raw}");
    }
    let raw3: String = con.get("myapp:msg:3").unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw3).unwrap();
    assert_eq!(v["message"], "foo gets bar");
    assert_eq!(v["tags"], serde_json::json!(["foo", "bar"]));
}

#[test]
fn ts_reply_is_rfc3339_utc_with_microseconds_of_the_stored_time() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "m"]).unwrap();
    let raw: String = con.get("p:msg:1").unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let micros = (v["ts"].as_f64().unwrap() * 1e6).round() as i64;
    let expected =
        chrono::DateTime::from_timestamp_micros(micros).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    let rec = cmd(&mut con, &["TLOG.LATEST", "p"]).unwrap();
    let ts = text(&field(&rec, "ts"));
    assert_eq!(ts, expected);
    assert!(ts.ends_with("+00:00") && ts.len() == "2026-11-23T10:15:02.123456+00:00".len(), "{ts}");
}

#[test]
fn resp3_replies_records_as_maps_and_resp2_as_flat_arrays() {
    let s = Server::start();
    let mut con = s.conn();
    seed(&mut con);
    let r2 = cmd(&mut con, &["TLOG.LATEST", "myapp"]).unwrap();
    assert!(matches!(&r2, Value::Array(a) if a.len() == 12), "{r2:?}");
    let mut con3 = s.conn3();
    let r3 = cmd(&mut con3, &["TLOG.LATEST", "myapp"]).unwrap();
    assert!(matches!(&r3, Value::Map(m) if m.len() == 6), "{r3:?}");
    assert_eq!(fields(&r2), fields(&r3));
    let all3 = cmd(&mut con3, &["TLOG.GET", "myapp", "foo"]).unwrap();
    assert_eq!(ids(&all3), vec![3, 1]);
    assert_eq!(cmd(&mut con3, &["TLOG.LATEST", "myapp", "none"]).unwrap(), Value::Nil);
}

#[test]
fn raw_returns_records_exactly_as_stored() {
    let s = Server::start();
    let mut con = s.conn();
    seed(&mut con);
    let raw = cmd(&mut con, &["TLOG.GET", "myapp", "foo", "RAW"]).unwrap();
    let stored: Vec<String> = ["myapp:msg:3", "myapp:msg:1"].iter().map(|k| con.get(*k).unwrap()).collect();
    assert_eq!(array(&raw).iter().map(text).collect::<Vec<_>>(), stored);
    let latest = cmd(&mut con, &["TLOG.LATEST", "myapp", "__all__", "raw"]).unwrap();
    assert_eq!(text(&latest), con.get::<_, String>("myapp:msg:3").unwrap());
}

#[test]
fn messages_and_tags_are_data_never_options() {
    let s = Server::start();
    let mut con = s.conn();
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "TTL", "10"]).unwrap()), 1);
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "JSON", "x"]).unwrap()), 2);
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "RAW", "RAW", "LIMIT"]).unwrap()), 3);
    let r = cmd(&mut con, &["TLOG.LATEST", "p", "10"]).unwrap();
    assert_eq!(text(&field(&r, "message")), "TTL");
    assert_eq!(tags(&r), ["10"]);
    let r = cmd(&mut con, &["TLOG.LATEST", "p", "x"]).unwrap();
    assert_eq!(text(&field(&r, "message")), "JSON");
    // A tag named like an option is read as a tag.
    let r = cmd(&mut con, &["TLOG.GET", "p", "RAW"]).unwrap();
    assert_eq!(ids(&r), vec![3]);
    let r = cmd(&mut con, &["TLOG.GET", "p", "LIMIT"]).unwrap();
    assert_eq!(ids(&r), vec![3]);
    // After MESSAGE, words are data too.
    assert_eq!(int(&cmd(&mut con, &["TLOG.ADD", "p", "MESSAGE", "JSON", "MESSAGE"]).unwrap()), 4);
    let r = cmd(&mut con, &["TLOG.LATEST", "p", "MESSAGE"]).unwrap();
    assert_eq!(text(&field(&r, "message")), "JSON");
}

#[test]
fn duplicate_tags_are_pushed_once_and_every_record_is_in_all() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "m", "a", "b", "a", "a"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "untagged"]).unwrap();
    assert_eq!(con.lrange::<_, Vec<String>>("p:flow:a", 0, -1).unwrap(), ["1"]);
    assert_eq!(con.lrange::<_, Vec<String>>("p:flow:__all__", 0, -1).unwrap(), ["2", "1"]);
    let r = cmd(&mut con, &["TLOG.GET", "p", "a"]).unwrap();
    assert_eq!(tags(&array(&r)[0]), ["a", "b"]);
    let untagged = cmd(&mut con, &["TLOG.LATEST", "p"]).unwrap();
    assert!(tags(&untagged).is_empty());
}

#[test]
fn json_messages_are_stored_as_json_values() {
    let s = Server::start();
    let mut con = s.conn();
    let cases = [
        (
            r#"{ "user": 42, "tags": ["x"], "nested": {"a": [1, 2.50]} }"#,
            r#"{"user":42,"tags":["x"],"nested":{"a":[1,2.50]}}"#,
        ),
        ("[1, 2, 3]", "[1,2,3]"),
        ("12.5", "12.5"),
        ("true", "true"),
        ("null", "null"),
        (r#""quoted text""#, "quoted text"),
    ];
    for (i, (input, shown)) in cases.iter().enumerate() {
        let id = int(&cmd(&mut con, &["TLOG.ADD", "p", "JSON", "MESSAGE", input, "j"]).unwrap());
        assert_eq!(id, i as i64 + 1);
        let raw: String = con.get(format!("p:msg:{id}")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(v["message"], serde_json::from_str::<serde_json::Value>(input).unwrap(), "{input}");
        let rec = cmd(&mut con, &["TLOG.LATEST", "p", "j"]).unwrap();
        assert_eq!(text(&field(&rec, "message")), *shown);
    }
    // Without JSON, TLOG.ADD stores text, like TLOG.LOG.
    cmd(&mut con, &["TLOG.ADD", "p", "MESSAGE", "[1, 2]"]).unwrap();
    let raw: String = con.get("p:msg:7").unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["message"], "[1, 2]");
}

#[test]
fn empty_prefix_uses_bare_keys() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "", "hello", "t"]).unwrap();
    let mut keys: Vec<String> = con.keys("*").unwrap();
    keys.sort();
    assert_eq!(keys, ["counter", "flow:__all__", "flow:t", "msg:1"]);
    let r = cmd(&mut con, &["TLOG.LATEST", "", "t"]).unwrap();
    assert_eq!(text(&field(&r, "message")), "hello");
}

#[test]
fn nul_bytes_and_unicode_round_trip_exactly() {
    let s = Server::start();
    let mut con = s.conn();
    let msg = "a\0b \u{1F600} \"q\" \\ \n end".as_bytes();
    let tag = "t\0g é".as_bytes();
    run(&mut con, &[b"TLOG.LOG", b"p", msg, tag]).unwrap();
    let r = run(&mut con, &[b"TLOG.LATEST", b"p", tag]).unwrap();
    assert_eq!(text(&field(&r, "message")).as_bytes(), msg);
    assert_eq!(tags(&r), [String::from_utf8(tag.to_vec()).unwrap()]);
    let flow: Vec<String> = con.lrange(b"p:flow:t\0g \xc3\xa9".as_slice(), 0, -1).unwrap();
    assert_eq!(flow, ["1"]);
}

#[test]
fn reads_records_written_by_a_plain_client() {
    let s = Server::start();
    let mut con = s.conn();
    // What a client library following the layout writes: INCR, SET json, LPUSH per flow.
    for (msg, tag) in [("first", "user:1"), ("second", "user:2")] {
        let id: i64 = con.incr("app:counter", 1).unwrap();
        let rec = format!(r#"{{"id": {id}, "ts": 1700000000.25, "message": "{msg}"}}"#);
        let _: () = con.set(format!("app:msg:{id}"), rec).unwrap();
        let _: () = con.lpush("app:flow:__all__", id).unwrap();
        let _: () = con.lpush(format!("app:flow:{tag}"), id).unwrap();
    }
    let all = cmd(&mut con, &["TLOG.GET", "app"]).unwrap();
    assert_eq!(ids(&all), vec![2, 1]);
    let first = &array(&all)[1];
    assert_eq!(text(&field(first, "message")), "first");
    assert_eq!(text(&field(first, "ts")), "2023-11-14T22:13:20.250000+00:00");
    assert!(tags(first).is_empty());
    // tlog continues the same id sequence, after the plain client's records.
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "app", "third", "user:1"]).unwrap()), 3);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "app", "user:1"]).unwrap()), vec![3, 1]);
    // And the plain client reads tlog's record with LRANGE + GET + a JSON parser.
    let head: Vec<String> = con.lrange("app:flow:user:1", 0, 0).unwrap();
    let raw: String = con.get(format!("app:msg:{}", head[0])).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!((v["id"].as_i64(), v["message"].as_str()), (Some(3), Some("third")));
    assert!(v["ts"].as_f64().unwrap() > 1.7e9);
}

#[test]
fn undecodable_or_missing_records_never_break_a_read() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "good"]).unwrap();
    // Ids whose record is not JSON, lacks fields, is of another type, or is gone.
    let _: () = con.set("p:msg:2", "not json at all").unwrap();
    let _: () = con.set("p:msg:3", r#"{"id":3}"#).unwrap();
    let _: () = con.rpush("p:msg:4", "a list").unwrap();
    let _: () = con.set("p:msg:6", b"\xff\xfe bytes".as_slice()).unwrap();
    for id in ["2", "3", "4", "5", "6", "garbage"] {
        let _: () = con.lpush("p:flow:__all__", id).unwrap();
    }
    let all = cmd(&mut con, &["TLOG.GET", "p"]).unwrap();
    assert_eq!(ids(&all), vec![6, 3, 2, 1], "{all:?}");
    let recs = array(&all);
    assert_eq!(text(&field(&recs[0], "message")), "\u{fffd}\u{fffd} bytes");
    assert_eq!(field(&recs[1], "ts"), Value::Nil);
    assert_eq!(field(&recs[1], "message"), Value::Nil);
    assert!(tags(&recs[1]).is_empty());
    assert_eq!(text(&field(&recs[2], "message")), "not json at all");
    assert_eq!(field(&recs[2], "ts"), Value::Nil);
    assert_eq!(text(&field(&recs[3], "message")), "good");
    // LATEST skips the unreadable head entry ("garbage") and returns id 6.
    assert_eq!(int(&field(&cmd(&mut con, &["TLOG.LATEST", "p"]).unwrap(), "id")), 6);
    // A record deleted from under its flow is skipped.
    let _: () = con.del("p:msg:6").unwrap();
    assert_eq!(int(&field(&cmd(&mut con, &["TLOG.LATEST", "p"]).unwrap(), "id")), 3);
}

#[test]
fn an_existing_record_is_never_overwritten() {
    let s = Server::start();
    let mut con = s.conn();
    // A record at id 1 with no counter (e.g. the counter was deleted).
    let _: () = con.set("p:msg:1", r#"{"id":1,"ts":1.0,"message":"keep me"}"#).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "new"]).unwrap()), 2);
    assert_eq!(con.get::<_, String>("p:msg:1").unwrap(), r#"{"id":1,"ts":1.0,"message":"keep me"}"#);
    assert_eq!(con.get::<_, String>("p:counter").unwrap(), "2");
    // Losing the counter does not reuse ids: __all__ says where the sequence is.
    cmd(&mut con, &["TLOG.LOG", "p", "three"]).unwrap();
    let _: () = con.del(&["p:counter", "p:msg:3"]).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "four"]).unwrap()), 4);
}

#[test]
fn timestamps_never_decrease_within_a_prefix() {
    let s = Server::start();
    let mut con = s.conn();
    // The newest record is 30 s in the future (another server's clock, a step back of ours).
    let ahead = chrono::Utc::now().timestamp_micros() + 30_000_000;
    let rec = format!(r#"{{"id":1,"ts":{}.{:06},"message":"m","tags":[]}}"#, ahead / 1_000_000, ahead % 1_000_000);
    let _: () = con.set("p:msg:1", rec).unwrap();
    let _: () = con.set("p:counter", 1).unwrap();
    let _: () = con.lpush("p:flow:__all__", 1).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "after"]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&con.get::<_, String>("p:msg:2").unwrap()).unwrap();
    assert_eq!((v["ts"].as_f64().unwrap() * 1e6).round() as i64, ahead);

    // A newest record two hours ahead is a broken clock, not a floor.
    let far = chrono::Utc::now().timestamp_micros() + 7_200_000_000;
    let rec = format!(r#"{{"id":3,"ts":{}.000000,"message":"m"}}"#, far / 1_000_000);
    let _: () = con.set("q:msg:3", rec).unwrap();
    let _: () = con.lpush("q:flow:__all__", 3).unwrap();
    cmd(&mut con, &["TLOG.LOG", "q", "now"]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&con.get::<_, String>("q:msg:4").unwrap()).unwrap();
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    assert!((v["ts"].as_f64().unwrap() - now).abs() < 60.0);
}

#[test]
fn works_inside_multi_and_lua() {
    let s = Server::start();
    let mut con = s.conn();
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("TLOG.LOG")
        .arg("p")
        .arg("one")
        .arg("t")
        .cmd("TLOG.LOG")
        .arg("p")
        .arg("two")
        .arg("t")
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b), (1, 2));
    let id: i64 = redis::cmd("EVAL")
        .arg("return redis.call('TLOG.LOG', KEYS[1], ARGV[1], ARGV[2])")
        .arg(1)
        .arg("p")
        .arg("three")
        .arg("t")
        .query(&mut con)
        .unwrap();
    assert_eq!(id, 3);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p", "t"]).unwrap()), vec![3, 2, 1]);
}

#[test]
fn module_registers_as_tlog_with_docs_and_key_specs() {
    let s = Server::start();
    let mut con = s.conn();
    let list = cmd(&mut con, &["MODULE", "LIST"]).unwrap();
    let m = &array(&list)[0];
    assert_eq!(text(&field(m, "name")), "tlog");
    let v = env!("CARGO_PKG_VERSION").split('.').map(|p| p.parse::<i64>().unwrap()).fold(0, |a, p| a * 100 + p);
    assert_eq!(int(&field(m, "ver")), v);

    for (name, arity, flag) in [
        ("tlog.log", -3, "write"),
        ("tlog.add", -4, "write"),
        ("tlog.get", -2, "readonly"),
        ("tlog.latest", -2, "readonly"),
    ] {
        let info = array(&cmd(&mut con, &["COMMAND", "INFO", name]).unwrap());
        let info = array(&info[0]);
        assert_eq!(text(&info[0]), name);
        assert_eq!(int(&info[1]), arity);
        let flags: Vec<String> = array(&info[2]).iter().map(text).collect();
        assert!(flags.contains(&flag.to_string()), "{name}: {flags:?}");
        if flag == "write" {
            assert!(flags.contains(&"denyoom".to_string()), "{name}: {flags:?}");
        }
        // First key, last key, step: the prefix.
        assert_eq!((int(&info[3]), int(&info[4]), int(&info[5])), (1, 1, 1));
        let docs = cmd(&mut con, &["COMMAND", "DOCS", name]).unwrap();
        let docs = format!("{docs:?}");
        for word in ["summary", "complexity", "arguments", "prefix"] {
            assert!(docs.contains(word), "{name} docs lack {word}: {docs}");
        }
    }
}

#[test]
fn a_flow_holding_an_id_twice_with_a_short_foreign_record_is_read_safely() {
    let s = Server::start();
    let mut con = s.conn();
    // A short string and an integer are stored shared or int-encoded by the server.
    let _: () = con.set("q:msg:5", "hi").unwrap();
    let _: () = con.set("q:msg:6", 12345).unwrap();
    for id in [5, 5, 6, 6, 5] {
        let _: () = con.rpush("q:flow:__all__", id).unwrap();
        let _: () = con.rpush("q:flow:t", id).unwrap();
    }
    // Reads hand out ids sorted, each once, whatever the flow holds.
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "q"]).unwrap()), vec![6, 5]);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "q", "__all__", "AND", "1", "t", "LIMIT", "3"]).unwrap()), vec![6, 5]);
    assert_eq!(text(&field(&cmd(&mut con, &["TLOG.LATEST", "q", "t"]).unwrap(), "message")), "12345");
    assert_eq!(text(&field(&cmd(&mut con, &["TLOG.LATEST", "q", "t", "BEFORE", "6"]).unwrap(), "message")), "hi");
    assert_eq!(cmd(&mut con, &["PING"]).unwrap(), Value::SimpleString("PONG".into()));
}

#[test]
fn timestamps_stay_ordered_across_swapdb_and_flushes() {
    let s = Server::start();
    let mut con = s.conn();
    // Database 1 holds a record dated 30 minutes ahead (another server's clock).
    let ahead = chrono::Utc::now().timestamp_micros() + 1_800_000_000;
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    let rec = format!(r#"{{"id":1,"ts":{}.{:06},"message":"m","tags":[]}}"#, ahead / 1_000_000, ahead % 1_000_000);
    let _: () = con.set("s:msg:1", rec).unwrap();
    let _: () = con.lpush("s:flow:__all__", 1).unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "s", "a"]).unwrap()), 1);
    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut con).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "s", "b"]).unwrap()), 2);
    let v: serde_json::Value = serde_json::from_str(&con.get::<_, String>("s:msg:2").unwrap()).unwrap();
    assert!((v["ts"].as_f64().unwrap() * 1e6).round() as i64 >= ahead, "timestamp went back after SWAPDB");
}

/// The keyspace lookups of a call (`INFO stats` hits and misses), `f` run after a reset.
fn lookups(con: &mut redis::Connection, f: impl FnOnce(&mut redis::Connection)) -> i64 {
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(con).unwrap();
    f(con);
    let info: String = redis::cmd("INFO").arg("stats").query(con).unwrap();
    let stat = |name: &str| -> i64 {
        info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok()).unwrap()
    };
    stat("keyspace_hits") + stat("keyspace_misses")
}

#[test]
fn latest_of_the_record_this_server_just_logged_reads_only_its_flow_and_record() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 1..=3 {
        assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "app", &format!("m{i}"), "t"]).unwrap()), i);
    }
    // The newest id of the prefix this server gave out is at the head: nothing is above it,
    // without a look at the counter.
    let n = lookups(&mut con, |con| {
        assert_eq!(int(&field(&cmd(con, &["TLOG.LATEST", "app", "t"]).unwrap(), "id")), 3);
    });
    assert_eq!(n, 2, "the flow and the record");

    // Writers racing: a plain client takes id 4 from the counter, this server logs 5, then
    // the plain client pushes 4 above it. The head is not the newest id: 5 is found below.
    let four: i64 = con.incr("app:counter", 1).unwrap();
    assert_eq!(four, 4);
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "app", "m5", "t"]).unwrap()), 5);
    let rec = r#"{"id":4,"ts":1.000000,"message":"m4","tags":["t"]}"#;
    let _: () = con.set("app:msg:4", rec).unwrap();
    let _: () = con.lpush("app:flow:t", 4).unwrap();
    let _: () = con.lpush("app:flow:__all__", 4).unwrap();
    for flow in ["t", "__all__"] {
        assert_eq!(int(&field(&cmd(&mut con, &["TLOG.LATEST", "app", flow]).unwrap(), "id")), 5, "{flow}");
    }
    // A plain client's newest record at the head, its id the counter's: found as before.
    let six: i64 = con.incr("app:counter", 1).unwrap();
    let _: () = con.set("app:msg:6", r#"{"id":6,"ts":1.000000,"message":"m6","tags":["t"]}"#).unwrap();
    let _: () = con.lpush("app:flow:t", six).unwrap();
    assert_eq!(int(&field(&cmd(&mut con, &["TLOG.LATEST", "app", "t"]).unwrap(), "id")), 6);
}

#[test]
fn ids_started_over_after_the_keys_went_are_read_and_floored_by_their_records() {
    // This server logs 1..3, the prefix's keys go (TLOG.PURGE, or a plain client's UNLINK of
    // every key), and plain clients start over from id 1: two non-atomic writers push 4
    // before 3. The id this server gave out last (3) is at the head again, but its record is
    // another one now: it proves nothing.
    for how in ["purge", "unlink"] {
        let s = Server::start();
        let mut con = s.conn();
        for i in 1..=3 {
            assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "app", &format!("m{i}"), "t"]).unwrap()), i);
        }
        if how == "purge" {
            assert!(int(&cmd(&mut con, &["TLOG.PURGE", "app"]).unwrap()) > 0, "{how}");
        } else {
            let keys: Vec<String> = con.keys("app:*").unwrap();
            let _: i64 = redis::cmd("UNLINK").arg(&keys).query(&mut con).unwrap();
        }
        let _: i64 = con.incr("app:counter", 4).unwrap();
        for id in [1, 2, 4, 3] {
            let rec = format!(r#"{{"id":{id},"ts":1700000000,"message":"p{id}","tags":["t"]}}"#);
            let _: () = con.set(format!("app:msg:{id}"), rec).unwrap();
            let _: () = con.lpush("app:flow:__all__", id).unwrap();
            let _: () = con.lpush("app:flow:t", id).unwrap();
        }
        for flow in ["t", "__all__"] {
            let got = cmd(&mut con, &["TLOG.LATEST", "app", flow]).unwrap();
            assert_eq!(int(&field(&got, "id")), 4, "{how} {flow}");
        }
        // The next record's time floor is record 3's time, not the one this server wrote
        // under that id: a time just after it is taken.
        let added = cmd(&mut con, &["TLOG.ADD", "app", "TS", "1700000001", "MESSAGE", "m", "t"]);
        assert_eq!(int(&added.unwrap()), 5, "{how}");
    }
}

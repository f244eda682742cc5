//! Retention: TTLs, limits by count and age (server-wide and per call), the archive, the
//! background cleaner, TLOG.PURGE, configuration and INFO.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use redis::{Commands, Connection};

/// Polls `f` until it returns true, for at most `secs` seconds.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "not reached in {secs} s: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn info(con: &mut Connection) -> std::collections::HashMap<String, u64> {
    let text: String = redis::cmd("INFO").arg("tlog").query(con).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| Some((k.strip_prefix("tlog_")?.to_string(), v.trim().parse().ok()?)))
        .collect()
}

fn flow(con: &mut Connection, key: &str) -> Vec<i64> {
    con.lrange(key, 0, -1).unwrap()
}

fn keys(con: &mut Connection, pattern: &str) -> HashSet<String> {
    con.keys(pattern).unwrap()
}

fn set_config(con: &mut Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG").arg("SET").arg(name).arg(value).query(con).unwrap();
}

#[test]
fn expired_records_leave_every_flow_and_empty_flows_disappear() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 0..200 {
        cmd(&mut con, &["TLOG.ADD", "p", "TTL", "1", "MESSAGE", &format!("short {i}"), &format!("t{}", i % 4), "both"])
            .unwrap();
    }
    let kept: Vec<i64> =
        (0..5).map(|i| int(&cmd(&mut con, &["TLOG.LOG", "p", &format!("kept {i}"), "both"]).unwrap())).collect();
    let newest_first: Vec<i64> = kept.iter().rev().copied().collect();
    eventually(15, "only the records without a TTL are left in the flows", || {
        flow(&mut con, "p:flow:__all__") == newest_first && flow(&mut con, "p:flow:both") == newest_first
    });
    eventually(15, "the flows of expired tags are gone", || {
        (0..4).all(|t| !con.exists::<_, bool>(format!("p:flow:t{t}")).unwrap())
    });
    let stats = info(&mut con);
    // Each dead id is counted once, where it was removed: `__all__` (expired) or a tag flow.
    assert_eq!(stats["records_expired"], 200);
    assert_eq!(stats["dead_ids_trimmed"], 400);
    assert_eq!(stats["records_logged"], 205);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p"]).unwrap()), newest_first);
}

#[test]
fn records_of_plain_clients_without_tags_are_cleaned_too() {
    let s = Server::start();
    let mut con = s.conn();
    // Records 1 and 2 written by hand, as another client following the layout would: no
    // "tags" field, so only the flows themselves say where the ids are.
    for id in [1, 2] {
        let _: () =
            con.set_ex(format!("p:msg:{id}"), format!(r#"{{"id":{id},"ts":1.5,"message":"plain"}}"#), 1).unwrap();
        let _: () = con.lpush("p:flow:__all__", id).unwrap();
        let _: () = con.lpush("p:flow:x", id).unwrap();
        let _: () = con.lpush("p:flow:plain", id).unwrap();
    }
    let _: () = con.set("p:counter", 2).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "by tlog", "x"]).unwrap()), 3);
    eventually(15, "the plain records' ids are gone from the flows shown to be p's", || {
        flow(&mut con, "p:flow:__all__") == vec![3] && flow(&mut con, "p:flow:x") == vec![3]
    });
    // No record ever listed `plain`, and its ids are all dead now: nothing shows the list is a
    // flow of `p` (tlog never wrote it), so it is left as it is, pass after pass.
    scan_cycles(&mut con, 2);
    assert_eq!(flow(&mut con, "p:flow:plain"), vec![2, 1]);
}

/// Waits until the cleaner has finished `n` more full SCAN passes over every database.
fn scan_cycles(con: &mut Connection, n: u64) {
    let start = info(con)["cleaner_scan_cycles"];
    eventually(30, &format!("{n} more SCAN cycles"), || info(con)["cleaner_scan_cycles"] >= start + n);
}

#[test]
fn the_cleaner_changes_no_list_it_cannot_show_to_be_a_flow() {
    let s = Server::start_with(true, &["max-records", "5"]);
    let mut con = s.conn();
    // Prefixes in use: the empty one (bare keys), `p`, and `a`.
    for (prefix, n) in [("", 3), ("p", 5), ("a", 3)] {
        for i in 1..=n {
            cmd(&mut con, &["TLOG.LOG", prefix, &format!("m{i}"), "t"]).unwrap();
        }
    }
    // Other clients' lists, named like flows of those prefixes. No record 7, 8 or 9 exists.
    let _: () = con.rpush("flow:queue", &[7, 8, 9]).unwrap();
    let _: () = con.rpush("p:flow:jobs", &[11, 12, 13]).unwrap();
    // Its oldest id is dead, but record 5 of `p` does not list `mixed`.
    let _: () = con.rpush("p:flow:mixed", &[5, 12]).unwrap();
    // By name, a prefix `x` of 8 records (max-records 5 would remove 3), but no `x:msg:<id>` is
    // a record of `x` (a JSON object holding its id).
    for i in 1..=8 {
        let _: () = con.set(format!("x:msg:{i}"), format!("job {i}")).unwrap();
        let _: () = con.lpush("x:flow:__all__", i).unwrap();
    }
    // The flows of the prefix `a:flow` nested in `a`'s, with ids of no record of either.
    let _: () = con.rpush("a:flow:flow:__all__", &[50, 51]).unwrap();
    let _: () = con.rpush("a:flow:flow:t", &[50, 51]).unwrap();
    let foreign = |con: &mut Connection| -> Vec<(String, Vec<u8>)> {
        ["flow:queue", "p:flow:jobs", "p:flow:mixed", "x:*", "a:flow:flow:*"]
            .iter()
            .flat_map(|p| dump(con, p))
            .collect()
    };
    let before = foreign(&mut con);
    assert_eq!(before.len(), 3 + 9 + 2);
    // Dead ids of tlog's flows: records deleted by another client.
    let _: () = con.del(&["msg:1", "p:msg:1", "a:msg:1"]).unwrap();
    let cycles = info(&mut con)["cleaner_scan_cycles"];
    // The cleaner removes them, from `__all__` as it visits each prefix and from the flow of
    // `t` as its SCAN passes (record 2 lists `t`: the flow is shown to be the prefix's) ...
    eventually(15, "the dead ids of tlog's flows are removed", || {
        flow(&mut con, "flow:__all__") == vec![3, 2]
            && flow(&mut con, "flow:t") == vec![3, 2]
            && flow(&mut con, "p:flow:__all__") == vec![5, 4, 3, 2]
            && flow(&mut con, "p:flow:t") == vec![5, 4, 3, 2]
            && flow(&mut con, "a:flow:__all__") == vec![3, 2]
            && flow(&mut con, "a:flow:t") == vec![3, 2]
    });
    // ... and passes every key three more times, leaving the others' lists alone.
    eventually(30, "three SCAN cycles", || info(&mut con)["cleaner_scan_cycles"] >= cycles + 3);
    assert_eq!(foreign(&mut con), before);
    let stats = info(&mut con);
    assert_eq!((stats["records_expired"], stats["dead_ids_trimmed"], stats["records_evicted"]), (3, 3, 0));
}

#[test]
fn purge_and_tags_leave_the_keys_of_a_nested_prefix_alone() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 1..=3 {
        cmd(&mut con, &["TLOG.LOG", "a", &format!("m{i}"), "t"]).unwrap();
    }
    // The prefixes `a:flow` and `a:flow:x`, written by another client (tlog refuses them): their
    // keys are named like flows of `a`.
    plain_prefix(&mut con, "a:flow", &[1, 2]);
    plain_prefix(&mut con, "a:flow:x", &[1]);
    let _: () = redis::cmd("XADD").arg("a:flow:archive").arg("*").arg("id").arg("1").query(&mut con).unwrap();
    let own = ["a:flow:__all__", "a:flow:t"];
    let nested = |con: &mut Connection| -> Vec<(String, Vec<u8>)> {
        dump(con, "a:flow:*").into_iter().filter(|(k, _)| !own.contains(&k.as_str())).collect()
    };
    let before = nested(&mut con);
    assert_eq!(before.len(), 5 + 4 + 1);
    // The catalog of `a` holds its own tag only.
    let page = cmd(&mut con, &["TLOG.TAGS", "a", "0", "COUNT", "1000"]).unwrap();
    let page = array(&page);
    assert_eq!(text(&page[0]), "0");
    let listed: Vec<String> = array(&page[1]).iter().map(|t| text(&field(t, "tag"))).collect();
    assert_eq!(listed, vec!["t"]);
    // The purge of `a` removes its counter, 3 records, `__all__` and the flow of `t`: 6 keys.
    assert_eq!(int(&cmd(&mut con, &["TLOG.PURGE", "a"]).unwrap()), 6);
    assert_eq!(nested(&mut con), before);
    let left: HashSet<String> = keys(&mut con, "a:*");
    assert_eq!(left, before.iter().map(|(k, _)| k.clone()).collect());
}

#[test]
fn removing_a_record_touches_only_the_flows_of_its_own_tags() {
    let s = Server::start();
    let mut con = s.conn();
    // Records 1 and 3 of `a`, written by another client, list tags whose flows would be keys of
    // the nested prefixes `a:flow` (its flow `t`) and `a:flow:x` (its counter).
    let _: () =
        con.set("a:msg:1", r#"{"id":1,"ts":1.5,"message":"by hand","tags":["t","flow:t","x:counter"]}"#).unwrap();
    let _: () = con.lpush("a:flow:__all__", 1).unwrap();
    let _: () = con.lpush("a:flow:t", 1).unwrap();
    let _: () = con.set("a:counter", 1).unwrap();
    plain_prefix(&mut con, "a:flow", &[1, 3]);
    let _: () = con.set("a:flow:x:counter", 1).unwrap();
    let own = ["a:flow:__all__", "a:flow:t"];
    let nested = |con: &mut Connection| -> Vec<(String, Vec<u8>)> {
        dump(con, "a:flow:*").into_iter().filter(|(k, _)| !own.contains(&k.as_str())).collect()
    };
    let before = nested(&mut con);
    // MAXLEN removes record 1 from the flows of `a` only.
    assert_eq!(int(&cmd(&mut con, &["TLOG.ADD", "a", "MAXLEN", "1", "MESSAGE", "m", "t"]).unwrap()), 2);
    assert_eq!((flow(&mut con, "a:flow:__all__"), flow(&mut con, "a:flow:t")), (vec![2], vec![2]));
    assert!(!con.exists::<_, bool>("a:msg:1").unwrap());
    assert_eq!(nested(&mut con), before);
    // So does TLOG.DEL.
    let _: () = con.set("a:msg:3", r#"{"id":3,"ts":1.5,"message":"by hand","tags":["t","flow:t"]}"#).unwrap();
    let _: () = con.lpush("a:flow:__all__", 3).unwrap();
    let _: () = con.lpush("a:flow:t", 3).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "a", "3"]).unwrap()), 1);
    assert_eq!((flow(&mut con, "a:flow:__all__"), flow(&mut con, "a:flow:t")), (vec![2], vec![2]));
    assert_eq!(nested(&mut con), before);
}

#[test]
fn count_and_age_limits_hold_under_continuous_logging() {
    let s = Server::start_with(true, &["max-records", "50"]);
    let mut con = s.conn();
    for i in 1..=500 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}"), &format!("t{}", i % 3)]).unwrap();
        // The cleaner runs between commands: each time 100 more records are in, it brings the
        // prefix back to its limit.
        if i % 100 == 0 {
            eventually(10, &format!("p is back to 50 records after {i}"), || {
                con.llen::<_, usize>("p:flow:__all__").unwrap() == 50
            });
        }
    }
    let newest: Vec<i64> = (451..=500).rev().collect();
    eventually(10, "the newest 50 records are kept", || flow(&mut con, "p:flow:__all__") == newest);
    assert_eq!(keys(&mut con, "p:msg:*").len(), 50);
    let kept: HashSet<i64> = newest.iter().copied().collect();
    for t in 0..3 {
        let ids = flow(&mut con, &format!("p:flow:t{t}"));
        assert!(ids.iter().all(|id| kept.contains(id)), "flow t{t} holds evicted ids: {ids:?}");
        assert_eq!(ids.len(), newest.iter().filter(|&&id| id % 3 == t).count());
    }
    assert_eq!(info(&mut con)["records_evicted"], 450);

    // Age: a record older than max-age goes, a newer one stays. The old one, a minute old by
    // the server's clock, is written as another client following the layout would.
    set_config(&mut con, "tlog.max-records", "0");
    let minute_ago = (server_time_us(&mut con) - 60_000_000) as f64 / 1e6;
    let _: () = con.set("q:msg:1", format!(r#"{{"id":1,"ts":{minute_ago},"message":"old","tags":[]}}"#)).unwrap();
    let _: () = con.lpush("q:flow:__all__", 1).unwrap();
    let _: () = con.set("q:counter", 1).unwrap();
    let young = int(&cmd(&mut con, &["TLOG.LOG", "q", "young"]).unwrap());
    set_config(&mut con, "tlog.max-age", "30");
    eventually(5, "the old record is removed", || flow(&mut con, "q:flow:__all__") == vec![young]);
    assert!(!con.exists::<_, bool>("q:msg:1").unwrap());
    assert!(con.exists::<_, bool>(format!("q:msg:{young}")).unwrap());
}

#[test]
fn maxlen_and_maxage_apply_at_the_call() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 1..=5 {
        cmd(&mut con, &["TLOG.ADD", "p", "MAXLEN", "3", "MESSAGE", &format!("m{i}"), "a"]).unwrap();
        let expect: Vec<i64> = (i.max(3) - 2..=i).rev().collect();
        let expect: Vec<i64> = expect.into_iter().filter(|&id| id >= 1).collect();
        assert_eq!(flow(&mut con, "p:flow:__all__"), expect);
        assert_eq!(flow(&mut con, "p:flow:a"), expect);
    }
    assert_eq!(keys(&mut con, "p:msg:*").len(), 3);

    // `~` removes at most 100 records per call.
    for i in 0..250 {
        cmd(&mut con, &["TLOG.LOG", "q", &format!("m{i}")]).unwrap();
    }
    cmd(&mut con, &["TLOG.ADD", "q", "MAXLEN", "~", "10", "MESSAGE", "x"]).unwrap();
    assert_eq!(con.llen::<_, usize>("q:flow:__all__").unwrap(), 151);
    cmd(&mut con, &["TLOG.ADD", "q", "MAXLEN", "=", "10", "MESSAGE", "x"]).unwrap();
    assert_eq!(con.llen::<_, usize>("q:flow:__all__").unwrap(), 10);

    // MAXAGE: a record from another client, an hour old, goes at once.
    let hour_ago = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() - 3600.0;
    let _: () = con.set("r:msg:1", format!(r#"{{"id":1,"ts":{hour_ago},"message":"old","tags":["t"]}}"#)).unwrap();
    let _: () = con.lpush("r:flow:__all__", 1).unwrap();
    let _: () = con.lpush("r:flow:t", 1).unwrap();
    let id = int(&cmd(&mut con, &["TLOG.ADD", "r", "MAXAGE", "60", "MESSAGE", "new", "t"]).unwrap());
    assert_eq!(flow(&mut con, "r:flow:__all__"), vec![id]);
    assert_eq!(flow(&mut con, "r:flow:t"), vec![id]);
    assert!(!con.exists::<_, bool>("r:msg:1").unwrap());
}

#[test]
fn limits_check_everything_before_writing() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "one", "a"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "two", "b"]).unwrap();
    let before = s.digest();
    for (args, error) in [
        (vec!["MAXLEN", "0"], "ERR MAXLEN needs a count of records from 1 to 1000000000000"),
        (vec!["MAXLEN", "~", "x"], "ERR MAXLEN needs a count of records from 1 to 1000000000000"),
        (vec!["MAXAGE", "0"], "ERR MAXAGE needs seconds from 1 to 3153600000 (100 years)"),
        (vec!["MAXLEN", "1", "MAXLEN", "1"], "ERR option MAXLEN given more than once"),
    ] {
        let mut words = vec!["TLOG.ADD", "p"];
        words.extend(args);
        words.extend(["MESSAGE", "m"]);
        assert_eq!(err_of(cmd(&mut con, &words)), error);
    }
    // The record MAXLEN would remove lists a tag whose flow holds another type.
    let _: () = con.del("p:flow:a").unwrap();
    let _: () = con.set("p:flow:a", "x").unwrap();
    let before_wrongtype = s.digest();
    assert!(err_of(cmd(&mut con, &["TLOG.ADD", "p", "MAXLEN", "1", "MESSAGE", "m"])).starts_with("WRONGTYPE"));
    assert_eq!(s.digest(), before_wrongtype);
    let _: () = con.del("p:flow:a").unwrap();
    let _: () = con.lpush("p:flow:a", 1).unwrap();
    assert_eq!(s.digest(), before);

    // A user who may log but not remove the records of tag `a`.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("u")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("~p:counter")
        .arg("~p:flow:__all__")
        .arg("~p:flow:b")
        .arg("~p:msg:*")
        .arg("%R~p:flow:a")
        .query(&mut con)
        .unwrap();
    let mut u = redis::Client::open(format!("redis://u:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    assert_eq!(
        err_of(cmd(&mut u, &["TLOG.ADD", "p", "MAXLEN", "1", "MESSAGE", "m", "b"])),
        "NOPERM this user has no permissions to write the 'p:flow:a' key"
    );
    assert_eq!(s.digest(), before);
}

#[test]
fn the_archive_keeps_removed_records_up_to_its_cap() {
    let s = Server::start_with(true, &["archive", "yes", "archive-maxlen", "5"]);
    let mut con = s.conn();
    let mut stored = Vec::new();
    for i in 1..=10 {
        cmd(&mut con, &["TLOG.ADD", "p", "MAXLEN", "2", "MESSAGE", &format!("m{i}"), "t"]).unwrap();
        stored.push(con.get::<_, String>(format!("p:msg:{i}")).unwrap());
    }
    // Records 1..8 were removed; the archive keeps the last 5 of them, oldest first.
    let entries: Vec<(String, Vec<(String, String)>)> =
        redis::cmd("XRANGE").arg("p:archive").arg("-").arg("+").query(&mut con).unwrap();
    let got: Vec<(String, String)> = entries
        .iter()
        .map(|(_, f)| {
            let m: std::collections::HashMap<_, _> = f.iter().cloned().collect();
            (m["id"].clone(), m["record"].clone())
        })
        .collect();
    let want: Vec<(String, String)> = (4..=8).map(|i| (i.to_string(), stored[i - 1].clone())).collect();
    assert_eq!(got, want);
    let stats = info(&mut con);
    assert_eq!((stats["records_archived"], stats["records_evicted"]), (8, 8));
    // Dead ids are not records: nothing to archive.
    let _: () = con.lpush("p:flow:__all__", 99).unwrap();
    let _: () = con.rpush("p:flow:__all__", 98).unwrap();
    // Of [99, 10, 9, 98] plus the new record, MAXLEN 2 removes 98, 9 and 10: two records.
    cmd(&mut con, &["TLOG.ADD", "p", "MAXLEN", "2", "MESSAGE", "m11"]).unwrap();
    assert_eq!(info(&mut con)["records_archived"], 10);
}

#[test]
fn configuration_is_checked() {
    let s = Server::start_with(true, &["tlog.max-age", "60", "cleaner-budget-us", "200"]);
    let mut con = s.conn();
    let got: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("tlog.max-age").query(&mut con).unwrap();
    assert_eq!(got, vec!["tlog.max-age", "60"]);
    assert_eq!(info(&mut con)["cleaner_budget_us"], 200);
    for (name, value) in [
        ("tlog.max-age", "-1"),
        ("tlog.max-age", "3153600001"),
        ("tlog.max-records", "x"),
        ("tlog.cleaner-budget-us", "1001"),
        ("tlog.archive-maxlen", "0"),
        ("tlog.archive", "maybe"),
    ] {
        let e: redis::RedisResult<()> = redis::cmd("CONFIG").arg("SET").arg(name).arg(value).query(&mut con);
        let e = err_of(e.map(|()| redis::Value::Okay));
        assert!(e.starts_with("ERR") && e.contains(name), "{name} {value}: {e}");
    }
    let got: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("tlog.max-age").query(&mut con).unwrap();
    assert_eq!(got, vec!["tlog.max-age", "60"]);

    // A bad loadmodule argument stops the server with the reason in its log.
    for args in [&["max-age", "x"][..], &["bogus", "1"], &["max-age"]] {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
        let out = std::process::Command::new(std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into()))
            .args(["--port", &port, "--bind", "127.0.0.1", "--dir"])
            .arg(dir.path())
            .arg("--loadmodule")
            .arg(module_path())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let log = String::from_utf8_lossy(&out.stdout);
        assert!(log.contains("<tlog> tlog: loadmodule argument") || log.contains("come in pairs"), "{args:?}: {log}");
    }
}

#[test]
fn purge_removes_the_prefix_and_nothing_else() {
    let s = Server::start();
    let mut con = s.conn();
    assert_eq!(int(&cmd(&mut con, &["TLOG.PURGE", "p"]).unwrap()), 0);
    for i in 0..3000 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}"), &format!("t{}", i % 7)]).unwrap();
    }
    cmd(&mut con, &["TLOG.LOG", "p:sub", "another prefix"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p2", "another prefix"]).unwrap();
    let _: () = con.set("p:other", "not tlog's").unwrap();
    let _: () = con.set("p:msg:x", "not a record key").unwrap();
    let _: () = redis::cmd("XADD").arg("p:archive").arg("*").arg("id").arg("1").query(&mut con).unwrap();
    // counter, archive, 3000 records, __all__ and 7 tag flows.
    assert_eq!(int(&cmd(&mut con, &["TLOG.PURGE", "p"]).unwrap()), 3010);
    let left = keys(&mut con, "*");
    let expect: HashSet<String> = [
        "p:other",
        "p:msg:x",
        "p:sub:counter",
        "p:sub:msg:1",
        "p:sub:flow:__all__",
        "p2:counter",
        "p2:msg:1",
        "p2:flow:__all__",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    assert_eq!(left, expect);
    assert_eq!(info(&mut con)["keys_purged"], 3010);
    // The prefix starts afresh.
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "again"]).unwrap()), 1);
    // Inside MULTI it runs at once.
    let (n,): (i64,) = redis::pipe().atomic().cmd("TLOG.PURGE").arg("p").query(&mut con).unwrap();
    assert_eq!(n, 3);
    assert_eq!(err_of(cmd(&mut con, &["TLOG.PURGE"])), "ERR wrong number of arguments for 'tlog.purge' command");

    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("u")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("~p2:flow:*")
        .arg("~p2:counter")
        .arg("~p2:archive")
        .query(&mut con)
        .unwrap();
    let mut u = redis::Client::open(format!("redis://u:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    assert_eq!(
        err_of(cmd(&mut u, &["TLOG.PURGE", "p2"])),
        "NOPERM this user has no permissions to write the 'p2:msg:*' key"
    );
}

#[test]
fn a_large_purge_lets_other_clients_run_and_refuses_writes_to_the_prefix() {
    let s = Server::start();
    let mut con = s.conn();
    let mut pipe = redis::pipe();
    for i in 0..100_000 {
        pipe.cmd("TLOG.LOG").arg("big").arg(format!("m{i}")).arg(format!("t{}", i % 10)).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let port = s.port;
    let purger = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        int(&cmd(&mut c, &["TLOG.PURGE", "big"]).unwrap())
    });
    eventually(10, "the purge starts", || info(&mut con)["purges_running"] == 1);
    // While it runs, a write to the prefix is refused and the server answers others.
    assert_eq!(
        err_of(cmd(&mut con, &["TLOG.LOG", "big", "during"])),
        "ERR TLOG.PURGE of this prefix is running; write again once it has returned"
    );
    let mut answered = 0;
    while !purger.is_finished() {
        let _: Option<String> = con.get("unrelated").unwrap();
        answered += 1;
    }
    // 100000 records, the counter, `__all__` and 10 tag flows.
    assert_eq!(purger.join().unwrap(), 100_000 + 1 + 1 + 10);
    assert!(answered > 10, "answered: {answered}");
    assert!(keys(&mut con, "big:*").is_empty());
}

#[test]
fn replicas_and_the_aof_match_while_the_cleaner_runs() {
    let master = Server::start_with(
        true,
        &["max-records", "300", "archive", "yes", "archive-maxlen", "100", "--appendonly", "yes"],
    );
    // The replica runs no module: the cleaner's effects are plain commands.
    let replica = Server::replica_of(&master, false);
    let mut con = master.conn();
    // 5000 writes at least, and as many as it takes for the cleaner to tick 5 times among
    // them.
    let ticks = info(&mut con)["cleaner_ticks"];
    let mut i = 0;
    while i < 5000 || info(&mut con)["cleaner_ticks"] < ticks + 5 {
        i += 1;
        let ttl = if i % 2 == 0 { "1" } else { "100" };
        cmd(&mut con, &["TLOG.ADD", "p", "TTL", ttl, "MESSAGE", &format!("m{i}"), &format!("t{}", i % 5)]).unwrap();
        if i % 50 == 0 {
            cmd(&mut con, &["TLOG.ADD", "p", "MAXLEN", "~", "200", "MESSAGE", "trim"]).unwrap();
        }
        assert!(i < 1_000_000, "the cleaner did not tick 5 times in {i} writes");
    }
    cmd(&mut con, &["TLOG.LOG", "gone", "x"]).unwrap();
    cmd(&mut con, &["TLOG.PURGE", "gone"]).unwrap();
    // Once the clock is past the last TTL, a full SCAN deletes every expired key (it expires
    // those it meets) rather than leaving some to the server's sampling.
    let last_expiry = server_time_us(&mut con) + 1_000_000;
    wait_server_time_past(&mut con, last_expiry, "the last record with a TTL of 1 s expires");
    let _: Vec<String> = con.scan().unwrap().collect();
    // Then the data stops changing: it is the same before and after two full passes of the
    // cleaner over every key, which had every chance to change it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let digest = loop {
        let before = master.digest();
        scan_cycles(&mut con, 2);
        if master.digest() == before {
            break before;
        }
        assert!(Instant::now() < deadline, "the master's data never settled");
    };
    assert!(con.llen::<_, usize>("p:flow:__all__").unwrap() <= 300);
    let _: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(digest, replica.digest());
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).unwrap();
    assert_eq!(master.digest(), digest);
    assert!(info(&mut con)["records_evicted"] > 0);
    // The replica's own cleaner (none here) would not have run: its counters stay at zero.
}

#[test]
fn a_replica_with_the_module_does_not_clean() {
    let master = Server::start_with(true, &["max-records", "5"]);
    let replica = Server::start_with(true, &["max-records", "1", "--replicaof", "127.0.0.1", &master.port.to_string()]);
    let mut con = master.conn();
    eventually(10, "the replica links", || {
        let i: String = redis::cmd("INFO").arg("replication").query(&mut replica.conn()).unwrap();
        i.contains("master_link_status:up")
    });
    for i in 0..20 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}")]).unwrap();
    }
    eventually(10, "the master keeps 5", || con.llen::<_, usize>("p:flow:__all__").unwrap() == 5);
    let _: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    // The replica's cleaner ticks all along and stands by: five more ticks, and the replica
    // still holds the master's 5 records, not the 1 its own max-records allows.
    let mut r = replica.conn();
    let ticks = info(&mut r)["cleaner_standby_ticks"];
    eventually(10, "the replica's cleaner ticks", || info(&mut r)["cleaner_standby_ticks"] >= ticks + 5);
    assert_eq!(r.llen::<_, usize>("p:flow:__all__").unwrap(), 5);
    assert_eq!(info(&mut r)["records_evicted"], 0);
    assert_eq!(info(&mut r)["cleaner_ticks"], 0);
    assert_eq!(master.digest(), replica.digest());
    // The same server as a master cleans down to its limit: as a replica it could have.
    let _: () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut r).unwrap();
    eventually(10, "the promoted server keeps 1", || r.llen::<_, usize>("p:flow:__all__").unwrap() == 1);
}

#[test]
fn a_purge_stops_cleanly_where_it_cannot_go_on() {
    let s = Server::start();
    let mut con = s.conn();
    let fill = |con: &mut Connection, prefix: &str, n: usize| {
        let mut pipe = redis::pipe();
        for i in 0..n {
            pipe.cmd("TLOG.LOG").arg(prefix).arg(format!("m{i}")).arg("t").ignore();
        }
        let _: () = pipe.query(con).unwrap();
    };
    // Keys named like the layout but of another type are not the prefix's: they stay.
    let _: () = con.set("p:flow:x", "a string, not a flow").unwrap();
    let _: () = con.rpush("p:archive", "a list, not a stream").unwrap();
    fill(&mut con, "p", 3);
    assert_eq!(int(&cmd(&mut con, &["TLOG.PURGE", "p"]).unwrap()), 3 + 3);
    assert_eq!(keys(&mut con, "p:*"), ["p:flow:x", "p:archive"].iter().map(|k| k.to_string()).collect());

    // SWAPDB under a running purge stops it: it would go on in the other data.
    fill(&mut con, "big", 100_000);
    let port = s.port;
    let purger = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        err_of(cmd(&mut c, &["TLOG.PURGE", "big"]))
    });
    eventually(10, "the purge starts", || info(&mut con)["purges_running"] == 1);
    // A blocked TLOG.PURGE cannot be cut short with CLIENT UNBLOCK.
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    let purger_id = clients
        .lines()
        .find(|l| l.contains("cmd=tlog.purge"))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .unwrap()
        .to_string();
    let unblocked: i64 = redis::cmd("CLIENT").arg("UNBLOCK").arg(&purger_id).query(&mut con).unwrap();
    assert_eq!(unblocked, 0);
    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut con).unwrap();
    let e = purger.join().unwrap();
    assert!(
        e.starts_with("ERR TLOG.PURGE stopped after ") && e.ends_with(" keys: SWAPDB exchanged its database"),
        "{e}"
    );
    assert!(
        !keys(&mut con, "big:*").is_empty() || {
            let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
            !keys(&mut con, "big:*").is_empty()
        }
    );

    // A user whose patterns match the literal names but not the keys (escaped globs): the
    // keys themselves are checked too.
    let mut con = s.conn();
    fill(&mut con, "q", 3);
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("lit")
        .arg("on")
        .arg("nopass")
        .arg("+@all")
        .arg("~q:counter")
        .arg("~q:archive")
        .arg("~q:flow:\\*")
        .arg("~q:msg:\\*")
        .query(&mut con)
        .unwrap();
    let mut u = redis::Client::open(format!("redis://lit:x@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    let e = err_of(cmd(&mut u, &["TLOG.PURGE", "q"]));
    assert!(e.starts_with("NOPERM TLOG.PURGE stopped after "), "{e}");
    assert_eq!(keys(&mut con, "q:msg:*").len(), 3);
    assert!(con.exists::<_, bool>("q:flow:__all__").unwrap());
}

#[test]
fn noperm_names_the_access_that_is_missing() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 0..3 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}")]).unwrap();
    }
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("w")
        .arg("on")
        .arg("nopass")
        .arg("+@all")
        .arg("~p:counter")
        .arg("~p:flow:*")
        .arg("%W~p:msg:*")
        .query(&mut con)
        .unwrap();
    let mut u = redis::Client::open(format!("redis://w:x@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    // Logging needs only to write the new record; removing old ones means reading them.
    cmd(&mut u, &["TLOG.LOG", "p", "fine"]).unwrap();
    assert_eq!(
        err_of(cmd(&mut u, &["TLOG.ADD", "p", "MAXLEN", "1", "MESSAGE", "m"])),
        "NOPERM this user has no permissions to read the 'p:msg:1' key"
    );
}

#[test]
fn a_purge_stops_when_its_server_becomes_a_replica() {
    let s = Server::start();
    let other = Server::start();
    let mut con = s.conn();
    let mut pipe = redis::pipe();
    for i in 0..100_000 {
        pipe.cmd("TLOG.LOG").arg("big").arg(format!("m{i}")).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let port = s.port;
    let purger = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        err_of(cmd(&mut c, &["TLOG.PURGE", "big"]))
    });
    eventually(10, "the purge starts", || info(&mut con)["purges_running"] == 1);
    let _: () = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(other.port).query(&mut con).unwrap();
    // The server itself answers every blocked client so, before tlog's own error could.
    let e = purger.join().unwrap();
    assert!(e.starts_with("UNBLOCKED force unblock from blocking operation"), "{e}");
    // The purge is over at once, not at the next tick.
    assert_eq!(info(&mut con)["purges_running"], 0);
}

//! WHERE, MATCH and COUNT ... BUCKET against a real server: each option on each read command,
//! in RESP2 and RESP3, with tag filters and bounds, continuations at the scan limit, records
//! written by a plain client, and bad input refused with a coded error.

mod common;

use common::*;
use redis::{Connection, Value};

fn get(con: &mut Connection, words: &[&str]) -> Vec<i64> {
    ids(&cmd(con, words).unwrap())
}

/// Records 1..=6: attrs alternate between levels, messages between two texts.
fn fill(con: &mut Connection) {
    let rows = [
        (r#"{"level":"warn","n":1}"#, "disk full", "a"),
        (r#"{"level":"info","n":2.0}"#, "all good", "a"),
        (r#"{"level":"warn","ok":true}"#, "disk error on sda", "b"),
        (r#"{"level":"warn","x":null,"o":{"k":1}}"#, "Disk DOWN", "a"),
        (r#"{"level":"info","n":"1"}"#, "disk full", "b"),
    ];
    for (attrs, msg, tag) in rows {
        cmd(con, &["TLOG.ADD", "p", "ATTRS", attrs, "MESSAGE", msg, tag]).unwrap();
    }
    cmd(con, &["TLOG.ADD", "p", "JSON", "MESSAGE", r#"{"disk": 1}"#, "a"]).unwrap();
}

#[test]
fn where_and_match_on_every_read_in_resp2_and_resp3() {
    let s = Server::start();
    for resp3 in [false, true] {
        let mut con = if resp3 { s.conn3() } else { s.conn() };
        if !resp3 {
            fill(&mut con);
        }
        let c = &mut con;
        // GET: WHERE on strings, numbers (1 is 1.0; a string "1" is the text 1), literals;
        // pairs ANDed.
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "WHERE", "1", "level", "warn"]), [4, 3, 1]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "WHERE", "1", "n", "1"]), [5, 1]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "WHERE", "1", "n", "2"]), [2]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "WHERE", "1", "ok", "true"]), [3]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "WHERE", "1", "x", "null"]), [4]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "WHERE", "1", "o", r#"{"k":1}"#]), Vec::<i64>::new());
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "WHERE", "2", "level", "warn", "n", "1"]), [1]);
        // MATCH: glob, case-sensitive, a JSON message as compact JSON.
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "MATCH", "disk*"]), [5, 3, 1]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "MATCH", "[dD]isk*"]), [5, 4, 3, 1]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "MATCH", r#"{"disk":1}"#]), [6]);
        // Composed with tags, bounds, order and LIMIT.
        assert_eq!(get(c, &["TLOG.GET", "p", "a", "WHERE", "1", "level", "warn", "MATCH", "*full"]), [1]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "NOT", "1", "b", "WHERE", "1", "level", "warn"]), [4, 1]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "MATCH", "*disk*", "ASC", "LIMIT", "2"]), [1, 3]);
        assert_eq!(get(c, &["TLOG.GET", "p", "__all__", "MATCH", "disk*", "BEFORE", "5", "AFTER", "1"]), [3]);
        // LATEST, COUNT, TAIL.
        let latest = cmd(c, &["TLOG.LATEST", "p", "__all__", "WHERE", "1", "level", "info"]).unwrap();
        assert_eq!(int(&field(&latest, "id")), 5);
        let none = cmd(c, &["TLOG.LATEST", "p", "b", "WHERE", "1", "n", "2"]).unwrap();
        assert_eq!(none, Value::Nil);
        assert_eq!(int(&cmd(c, &["TLOG.COUNT", "p", "__all__", "WHERE", "1", "level", "warn"]).unwrap()), 3);
        assert_eq!(int(&cmd(c, &["TLOG.COUNT", "p", "a", "MATCH", "disk*"]).unwrap()), 1);
        assert_eq!(int(&cmd(c, &["TLOG.COUNT", "p", "__all__", "AND", "1", "b", "MATCH", "disk*"]).unwrap()), 2);
        assert_eq!(get(c, &["TLOG.TAIL", "p", "__all__", "1", "WHERE", "1", "level", "warn"]), [3, 4]);
        assert_eq!(get(c, &["TLOG.TAIL", "p", "a", "0", "MATCH", "disk*", "COUNT", "5"]), [1]);
        // RAW returns the stored text of the records that pass.
        let raw = array(&cmd(c, &["TLOG.GET", "p", "__all__", "WHERE", "1", "ok", "true", "RAW"]).unwrap());
        assert!(text(&raw[0]).contains(r#""attrs":{"level":"warn","ok":true}"#));
    }
}

#[test]
fn records_with_attrs_of_a_plain_client_are_matched() {
    let s = Server::start();
    let mut con = s.conn();
    let rec = |id: i64, attrs: &str| {
        format!(
            r#"{{"id": {id}, "ts": 1700000000.5, "message": "user logged in", "tags": ["auth"], "attrs": {attrs}}}"#
        )
    };
    for (id, attrs) in [(1, r#"{"user_id": 1}"#), (2, r#"{"user_id": 2, "level": "WARN"}"#)] {
        cmd(&mut con, &["SET", &format!("p:msg:{id}"), &rec(id, attrs)]).unwrap();
        cmd(&mut con, &["LPUSH", "p:flow:__all__", &id.to_string()]).unwrap();
        cmd(&mut con, &["LPUSH", "p:flow:auth", &id.to_string()]).unwrap();
    }
    cmd(&mut con, &["SET", "p:counter", "2"]).unwrap();
    assert_eq!(get(&mut con, &["TLOG.GET", "p", "auth", "WHERE", "1", "user_id", "1"]), [1]);
    assert_eq!(get(&mut con, &["TLOG.GET", "p", "auth", "WHERE", "1", "level", "WARN", "MATCH", "user *"]), [2]);
    assert_eq!(int(&cmd(&mut con, &["TLOG.COUNT", "p", "auth", "WHERE", "1", "user_id", "2"]).unwrap()), 1);
}

#[test]
fn filters_pass_over_records_under_the_scan_limit_with_a_continuation() {
    let s = Server::start();
    let mut con = s.conn();
    // 30 records; only 1 and 30 match.
    for i in 1..=30 {
        let attrs = if i == 1 || i == 30 { r#"{"hit":true}"# } else { r#"{"hit":false}"# };
        cmd(&mut con, &["TLOG.ADD", "p", "ATTRS", attrs, "MESSAGE", &format!("m{i}"), "t"]).unwrap();
    }
    let c = &mut con;
    // GET: the first page has 30; the scan limit stops the next with a cursor.
    let page =
        cmd(c, &["TLOG.GET", "p", "t", "WHERE", "1", "hit", "true", "BEFORE", "30", "SCANLIMIT", "10", "WITHCURSOR"])
            .unwrap();
    let page = array(&page);
    assert_eq!((int(&page[0]), ids(&page[1])), (20, vec![]));
    let err = err_of(cmd(c, &["TLOG.GET", "p", "t", "WHERE", "1", "hit", "true", "BEFORE", "30", "SCANLIMIT", "10"]));
    assert!(err.starts_with("ERR scan limit reached: 10 ids passed over") && err.contains("BEFORE 20"), "{err}");
    // Following the cursors finds record 1.
    let mut before = 30;
    let mut found = Vec::new();
    for _ in 0..10 {
        let b = before.to_string();
        let page = array(
            &cmd(c, &["TLOG.GET", "p", "t", "MATCH", "m1", "BEFORE", &b, "SCANLIMIT", "10", "WITHCURSOR"]).unwrap(),
        );
        found.extend(ids(&page[1]));
        before = int(&page[0]);
        if before == 0 {
            break;
        }
    }
    assert_eq!(found, [1]);
    // LATEST and TAIL: the same rule, their own continuations.
    let err = err_of(cmd(c, &["TLOG.LATEST", "p", "t", "WHERE", "1", "hit", "true", "BEFORE", "30", "SCANLIMIT", "5"]));
    assert!(err.contains("BEFORE 25"), "{err}");
    let err = err_of(cmd(c, &["TLOG.TAIL", "p", "t", "1", "WHERE", "1", "hit", "true", "SCANLIMIT", "5"]));
    assert!(err.contains("continue from id 6"), "{err}");
    // COUNT counts by reading, every id counted toward the limit.
    let err = err_of(cmd(c, &["TLOG.COUNT", "p", "t", "WHERE", "1", "hit", "true", "SCANLIMIT", "10"]));
    assert!(err.contains("count the rest with BEFORE 21") && err.contains("and add 1"), "{err}");
    let part = array(
        &cmd(c, &["TLOG.COUNT", "p", "t", "WHERE", "1", "hit", "true", "SCANLIMIT", "10", "WITHCURSOR"]).unwrap(),
    );
    assert_eq!((int(&part[0]), int(&part[1])), (21, 1));
    let rest = array(
        &cmd(c, &["TLOG.COUNT", "p", "t", "WHERE", "1", "hit", "true", "BEFORE", "21", "SCANLIMIT", "0", "WITHCURSOR"])
            .unwrap(),
    );
    assert_eq!((int(&rest[0]), int(&rest[1])), (0, 1));
}

fn pairs(v: &Value) -> Vec<(i64, i64)> {
    array(v)
        .iter()
        .map(|p| {
            let p = array(p);
            (int(&p[0]), int(&p[1]))
        })
        .collect()
}

#[test]
fn count_bucket_gives_a_histogram_with_and_without_filters() {
    let s = Server::start();
    for resp3 in [false, true] {
        let mut con = if resp3 { s.conn3() } else { s.conn() };
        let c = &mut con;
        if !resp3 {
            // Times 1000.0 .. 1000.0 + 5 * 25 s, within 2 minutes; TS keeps them in order.
            for i in 0..6 {
                let ts = format!("{}", 1_000 + i * 25);
                let attrs = if i % 2 == 0 { r#"{"even":true}"# } else { r#"{"even":false}"# };
                cmd(c, &["TLOG.ADD", "p", "TS", &ts, "ATTRS", attrs, "MESSAGE", &format!("m{i}"), "t"]).unwrap();
            }
        }
        // Buckets of 60 s from 960: 1000 | 1025, 1050, 1075 | 1100, 1125 | none | none (UNTIL
        // 1200 starts a bucket of its own).
        let all = cmd(c, &["TLOG.COUNT", "p", "t", "SINCE", "990", "UNTIL", "1200", "BUCKET", "60"]).unwrap();
        assert_eq!(pairs(&all), [(960, 1), (1020, 3), (1080, 2), (1140, 0), (1200, 0)]);
        let f = cmd(
            c,
            &["TLOG.COUNT", "p", "t", "WHERE", "1", "even", "true", "SINCE", "990", "UNTIL", "1199", "BUCKET", "60"],
        )
        .unwrap();
        assert_eq!(pairs(&f), [(960, 1), (1020, 1), (1080, 1), (1140, 0)]);
        // A bound inside a bucket clips it.
        let clipped = cmd(c, &["TLOG.COUNT", "p", "t", "SINCE", "1030", "UNTIL", "1100", "BUCKET", "60"]).unwrap();
        assert_eq!(pairs(&clipped), [(1020, 2), (1080, 1)]);
        // Continuation of a filtered histogram: the parts add up bucket by bucket.
        let part = array(
            &cmd(
                c,
                &[
                    "TLOG.COUNT",
                    "p",
                    "t",
                    "MATCH",
                    "m*",
                    "SINCE",
                    "990",
                    "UNTIL",
                    "1199",
                    "BUCKET",
                    "60",
                    "SCANLIMIT",
                    "4",
                    "WITHCURSOR",
                ],
            )
            .unwrap(),
        );
        assert_eq!(int(&part[0]), 3);
        assert_eq!(pairs(&part[1]), [(960, 0), (1020, 2), (1080, 2), (1140, 0)]);
        let rest = array(
            &cmd(
                c,
                &[
                    "TLOG.COUNT",
                    "p",
                    "t",
                    "MATCH",
                    "m*",
                    "SINCE",
                    "990",
                    "UNTIL",
                    "1199",
                    "BUCKET",
                    "60",
                    "BEFORE",
                    "3",
                    "WITHCURSOR",
                ],
            )
            .unwrap(),
        );
        assert_eq!(int(&rest[0]), 0);
        assert_eq!(pairs(&rest[1]), [(960, 1), (1020, 1), (1080, 0), (1140, 0)]);
        let err = err_of(cmd(
            c,
            &["TLOG.COUNT", "p", "t", "MATCH", "m*", "SINCE", "990", "UNTIL", "1200", "BUCKET", "60", "SCANLIMIT", "4"],
        ));
        assert!(err.starts_with("ERR scan limit reached: 4 ids scanned before every bucket was counted"), "{err}");
    }
}

/// Records looked up (found or not) since the last call.
fn lookups(con: &mut Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(con).unwrap();
    let stat = |name: &str| -> u64 {
        info.lines().find_map(|l| l.strip_prefix(name)).map_or(0, |v| v.trim().parse().unwrap_or(0))
    };
    let n = stat("keyspace_hits:") + stat("keyspace_misses:");
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(con).unwrap();
    n
}

/// A day of minute buckets over 200,000 records spread over the day: each call reads about the
/// scan limit of records, and the parts, added bucket by bucket, are the exact histogram.
#[test]
fn a_day_histogram_reads_a_bounded_number_of_records_per_call() {
    let s = Server::start();
    let mut con = s.conn();
    // Record i at t0 + 0.432 i seconds: 200,000 records over a day from t0, a multiple of 60.
    let (t0, n) = (1_699_999_980i64, 200_000i64);
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            let ms = i * 432;
            let ts = format!("{}.{:03}", t0 + ms / 1000, ms % 1000);
            pipe.cmd("TLOG.ADD").arg("day").arg("TS").arg(ts).arg("MESSAGE").arg("m").arg("t").ignore();
        }
        let _: () = pipe.query(&mut con).unwrap();
    }
    let mut want = vec![0i64; 1440];
    // UNTIL t0 + 86,399: the last record (86,399.568 s on) is after it.
    for i in (0..n).filter(|i| i * 432 <= 86_399_000) {
        want[(i * 432 / 60_000) as usize] += 1;
    }
    let (since, until) = (t0.to_string(), (t0 + 86_399).to_string());
    let base = ["TLOG.COUNT", "day", "t", "SINCE", &since, "UNTIL", &until, "BUCKET", "60"];
    let counts = |v: &Value| -> Vec<i64> {
        let p = pairs(v);
        assert_eq!(p.len(), 1440);
        assert!(p.iter().enumerate().all(|(k, (start, _))| *start == t0 + 60 * k as i64));
        p.iter().map(|(_, c)| *c).collect()
    };
    let mut unlimited: Vec<&str> = base.to_vec();
    unlimited.extend(["SCANLIMIT", "0"]);
    assert_eq!(counts(&cmd(&mut con, &unlimited).unwrap()), want);
    // Without WITHCURSOR, a histogram cut short is an error.
    lookups(&mut con);
    let e = err_of(cmd(&mut con, &base));
    assert!(e.starts_with("ERR scan limit reached"), "{e}");
    let bound = 2000 + 4 * 128 + 2000;
    let m = lookups(&mut con);
    assert!(m <= bound, "{m} records looked up");
    let (mut sum, mut before, mut calls) = (vec![0i64; 1440], None::<i64>, 0);
    loop {
        calls += 1;
        assert!(calls < 1000, "no end");
        let mut w: Vec<String> = base.iter().map(|x| x.to_string()).collect();
        w.push("WITHCURSOR".into());
        if let Some(b) = before {
            w.extend(["BEFORE".into(), b.to_string()]);
        }
        let refs: Vec<&str> = w.iter().map(String::as_str).collect();
        let reply = array(&cmd(&mut con, &refs).unwrap());
        let m = lookups(&mut con);
        assert!(m <= bound, "call {calls}: {m} records looked up");
        for (s, c) in sum.iter_mut().zip(counts(&reply[1])) {
            *s += c;
        }
        let cursor = int(&reply[0]);
        if cursor == 0 {
            break;
        }
        assert!(before.is_none_or(|b| cursor < b));
        before = Some(cursor);
    }
    assert_eq!(sum, want);
    assert!(calls > 1);
}

#[test]
fn bad_filters_are_refused_with_a_coded_error() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "m", "t"]).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["TLOG.GET", "p", "t", "WHERE", "2", "a", "1", "b"], "ERR WHERE 2 needs 2 field/value pairs after it"),
        (&["TLOG.LATEST", "p", "t", "WHERE", "1", "a"], "ERR WHERE 1 needs 1 field/value pairs after it"),
        (&["TLOG.COUNT", "p", "t", "WHERE", "0"], "ERR WHERE numpairs needs an integer from 1 to 64"),
        (&["TLOG.TAIL", "p", "t", "0", "WHERE", "65", "a", "b"], "ERR WHERE numpairs needs an integer from 1 to 64"),
        (
            &["TLOG.GET", "p", "t", "WHERE", "1", "a", "b", "WHERE", "1", "a", "b"],
            "ERR option WHERE given more than once",
        ),
        (&["TLOG.GET", "p", "t", "MATCH"], "ERR syntax error"),
        (&["TLOG.GET", "p", "t", "MATCH", "a", "MATCH", "b"], "ERR option MATCH given more than once"),
        (
            &["TLOG.COUNT", "p", "t", "SINCE", "0", "UNTIL", "1", "BUCKET", "0"],
            "ERR BUCKET needs a positive integer of seconds",
        ),
        (
            &["TLOG.COUNT", "p", "t", "SINCE", "0", "UNTIL", "10000", "BUCKET", "1"],
            "ERR BUCKET 1 gives 10001 buckets from SINCE to UNTIL: at most 10000",
        ),
        (&["TLOG.COUNT", "p", "t", "SINCE", "0", "BUCKET", "1"], "ERR BUCKET needs both SINCE and UNTIL"),
        (&["TLOG.COUNT", "p", "t", "BUCKET", "60"], "ERR BUCKET needs both SINCE and UNTIL"),
        (&["TLOG.GET", "p", "t", "SINCE", "0", "UNTIL", "1", "BUCKET", "60"], "ERR syntax error"),
    ];
    for (words, want) in cases {
        assert_eq!(err_of(cmd(&mut con, words)), *want, "{words:?}");
    }
}

/// Runs `words` with `BEFORE` (or `AFTER`) the cursor until it is 0: each reply's body, and
/// the number of calls.
fn chain(c: &mut Connection, words: &[&str], bound: &str) -> (Vec<Value>, usize) {
    let (mut bodies, mut at) = (Vec::new(), None::<i64>);
    for calls in 1..=1000 {
        let mut w: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        if let Some(at) = at {
            w.extend([bound.to_string(), at.to_string()]);
        }
        w.push("WITHCURSOR".into());
        let reply = array(&cmd(c, &w.iter().map(String::as_str).collect::<Vec<_>>()).unwrap());
        bodies.push(reply[1].clone());
        let next = int(&reply[0]);
        if next == 0 {
            return (bodies, calls);
        }
        assert!(at.is_none_or(|a| if bound == "AFTER" { next > a } else { next < a }), "no progress: {w:?}");
        at = Some(next);
    }
    panic!("no end: {words:?}");
}

/// The slowest call since SLOWLOG RESET, in microseconds (every call is logged).
fn slowest_us(c: &mut Connection) -> i64 {
    let log = array(&cmd(c, &["SLOWLOG", "GET", "-1"]).unwrap());
    log.iter().map(|e| int(&array(e)[2])).max().unwrap_or(0)
}

#[test]
fn a_costly_match_is_bounded_per_call_and_continued_exactly() {
    let s = Server::start();
    let mut con = s.conn();
    let c = &mut con;
    // 200 records of 2,000 bytes; every 10th ends in "b" and is in flow "t".
    let a = "a".repeat(1999);
    for i in 1..=200 {
        let (msg, tags) = if i % 10 == 0 { (format!("{a}b"), vec!["t", "u"]) } else { (format!("{a}a"), vec!["u"]) };
        let mut w = vec!["TLOG.LOG", "p", &msg];
        w.extend(tags);
        cmd(c, &w).unwrap();
    }
    // About 2,000 places x 100 steps a record: 200,000 glob steps, some 5 records a call.
    let pattern = format!("*{}b", "?".repeat(100));
    let m = pattern.as_str();
    cmd(c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).unwrap();
    cmd(c, &["CONFIG", "SET", "slowlog-max-len", "10000"]).unwrap();
    cmd(c, &["SLOWLOG", "RESET"]).unwrap();
    // COUNT: each call stops where its steps run out, before the record it could not finish;
    // the parts add up to the count of one unbounded call.
    let (parts, calls) = chain(c, &["TLOG.COUNT", "p", "__all__", "MATCH", m], "BEFORE");
    assert_eq!(parts.iter().map(int).sum::<i64>(), 20);
    assert!((30..=100).contains(&calls), "{calls} calls");
    // Each call bounded: about 1,000,000 steps (a few ms); a generous bound for a busy machine.
    let slowest = slowest_us(c);
    assert!(slowest < 100_000, "slowest call {slowest} us");
    assert_eq!(int(&cmd(c, &["TLOG.COUNT", "p", "__all__", "MATCH", m, "SCANLIMIT", "0"]).unwrap()), 20);
    let err = err_of(cmd(c, &["TLOG.COUNT", "p", "__all__", "MATCH", m]));
    assert!(err.starts_with("ERR MATCH step limit reached: ") && err.contains("count the rest with BEFORE"), "{err}");
    // With a tag filter, the same.
    let (parts, calls) = chain(c, &["TLOG.COUNT", "p", "u", "AND", "1", "u", "MATCH", m], "BEFORE");
    assert_eq!((parts.iter().map(int).sum::<i64>(), calls > 1), (20, true));
    // GET, newest and oldest first, with and without a tag filter: the pages give every match.
    let want: Vec<i64> = (1..=20).rev().map(|i| i * 10).collect();
    let all = |parts: Vec<Value>| parts.iter().flat_map(ids).collect::<Vec<_>>();
    let (parts, calls) = chain(c, &["TLOG.GET", "p", "__all__", "MATCH", m], "BEFORE");
    assert_eq!((all(parts), calls > 1), (want.clone(), true));
    let (parts, _) = chain(c, &["TLOG.GET", "p", "u", "NOT", "1", "x", "MATCH", m], "BEFORE");
    assert_eq!(all(parts), want);
    let (parts, _) = chain(c, &["TLOG.GET", "p", "__all__", "MATCH", m, "ASC"], "AFTER");
    assert_eq!(all(parts), want.iter().rev().copied().collect::<Vec<_>>());
    // Without WITHCURSOR, a call that found nothing names where to go on.
    let err = err_of(cmd(c, &["TLOG.GET", "p", "__all__", "MATCH", m, "BEFORE", "200"]));
    assert!(err.starts_with("ERR MATCH step limit reached: ") && err.contains("continue with BEFORE 19"), "{err}");
    let err = err_of(cmd(c, &["TLOG.LATEST", "p", "__all__", "MATCH", m, "BEFORE", "200"]));
    assert!(err.contains("continue with BEFORE 19"), "{err}");
    let err = err_of(cmd(c, &["TLOG.TAIL", "p", "__all__", "0", "MATCH", m]));
    assert!(err.starts_with("ERR MATCH step limit reached: ") && err.contains("continue from id "), "{err}");
    // BUCKET with MATCH: the parts add up bucket by bucket.
    let (parts, _) = chain(
        c,
        &["TLOG.COUNT", "p", "__all__", "MATCH", m, "SINCE", "0", "UNTIL", "4000000000", "BUCKET", "1000000000"],
        "BEFORE",
    );
    let total: i64 = parts.iter().flat_map(pairs).map(|(_, n)| n).sum();
    assert_eq!(total, 20);
    let err = err_of(cmd(
        c,
        &["TLOG.COUNT", "p", "__all__", "MATCH", m, "SINCE", "0", "UNTIL", "4000000000", "BUCKET", "1000000000"],
    ));
    assert!(err.starts_with("ERR MATCH step limit reached: "), "{err}");
    // A record that alone needs more steps than a call has: an error naming it.
    let costly = format!("*{}b", "?".repeat(1000));
    let err = err_of(cmd(c, &["TLOG.COUNT", "p", "__all__", "MATCH", &costly]));
    assert!(err.starts_with("ERR MATCH pattern too costly for the message at id 200: "), "{err}");
    let err = err_of(cmd(c, &["TLOG.GET", "p", "u", "AND", "1", "t", "MATCH", &costly, "WITHCURSOR"]));
    assert!(err.starts_with("ERR MATCH pattern too costly for the message at id 200: "), "{err}");
    // SCANLIMIT 0 lifts the step limit too.
    let n = cmd(c, &["TLOG.COUNT", "p", "__all__", "MATCH", &costly, "BEFORE", "12", "SCANLIMIT", "0"]).unwrap();
    assert_eq!(int(&n), 1);
    // A pattern over 1,024 bytes is refused.
    let long = "?".repeat(1025);
    assert_eq!(
        err_of(cmd(c, &["TLOG.GET", "p", "__all__", "MATCH", &long])),
        "ERR MATCH pattern longer than 1024 bytes"
    );
}

//! Query options of TLOG.GET, TLOG.LATEST and TLOG.COUNT, checked against an in-memory model
//! with random data and random queries, and their bad inputs.

mod common;

use common::*;
use redis::{Commands, Value};

const TAGS: [&str; 5] = ["a", "b", "c", "d", "e"];

#[derive(Clone)]
struct Rec {
    id: i64,
    ts: i64,
    tags: Vec<&'static str>,
}

fn flow_of<'m>(model: &'m [Rec], tag: &str) -> Vec<&'m Rec> {
    // Newest first, as the flows hold them.
    model.iter().rev().filter(|r| tag == "__all__" || r.tags.contains(&tag)).collect()
}

#[derive(Default, Debug, Clone)]
struct Q {
    limit: Option<usize>,
    asc: bool,
    before: Option<i64>,
    after: Option<i64>,
    since: Option<i64>,
    until: Option<i64>,
    and: Vec<&'static str>,
    or: Vec<&'static str>,
    not: Vec<&'static str>,
}

impl Q {
    fn admits(&self, r: &Rec) -> bool {
        self.and.iter().all(|t| r.tags.contains(t))
            && (self.or.is_empty() || self.or.iter().any(|t| r.tags.contains(t)))
            && !self.not.iter().any(|t| r.tags.contains(t))
            && self.before.is_none_or(|b| r.id < b)
            && self.after.is_none_or(|a| r.id > a)
            && self.since.is_none_or(|s| r.ts >= s)
            && self.until.is_none_or(|u| r.ts <= u)
    }

    fn words(&self, with_limit_and_order: bool) -> Vec<String> {
        let mut w = Vec::new();
        for (name, list) in [("AND", &self.and), ("OR", &self.or), ("NOT", &self.not)] {
            if !list.is_empty() {
                w.extend([name.to_string(), list.len().to_string()]);
                w.extend(list.iter().map(|t| t.to_string()));
            }
        }
        if with_limit_and_order {
            if let Some(l) = self.limit {
                w.extend(["LIMIT".into(), l.to_string()]);
            }
            if self.asc {
                w.push("ASC".into());
            }
        }
        if let Some(b) = self.before {
            w.extend(["BEFORE".into(), b.to_string()]);
        }
        if let Some(a) = self.after {
            w.extend(["AFTER".into(), a.to_string()]);
        }
        // Times go both ways: unix seconds and RFC 3339.
        if let Some(s) = self.since {
            w.extend(["SINCE".into(), format!("{}.{:06}", s / 1_000_000, s % 1_000_000)]);
        }
        if let Some(u) = self.until {
            let t = chrono::DateTime::from_timestamp_micros(u).unwrap();
            w.extend(["UNTIL".into(), t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)]);
        }
        w
    }
}

fn random_query(rng: &mut Rng, model: &[Rec]) -> Q {
    let max_id = model.last().map_or(1, |r| r.id) + 2;
    let pick_ts = |rng: &mut Rng| {
        let r = &model[rng.below(model.len() as u64) as usize];
        r.ts + [0i64, 1, -1][rng.below(3) as usize]
    };
    let mut q = Q::default();
    let tags = |rng: &mut Rng| -> Vec<&'static str> {
        let mut v = Vec::new();
        for _ in 0..1 + rng.below(2) {
            let t = TAGS[rng.below(TAGS.len() as u64) as usize];
            if !v.contains(&t) {
                v.push(t);
            }
        }
        v
    };
    if rng.chance(25) {
        q.and = tags(rng);
    }
    if rng.chance(25) {
        q.or = tags(rng);
    }
    if rng.chance(25) {
        q.not = tags(rng);
    }
    if rng.chance(60) {
        q.limit = Some(rng.below(25) as usize);
    }
    q.asc = rng.chance(30);
    if rng.chance(35) {
        q.before = Some(1 + rng.below(max_id as u64) as i64);
    }
    if rng.chance(35) {
        let a = rng.below(max_id as u64) as i64;
        if q.before.is_none_or(|b| a < b) {
            q.after = Some(a);
        }
    }
    if rng.chance(30) {
        q.since = Some(pick_ts(rng));
    }
    if rng.chance(30) {
        let u = pick_ts(rng);
        if q.since.is_none_or(|s| s <= u) {
            q.until = Some(u);
        }
    }
    q
}

#[test]
fn random_queries_match_an_in_memory_model() {
    let seed = std::env::var("TLOG_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_1234_abcd_0001u64);
    let mut rng = Rng(seed);
    let s = Server::start();
    let mut con = s.conn();
    let mut model: Vec<Rec> = Vec::new();
    for i in 0..600 {
        let mut tags: Vec<&'static str> = Vec::new();
        for _ in 0..rng.below(4) {
            let t = TAGS[rng.below(TAGS.len() as u64) as usize];
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let id = if rng.chance(15) {
            // A plain client following the layout: no "tags" field, its own clock (in order).
            let id: i64 = con.incr("m:counter", 1).unwrap();
            let ts = model.last().map_or(1_700_000_000_000_000, |r| r.ts) + 1 + rng.below(3) as i64;
            let rec =
                format!(r#"{{"id": {id}, "ts": {}.{:06}, "message": "plain {i}"}}"#, ts / 1_000_000, ts % 1_000_000);
            let _: () = con.set(format!("m:msg:{id}"), rec).unwrap();
            let _: () = con.lpush("m:flow:__all__", id).unwrap();
            for t in &tags {
                let _: () = con.lpush(format!("m:flow:{t}"), id).unwrap();
            }
            id
        } else {
            let mut words = vec!["TLOG.LOG".to_string(), "m".into(), format!("msg {i}")];
            words.extend(tags.iter().map(|t| t.to_string()));
            let w: Vec<&str> = words.iter().map(String::as_str).collect();
            int(&cmd(&mut con, &w).unwrap())
        };
        let raw: String = con.get(format!("m:msg:{id}")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let ts = (v["ts"].as_f64().unwrap() * 1e6).round() as i64;
        assert!(model.last().is_none_or(|r| r.ts <= ts), "timestamps went back");
        model.push(Rec { id, ts, tags });
    }

    for n in 0..1000 {
        let q = random_query(&mut rng, &model);
        let tag = if rng.chance(30) { "__all__" } else { TAGS[rng.below(5) as usize] };
        let flow = flow_of(&model, tag);
        let mut expected: Vec<i64> = flow.iter().filter(|r| q.admits(r)).map(|r| r.id).collect();
        if q.asc {
            expected.reverse();
        }
        let count = expected.len() as i64;
        let latest = if q.asc { expected.last().copied() } else { expected.first().copied() };
        if let Some(l) = q.limit {
            expected.truncate(l);
        }

        let mut words = vec!["TLOG.GET".to_string(), "m".into(), tag.into()];
        words.extend(q.words(true));
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let got = ids(&cmd(&mut con, &w).unwrap());
        assert_eq!(got, expected, "query {n} (seed {seed:#x}): {words:?}");

        let mut words = vec!["TLOG.LATEST".to_string(), "m".into(), tag.into()];
        words.extend(q.words(false));
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let got = match cmd(&mut con, &w).unwrap() {
            Value::Nil => None,
            rec => Some(int(&field(&rec, "id"))),
        };
        assert_eq!(got, latest, "query {n} (seed {seed:#x}): {words:?}");

        let mut words = vec!["TLOG.COUNT".to_string(), "m".into(), tag.into()];
        words.extend(q.words(false));
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_eq!(int(&cmd(&mut con, &w).unwrap()), count, "query {n} (seed {seed:#x}): {words:?}");
    }
}

#[test]
fn pages_by_cursor_never_repeat_or_skip_while_others_log() {
    let s = Server::start();
    let mut con = s.conn();
    let mut writer = s.conn();
    for i in 0..100 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("r{i}"), "t"]).unwrap();
    }
    let mut seen: Vec<i64> = Vec::new();
    let mut page = ids(&cmd(&mut con, &["TLOG.GET", "p", "t", "LIMIT", "7"]).unwrap());
    let first_newest = page[0];
    while !page.is_empty() {
        // Another client keeps logging between pages.
        cmd(&mut writer, &["TLOG.LOG", "p", "new", "t"]).unwrap();
        seen.extend(&page);
        let last = page.last().unwrap().to_string();
        page = ids(&cmd(&mut con, &["TLOG.GET", "p", "t", "BEFORE", &last, "LIMIT", "7"]).unwrap());
    }
    assert_eq!(seen, (1..=first_newest).rev().collect::<Vec<_>>());
    // Catching up from the newest id seen returns exactly what was logged since, oldest first.
    let newer = ids(&cmd(&mut con, &["TLOG.GET", "p", "t", "AFTER", &first_newest.to_string(), "ASC"]).unwrap());
    assert_eq!(newer, ((first_newest + 1)..=(first_newest + newer.len() as i64)).collect::<Vec<_>>());
    assert_eq!(newer.len(), 15);
}

#[test]
fn missing_records_are_skipped_by_get_and_counted_by_count() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 0..10 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("r{i}")]).unwrap();
    }
    let _: () = con.del(&["p:msg:10", "p:msg:9", "p:msg:5"]).unwrap();
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p", "__all__", "LIMIT", "3"]).unwrap()), vec![8, 7, 6]);
    assert_eq!(int(&field(&cmd(&mut con, &["TLOG.LATEST", "p"]).unwrap(), "id")), 8);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p", "__all__", "BEFORE", "7", "LIMIT", "2"]).unwrap()), vec![6, 4]);
    assert_eq!(int(&cmd(&mut con, &["TLOG.COUNT", "p"]).unwrap()), 10);
    assert_eq!(int(&cmd(&mut con, &["TLOG.COUNT", "p", "__all__", "AFTER", "3"]).unwrap()), 7);
    // Time bounds still find their place around the gaps.
    let ts_of = |con: &mut redis::Connection, id: i64| -> String {
        let raw: String = con.get(format!("p:msg:{id}")).unwrap();
        raw.split("\"ts\":").nth(1).unwrap().split(',').next().unwrap().to_string()
    };
    let t6 = ts_of(&mut con, 6);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p", "__all__", "UNTIL", &t6]).unwrap()), vec![6, 4, 3, 2, 1]);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p", "__all__", "SINCE", &t6, "ASC"]).unwrap()), vec![6, 7, 8]);
    assert_eq!(cmd(&mut con, &["TLOG.COUNT", "nothing"]).unwrap(), Value::Int(0));
}

#[test]
fn bad_query_options_are_refused() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "m", "t"]).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["TLOG.GET", "p", "t", "LIMIT"], "ERR syntax error"),
        (&["TLOG.GET", "p", "t", "LIMIT", "-1"], "ERR LIMIT needs a non-negative integer"),
        (&["TLOG.GET", "p", "t", "LIMIT", "x"], "ERR LIMIT needs a non-negative integer"),
        (&["TLOG.GET", "p", "t", "LIMIT", "1", "LIMIT", "2"], "ERR option LIMIT given more than once"),
        (&["TLOG.GET", "p", "t", "BEFORE", "abc"], "ERR BEFORE needs a record id"),
        (&["TLOG.GET", "p", "t", "BEFORE", "0"], "ERR BEFORE needs a record id"),
        (&["TLOG.GET", "p", "t", "AFTER", "-2"], "ERR AFTER needs a record id"),
        (&["TLOG.GET", "p", "t", "AFTER", "9", "BEFORE", "3"], "ERR AFTER must be below BEFORE"),
        (
            &["TLOG.GET", "p", "t", "SINCE", "tomorrow"],
            "ERR invalid time 'tomorrow': use unix seconds in decimal (at most 12 digits before the point, any after it, kept to the microsecond; a leading '-' but no '+' or exponent) or RFC 3339 with an offset",
        ),
        (
            &["TLOG.GET", "p", "t", "UNTIL", "2026-11-23T10:00:00"],
            "ERR invalid time '2026-11-23T10:00:00': use unix seconds in decimal (at most 12 digits before the point, any after it, kept to the microsecond; a leading '-' but no '+' or exponent) or RFC 3339 with an offset",
        ),
        (&["TLOG.GET", "p", "t", "SINCE", "20", "UNTIL", "10"], "ERR SINCE must not be after UNTIL"),
        (&["TLOG.GET", "p", "t", "ASC", "DESC"], "ERR options ASC and DESC cannot be used together"),
        (&["TLOG.LATEST", "p", "t", "LIMIT", "1"], "ERR syntax error"),
        (&["TLOG.LATEST", "p", "t", "ASC"], "ERR syntax error"),
        (&["TLOG.COUNT", "p", "t", "RAW"], "ERR syntax error"),
        (&["TLOG.COUNT"], "ERR wrong number of arguments for 'tlog.count' command"),
    ];
    for (words, expected) in cases {
        assert_eq!(err_of(cmd(&mut con, words)), *expected, "{words:?}");
    }
}

#[test]
fn count_and_queries_obey_acl_and_key_types() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "app", "m", "t"]).unwrap();
    let _: () = con.set("app:flow:s", "x").unwrap();
    assert!(err_of(cmd(&mut con, &["TLOG.COUNT", "app", "s"])).starts_with("WRONGTYPE"));
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("flows")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("~app:flow:*")
        .query(&mut con)
        .unwrap();
    let mut flows =
        redis::Client::open(format!("redis://flows:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    // COUNT reads only the flow; a time bound reads records, which this user may not.
    assert_eq!(int(&cmd(&mut flows, &["TLOG.COUNT", "app", "t"]).unwrap()), 1);
    assert_eq!(
        err_of(cmd(&mut flows, &["TLOG.COUNT", "app", "t", "SINCE", "0"])),
        "NOPERM this user has no permissions to read the 'app:msg:1' key"
    );
    assert_eq!(
        err_of(cmd(&mut flows, &["TLOG.GET", "app", "t", "LIMIT", "1"])),
        "NOPERM this user has no permissions to read the 'app:msg:1' key"
    );
}

/// Runs a full TLOG.TAGS iteration, returning (tag, count, newest id) sorted by tag.
fn all_tags(con: &mut redis::Connection, prefix: &str, extra: &[&str]) -> Vec<(String, i64, Option<i64>)> {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut words = vec!["TLOG.TAGS", prefix, cursor.as_str()];
        words.extend(extra);
        let reply = array(&cmd(con, &words).unwrap());
        let next = text(&reply[0]);
        for entry in array(&reply[1]) {
            let newest = match field(&entry, "newest-id") {
                Value::Nil => None,
                v => Some(int(&v)),
            };
            out.push((text(&field(&entry, "tag")), int(&field(&entry, "count")), newest));
        }
        calls += 1;
        assert!(calls < 10_000, "the iteration does not end");
        if next == "0" {
            break;
        }
        cursor = next;
    }
    out.sort();
    out
}

#[test]
fn the_tag_catalog_pages_through_a_prefixs_tags_only() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 0..300 {
        let tag = format!("user:{}", i % 120);
        cmd(&mut con, &["TLOG.LOG", "app*[x]", &format!("m{i}"), &tag, "all-users"]).unwrap();
    }
    // Another prefix whose keys the escaped pattern must not match, and unrelated keys.
    cmd(&mut con, &["TLOG.LOG", "app*[x]other", "m", "user:1"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "appx", "m", "user:1"]).unwrap();
    let _: () = con.set("app*[x]:flow:not-a-list", "x").unwrap();

    let tags = all_tags(&mut con, "app*[x]", &["COUNT", "7"]);
    assert_eq!(tags.len(), 121, "{tags:?}");
    assert_eq!(tags[0], ("all-users".to_string(), 300, Some(300)));
    let u5 = tags.iter().find(|t| t.0 == "user:5").unwrap();
    // user:5 got records 6, 126 and 246.
    assert_eq!(u5, &("user:5".to_string(), 3, Some(246)));

    let only = all_tags(&mut con, "app*[x]", &["MATCH", "user:1?", "COUNT", "1000"]);
    assert_eq!(
        only.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
        (10..20).map(|i| format!("user:{i}")).collect::<Vec<_>>()
    );
    assert!(all_tags(&mut con, "nothing", &[]).is_empty());

    let reply = cmd(&mut con, &["TLOG.TAGS", "app*[x]", "0", "MATCH", "all-users", "COUNT", "1000"]).unwrap();
    let entry = &array(&array(&reply)[1])[0];
    let ts = text(&field(entry, "newest-ts"));
    assert!(ts.ends_with("+00:00") && ts.len() == 32, "{ts}");

    assert_eq!(
        err_of(cmd(&mut con, &["TLOG.TAGS", "app", "abc"])),
        "ERR the cursor needs an unsigned integer (0 to start)"
    );
    assert_eq!(
        err_of(cmd(&mut con, &["TLOG.TAGS", "app", "0", "COUNT", "0"])),
        "ERR COUNT needs an integer from 1 to 10000"
    );
    assert_eq!(err_of(cmd(&mut con, &["TLOG.TAGS", "app"])), "ERR wrong number of arguments for 'tlog.tags' command");
}

#[test]
fn the_tag_catalog_obeys_acl() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "app", "m", "t"]).unwrap();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("other")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("~other:*")
        .query(&mut con)
        .unwrap();
    let mut other =
        redis::Client::open(format!("redis://other:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    for prefix in ["app", "empty"] {
        let e = err_of(cmd(&mut other, &["TLOG.TAGS", prefix, "0", "COUNT", "1000"]));
        assert_eq!(e, format!("NOPERM this user has no permissions to read the '{prefix}:flow:__all__' key"));
    }
    // Read access to the prefix but not to one of its flows: the flow is not listed.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("part")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("~app:flow:__all__")
        .arg("~app:msg:*")
        .query(&mut con)
        .unwrap();
    let mut part =
        redis::Client::open(format!("redis://part:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    assert!(all_tags(&mut part, "app", &["COUNT", "1000"]).is_empty());
}

/// A user limited to some flows and records of a prefix lists only the flows it may read,
/// with no error that would name the others (MATCH would make it an oracle for tag names),
/// and no time of a newest record it may not read.
#[test]
fn the_tag_catalog_lists_only_what_the_caller_may_read() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "app", "one", "pub:a"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "app", "two", "secret"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "app", "three", "pub:b", "secret:x"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "app", "four", "pub:c", "secret"]).unwrap();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("part")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("%R~app:flow:__all__")
        .arg("%R~app:flow:pub:*")
        .arg("%R~app:msg:1")
        .arg("%R~app:msg:3")
        .query(&mut con)
        .unwrap();
    let mut part =
        redis::Client::open(format!("redis://part:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    let listed = all_tags(&mut part, "app", &["COUNT", "3"]);
    let want: Vec<(String, i64, Option<i64>)> =
        vec![("pub:a".into(), 1, Some(1)), ("pub:b".into(), 1, Some(3)), ("pub:c".into(), 1, Some(4))];
    assert_eq!(listed, want);
    for pattern in ["secret*", "secret", "*x"] {
        assert!(all_tags(&mut part, "app", &["MATCH", pattern, "COUNT", "1000"]).is_empty(), "{pattern}");
    }
    // The newest time shows only for a record the caller may read.
    let page = cmd(&mut part, &["TLOG.TAGS", "app", "0", "MATCH", "pub:*", "COUNT", "1000"]).unwrap();
    for entry in array(&array(&page)[1]) {
        let readable = text(&field(&entry, "tag")) != "pub:c";
        assert_eq!(field(&entry, "newest-ts") != Value::Nil, readable, "{entry:?}");
    }
    // Nothing of it changes for the default user.
    assert_eq!(all_tags(&mut con, "app", &["COUNT", "1000"]).len(), 5);
}

/// Pages are read a batch of ids and records at a time (LRANGE and MGET run inside the
/// server): what a batch misses, across batch boundaries, in either order, with bounds, must
/// never show, and a whole page is the records exactly as stored in RESP2 and RESP3.
#[test]
fn batched_pages_skip_what_is_missing_across_batches() {
    let s = Server::start();
    let mut con = s.conn();
    let n: i64 = 2500;
    let mut pipe = redis::pipe();
    for i in 1..=n {
        pipe.cmd("TLOG.LOG").arg("p").arg(format!("r{i}")).arg("t").ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    // Gone records on both sides of the 1000-record batches, a record key of another type, and
    // entries of another client that are not ids.
    let _: () = con.del(&["p:msg:2500", "p:msg:1501", "p:msg:1500", "p:msg:1499", "p:msg:1000", "p:msg:3"]).unwrap();
    let _: () = con.del("p:msg:1200").unwrap();
    let _: () = con.rpush("p:msg:1200", "not a string").unwrap();
    let _: () = redis::cmd("LINSERT").arg("p:flow:t").arg("BEFORE").arg("1800").arg("x").query(&mut con).unwrap();
    let _: () = redis::cmd("LINSERT").arg("p:flow:t").arg("AFTER").arg("2").arg("-4").query(&mut con).unwrap();
    let gone = [2500, 1501, 1500, 1499, 1200, 1000, 3];
    let live: Vec<i64> = (1..=n).rev().filter(|id| !gone.contains(id)).collect();
    let stored = |con: &mut redis::Connection, ids: &[i64]| -> Vec<String> {
        ids.iter().map(|id| con.get(format!("p:msg:{id}")).unwrap()).collect()
    };
    let get = |con: &mut redis::Connection, extra: &[&str]| -> Value {
        let mut words = vec!["TLOG.GET", "p", "t"];
        words.extend(extra);
        cmd(con, &words).unwrap()
    };

    assert_eq!(ids(&get(&mut con, &[])), live);
    let mut asc = live.clone();
    asc.reverse();
    assert_eq!(ids(&get(&mut con, &["ASC"])), asc);
    for limit in [1, 999, 1000, 1001, 1100, 2493, 5000] {
        let want: Vec<i64> = live.iter().copied().take(limit).collect();
        assert_eq!(ids(&get(&mut con, &["LIMIT", &limit.to_string()])), want, "LIMIT {limit}");
        let want: Vec<i64> = asc.iter().copied().take(limit).collect();
        assert_eq!(ids(&get(&mut con, &["LIMIT", &limit.to_string(), "ASC"])), want, "LIMIT {limit} ASC");
    }
    let want: Vec<i64> = live.iter().copied().filter(|&id| id < 2000 && id > 900).take(1050).collect();
    assert_eq!(ids(&get(&mut con, &["BEFORE", "2000", "AFTER", "900", "LIMIT", "1050"])), want);

    // A time bound reads every record's time: a record of another client out of order is
    // checked, not assumed from its place.
    let ts_of = |con: &mut redis::Connection, id: i64| -> String {
        let raw: String = con.get(format!("p:msg:{id}")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
        format!("{:.6}", v["ts"].as_f64().unwrap())
    };
    let since = ts_of(&mut con, 1400);
    let _: () = con.set("p:msg:1700", r#"{"id":1700,"ts":1.0,"message":"early"}"#).unwrap();
    let want: Vec<i64> = live.iter().copied().filter(|&id| id >= 1400 && id != 1700).collect();
    let got = ids(&get(&mut con, &["SINCE", &since]));
    // Records logged within the same microsecond as 1400 may come before it.
    assert_eq!(got.iter().copied().filter(|&id| id >= 1400).collect::<Vec<_>>(), want);
    assert!(!got.contains(&1700));

    // RAW: exactly the stored texts, in RESP2 and RESP3, complete pages and pages with gaps.
    let mut con3 = s.conn3();
    for c in [&mut con, &mut con3] {
        let want: Vec<i64> = live.iter().copied().take(5).collect();
        let raw = get(c, &["LIMIT", "5", "RAW"]);
        assert_eq!(array(&raw).iter().map(text).collect::<Vec<_>>(), stored(c, &want));
        let want: Vec<i64> = live.iter().copied().filter(|&id| id < 1503).take(6).collect();
        assert_eq!(want, vec![1502, 1498, 1497, 1496, 1495, 1494]);
        let raw = get(c, &["BEFORE", "1503", "LIMIT", "6", "RAW"]);
        assert_eq!(array(&raw).iter().map(text).collect::<Vec<_>>(), stored(c, &want));
        // One batch with a gap: the window ends before the limit is reached.
        let raw = get(c, &["BEFORE", "5", "RAW"]);
        assert_eq!(array(&raw).iter().map(text).collect::<Vec<_>>(), stored(c, &[4, 2, 1]));
    }
}

/// Every record of a page is ACL-checked before anything is replied, whatever its batch; a
/// record the page does not need is not asked about, even when a batch reads ahead.
#[test]
fn a_page_checks_every_record_key_before_replying() {
    let s = Server::start();
    let mut con = s.conn();
    let mut pipe = redis::pipe();
    for i in 1..=2500 {
        pipe.cmd("TLOG.LOG").arg("p").arg(format!("r{i}")).arg("t").ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    // Allowed: the flows and the records 1000 to 2999.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("some")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("~p:flow:*")
        .arg("~p:msg:1???")
        .arg("~p:msg:2???")
        .query(&mut con)
        .unwrap();
    let mut some =
        redis::Client::open(format!("redis://some:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    assert_eq!(array(&cmd(&mut some, &["TLOG.GET", "p", "t", "LIMIT", "1501", "RAW"]).unwrap()).len(), 1501);
    assert_eq!(
        ids(&cmd(&mut some, &["TLOG.GET", "p", "t", "LIMIT", "1501"]).unwrap()),
        (1000..=2500).rev().collect::<Vec<i64>>()
    );
    // Record 999 is in the second batch of 1000; oldest first, record 1 is the first one.
    for (words, key) in [
        (&["TLOG.GET", "p", "t", "LIMIT", "1502"][..], 999),
        (&["TLOG.GET", "p", "t", "RAW"], 999),
        (&["TLOG.GET", "p", "t", "ASC", "LIMIT", "1"], 1),
    ] {
        let e = err_of(cmd(&mut some, words));
        assert_eq!(e, format!("NOPERM this user has no permissions to read the 'p:msg:{key}' key"), "{words:?}");
    }
    // The connection is in step: the error was the whole reply.
    assert_eq!(cmd(&mut some, &["PING"]).unwrap(), Value::SimpleString("PONG".into()));

    // With records 1001 to 1500 gone, the page's last record is 1000: the reads ahead past the
    // gap may reach 999, which the page does not need and which must not fail it.
    let gone: Vec<String> = (1001..=1500).map(|i| format!("p:msg:{i}")).collect();
    let _: () = con.del(&gone).unwrap();
    let mut want: Vec<i64> = (1501..=2500).rev().collect();
    want.push(1000);
    assert_eq!(ids(&cmd(&mut some, &["TLOG.GET", "p", "t", "LIMIT", "1001"]).unwrap()), want);
    assert_eq!(
        err_of(cmd(&mut some, &["TLOG.GET", "p", "t", "LIMIT", "1002"])),
        "NOPERM this user has no permissions to read the 'p:msg:999' key"
    );
}

/// A long run of missing records costs a few batches, not one per record; the page is read
/// with LRANGE and MGET, also inside MULTI and scripts.
#[test]
fn pages_read_ahead_over_missing_records_and_work_in_multi_and_scripts() {
    let s = Server::start();
    let mut con = s.conn();
    let mut pipe = redis::pipe();
    for i in 1..=5000 {
        pipe.cmd("TLOG.LOG").arg("p").arg(format!("r{i}")).arg("t").ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let gone: Vec<String> = (2..=4999).map(|i| format!("p:msg:{i}")).collect();
    let _: () = con.del(&gone).unwrap();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut con).unwrap();
    // Past the scan limit too: 4998 records gone in one call.
    assert_eq!(
        ids(&cmd(&mut con, &["TLOG.GET", "p", "t", "AFTER", "1", "ASC", "LIMIT", "1", "SCANLIMIT", "0"]).unwrap()),
        vec![5000]
    );
    let stats: String = redis::cmd("INFO").arg("commandstats").query(&mut con).unwrap();
    let calls = |name: &str| -> i64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
            .and_then(|v| v.split(',').next()?.parse().ok())
            .unwrap_or(0)
    };
    assert!((1..=20).contains(&calls("mget")), "{stats}");
    assert!((1..=20).contains(&calls("lrange")), "{stats}");

    let stored: Vec<String> = ["p:msg:5000", "p:msg:1"].iter().map(|k| con.get(*k).unwrap()).collect();
    let script =
        cmd(&mut con, &["EVAL", "return redis.call('TLOG.GET', KEYS[1], 't', 'RAW', 'SCANLIMIT', '0')", "1", "p"])
            .unwrap();
    assert_eq!(array(&script).iter().map(text).collect::<Vec<_>>(), stored);
    let (in_multi,): (Value,) = redis::pipe()
        .atomic()
        .cmd("TLOG.GET")
        .arg("p")
        .arg("t")
        .arg("LIMIT")
        .arg("1")
        .arg("RAW")
        .query(&mut con)
        .unwrap();
    assert_eq!(array(&in_multi).iter().map(text).collect::<Vec<_>>(), stored[..1].to_vec());
}

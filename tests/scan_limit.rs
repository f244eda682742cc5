//! Reads that pass over many ids (tag filters that match little, records gone) stop at the
//! scan limit and say where to go on from: with WITHCURSOR in the reply, without it by the
//! records found so far or, when there are none, an error naming the continuation. Following
//! the continuations gives exactly the whole result.

mod common;

use common::*;
use redis::{Commands, Value};

/// 3000 records tagged `a`; all but every 500th also tagged `b`; every 7th also `c`.
fn setup() -> (Server, redis::Connection) {
    let s = Server::start();
    let mut con = s.conn();
    let mut pipe = redis::pipe();
    for id in 1..=3000 {
        let c = pipe.cmd("TLOG.LOG").arg("p").arg(format!("r{id}")).arg("a");
        if id % 500 != 0 {
            c.arg("b");
        }
        if id % 7 == 0 {
            c.arg("c");
        }
        c.ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    (s, con)
}

fn words(base: &[&str], extra: &[String]) -> Vec<String> {
    base.iter().map(|w| w.to_string()).chain(extra.iter().cloned()).collect()
}

fn run_words(con: &mut redis::Connection, w: &[String]) -> redis::RedisResult<Value> {
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    cmd(con, &w)
}

/// `[cursor, result]` of a WITHCURSOR reply.
fn split(v: Value) -> (i64, Value) {
    let a = array(&v);
    assert_eq!(a.len(), 2, "{v:?}");
    (int(&a[0]), a[1].clone())
}

/// The id an error tells to go on from, after `marker`.
fn resume_id(e: &str, marker: &str) -> i64 {
    let rest = e.split(marker).nth(1).unwrap_or_else(|| panic!("no '{marker}' in: {e}"));
    rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// Follows GET continuations with WITHCURSOR until the cursor is 0; returns the ids and the
/// number of calls.
fn follow_get(con: &mut redis::Connection, base: &[&str], asc: bool) -> (Vec<i64>, usize) {
    let bound = if asc { "AFTER" } else { "BEFORE" };
    let mut w = words(base, &["WITHCURSOR".to_string()]);
    let mut seen = Vec::new();
    for calls in 1.. {
        assert!(calls < 10_000, "no end");
        let (cursor, recs) = split(run_words(con, &w).unwrap());
        seen.extend(ids(&recs));
        if cursor == 0 {
            return (seen, calls);
        }
        // The same query, the cursor as its bound.
        match w.iter().position(|x| x == bound) {
            Some(i) => w[i + 1] = cursor.to_string(),
            None => w.extend([bound.to_string(), cursor.to_string()]),
        }
    }
    unreachable!()
}

#[test]
fn filtered_reads_stop_at_the_scan_limit_and_continue_exactly() {
    let (_s, mut con) = setup();
    let full = ids(&cmd(&mut con, &["TLOG.GET", "p", "a", "NOT", "1", "b", "SCANLIMIT", "0"]).unwrap());
    assert_eq!(full, vec![3000, 2500, 2000, 1500, 1000, 500]);

    // Without WITHCURSOR: the records found so far, or an error naming where to go on.
    let e = err_of(cmd(&mut con, &["TLOG.GET", "p", "a", "NOT", "1", "b", "SCANLIMIT", "100", "BEFORE", "3000"]));
    assert!(e.starts_with("ERR scan limit reached: 10"), "{e}");
    assert!(e.ends_with("or use WITHCURSOR, or SCANLIMIT 0 for no limit"), "{e}");
    let next = resume_id(&e, "continue with BEFORE ");
    assert!((2890..2905).contains(&next), "{e}");
    assert_eq!(
        ids(&cmd(&mut con, &["TLOG.GET", "p", "a", "NOT", "1", "b", "SCANLIMIT", "100", "LIMIT", "10"]).unwrap()),
        vec![3000]
    );
    // Paging by hand, on the records or the error, gives the whole result.
    let mut seen = Vec::new();
    let mut before: Option<i64> = None;
    for _ in 0..1000 {
        let mut w = words(&["TLOG.GET", "p", "a", "NOT", "1", "b", "SCANLIMIT", "150"], &[]);
        if let Some(b) = before {
            w.extend(["BEFORE".into(), b.to_string()]);
        }
        match run_words(&mut con, &w) {
            Ok(v) => {
                let page = ids(&v);
                let Some(&last) = page.last() else { break };
                seen.extend(page);
                before = Some(last);
            }
            Err(_) => before = Some(resume_id(&err_of(run_words(&mut con, &w)), "BEFORE ")),
        }
    }
    assert_eq!(seen, full);

    // With WITHCURSOR, newest and oldest first, with filters of every kind.
    let (got, calls) = follow_get(&mut con, &["TLOG.GET", "p", "a", "NOT", "1", "b", "SCANLIMIT", "100"], false);
    assert_eq!(got, full);
    assert!(calls >= 25, "{calls} calls");
    let (got, _) = follow_get(&mut con, &["TLOG.GET", "p", "a", "NOT", "1", "b", "SCANLIMIT", "100", "ASC"], true);
    assert_eq!(got, full.iter().rev().copied().collect::<Vec<_>>());
    for base in [
        &["TLOG.GET", "p", "__all__", "OR", "2", "c", "a", "AND", "1", "b", "NOT", "1", "c", "SCANLIMIT", "37"][..],
        &["TLOG.GET", "p", "__all__", "NOT", "1", "b", "SCANLIMIT", "3"],
        &["TLOG.GET", "p", "b", "AND", "1", "c", "LIMIT", "1000", "SCANLIMIT", "50", "AFTER", "100", "BEFORE", "2000"],
    ] {
        // The whole result: no LIMIT, no scan limit.
        let mut unbounded: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < base.len() {
            if base[i] == "SCANLIMIT" || base[i] == "LIMIT" {
                i += 2;
                continue;
            }
            unbounded.push(base[i]);
            i += 1;
        }
        unbounded.extend(["SCANLIMIT", "0"]);
        let want_all = ids(&cmd(&mut con, &unbounded).unwrap());
        assert!(!want_all.is_empty(), "{base:?}");
        // Whatever the scan limit, a page holds at most LIMIT records, and the cursor after a
        // full page goes on below its last record.
        let (got, _) = follow_get(&mut con, base, false);
        assert_eq!(got, want_all, "{base:?}");
    }

    // A full page says where it ended.
    let (cursor, recs) = split(cmd(&mut con, &["TLOG.GET", "p", "a", "LIMIT", "2", "WITHCURSOR"]).unwrap());
    assert_eq!((cursor, ids(&recs)), (2999, vec![3000, 2999]));
    let (cursor, recs) = split(cmd(&mut con, &["TLOG.GET", "p", "a", "AFTER", "2998", "WITHCURSOR"]).unwrap());
    assert_eq!((cursor, ids(&recs)), (0, vec![3000, 2999]));

    // The configured limit holds without SCANLIMIT; SCANLIMIT 0 lifts it.
    let _: () = redis::cmd("CONFIG").arg("SET").arg("tlog.read-scan-limit").arg(200).query(&mut con).unwrap();
    let e = err_of(cmd(&mut con, &["TLOG.GET", "p", "a", "NOT", "1", "b", "BEFORE", "3000"]));
    assert!(e.starts_with("ERR scan limit reached: 20"), "{e}");
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p", "a", "NOT", "1", "b", "SCANLIMIT", "0"]).unwrap()), full);
    let _: () = redis::cmd("CONFIG").arg("SET").arg("tlog.read-scan-limit").arg(0).query(&mut con).unwrap();
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p", "a", "NOT", "1", "b"]).unwrap()), full);
    let limit: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("tlog.read-scan-limit").query(&mut con).unwrap();
    assert_eq!(limit, vec!["tlog.read-scan-limit", "0"]);
}

#[test]
fn latest_count_and_tail_say_when_they_stopped_early() {
    let (_s, mut con) = setup();
    // LATEST: never nil for a record it did not get to.
    let e = err_of(cmd(&mut con, &["TLOG.LATEST", "p", "a", "NOT", "1", "b", "BEFORE", "3000", "SCANLIMIT", "100"]));
    assert!(e.starts_with("ERR scan limit reached") && e.contains("continue with BEFORE "), "{e}");
    let mut before = "3000".to_string();
    let mut calls = 0;
    let found = loop {
        calls += 1;
        let (cursor, rec) = split(
            cmd(
                &mut con,
                &["TLOG.LATEST", "p", "a", "NOT", "1", "b", "BEFORE", &before, "SCANLIMIT", "100", "WITHCURSOR"],
            )
            .unwrap(),
        );
        if rec != Value::Nil {
            assert_eq!(cursor, 0);
            break int(&field(&rec, "id"));
        }
        assert_ne!(cursor, 0, "nil with a complete scan");
        before = cursor.to_string();
    };
    assert_eq!(found, 2500);
    assert!(calls >= 5, "{calls}");
    let (cursor, rec) = split(
        cmd(&mut con, &["TLOG.LATEST", "p", "a", "NOT", "1", "b", "BEFORE", "500", "WITHCURSOR", "SCANLIMIT", "0"])
            .unwrap(),
    );
    assert_eq!((cursor, rec), (0, Value::Nil));

    // COUNT: a partial count is never given as the count.
    let full = int(&cmd(&mut con, &["TLOG.COUNT", "p", "__all__", "OR", "2", "c", "b", "SCANLIMIT", "0"]).unwrap());
    assert_eq!(full, 3000 - 6); // no multiple of 500 is one of 7
    let e = err_of(cmd(&mut con, &["TLOG.COUNT", "p", "__all__", "OR", "2", "c", "b", "SCANLIMIT", "1000"]));
    // An id in both flows is read in each: the second read counts too (875 ids, 125 of them
    // tagged both `c` and `b`).
    assert!(e.starts_with("ERR scan limit reached: 1000 ids scanned, 875 counted; count the rest with BEFORE 2124 (in place of any BEFORE given) and add 875"), "{e}");
    let mut total = 0;
    let mut before: Vec<String> = Vec::new();
    loop {
        let w = words(&["TLOG.COUNT", "p", "__all__", "OR", "2", "c", "b", "SCANLIMIT", "700", "WITHCURSOR"], &before);
        let (cursor, n) = split(run_words(&mut con, &w).unwrap());
        total += int(&n);
        if cursor == 0 {
            break;
        }
        before = vec!["BEFORE".into(), cursor.to_string()];
    }
    assert_eq!(total, full);
    // Without a filter a count is by position, never cut short.
    assert_eq!(
        split(cmd(&mut con, &["TLOG.COUNT", "p", "a", "AFTER", "10", "SCANLIMIT", "1", "WITHCURSOR"]).unwrap()),
        (0, Value::Int(2990))
    );

    // TAIL: the id to go on from, with WITHCURSOR even when nothing matched yet.
    let e = err_of(cmd(&mut con, &["TLOG.TAIL", "p", "a", "0", "NOT", "1", "b", "SCANLIMIT", "100"]));
    assert!(e.contains("continue from id "), "{e}");
    let mut from = 0;
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let (next, recs) = split(
            cmd(
                &mut con,
                &["TLOG.TAIL", "p", "a", &from.to_string(), "NOT", "1", "b", "SCANLIMIT", "100", "WITHCURSOR"],
            )
            .unwrap(),
        );
        assert!(next >= from);
        seen.extend(ids(&recs));
        if next == from {
            break;
        }
        from = next;
    }
    assert_eq!(seen, vec![500, 1000, 1500, 2000, 2500, 3000]);
    assert_eq!(from, 3000);
    // Nothing newer: the same id back, no records.
    assert_eq!(
        split(cmd(&mut con, &["TLOG.TAIL", "p", "a", "3000", "WITHCURSOR"]).unwrap()),
        (3000, Value::Array(vec![]))
    );
    assert_eq!(cmd(&mut con, &["TLOG.TAIL", "p", "a", "3000"]).unwrap(), Value::Nil);
}

/// Ids whose records are gone count toward the limit, with or without a filter.
#[test]
fn reads_over_records_gone_stop_at_the_scan_limit() {
    let (_s, mut con) = setup();
    let gone: Vec<String> = (1001..=2900).map(|id| format!("p:msg:{id}")).collect();
    let _: () = con.del(&gone).unwrap();
    let live: Vec<i64> = (1..=3000).rev().filter(|id| !(1001..=2900).contains(id)).collect();
    for (base, asc) in [
        (&["TLOG.GET", "p", "__all__", "SCANLIMIT", "300"][..], false),
        (&["TLOG.GET", "p", "a", "SCANLIMIT", "300", "ASC", "AFTER", "900"], true),
    ] {
        let (got, calls) = follow_get(&mut con, base, asc);
        let want: Vec<i64> =
            if asc { live.iter().rev().copied().filter(|&id| id > 900).collect() } else { live.clone() };
        assert_eq!(got, want, "{base:?}");
        assert!(calls >= 7, "{base:?}: {calls} calls");
    }
    // Plain: the records before the gap, then an error in the middle of it.
    assert_eq!(
        ids(&cmd(&mut con, &["TLOG.GET", "p", "__all__", "LIMIT", "200", "SCANLIMIT", "300"]).unwrap()),
        (2901..=3000).rev().collect::<Vec<i64>>()
    );
    let e = err_of(cmd(&mut con, &["TLOG.GET", "p", "__all__", "LIMIT", "200", "SCANLIMIT", "300", "BEFORE", "2901"]));
    assert!(e.contains("continue with BEFORE "), "{e}");
    let e = err_of(cmd(&mut con, &["TLOG.LATEST", "p", "__all__", "BEFORE", "2901", "SCANLIMIT", "300"]));
    assert!(e.contains("continue with BEFORE "), "{e}");
    let e = err_of(cmd(&mut con, &["TLOG.TAIL", "p", "__all__", "1000", "SCANLIMIT", "300"]));
    assert!(e.contains("continue from id "), "{e}");
    assert_eq!(
        int(&field(
            &cmd(&mut con, &["TLOG.LATEST", "p", "__all__", "BEFORE", "2901", "SCANLIMIT", "0"]).unwrap(),
            "id"
        )),
        1000
    );
    assert_eq!(
        ids(&cmd(&mut con, &["TLOG.TAIL", "p", "a", "1000", "AND", "1", "b", "COUNT", "2", "SCANLIMIT", "0"]).unwrap()),
        vec![2901, 2902]
    );
}

/// A blocked reader woken by records that do not match keeps waiting from the last id it
/// looked at (each push scans only what is new) and never gets the scan-limit error, as XREAD
/// BLOCK never does; the first record that matches is its answer.
#[test]
fn a_blocked_reader_keeps_waiting_past_the_scan_limit() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "first", "t"]).unwrap();
    let port = s.port;
    let reader = |with_cursor: bool| {
        std::thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
            let mut w = vec!["TLOG.TAIL", "p", "t", "1", "NOT", "1", "noisy", "SCANLIMIT", "3", "BLOCK", "0"];
            if with_cursor {
                w.push("WITHCURSOR");
            }
            cmd(&mut c, &w)
        })
    };
    let blocked = |con: &mut redis::Connection, n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let info: String = redis::cmd("INFO").arg("clients").query(con).unwrap();
            if info.lines().any(|l| l == format!("blocked_clients:{n}")) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{info}");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    let (with, without) = (reader(true), reader(false));
    blocked(&mut con, 2);
    // Noisy records, one at a time and many at once, wake the readers, who pass them over.
    for i in 0..4 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("noise {i}"), "t", "noisy"]).unwrap();
    }
    let mut pipe = redis::pipe();
    pipe.cmd("MULTI").ignore();
    for i in 4..30 {
        pipe.cmd("TLOG.LOG").arg("p").arg(format!("noise {i}")).arg("t").arg("noisy").ignore();
    }
    pipe.cmd("EXEC").ignore();
    let _: () = pipe.query(&mut con).unwrap();
    // The wake-ups ran before this reply: both readers still wait.
    let info: String = redis::cmd("INFO").arg("clients").query(&mut con).unwrap();
    assert!(info.lines().any(|l| l == "blocked_clients:2"), "{info}");
    assert!(!with.is_finished() && !without.is_finished());
    let hit = int(&cmd(&mut con, &["TLOG.LOG", "p", "hit", "t"]).unwrap());
    assert_eq!(hit, 32);
    let (cursor, recs) = split(with.join().unwrap().unwrap());
    assert_eq!((cursor, ids(&recs)), (32, vec![32]));
    assert_eq!(ids(&without.join().unwrap().unwrap()), vec![32]);
}

/// Key lookups that found nothing since the last call: records looked for and gone.
fn misses(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(con).unwrap();
    let n = info.lines().find_map(|l| l.strip_prefix("keyspace_misses:")).unwrap().trim().parse().unwrap();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(con).unwrap();
    n
}

/// A time bound that falls in (or past) a long run of records gone no longer reads the run
/// to place the bound: its search probes a bounded number of records, and what it cannot
/// place is scanned under the scan limit, with continuations that give the unlimited answer.
#[test]
fn a_time_bound_in_a_long_run_of_records_gone_stops_at_the_scan_limit() {
    // The cleaner off: the ids of records gone stay in the flows.
    let s = Server::start_with(true, &["--tlog.cleaner-budget-us", "0"]);
    let mut con = s.conn();
    let mut pipe = redis::pipe();
    for id in 1..=30_000 {
        pipe.cmd("TLOG.LOG").arg("dead").arg(format!("r{id}")).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let time = |con: &mut redis::Connection, id: i64| -> String {
        let rec = cmd(con, &["TLOG.GET", "dead", "__all__", "BEFORE", &(id + 1).to_string(), "LIMIT", "1"]).unwrap();
        text(&field(&array(&rec)[0], "ts"))
    };
    let (t2500, t20000) = (time(&mut con, 2500), time(&mut con, 20_000));
    // The newest 25,000 records go.
    for chunk in (5001..=30_000).collect::<Vec<i64>>().chunks(5000) {
        let keys: Vec<String> = chunk.iter().map(|id| format!("dead:msg:{id}")).collect();
        let _: () = con.del(&keys).unwrap();
    }
    misses(&mut con);
    // Past the run: placed in a few probes, counted by position.
    let all = |w: &[&str]| -> Vec<String> { w.iter().map(|x| x.to_string()).collect() };
    let n = int(&cmd(&mut con, &["TLOG.COUNT", "dead", "__all__", "SINCE", &t2500]).unwrap());
    let m = misses(&mut con);
    let want = int(&cmd(&mut con, &["TLOG.COUNT", "dead", "__all__", "SINCE", &t2500, "SCANLIMIT", "0"]).unwrap());
    assert!(n == want && n >= 27_501, "{n} {want}");
    assert!(m <= 300, "{m} records looked for");
    // In the run: each call looks for at most the scan limit of records, plus its searches.
    let bound = 2000 + 2 * 128 + 400;
    for (base, scan) in [
        (all(&["TLOG.COUNT", "dead", "__all__", "SINCE", &t20000]), "COUNT"),
        (all(&["TLOG.GET", "dead", "__all__", "SINCE", &t20000, "LIMIT", "10"]), "GET"),
        (all(&["TLOG.LATEST", "dead", "__all__", "UNTIL", &t20000]), "LATEST"),
    ] {
        let mut unlimited = base.clone();
        unlimited.extend(["SCANLIMIT".to_string(), "0".to_string()]);
        let want = run_words(&mut con, &unlimited).unwrap();
        misses(&mut con);
        let e = err_of(run_words(&mut con, &base));
        assert!(e.starts_with("ERR scan limit reached"), "{scan}: {e}");
        let m = misses(&mut con);
        assert!(m <= bound, "{scan}: {m} records looked for");
        // Followed with WITHCURSOR, exactly the unlimited answer.
        let mut w = base.clone();
        w.push("WITHCURSOR".to_string());
        let (mut count, mut records, mut latest) = (0, Vec::new(), Value::Nil);
        for calls in 1.. {
            assert!(calls < 100, "{scan}: no end");
            let (cursor, v) = split(run_words(&mut con, &w).unwrap());
            let m = misses(&mut con);
            assert!(m <= bound, "{scan}: {m} records looked for");
            match scan {
                "COUNT" => count += int(&v),
                "GET" => records.extend(ids(&v)),
                _ => latest = v,
            }
            if cursor == 0 {
                break;
            }
            match w.iter().position(|x| x == "BEFORE") {
                Some(i) => w[i + 1] = cursor.to_string(),
                None => w.extend(["BEFORE".to_string(), cursor.to_string()]),
            }
        }
        match scan {
            "COUNT" => assert_eq!(count, int(&want), "{scan}"),
            "GET" => assert_eq!(records, ids(&want), "{scan}"),
            _ => assert_eq!(int(&field(&latest, "id")), int(&field(&want, "id")), "{scan}"),
        }
    }
}

/// With 1,024 tags in `AND`, `OR` or `NOT`, the lookups in every flow count toward the scan
/// limit: the call stops with a continuation, and following the continuations gives exactly
/// the unlimited result.
#[test]
fn reads_with_1024_tags_stop_at_the_scan_limit_and_continue_exactly() {
    let s = Server::start();
    let mut con = s.conn();
    let all_tags: Vec<String> = (0..1024).map(|t| format!("t{t}")).collect();
    // Record i: every 100th all 1024 tags, every 7th none, the others two.
    let mut pipe = redis::pipe();
    for i in 1..=1200u64 {
        let c = pipe.cmd("TLOG.LOG").arg("many").arg(format!("r{i}"));
        if i % 100 == 0 {
            c.arg(&all_tags);
        } else if i % 7 != 0 {
            c.arg(format!("t{}", i % 1024)).arg(format!("t{}", i * 7 % 1024));
        }
        c.ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    for (op, verb) in
        [("OR", "TLOG.COUNT"), ("OR", "TLOG.GET"), ("AND", "TLOG.GET"), ("NOT", "TLOG.GET"), ("NOT", "TLOG.COUNT")]
    {
        let mut base: Vec<String> = [verb, "many", "__all__", op, "1024"].iter().map(|w| w.to_string()).collect();
        base.extend(all_tags.iter().cloned());
        let mut unlimited = base.clone();
        unlimited.extend(["SCANLIMIT".to_string(), "0".to_string()]);
        let want = run_words(&mut con, &unlimited).unwrap();
        let mut w = base.clone();
        w.push("WITHCURSOR".to_string());
        let (mut count, mut records, mut calls) = (0, Vec::new(), 0);
        loop {
            calls += 1;
            assert!(calls < 1000, "{verb} {op}: no end");
            let (cursor, v) = split(run_words(&mut con, &w).unwrap());
            if verb == "TLOG.COUNT" {
                count += int(&v);
            } else {
                records.extend(ids(&v));
            }
            if cursor == 0 {
                break;
            }
            match w.iter().position(|x| x == "BEFORE") {
                Some(i) => w[i + 1] = cursor.to_string(),
                None => w.extend(["BEFORE".to_string(), cursor.to_string()]),
            }
        }
        assert!(calls > 1, "{verb} {op}: one call did it all");
        if verb == "TLOG.COUNT" {
            assert_eq!(count, int(&want), "{verb} {op}");
        } else {
            assert_eq!(records, ids(&want), "{verb} {op}");
        }
    }
}

/// LRANGE calls since the last call (the flows' runs of entries are read with LRANGE, at most
/// 1,024 entries each): how much of a flow a command read, without timing it.
fn lranges(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    let n = info
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_lrange:calls="))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap());
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(con).unwrap();
    n
}

/// A run of 300,000 entries that are not ids between ids 1000 and 1001: a page read, a filtered
/// read and a TLOG.DEL whose search for a bound lands beside it read about the scan limit's
/// worth of it, not all of it, and stop with the error that names where it is (TLOG.DEL
/// deleting nothing); with no scan limit, the answers are whole.
#[test]
fn reads_and_deletes_beside_a_long_run_of_entries_that_are_not_ids_are_bounded() {
    let s = Server::start();
    let mut con = s.conn();
    let mut pipe = redis::pipe();
    for id in 1..=1000 {
        pipe.cmd("TLOG.LOG").arg("j").arg(format!("m{id}")).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let junk = vec!["x"; 10_000];
    for _ in 0..30 {
        let _: i64 = con.lpush("j:flow:__all__", &junk).unwrap();
    }
    let mut pipe = redis::pipe();
    for id in 1001..=2000 {
        pipe.cmd("TLOG.LOG").arg("j").arg(format!("m{id}")).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let len: i64 = con.llen("j:flow:__all__").unwrap();
    assert_eq!(len, 302_000);
    lranges(&mut con);
    // The run is 293 LRANGEs of 1,024 entries: a bounded call reads a few.
    let bound = 12;
    for (words, whole) in [
        (&["TLOG.GET", "j", "__all__", "BEFORE", "995", "ASC", "LIMIT", "2", "RAW"][..], vec![1, 2]),
        (&["TLOG.GET", "j", "__all__", "BEFORE", "994", "LIMIT", "2", "SCANLIMIT", "10", "RAW"], vec![993, 992]),
        (&["TLOG.GET", "j", "__all__", "BEFORE", "994", "LIMIT", "2", "NOT", "1", "zz"], vec![993, 992]),
        (&["TLOG.GET", "j", "__all__", "BEFORE", "994", "ASC", "LIMIT", "2", "NOT", "1", "zz"], vec![1, 2]),
    ] {
        let id_of = |r: &Value| serde_json::from_str::<serde_json::Value>(&text(r)).unwrap()["id"].as_i64().unwrap();
        let ids_of = |v: &Value| if words.contains(&"RAW") { array(v).iter().map(id_of).collect() } else { ids(v) };
        // The whole answer, if the call got to it without reading the run; else the error.
        match cmd(&mut con, words) {
            Ok(v) => assert_eq!(ids_of(&v), whole, "{words:?}"),
            Err(e) => assert!(
                e.to_string().contains("scan limit reached in a run of entries that are not record ids, at index "),
                "{words:?}: {e}"
            ),
        }
        let n = lranges(&mut con);
        assert!(n <= bound, "{words:?}: {n} LRANGE calls");
        let mut unlimited = words.to_vec();
        if let Some(i) = unlimited.iter().position(|w| *w == "SCANLIMIT") {
            unlimited.drain(i..i + 2);
        }
        unlimited.extend(["SCANLIMIT", "0"]);
        let got = cmd(&mut con, &unlimited).unwrap();
        assert_eq!(ids_of(&got), whole, "{words:?}");
        lranges(&mut con);
    }
    // TLOG.DEL checks every flow before its first write: refused, nothing deleted.
    let e = err_of(cmd(&mut con, &["TLOG.DEL", "j", "993"]));
    assert!(e.starts_with("ERR scan limit reached in a run of entries that are not record ids, at index "), "{e}");
    assert!(e.contains("j:flow:__all__") && e.contains("nothing was deleted"), "{e}");
    let n = lranges(&mut con);
    assert!(n <= bound, "DEL: {n} LRANGE calls");
    let exists: bool = con.exists("j:msg:993").unwrap();
    assert!(exists);
    assert_eq!(con.llen::<_, i64>("j:flow:__all__").unwrap(), 302_000);
    // Ids on the near side of the run are deleted as before; with no scan limit, any.
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "j", "1999"]).unwrap()), 1);
    let _: () = redis::cmd("CONFIG").arg("SET").arg("tlog.read-scan-limit").arg("0").query(&mut con).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "j", "993"]).unwrap()), 1);
    assert_eq!(con.llen::<_, i64>("j:flow:__all__").unwrap(), 301_998);
}

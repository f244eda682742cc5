//! Flows whose ids are out of order within the read window, as other clients leave them (an id
//! taken with INCR, pushed after tlog logged others): every read is exact, sorted, each record
//! once. Checked on the reported flow, against a sorted model with random data and queries, and
//! under concurrent writers and readers.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use redis::{Commands, Value};

/// The default read window.
const WINDOW: usize = 100;

/// The documented interop recipe with TLOG.LOG in between: INCR takes 11, tlog logs 12 to 16,
/// then the record 11 is written and pushed: the flow is `11 16 15 14 13 12`, head first.
#[test]
fn one_id_pushed_late_near_the_head_hides_no_record() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 1..=10 {
        cmd(&mut con, &["TLOG.LOG", "d", &format!("early {i}"), "t"]).unwrap();
    }
    let late: i64 = con.incr("d:counter", 1).unwrap();
    assert_eq!(late, 11);
    for i in 12..=16 {
        assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "d", &format!("r{i}"), "t"]).unwrap()), i);
    }
    let _: () = con.set("d:msg:11", r#"{"id":11,"ts":1700000000,"message":"late","tags":["t"]}"#).unwrap();
    let _: () = con.lpush("d:flow:__all__", 11).unwrap();
    let _: () = con.lpush("d:flow:t", 11).unwrap();
    let flow: Vec<i64> = con.lrange("d:flow:t", 0, 5).unwrap();
    assert_eq!(flow, vec![11, 16, 15, 14, 13, 12]);

    for tag in ["t", "__all__"] {
        assert_eq!(ids(&cmd(&mut con, &["TLOG.TAIL", "d", tag, "12"]).unwrap()), vec![13, 14, 15, 16], "{tag}");
        assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "d", tag, "AFTER", "13"]).unwrap()), vec![16, 15, 14], "{tag}");
        assert_eq!(int(&cmd(&mut con, &["TLOG.COUNT", "d", tag, "AFTER", "13"]).unwrap()), 3, "{tag}");
        assert_eq!(int(&field(&cmd(&mut con, &["TLOG.LATEST", "d", tag]).unwrap(), "id")), 16, "{tag}");
        assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "d", tag, "LIMIT", "3"]).unwrap()), vec![16, 15, 14], "{tag}");
        assert_eq!(
            ids(&cmd(&mut con, &["TLOG.GET", "d", tag, "ASC", "AFTER", "9", "LIMIT", "3"]).unwrap()),
            vec![10, 11, 12],
            "{tag}"
        );
        // Paging newest first: every record once, 11 in its place.
        let mut seen: Vec<i64> = Vec::new();
        let mut page = ids(&cmd(&mut con, &["TLOG.GET", "d", tag, "LIMIT", "2"]).unwrap());
        while !page.is_empty() {
            seen.extend(&page);
            assert!(seen.len() <= 16, "{tag}: pages repeat: {seen:?}");
            let last = page.last().unwrap().to_string();
            page = ids(&cmd(&mut con, &["TLOG.GET", "d", tag, "LIMIT", "2", "BEFORE", &last]).unwrap());
        }
        assert_eq!(seen, (1..=16).rev().collect::<Vec<i64>>(), "{tag}");
    }
    // With a filter too, and `$` is the newest id, not the head's.
    assert_eq!(
        ids(&cmd(&mut con, &["TLOG.GET", "d", "__all__", "AND", "1", "t", "AFTER", "13"]).unwrap()),
        vec![16, 15, 14]
    );
    assert_eq!(int(&cmd(&mut con, &["TLOG.COUNT", "d", "__all__", "NOT", "1", "x", "AFTER", "13"]).unwrap()), 3);
    assert_eq!(
        ids(&cmd(&mut con, &["TLOG.TAIL", "d", "__all__", "12", "AND", "1", "t", "COUNT", "2"]).unwrap()),
        vec![13, 14]
    );
    assert_eq!(cmd(&mut con, &["TLOG.TAIL", "d", "t", "$"]).unwrap(), Value::Nil);
}

const TAGS: [&str; 4] = ["a", "b", "c", "d"];

struct Rec {
    id: i64,
    ts: i64,
    tags: Vec<&'static str>,
}

fn secs(t: i64) -> String {
    format!("{}.{:06}", t / 1_000_000, t % 1_000_000)
}

/// Random options of a read, with the model's filter for them.
#[derive(Default, Debug, Clone)]
struct Q {
    tag: &'static str,
    and: Vec<&'static str>,
    or: Vec<&'static str>,
    not: Vec<&'static str>,
    before: Option<i64>,
    after: Option<i64>,
    since: Option<i64>,
    until: Option<i64>,
    limit: Option<usize>,
    asc: bool,
}

impl Q {
    fn random(rng: &mut Rng, model: &[Rec]) -> Q {
        let max_id = model.iter().map(|r| r.id).max().unwrap_or(1) + 2;
        let pick = |rng: &mut Rng, n: u64| -> Vec<&'static str> {
            let mut v = Vec::new();
            for _ in 0..1 + rng.below(n) {
                let t = TAGS[rng.below(4) as usize];
                if !v.contains(&t) {
                    v.push(t);
                }
            }
            v
        };
        let mut q = Q { tag: if rng.chance(40) { "__all__" } else { TAGS[rng.below(4) as usize] }, ..Q::default() };
        if rng.chance(20) {
            q.and = pick(rng, 2);
        }
        if rng.chance(20) {
            q.or = pick(rng, 2);
        }
        if rng.chance(20) {
            q.not = pick(rng, 1);
        }
        if rng.chance(35) {
            q.before = Some(1 + rng.below(max_id as u64) as i64);
        }
        if rng.chance(35) {
            let a = rng.below(max_id as u64) as i64;
            if q.before.is_none_or(|b| a < b) {
                q.after = Some(a);
            }
        }
        let ts = |rng: &mut Rng| model[rng.below(model.len() as u64) as usize].ts + [0, 1, -1][rng.below(3) as usize];
        if rng.chance(25) {
            q.since = Some(ts(rng));
        }
        if rng.chance(25) {
            let u = ts(rng);
            if q.since.is_none_or(|s| s <= u) {
                q.until = Some(u);
            }
        }
        if rng.chance(50) {
            q.limit = Some(rng.below(40) as usize);
        }
        q.asc = rng.chance(40);
        q
    }

    fn admits(&self, r: &Rec) -> bool {
        let has = |t: &str| t == "__all__" || r.tags.contains(&t);
        has(self.tag)
            && self.and.iter().all(|t| has(t))
            && (self.or.is_empty() || self.or.iter().any(|t| has(t)))
            && !self.not.iter().any(|t| has(t))
            && self.before.is_none_or(|b| r.id < b)
            && self.after.is_none_or(|a| r.id > a)
            && self.since.is_none_or(|s| r.ts >= s)
            && self.until.is_none_or(|u| r.ts <= u)
    }

    /// The ids the model gives, in reply order, without the limit.
    fn expect(&self, model: &[Rec]) -> Vec<i64> {
        let mut v: Vec<i64> = model.iter().filter(|r| self.admits(r)).map(|r| r.id).collect();
        v.sort_unstable();
        if !self.asc {
            v.reverse();
        }
        v
    }

    fn filters(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (name, list) in [("AND", &self.and), ("OR", &self.or), ("NOT", &self.not)] {
            if !list.is_empty() {
                w.extend([name.to_string(), list.len().to_string()]);
                w.extend(list.iter().map(|t| t.to_string()));
            }
        }
        w
    }

    fn bounds(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(b) = self.before {
            w.extend(["BEFORE".into(), b.to_string()]);
        }
        if let Some(a) = self.after {
            w.extend(["AFTER".into(), a.to_string()]);
        }
        if let Some(s) = self.since {
            w.extend(["SINCE".into(), secs(s)]);
        }
        if let Some(u) = self.until {
            let t = chrono::DateTime::from_timestamp_micros(u).unwrap();
            w.extend(["UNTIL".into(), t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)]);
        }
        w
    }
}

fn run_words(con: &mut redis::Connection, words: &[String]) -> redis::RedisResult<Value> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    cmd(con, &w)
}

/// `[cursor, result]` of a WITHCURSOR reply.
fn with_cursor(v: Value) -> (i64, Value) {
    let a = array(&v);
    assert_eq!(a.len(), 2, "{v:?}");
    (int(&a[0]), a[1].clone())
}

/// Random flows whose ids sit up to the window away from their sorted place (records pushed
/// late, as the plain recipe leaves them, or early), times following the ids or the pushes;
/// every read command and option against a sorted model, also followed through continuations
/// of a small scan limit.
#[test]
fn displaced_flows_read_like_a_sorted_model() {
    let seeds: u64 = std::env::var("TLOG_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    let s = Server::start();
    let mut con = s.conn();
    for seed in 1..=seeds {
        let mut rng = Rng(0xfeed_5eed_0000_0001 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let prefix = format!("m{seed}");
        let n = 400 + rng.below(300) as usize;
        let mut model: Vec<Rec> = Vec::with_capacity(n);
        let (mut id, mut ts) = (0i64, 1_700_000_000_000_000i64);
        for _ in 0..n {
            id += 1 + rng.below(2) as i64;
            ts += rng.below(3) as i64;
            let mut tags = Vec::new();
            for t in TAGS {
                if rng.chance(35) {
                    tags.push(t);
                }
            }
            model.push(Rec { id, ts, tags });
        }
        // Push order: each record up to the window late (or, half the seeds, up to half the
        // window early or late), which keeps every flow within the window.
        let both = seed % 2 == 0;
        let mut keyed: Vec<(i64, u64, usize)> = (0..n)
            .map(|i| {
                let shift = if rng.chance(50) {
                    0
                } else if both {
                    (rng.below(WINDOW as u64 / 2 + 1) as i64) * if rng.chance(50) { -1 } else { 1 }
                } else {
                    rng.below(WINDOW as u64 + 1) as i64
                };
                (i as i64 + shift, rng.next(), i)
            })
            .collect();
        keyed.sort_unstable();
        let pushes: Vec<usize> = keyed.iter().map(|k| k.2).collect();
        // A third of the seeds date records when they are pushed (a client's clock at SET).
        if seed % 3 == 0 {
            let mut times: Vec<i64> = model.iter().map(|r| r.ts).collect();
            times.sort_unstable();
            for (k, &i) in pushes.iter().enumerate() {
                model[i].ts = times[k];
            }
        }
        let mut pipe = redis::pipe();
        for &i in &pushes {
            let r = &model[i];
            let tags: Vec<String> = r.tags.iter().map(|t| format!("\"{t}\"")).collect();
            let body =
                format!(r#"{{"id":{},"ts":{},"message":"m{}","tags":[{}]}}"#, r.id, secs(r.ts), r.id, tags.join(","));
            pipe.set(format!("{prefix}:msg:{}", r.id), body).ignore();
            pipe.lpush(format!("{prefix}:flow:__all__"), r.id).ignore();
            for t in &r.tags {
                pipe.lpush(format!("{prefix}:flow:{t}"), r.id).ignore();
            }
        }
        // Half the seeds: entries that are not ids, pushed by other clients, at the head and
        // the tail of every flow.
        let junk = seed % 4 < 2;
        if junk {
            for t in std::iter::once("__all__").chain(TAGS) {
                let key = format!("{prefix}:flow:{t}");
                let (head, tail) = (1 + rng.below(2 * WINDOW as u64 + 3), 1 + rng.below(2 * WINDOW as u64 + 3));
                for k in 0..head {
                    pipe.lpush(&key, format!("junk{k}")).ignore();
                }
                for k in 0..tail {
                    pipe.rpush(&key, format!("junk{k}")).ignore();
                }
            }
        }
        let _: () = pipe.query(&mut con).unwrap();

        for round in 0..150 {
            let q = Q::random(&mut rng, &model);
            let want = q.expect(&model);
            let ctx = format!("seed {seed} round {round}: {q:?}");
            let base = |name: &str| vec![name.to_string(), prefix.clone(), q.tag.to_string()];

            // GET, with the limit and the order.
            let mut w = base("TLOG.GET");
            w.extend(q.filters());
            w.extend(q.bounds());
            if let Some(l) = q.limit {
                w.extend(["LIMIT".into(), l.to_string()]);
            }
            if q.asc {
                w.push("ASC".into());
            }
            let mut page = want.clone();
            page.truncate(q.limit.unwrap_or(usize::MAX));
            assert_eq!(ids(&run_words(&mut con, &w).unwrap()), page, "GET {ctx}");

            // LATEST and COUNT take neither limit nor order.
            let mut newest_first = want.clone();
            if q.asc {
                newest_first.reverse();
            }
            let mut w = base("TLOG.LATEST");
            w.extend(q.filters());
            w.extend(q.bounds());
            let latest = match run_words(&mut con, &w).unwrap() {
                Value::Nil => None,
                rec => Some(int(&field(&rec, "id"))),
            };
            assert_eq!(latest, newest_first.first().copied(), "LATEST {ctx}");
            let mut w = base("TLOG.COUNT");
            w.extend(q.filters());
            w.extend(q.bounds());
            // Without a tag filter, a count is by position: entries that are not ids count.
            let exact_count = !junk || !q.and.is_empty() || !q.or.is_empty() || !q.not.is_empty();
            if exact_count {
                assert_eq!(int(&run_words(&mut con, &w).unwrap()) as usize, want.len(), "COUNT {ctx}");
            }

            // TAIL: after an id, oldest first, filters only.
            let from = q.after.unwrap_or(0);
            let tail_q = Q { before: None, since: None, until: None, asc: true, after: Some(from), ..q.clone() };
            let tail_want = tail_q.expect(&model);
            let mut w = vec!["TLOG.TAIL".to_string(), prefix.clone(), q.tag.to_string(), from.to_string()];
            w.extend(q.filters());
            let count = 1 + rng.below(30) as usize;
            w.extend(["COUNT".into(), count.to_string()]);
            let got = match run_words(&mut con, &w).unwrap() {
                Value::Nil => Vec::new(),
                v => ids(&v),
            };
            assert_eq!(got, tail_want.iter().copied().take(count).collect::<Vec<_>>(), "TAIL {ctx}");

            // The whole result again, through the continuations of a small scan limit.
            if round % 5 == 0 {
                let scan = 1 + rng.below(40);
                let mut cursor_q = q.clone();
                let mut seen = Vec::new();
                for call in 0.. {
                    assert!(call < 5000, "no end: {ctx}");
                    let mut w = base("TLOG.GET");
                    w.extend(cursor_q.filters());
                    w.extend(cursor_q.bounds());
                    if cursor_q.asc {
                        w.push("ASC".into());
                    }
                    w.extend(["SCANLIMIT".into(), scan.to_string(), "WITHCURSOR".into()]);
                    let (cursor, recs) = with_cursor(run_words(&mut con, &w).unwrap());
                    seen.extend(ids(&recs));
                    if cursor == 0 {
                        break;
                    }
                    if cursor_q.asc {
                        cursor_q.after = Some(cursor);
                    } else {
                        cursor_q.before = Some(cursor);
                    }
                }
                assert_eq!(seen, want, "GET SCANLIMIT {scan} WITHCURSOR {ctx}");
                if !exact_count {
                    continue;
                }
                // COUNT's continuations add up to the count.
                let mut count_q = Q { asc: false, ..q.clone() };
                let mut total = 0;
                for call in 0.. {
                    assert!(call < 5000, "no end: {ctx}");
                    let mut w = base("TLOG.COUNT");
                    w.extend(count_q.filters());
                    w.extend(count_q.bounds());
                    w.extend(["SCANLIMIT".into(), scan.to_string(), "WITHCURSOR".into()]);
                    let (cursor, n) = with_cursor(run_words(&mut con, &w).unwrap());
                    total += int(&n) as usize;
                    if cursor == 0 {
                        break;
                    }
                    count_q.before = Some(cursor);
                }
                assert_eq!(total, want.len(), "COUNT SCANLIMIT {scan} WITHCURSOR {ctx}");
            }
        }
    }
}

/// Who wrote each id, and for a record of the non-atomic writer, when its push was sent and
/// when it was answered.
#[derive(Default)]
struct Written {
    by_tlog: BTreeSet<i64>,
    plain: HashMap<i64, (Instant, Instant)>,
}

/// A tlog writer and a plain writer following the recipe without MULTI (INCR, then SET and the
/// LPUSHes, one round trip each) log at the same time as a TAIL follower and full BEFORE
/// paginations read. Nobody sees a record twice; nobody misses a record of tlog; a record of
/// the plain writer is missed only by a reader that had passed its id before the record was
/// pushed (the cost of a non-atomic writer). At the end, every record is read exactly once.
#[test]
fn concurrent_plain_writer_loses_no_record_to_followers_or_pages() {
    let s = Server::start();
    let port = s.port;
    let conn = move || redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
    let written = Arc::new(Mutex::new(Written::default()));
    let stop = Arc::new(AtomicBool::new(false));
    // The plain writer's write under way, numbered from 1 (0: none), from before its INCR to
    // after its pushes. The tlog writer logs at most 50 records meanwhile, so the plain writer
    // stays within the read window however the threads are scheduled: that is the contract
    // the window documents.
    let pending = Arc::new(AtomicI64::new(0));
    let run_for = Duration::from_millis(2500);

    let tlog_writer = {
        let (written, stop, pending) = (written.clone(), stop.clone(), pending.clone());
        std::thread::spawn(move || {
            let mut c = conn();
            let mut i = 0;
            let (mut waiting_for, mut logged_meanwhile) = (0, 0);
            while !stop.load(Ordering::Relaxed) {
                let p = pending.load(Ordering::SeqCst);
                if p != waiting_for {
                    (waiting_for, logged_meanwhile) = (p, 0);
                }
                if p != 0 && logged_meanwhile >= 50 {
                    std::thread::sleep(Duration::from_micros(100));
                    continue;
                }
                logged_meanwhile += 1;
                let id = int(&cmd(&mut c, &["TLOG.LOG", "c", &format!("tlog {i}"), "t"]).unwrap());
                written.lock().unwrap().by_tlog.insert(id);
                i += 1;
            }
        })
    };
    let plain_writer = {
        let (written, stop, pending) = (written.clone(), stop.clone(), pending.clone());
        std::thread::spawn(move || {
            let mut c = conn();
            let mut write = 0;
            while !stop.load(Ordering::Relaxed) {
                write += 1;
                pending.store(write, Ordering::SeqCst);
                let id: i64 = c.incr("c:counter", 1).unwrap();
                let now = chrono::Utc::now().timestamp_micros();
                let body = format!(r#"{{"id":{id},"ts":{},"message":"plain","tags":["t"]}}"#, secs(now));
                let _: () = c.set(format!("c:msg:{id}"), body).unwrap();
                let sent = Instant::now();
                let _: () = c.lpush("c:flow:__all__", id).unwrap();
                let _: () = c.lpush("c:flow:t", id).unwrap();
                let answered = Instant::now();
                pending.store(0, Ordering::SeqCst);
                written.lock().unwrap().plain.insert(id, (sent, answered));
            }
        })
    };
    // The follower: each call's send time and the largest id it returned.
    let follower = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = conn();
            let mut after = 0i64;
            let mut seen: Vec<i64> = Vec::new();
            let mut calls: Vec<(Instant, i64)> = Vec::new();
            loop {
                let done = stop.load(Ordering::Relaxed);
                let sent = Instant::now();
                let reply =
                    cmd(&mut c, &["TLOG.TAIL", "c", "t", &after.to_string(), "COUNT", "50", "BLOCK", "100"]).unwrap();
                if let Value::Array(_) = reply {
                    let got = ids(&reply);
                    after = *got.last().unwrap();
                    calls.push((sent, after));
                    seen.extend(got);
                } else if done {
                    return (seen, calls);
                }
            }
        })
    };
    // Paginations: the records pushed before each one started, and the ids it saw.
    let pager = {
        let (written, stop) = (written.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = conn();
            let mut rounds = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let before_start: Vec<i64> = {
                    let w = written.lock().unwrap();
                    w.by_tlog.iter().copied().chain(w.plain.keys().copied()).collect()
                };
                let mut seen = Vec::new();
                let mut page = ids(&cmd(&mut c, &["TLOG.GET", "c", "t", "LIMIT", "97"]).unwrap());
                while !page.is_empty() {
                    seen.extend(&page);
                    let last = page.last().unwrap().to_string();
                    page = ids(&cmd(&mut c, &["TLOG.GET", "c", "t", "LIMIT", "97", "BEFORE", &last]).unwrap());
                }
                rounds.push((before_start, seen));
            }
            rounds
        })
    };
    std::thread::sleep(run_for);
    stop.store(true, Ordering::Relaxed);
    tlog_writer.join().unwrap();
    plain_writer.join().unwrap();
    let (followed, calls) = follower.join().unwrap();
    let rounds = pager.join().unwrap();
    let written = written.lock().unwrap();
    assert!(
        written.by_tlog.len() > 100 && written.plain.len() > 100,
        "too little written: {} {}",
        written.by_tlog.len(),
        written.plain.len()
    );
    assert!(!rounds.is_empty());

    // A plain record missed by a reader is excused only if some call of that reader, sent
    // before the record's push was answered, already went past its id.
    let late_for = |id: i64, passes: &[(Instant, i64)]| -> bool {
        written
            .plain
            .get(&id)
            .is_some_and(|(_, answered)| passes.iter().any(|(sent, past)| sent < answered && *past > id))
    };
    let once = |seen: &[i64], what: &str| {
        let mut sorted = seen.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "{what} saw a record twice");
    };
    once(&followed, "the follower");
    assert!(followed.windows(2).all(|w| w[0] < w[1]), "the follower's records are out of order");
    let followed_set: BTreeSet<i64> = followed.iter().copied().collect();
    let newest = *followed.last().unwrap();
    for &id in written.by_tlog.iter().filter(|&&id| id <= newest) {
        assert!(followed_set.contains(&id), "the follower missed record {id} of tlog");
    }
    let mut excused = 0;
    for &id in written.plain.keys().filter(|&&id| id <= newest) {
        if !followed_set.contains(&id) {
            assert!(
                late_for(id, &calls),
                "the follower missed record {id} of the plain writer, pushed before it passed"
            );
            excused += 1;
        }
    }
    for (k, (before_start, seen)) in rounds.iter().enumerate() {
        once(seen, "a pagination");
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "pagination {k} is out of order");
        let seen: BTreeSet<i64> = seen.iter().copied().collect();
        for id in before_start {
            assert!(seen.contains(id), "pagination {k} missed record {id}, written before it started");
        }
    }
    // Everything, once, in order, when the writers are done.
    let all = ids(&cmd(&mut s.conn(), &["TLOG.GET", "c", "t", "ASC"]).unwrap());
    let mut want: Vec<i64> = written.by_tlog.iter().copied().chain(written.plain.keys().copied()).collect();
    want.sort_unstable();
    let first_difference = all.iter().zip(&want).position(|(a, b)| a != b);
    assert!(
        all.len() == want.len() && first_difference.is_none(),
        "{} read, {} written, first difference at {first_difference:?}",
        all.len(),
        want.len()
    );
    eprintln!(
        "{} records of tlog, {} of the plain writer; the follower read {} ({excused} plain ones pushed after it passed them); {} paginations",
        written.by_tlog.len(),
        written.plain.len(),
        followed.len(),
        rounds.len()
    );
}

/// The window is a setting: an id pushed 150 places late is beyond the default window, within
/// a window of 200; a window of 0 takes flows as sorted.
#[test]
fn the_read_window_is_a_setting() {
    let s = Server::start();
    let mut con = s.conn();
    let late: i64 = con.incr("w:counter", 1).unwrap();
    for i in 0..150 {
        cmd(&mut con, &["TLOG.LOG", "w", &format!("r{i}"), "t"]).unwrap();
    }
    let _: () = con.set(format!("w:msg:{late}"), r#"{"id":1,"ts":1700000000,"message":"late","tags":["t"]}"#).unwrap();
    let _: () = con.lpush("w:flow:t", late).unwrap();
    let window: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("tlog.read-window").query(&mut con).unwrap();
    assert_eq!(window, vec!["tlog.read-window", "100"]);
    let asc = |con: &mut redis::Connection| ids(&cmd(con, &["TLOG.GET", "w", "t", "ASC", "LIMIT", "3"]).unwrap());
    assert_ne!(asc(&mut con), vec![1, 2, 3]);
    let _: () = redis::cmd("CONFIG").arg("SET").arg("tlog.read-window").arg(200).query(&mut con).unwrap();
    assert_eq!(asc(&mut con), vec![1, 2, 3]);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.TAIL", "w", "t", "0", "COUNT", "2"]).unwrap()), vec![1, 2]);
    assert_eq!(int(&cmd(&mut con, &["TLOG.COUNT", "w", "t", "BEFORE", "3"]).unwrap()), 2);
    // Window 0: the flow is read as it stands, the late id where it was pushed.
    let _: () = redis::cmd("CONFIG").arg("SET").arg("tlog.read-window").arg(0).query(&mut con).unwrap();
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "w", "t", "LIMIT", "2"]).unwrap()), vec![1, 151]);
    assert_eq!(
        err_of(redis::cmd("CONFIG").arg("SET").arg("tlog.read-window").arg(-1).query::<Value>(&mut con))
            .split(" - ")
            .next()
            .unwrap(),
        "ERR CONFIG SET failed (possibly related to argument 'tlog.read-window')"
    );
}

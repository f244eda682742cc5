//! TLOG.TAIL: catch-up then live on one id sequence, blocking scoped to tags, and the opt-in
//! pub/sub channels.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;
use redis::Value;

fn tail_ids(v: &Value) -> Vec<i64> {
    match v {
        Value::Nil => Vec::new(),
        other => ids(other),
    }
}

fn blocked_clients(s: &Server) -> i64 {
    let info: String = redis::cmd("INFO").arg("clients").query(&mut s.conn()).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("blocked_clients in INFO")
}

fn wait_blocked(s: &Server, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked_clients(s) != n {
        assert!(Instant::now() < deadline, "expected {n} blocked clients, have {}", blocked_clients(s));
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn tail_returns_newer_records_oldest_first_at_once() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 0..10 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}"), if i % 2 == 0 { "even" } else { "odd" }]).unwrap();
    }
    assert_eq!(tail_ids(&cmd(&mut con, &["TLOG.TAIL", "p", "__all__", "6"]).unwrap()), vec![7, 8, 9, 10]);
    assert_eq!(tail_ids(&cmd(&mut con, &["TLOG.TAIL", "p", "even", "0", "COUNT", "2"]).unwrap()), vec![1, 3]);
    assert_eq!(
        tail_ids(&cmd(&mut con, &["TLOG.TAIL", "p", "__all__", "0", "AND", "1", "odd", "COUNT", "3"]).unwrap()),
        vec![2, 4, 6]
    );
    // Nothing newer and no BLOCK: nil at once, as XREAD.
    assert_eq!(cmd(&mut con, &["TLOG.TAIL", "p", "__all__", "10"]).unwrap(), Value::Nil);
    assert_eq!(cmd(&mut con, &["TLOG.TAIL", "p", "__all__", "$"]).unwrap(), Value::Nil);
}

#[test]
fn a_blocked_reader_wakes_only_for_a_record_it_matches() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "old", "x"]).unwrap();
    let port = s.port;
    let reader = thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let started = Instant::now();
        let r = cmd(&mut c, &["TLOG.TAIL", "p", "x", "$", "NOT", "1", "noise", "BLOCK", "10000"]).unwrap();
        (r, started.elapsed())
    });
    wait_blocked(&s, 1);
    // Other tags, and a record of x the filter excludes: the reader keeps waiting.
    cmd(&mut con, &["TLOG.LOG", "p", "other", "y"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "excluded", "x", "noise"]).unwrap();
    // The server serves the clients blocked on a key a command made ready before it replies to
    // that command: the reader has looked at both records and is waiting again.
    assert_eq!(blocked_clients(&s), 1);
    let id = int(&cmd(&mut con, &["TLOG.LOG", "p", "wanted", "x"]).unwrap());
    let (reply, waited) = reader.join().unwrap();
    let recs = array(&reply);
    assert_eq!(recs.len(), 1);
    assert_eq!(int(&field(&recs[0], "id")), id);
    assert_eq!(text(&field(&recs[0], "message")), "wanted");
    assert!(waited < Duration::from_secs(5));
    assert_eq!(blocked_clients(&s), 0);
}

#[test]
fn a_blocked_reader_times_out_with_nil() {
    let s = Server::start();
    let mut con = s.conn();
    let started = Instant::now();
    assert_eq!(cmd(&mut con, &["TLOG.TAIL", "p", "t", "$", "BLOCK", "150"]).unwrap(), Value::Nil);
    assert!(started.elapsed() >= Duration::from_millis(140));
    assert_eq!(blocked_clients(&s), 0);
}

#[test]
fn catch_up_then_live_never_misses_nor_repeats_while_others_log() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 0..300 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("before {i}"), "t"]).unwrap();
    }
    let port = s.port;
    let writer = thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        for i in 0..2000 {
            let tag = if i % 3 == 0 { "other" } else { "t" };
            cmd(&mut c, &["TLOG.LOG", "p", &format!("live {i}"), tag]).unwrap();
        }
    });
    let mut seen: Vec<i64> = Vec::new();
    let mut last = 0i64;
    let expected_total = 300 + (0..2000).filter(|i| i % 3 != 0).count();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < expected_total {
        assert!(Instant::now() < deadline, "read {} of {expected_total}", seen.len());
        let page = tail_ids(
            &cmd(&mut con, &["TLOG.TAIL", "p", "t", &last.to_string(), "COUNT", "37", "BLOCK", "2000"]).unwrap(),
        );
        if let Some(&l) = page.last() {
            last = l;
        }
        seen.extend(page);
    }
    writer.join().unwrap();
    let mut want: Vec<i64> = redis::cmd("LRANGE").arg("p:flow:t").arg(0).arg(-1).query::<Vec<i64>>(&mut con).unwrap();
    want.reverse();
    assert_eq!(seen, want);
}

#[test]
fn many_readers_each_get_only_their_tag() {
    let s = Server::start();
    let port = s.port;
    let readers: Vec<_> = (0..40)
        .map(|i| {
            thread::spawn(move || {
                let mut c =
                    redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
                let r = cmd(&mut c, &["TLOG.TAIL", "p", &format!("tag{i}"), "$", "BLOCK", "10000"]).unwrap();
                array(&r).iter().map(|rec| text(&field(rec, "message"))).collect::<Vec<_>>()
            })
        })
        .collect();
    wait_blocked(&s, 40);
    let mut con = s.conn();
    for i in (0..40).rev() {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("for {i}"), &format!("tag{i}")]).unwrap();
    }
    for (i, r) in readers.into_iter().enumerate() {
        assert_eq!(r.join().unwrap(), vec![format!("for {i}")]);
    }
    assert_eq!(blocked_clients(&s), 0);
}

/// `tlog_tail_readers` of INFO tlog: the readers blocked now.
fn tail_readers(s: &Server) -> i64 {
    let info: String = redis::cmd("INFO").arg("tlog").query(&mut s.conn()).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("tlog_tail_readers:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("tlog_tail_readers in INFO tlog")
}

fn wait_tail_readers(s: &Server, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while tail_readers(s) != n {
        assert!(Instant::now() < deadline, "expected {n} TAIL readers, INFO tlog says {}", tail_readers(s));
        thread::sleep(Duration::from_millis(5));
    }
}

/// Every reader's state is freed whichever way its wait ends: disconnected, timed out or
/// served. The module counts the states alive: it must come back to 0 each time.
#[test]
fn disconnected_readers_free_everything() {
    let s = Server::start();
    assert_eq!(tail_readers(&s), 0);
    // The count shows every reader's state freed; memory, coarsely, that nothing large is kept
    // beside it (300 readers come and go).
    let mem = |s: &Server| -> i64 {
        let info: String = redis::cmd("INFO").arg("memory").query(&mut s.conn()).unwrap();
        info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap()
    };
    let before = mem(&s);
    for _ in 0..3 {
        let mut clients: Vec<std::net::TcpStream> = Vec::new();
        for i in 0..100 {
            let mut c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
            let tag = format!("t{i}");
            let req = format!(
                "*6\r\n$9\r\nTLOG.TAIL\r\n$1\r\np\r\n${}\r\n{tag}\r\n$1\r\n$\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n",
                tag.len()
            );
            std::io::Write::write_all(&mut c, req.as_bytes()).unwrap();
            clients.push(c);
        }
        wait_blocked(&s, 100);
        assert_eq!(tail_readers(&s), 100);
        drop(clients);
        wait_blocked(&s, 0);
        wait_tail_readers(&s, 0);
    }
    // Closed clients are freed asynchronously: wait for the memory to come back down.
    let deadline = Instant::now() + Duration::from_secs(5);
    while mem(&s) > before + 200_000 {
        assert!(Instant::now() < deadline, "memory grew from {before} to {} over 300 readers", mem(&s));
        thread::sleep(Duration::from_millis(20));
    }
    let mut con = s.conn();
    assert_eq!(cmd(&mut con, &["TLOG.TAIL", "p", "t", "$", "BLOCK", "20"]).unwrap(), Value::Nil);
    assert_eq!(tail_readers(&s), 0);
    let reader = spawn_reader(s.port, &["p", "t", "0", "BLOCK", "10000"]);
    wait_tail_readers(&s, 1);
    cmd(&mut con, &["TLOG.LOG", "p", "served", "t"]).unwrap();
    assert_eq!(reader.join().unwrap(), vec![1]);
    wait_tail_readers(&s, 0);
}

#[test]
fn inside_multi_and_lua_tail_answers_at_once() {
    let s = Server::start();
    let mut con = s.conn();
    let (r,): (Value,) =
        redis::pipe().atomic().cmd("TLOG.TAIL").arg("p").arg("t").arg("$").arg("BLOCK").arg(0).query(&mut con).unwrap();
    assert_eq!(r, Value::Nil);
    let r: Value = redis::cmd("EVAL")
        .arg("return redis.call('TLOG.TAIL', 'p', 't', '0', 'BLOCK', '0')")
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!(r, Value::Nil);
    assert_eq!(blocked_clients(&s), 0);
}

#[test]
fn a_reader_on_a_replica_wakes_when_the_master_logs() {
    let master = Server::start();
    let replica = Server::replica_of(&master, true);
    let port = replica.port;
    let reader = thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        tail_ids(&cmd(&mut c, &["TLOG.TAIL", "p", "t", "0", "BLOCK", "10000"]).unwrap())
    });
    wait_blocked(&replica, 1);
    let mut con = master.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "from the master", "t"]).unwrap();
    assert_eq!(reader.join().unwrap(), vec![1]);
}

#[test]
fn records_are_published_only_when_enabled() {
    let s = Server::start();
    let mut con = s.conn();
    let mut sub = s.conn();
    let mut pubsub = sub.as_pubsub();
    pubsub.psubscribe("app:log-records*").unwrap();
    pubsub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    cmd(&mut con, &["TLOG.LOG", "app", "silent", "t"]).unwrap();
    nothing_published(&mut pubsub, &mut con, "published while disabled");

    let cfg = |con: &mut redis::Connection, k: &str, v: &str| {
        let _: () = redis::cmd("CONFIG").arg("SET").arg(k).arg(v).query(con).unwrap();
    };
    cfg(&mut con, "tlog.publish", "yes");
    let got: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("tlog.publish").query(&mut con).unwrap();
    assert_eq!(got, ["tlog.publish", "yes"]);
    let id = int(&cmd(&mut con, &["TLOG.LOG", "app", "loud", "t", "u"]).unwrap());
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "app:log-records");
    let body: String = msg.get_payload().unwrap();
    let stored: String = redis::cmd("GET").arg(format!("app:msg:{id}")).query(&mut con).unwrap();
    assert_eq!(body, stored);
    nothing_published(&mut pubsub, &mut con, "per-tag channels are off by default");

    cfg(&mut con, "tlog.publish-tags", "yes");
    cmd(&mut con, &["TLOG.LOG", "app", "tagged", "t", "u"]).unwrap();
    let mut channels: Vec<String> =
        (0..3).map(|_| pubsub.get_message().unwrap().get_channel_name().to_string()).collect();
    channels.sort();
    assert_eq!(channels, ["app:log-records", "app:log-records:t", "app:log-records:u"]);
    assert_eq!(
        err_of(redis::cmd("CONFIG").arg("SET").arg("tlog.publish").arg("maybe").query::<Value>(&mut con))
            .split(' ')
            .next(),
        Some("ERR")
    );
}

#[test]
fn publishing_can_be_set_in_the_configuration() {
    let s = Server::start_with(true, &["--tlog.publish", "yes"]);
    let got: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("tlog.publish*").query(&mut s.conn()).unwrap();
    assert_eq!(got.len(), 4);
    assert!(got.windows(2).any(|w| w == ["tlog.publish", "yes"]), "{got:?}");
    assert!(got.windows(2).any(|w| w == ["tlog.publish-tags", "no"]), "{got:?}");
}

/// Writes wake readers only while some wait: after readers timed out, were served and
/// disconnected, a new reader is still woken by the next record.
#[test]
fn readers_are_woken_after_others_timed_out_were_served_or_left() {
    let s = Server::start();
    let mut con = s.conn();
    // One times out, one is served at once (no wait), one disconnects while waiting.
    assert_eq!(cmd(&mut con, &["TLOG.TAIL", "p", "t", "$", "BLOCK", "50"]).unwrap(), Value::Nil);
    cmd(&mut con, &["TLOG.LOG", "p", "first", "t"]).unwrap();
    assert_eq!(tail_ids(&cmd(&mut con, &["TLOG.TAIL", "p", "t", "0", "BLOCK", "0"]).unwrap()), vec![1]);
    let mut gone = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    std::io::Write::write_all(
        &mut gone,
        b"*6\r\n$9\r\nTLOG.TAIL\r\n$1\r\np\r\n$1\r\nt\r\n$1\r\n$\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n",
    )
    .unwrap();
    wait_blocked(&s, 1);
    drop(gone);
    wait_blocked(&s, 0);
    for round in 0..3 {
        let port = s.port;
        let reader = thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
            tail_ids(&cmd(&mut c, &["TLOG.TAIL", "p", "t", "$", "BLOCK", "10000"]).unwrap())
        });
        wait_blocked(&s, 1);
        // Another reader comes and goes while the first waits.
        let mut other = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        std::io::Write::write_all(
            &mut other,
            b"*6\r\n$9\r\nTLOG.TAIL\r\n$1\r\np\r\n$1\r\nu\r\n$1\r\n$\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n",
        )
        .unwrap();
        wait_blocked(&s, 2);
        drop(other);
        wait_blocked(&s, 1);
        let id = int(&cmd(&mut con, &["TLOG.LOG", "p", &format!("r{round}"), "t"]).unwrap());
        assert_eq!(reader.join().unwrap(), vec![id], "round {round}");
    }
}

/// Shows that nothing was published on the channels `pubsub` follows (`app:log-records*`) before
/// now: a marker published now on one of them is the next message it gets (messages arrive in
/// the order they were published).
fn nothing_published(pubsub: &mut redis::PubSub<'_>, con: &mut redis::Connection, what: &str) {
    let marker = format!("marker {}", server_time_us(con));
    let _: i64 = redis::cmd("PUBLISH").arg("app:log-records-marker").arg(&marker).query(con).unwrap();
    let msg = pubsub.get_message().unwrap();
    let got = (msg.get_channel_name().to_string(), msg.get_payload::<String>().unwrap());
    assert_eq!(got, ("app:log-records-marker".to_string(), marker), "{what}");
}

/// A reader blocked in another thread: `TLOG.TAIL <args>` on `port`, its record ids.
fn spawn_reader(port: u16, args: &[&str]) -> thread::JoinHandle<Vec<i64>> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let words: Vec<&str> = std::iter::once("TLOG.TAIL").chain(args.iter().map(String::as_str)).collect();
        tail_ids(&cmd(&mut c, &words).unwrap())
    })
}

/// The record layout a plain client writes, as the interoperability recipe says.
fn plain_record(id: i64, tag: &str) -> String {
    format!(r#"{{"id":{id},"ts":1700000000.{id:06},"message":"plain {id}","tags":["{tag}"]}}"#)
}

/// The server wakes a client blocked on a list only when the list is created: a push on a flow
/// that exists must wake the reader too, whoever pushes. Here the flow exists before the reader
/// blocks, on a replica, and the master's TLOG.LOG arrives through replication.
#[test]
fn a_reader_on_a_replica_wakes_for_a_flow_that_already_exists() {
    let master = Server::start();
    let replica = Server::replica_of(&master, true);
    let mut con = master.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "first", "t"]).unwrap();
    let _: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert!(redis::cmd("EXISTS").arg("p:flow:t").query::<bool>(&mut replica.conn()).unwrap());
    let reader = spawn_reader(replica.port, &["p", "t", "1", "BLOCK", "10000"]);
    wait_blocked(&replica, 1);
    let started = Instant::now();
    cmd(&mut con, &["TLOG.LOG", "p", "second", "t"]).unwrap();
    assert_eq!(reader.join().unwrap(), vec![2]);
    assert!(started.elapsed() < Duration::from_secs(5), "woken by the timeout, not the record");
    assert_eq!(blocked_clients(&replica), 0);
}

/// The documented recipe of a plain client (INCR, SET, LPUSH), sent as separate commands, in
/// MULTI/EXEC and in a script, wakes a reader blocked on a flow that exists.
#[test]
fn a_reader_wakes_for_records_that_plain_clients_push() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "by tlog", "t"]).unwrap();
    let push = |con: &mut redis::Connection, id: i64| {
        let _: i64 = redis::cmd("INCR").arg("p:counter").query(con).unwrap();
        let _: () = redis::cmd("SET").arg(format!("p:msg:{id}")).arg(plain_record(id, "t")).query(con).unwrap();
        let _: i64 = redis::cmd("LPUSH").arg("p:flow:__all__").arg(id).query(con).unwrap();
        let _: i64 = redis::cmd("LPUSH").arg("p:flow:t").arg(id).query(con).unwrap();
    };

    // Separate commands.
    let reader = spawn_reader(s.port, &["p", "t", "$", "BLOCK", "10000"]);
    wait_blocked(&s, 1);
    push(&mut con, 2);
    assert_eq!(reader.join().unwrap(), vec![2]);

    // MULTI/EXEC.
    let reader = spawn_reader(s.port, &["p", "t", "2", "BLOCK", "10000"]);
    wait_blocked(&s, 1);
    let _: () = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("p:counter")
        .ignore()
        .cmd("SET")
        .arg("p:msg:3")
        .arg(plain_record(3, "t"))
        .ignore()
        .cmd("LPUSH")
        .arg("p:flow:__all__")
        .arg(3)
        .ignore()
        .cmd("LPUSH")
        .arg("p:flow:t")
        .arg(3)
        .ignore()
        .query(&mut con)
        .unwrap();
    assert_eq!(reader.join().unwrap(), vec![3]);

    // A script.
    let reader = spawn_reader(s.port, &["p", "t", "3", "BLOCK", "10000"]);
    wait_blocked(&s, 1);
    let script = "local id = redis.call('INCR', KEYS[1]) \
                  redis.call('SET', KEYS[2] .. id, ARGV[1]) \
                  redis.call('LPUSH', KEYS[3], id) \
                  redis.call('LPUSH', KEYS[4], id) return id";
    let id: i64 = redis::cmd("EVAL")
        .arg(script)
        .arg(4)
        .arg("p:counter")
        .arg("p:msg:")
        .arg("p:flow:__all__")
        .arg("p:flow:t")
        .arg(plain_record(4, "t"))
        .query(&mut con)
        .unwrap();
    assert_eq!(id, 4);
    assert_eq!(reader.join().unwrap(), vec![4]);

    // A push that adds nothing the reader matches leaves it waiting; tlog's own write wakes it.
    let reader = spawn_reader(s.port, &["p", "t", "4", "BLOCK", "10000"]);
    wait_blocked(&s, 1);
    let _: i64 = redis::cmd("LPUSH").arg("p:flow:t").arg("not an id").query(&mut con).unwrap();
    let _: i64 = redis::cmd("LPUSH").arg("p:flow:other").arg("4").query(&mut con).unwrap();
    // The pushes above were served before this reply: the reader looked and kept waiting.
    let _: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(blocked_clients(&s), 1);
    let id = int(&cmd(&mut con, &["TLOG.LOG", "p", "by tlog again", "t"]).unwrap());
    assert_eq!(reader.join().unwrap(), vec![id]);
    assert_eq!(blocked_clients(&s), 0);
}

/// A reader with a tag filter wakes when a plain client's separate pushes complete a match,
/// whichever flow it pushes last: the pushes on the filter's flow come before the tag's here.
#[test]
fn a_filtered_reader_wakes_when_the_last_of_separate_pushes_lands() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "by tlog", "t", "a"]).unwrap();
    for (args, last_flow) in [
        (&["p", "t", "1", "AND", "1", "a", "BLOCK", "10000"][..], "p:flow:t"),
        (&["p", "t", "2", "OR", "2", "a", "b", "BLOCK", "10000"][..], "p:flow:t"),
        (&["p", "t", "3", "AND", "1", "a", "BLOCK", "10000"][..], "p:flow:a"),
    ] {
        let id: i64 = redis::cmd("INCR").arg("p:counter").query(&mut con).unwrap();
        let reader = spawn_reader(s.port, args);
        wait_blocked(&s, 1);
        let body = format!(r#"{{"id":{id},"ts":1700000000.0,"message":"m","tags":["a","t"]}}"#);
        let _: () = redis::cmd("SET").arg(format!("p:msg:{id}")).arg(body).query(&mut con).unwrap();
        let _: i64 = redis::cmd("LPUSH").arg("p:flow:__all__").arg(id).query(&mut con).unwrap();
        for flow in ["p:flow:a", "p:flow:t"].into_iter().filter(|f| *f != last_flow).chain([last_flow]) {
            let _: i64 = redis::cmd("LPUSH").arg(flow).arg(id).query(&mut con).unwrap();
        }
        assert_eq!(reader.join().unwrap(), vec![id], "{args:?}");
    }
}

/// `$` is resolved when the call is made, as XREAD's is: after FLUSHALL the reader waits for
/// ids above the old newest one (documented on the TLOG.TAIL page).
#[test]
fn after_flushall_a_reader_at_dollar_waits_for_ids_past_the_old_newest() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 0..3 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("old {i}"), "t"]).unwrap();
    }
    let reader = spawn_reader(s.port, &["p", "t", "$", "BLOCK", "10000"]);
    wait_blocked(&s, 1);
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    for want in 1..=3 {
        assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", &format!("new {want}"), "t"]).unwrap()), want);
    }
    let _: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(blocked_clients(&s), 1);
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "new 4", "t"]).unwrap()), 4);
    assert_eq!(reader.join().unwrap(), vec![4]);
}

/// A module's PUBLISH is not checked by the server: tlog checks the writer's channel
/// permissions itself, and refuses the write whole (NOPERM, nothing written, nothing
/// published) when one of the record's channels is denied, as the writer's own PUBLISH would be.
#[test]
fn publishing_obeys_the_writers_channel_permissions() {
    let s = Server::start_with(true, &["--tlog.publish", "yes", "--tlog.publish-tags", "yes"]);
    let mut con = s.conn();
    let mut sub = s.conn();
    let mut pubsub = sub.as_pubsub();
    pubsub.psubscribe("app:log-records*").unwrap();
    pubsub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let user = |con: &mut redis::Connection, name: &str, channels: &[&str]| {
        let mut c = redis::cmd("ACL");
        c.arg("SETUSER").arg(name).arg("reset").arg("on").arg(">pw").arg("+@all").arg("~app:*").arg("resetchannels");
        for ch in channels {
            c.arg(format!("&{ch}"));
        }
        let _: () = c.query(con).unwrap();
        redis::Client::open(format!("redis://{name}:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap()
    };

    // May publish on the prefix's channel only: a tagged record is refused, the channel named.
    let mut narrow = user(&mut con, "narrow", &["app:log-records"]);
    let own = err_of(redis::cmd("PUBLISH").arg("app:log-records:secret").arg("x").query::<Value>(&mut narrow));
    assert!(own.starts_with("NOPERM"), "the server refuses the user's own PUBLISH: {own}");
    let before = s.digest();
    for words in
        [&["TLOG.LOG", "app", "m", "secret"][..], &["TLOG.ADD", "app", "MAXLEN", "1", "MESSAGE", "m", "secret"]]
    {
        assert_eq!(
            err_of(cmd(&mut narrow, words)),
            "NOPERM this user has no permissions to access the 'app:log-records:secret' channel"
        );
    }
    assert_eq!(s.digest(), before, "a refused write changed the dataset");
    nothing_published(&mut pubsub, &mut con, "published on a channel the writer may not publish to");
    // A record without tags needs only the prefix's channel.
    let id = int(&cmd(&mut narrow, &["TLOG.LOG", "app", "untagged"]).unwrap());
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "app:log-records");
    let stored: String = redis::cmd("GET").arg(format!("app:msg:{id}")).query(&mut con).unwrap();
    assert_eq!(msg.get_payload::<String>().unwrap(), stored);

    // A pattern permission covers the tag channels.
    let mut wide = user(&mut con, "wide", &["app:log-records*"]);
    cmd(&mut wide, &["TLOG.LOG", "app", "m", "secret"]).unwrap();
    let mut channels: Vec<String> =
        (0..2).map(|_| pubsub.get_message().unwrap().get_channel_name().to_string()).collect();
    channels.sort();
    assert_eq!(channels, ["app:log-records", "app:log-records:secret"]);

    // With publishing off, no channel permission is needed.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tlog.publish")
        .arg("no")
        .arg("tlog.publish-tags")
        .arg("no")
        .query(&mut con)
        .unwrap();
    let mut none = user(&mut con, "none", &[]);
    cmd(&mut none, &["TLOG.LOG", "app", "quiet", "secret"]).unwrap();
    nothing_published(&mut pubsub, &mut con, "published with publishing off");
}

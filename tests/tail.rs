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
    assert_eq!(tail_ids(&cmd(&mut con, &["TLOG.TAIL", "p", "__all__", "0", "AND", "1", "odd", "COUNT", "3"]).unwrap()), vec![2, 4, 6]);
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
    thread::sleep(Duration::from_millis(100));
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
        let page = tail_ids(&cmd(&mut con, &["TLOG.TAIL", "p", "t", &last.to_string(), "COUNT", "37", "BLOCK", "2000"]).unwrap());
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
                let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
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

#[test]
fn disconnected_readers_free_everything() {
    let s = Server::start();
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
            let req = format!("*6\r\n$9\r\nTLOG.TAIL\r\n$1\r\np\r\n${}\r\n{tag}\r\n$1\r\n$\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n", tag.len());
            std::io::Write::write_all(&mut c, req.as_bytes()).unwrap();
            clients.push(c);
        }
        wait_blocked(&s, 100);
        drop(clients);
        wait_blocked(&s, 0);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while mem(&s) > before + 200_000 {
        assert!(Instant::now() < deadline, "memory grew from {before} to {}", mem(&s));
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn inside_multi_and_lua_tail_answers_at_once() {
    let s = Server::start();
    let mut con = s.conn();
    let (r,): (Value,) = redis::pipe().atomic().cmd("TLOG.TAIL").arg("p").arg("t").arg("$").arg("BLOCK").arg(0).query(&mut con).unwrap();
    assert_eq!(r, Value::Nil);
    let r: Value = redis::cmd("EVAL").arg("return redis.call('TLOG.TAIL', 'p', 't', '0', 'BLOCK', '0')").arg(0).query(&mut con).unwrap();
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
    pubsub.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    cmd(&mut con, &["TLOG.LOG", "app", "silent", "t"]).unwrap();
    assert!(pubsub.get_message().is_err(), "published while disabled");

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
    assert!(pubsub.get_message().is_err(), "per-tag channels are off by default");

    cfg(&mut con, "tlog.publish-tags", "yes");
    cmd(&mut con, &["TLOG.LOG", "app", "tagged", "t", "u"]).unwrap();
    let mut channels: Vec<String> = (0..3).map(|_| pubsub.get_message().unwrap().get_channel_name().to_string()).collect();
    channels.sort();
    assert_eq!(channels, ["app:log-records", "app:log-records:t", "app:log-records:u"]);
    assert_eq!(err_of(redis::cmd("CONFIG").arg("SET").arg("tlog.publish").arg("maybe").query::<Value>(&mut con)).split(' ').next(), Some("ERR"));
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
    std::io::Write::write_all(&mut gone, b"*6\r\n$9\r\nTLOG.TAIL\r\n$1\r\np\r\n$1\r\nt\r\n$1\r\n$\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n").unwrap();
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
        std::io::Write::write_all(&mut other, b"*6\r\n$9\r\nTLOG.TAIL\r\n$1\r\np\r\n$1\r\nu\r\n$1\r\n$\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n").unwrap();
        wait_blocked(&s, 2);
        drop(other);
        wait_blocked(&s, 1);
        let id = int(&cmd(&mut con, &["TLOG.LOG", "p", &format!("r{round}"), "t"]).unwrap());
        assert_eq!(reader.join().unwrap(), vec![id], "round {round}");
    }
}

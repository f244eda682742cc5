//! Crash safety: kill -9 under continuous logging, restart from the AOF (and from an RDB
//! snapshot), and check that every record is whole and every flow consistent.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use common::*;
use redis::Commands;

/// Logs records until the server goes away; returns the ids it got acknowledged.
fn log_until_killed(port: u16, stop: Arc<AtomicBool>, seed: u64) -> Vec<i64> {
    let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
    let mut acked = Vec::new();
    let mut i = seed;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let tags: Vec<String> = (0..1 + i % 3).map(|k| format!("t{}", (i + k) % 5)).collect();
        let mut words = vec!["TLOG.LOG".to_string(), "app".into(), format!("record {i}")];
        words.extend(tags);
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        match cmd(&mut con, &w) {
            Ok(v) => acked.push(int(&v)),
            Err(_) => break,
        }
    }
    acked
}

/// Every id in every flow names a whole record that carries the flow's tag; the counter is
/// at least the highest id; every acknowledged record is there; no record is outside __all__.
fn check_consistent(con: &mut redis::Connection, acked: &[i64]) {
    let all: Vec<i64> = con.lrange("app:flow:__all__", 0, -1).unwrap();
    let all_set: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all_set.len(), all.len(), "an id twice in __all__");
    let counter: i64 = con.get("app:counter").unwrap_or(0);
    assert!(all.iter().all(|&id| id <= counter), "counter {counter} below an id");
    for id in acked {
        assert!(all_set.contains(id), "acknowledged record {id} lost");
    }
    let msgs: Vec<String> = redis::cmd("KEYS").arg("app:msg:*").query(con).unwrap();
    assert_eq!(msgs.len(), all.len(), "records outside __all__ (a partial write)");
    let flow_keys: Vec<String> = redis::cmd("KEYS").arg("app:flow:*").query(con).unwrap();
    let mut flows = std::collections::HashMap::new();
    for f in flow_keys {
        let ids: Vec<i64> = con.lrange(&f, 0, -1).unwrap();
        for id in &ids {
            assert!(all_set.contains(id), "{f} names record {id}, which is not in __all__");
        }
        flows.insert(f.trim_start_matches("app:flow:").to_string(), ids.into_iter().collect::<HashSet<i64>>());
    }
    let records: Vec<Option<String>> = if all.is_empty() {
        Vec::new()
    } else {
        let names: Vec<String> = all.iter().map(|id| format!("app:msg:{id}")).collect();
        redis::cmd("MGET").arg(&names).query(con).unwrap()
    };
    for (id, raw) in all.iter().zip(records) {
        let raw = raw.unwrap_or_else(|| panic!("record {id} is missing"));
        let v: serde_json::Value =
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("record {id} is not whole: {e}: {raw}"));
        assert_eq!(v["id"].as_i64(), Some(*id));
        for t in v["tags"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            assert!(flows.get(t).is_some_and(|f| f.contains(id)), "record {id} missing from flow {t}");
        }
    }
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_record_and_leaves_none_partial() {
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut server = Server::start_with(true, &args);
    let mut acked: Vec<i64> = Vec::new();
    for round in 0..4 {
        let logged = tlog_info(&mut server.conn())["records_logged"];
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (port, stop) = (server.port, stop.clone());
                thread::spawn(move || log_until_killed(port, stop, (round * 10 + w) * 1_000_000))
            })
            .collect();
        // The kill comes under load, once this round has logged 100 records.
        wait_info(&mut server.conn(), "records_logged", 30, "records logged this round", |n| n >= logged + 100);
        let dir = server.kill_hard();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            acked.extend(w.join().unwrap());
        }
        server = Server::start_in(dir, true, &args);
        check_consistent(&mut server.conn(), &acked);
        // And logging goes on from the recovered state.
        let id = int(&cmd(&mut server.conn(), &["TLOG.LOG", "app", "after restart", "t0"]).unwrap());
        acked.push(id);
    }
    assert!(acked.len() > 100, "only {} records were logged", acked.len());
}

#[test]
fn an_rdb_snapshot_taken_under_load_is_consistent() {
    let s = Server::start();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (port, stop) = (s.port, stop.clone());
        thread::spawn(move || log_until_killed(port, stop, 0))
    };
    wait_info(&mut s.conn(), "records_logged", 30, "records logged before the snapshot", |n| n >= 50);
    let _: () = redis::cmd("SAVE").query(&mut s.conn()).unwrap();
    let dir = s.kill_hard();
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    let restored = Server::start_in(dir, true, &[]);
    let mut con = restored.conn();
    // What the snapshot holds is whole; records acknowledged after it may be missing.
    check_consistent(&mut con, &[]);
    let n: i64 = con.llen("app:flow:__all__").unwrap();
    assert!(n > 0, "the snapshot is empty");
}

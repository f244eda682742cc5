//! Helper of `make bench` for TLOG.TAIL (not part of the module).
//!
//! `tail_latency PORT latency [ROUNDS]`: 100 clients block on 100 tags; each round logs a record
//! to one tag and measures the time from sending TLOG.LOG to the matching client's reply.
//! Prints p50, p99 and max in microseconds.
//!
//! `tail_latency PORT hold N`: keeps N clients blocked on tags no record uses, until killed.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

fn conn(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
}

fn tail(c: &mut redis::Connection, tag: &str, after: &str) -> redis::Value {
    redis::cmd("TLOG.TAIL").arg("tl").arg(tag).arg(after).arg("BLOCK").arg(0).query(c).expect("TLOG.TAIL")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).expect("usage: tail_latency PORT latency|hold [N]");
    match args.get(2).map(String::as_str) {
        Some("hold") => {
            let n: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100);
            let held: Vec<_> = (0..n)
                .map(|i| {
                    thread::spawn(move || {
                        let mut c = conn(port);
                        let _ = tail(&mut c, &format!("idle{i}"), "$");
                    })
                })
                .collect();
            for h in held {
                let _ = h.join();
            }
        }
        Some("latency") => {
            let rounds: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(2000);
            const READERS: usize = 100;
            let (done_tx, done_rx) = mpsc::channel::<(usize, Instant)>();
            for i in 0..READERS {
                let done = done_tx.clone();
                thread::spawn(move || {
                    let mut c = conn(port);
                    let mut after = "$".to_string();
                    loop {
                        let reply = tail(&mut c, &format!("tag{i}"), &after);
                        let now = Instant::now();
                        // The reply is an array of records, each a field/value array whose
                        // second element is the id.
                        if let redis::Value::Array(recs) = &reply {
                            if let Some(redis::Value::Array(fields)) = recs.last() {
                                if let Some(redis::Value::Int(id)) = fields.get(1) {
                                    after = id.to_string();
                                }
                            }
                        }
                        if done.send((i, now)).is_err() {
                            return;
                        }
                    }
                });
            }
            let mut c = conn(port);
            let blocked = |c: &mut redis::Connection| -> usize {
                let info: String = redis::cmd("INFO").arg("clients").query(c).expect("INFO");
                info.lines()
                    .find_map(|l| l.strip_prefix("blocked_clients:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0)
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while blocked(&mut c) < READERS {
                assert!(Instant::now() < deadline, "readers did not block");
                thread::sleep(Duration::from_millis(10));
            }
            let mut micros: Vec<u128> = Vec::with_capacity(rounds);
            for r in 0..rounds {
                let k = (r * 37) % READERS;
                // Wait until reader k is blocked again before timing the next record.
                thread::sleep(Duration::from_micros(200));
                let t0 = Instant::now();
                let _: i64 =
                    redis::cmd("TLOG.LOG").arg("tl").arg("m").arg(format!("tag{k}")).query(&mut c).expect("TLOG.LOG");
                let (who, t1) = done_rx.recv_timeout(Duration::from_secs(5)).expect("no reader woke");
                assert_eq!(who, k, "a reader of another tag woke");
                micros.push(t1.duration_since(t0).as_micros());
            }
            micros.sort_unstable();
            let pct = |p: f64| micros[((micros.len() as f64 * p) as usize).min(micros.len() - 1)];
            println!("{} {} {} {}", rounds, pct(0.50), pct(0.99), micros[micros.len() - 1]);
            std::process::exit(0);
        }
        _ => panic!("usage: tail_latency PORT latency|hold [N]"),
    }
}

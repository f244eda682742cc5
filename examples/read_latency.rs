//! Helper for measuring how long reads hold the server (not part of the module).
//!
//! `read_latency PORT load`: logs 1,000,000 records under the prefix `big` (every record tagged
//! `a`, every other one also `b`), 400,000 under `dead` whose newest 300,000 records are
//! then deleted (their ids stay in the flow), 1,200 under `many` each tagged `t1` to `t1024`,
//! and 1,200 under `sparse` with two of those tags each.
//!
//! `read_latency PORT run [ROUNDS] -- WORD ...`: runs the command given by the words ROUNDS
//! times (default 5) while another client sends PING in a loop, and prints the command's
//! longest round trip and that client's worst PING latency, in milliseconds, with the reply's
//! shape.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn conn(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
}

fn load(port: u16) {
    let mut c = conn(port);
    let batch = 10_000;
    for (prefix, n) in [("big", 1_000_000), ("dead", 400_000)] {
        let mut i = 0;
        while i < n {
            let mut pipe = redis::pipe();
            for k in i..(i + batch).min(n) {
                let cmd = pipe.cmd("TLOG.LOG").arg(prefix).arg(format!("record {k}"));
                if prefix == "big" {
                    cmd.arg("a");
                    if k % 2 == 0 {
                        cmd.arg("b");
                    }
                }
                cmd.ignore();
            }
            let _: () = pipe.query(&mut c).expect("load");
            i += batch;
        }
    }
    // The newest 300,000 records of `dead` go; their ids stay in the flow.
    for start in (100_001..=400_000).step_by(batch) {
        let keys: Vec<String> = (start..start + batch).map(|id| format!("dead:msg:{id}")).collect();
        let _: () = redis::cmd("DEL").arg(&keys).query(&mut c).expect("DEL");
    }
    // 1,200 records under `many`, each tagged t1 to t1024, and 1,200 under `sparse` with two of
    // those tags each.
    let all: Vec<String> = (1..=1024).map(|t| format!("t{t}")).collect();
    let mut pipe = redis::pipe();
    for i in 0..1200 {
        pipe.cmd("TLOG.LOG").arg("many").arg(format!("r{i}")).arg(&all).ignore();
        let two = [format!("t{}", i % 1024 + 1), format!("t{}", 7 * i % 1024 + 1)];
        pipe.cmd("TLOG.LOG").arg("sparse").arg(format!("r{i}")).arg(&two).ignore();
    }
    let _: () = pipe.query(&mut c).expect("load");
}

fn shape(v: &redis::Value) -> String {
    match v {
        redis::Value::Array(items) if items.len() == 2 && matches!(items[0], redis::Value::Int(_)) => {
            format!("[cursor {}, {}]", shape(&items[0]), shape(&items[1]))
        }
        redis::Value::Array(items) => format!("{} items", items.len()),
        redis::Value::Int(n) => n.to_string(),
        redis::Value::Nil => "nil".into(),
        other => format!("{other:?}").chars().take(120).collect(),
    }
}

/// The longest time the slow log holds for the command `name`, in microseconds.
fn server_micros(c: &mut redis::Connection, name: &str) -> i64 {
    let log: Vec<Vec<redis::Value>> = redis::cmd("SLOWLOG").arg("GET").arg(128).query(c).expect("SLOWLOG GET");
    log.iter()
        .filter(|e| match e.get(3) {
            Some(redis::Value::Array(args)) => {
                matches!(args.first(), Some(redis::Value::BulkString(w)) if w.eq_ignore_ascii_case(name.as_bytes()))
            }
            _ => false,
        })
        .filter_map(|e| match e.get(2) {
            Some(redis::Value::Int(us)) => Some(*us),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

fn run(port: u16, rounds: usize, words: &[String]) {
    let stop = Arc::new(AtomicBool::new(false));
    let pinger = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut c = conn(port);
            let mut worst = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let _: String = redis::cmd("PING").query(&mut c).expect("PING");
                worst = worst.max(t.elapsed());
            }
            worst
        })
    };
    thread::sleep(Duration::from_millis(50));
    let mut c = conn(port);
    // The server's own time for each call, from the slow log (calls over 50 µs; PINGs stay below).
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(50).query(&mut c).expect("CONFIG SET");
    let _: () = redis::cmd("CONFIG").arg("SET").arg("slowlog-max-len").arg(1024).query(&mut c).expect("CONFIG SET");
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut c).expect("SLOWLOG RESET");
    let mut longest = Duration::ZERO;
    let mut last = String::new();
    let mut server = 0;
    for _ in 0..rounds {
        let mut cmd = redis::cmd(&words[0]);
        for w in &words[1..] {
            cmd.arg(w);
        }
        let t = Instant::now();
        let reply: redis::RedisResult<redis::Value> = cmd.query(&mut c);
        longest = longest.max(t.elapsed());
        last = match reply {
            Ok(v) => shape(&v),
            Err(e) => format!("error: {e}"),
        };
        // Read at once: the other client's slower PINGs fill the log too.
        server = server.max(server_micros(&mut c, &words[0]));
        thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let worst = pinger.join().expect("pinger");
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(10_000).query(&mut c).expect("CONFIG SET");
    println!(
        "{:<55} server {:>8.3} ms  round trip {:>8.2} ms  worst PING {:>8.2} ms  reply: {last}",
        words.join(" "),
        server as f64 / 1e3,
        longest.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 =
        args.get(1).and_then(|p| p.parse().ok()).expect("usage: read_latency PORT load|run [ROUNDS] -- WORD ...");
    match args.get(2).map(String::as_str) {
        Some("load") => load(port),
        Some("run") => {
            let dash = args.iter().position(|a| a == "--").expect("-- before the command");
            let rounds = args.get(3).filter(|a| *a != "--").and_then(|n| n.parse().ok()).unwrap_or(5);
            run(port, rounds, &args[dash + 1..]);
        }
        _ => panic!("usage: read_latency PORT load|run [ROUNDS] -- WORD ..."),
    }
}

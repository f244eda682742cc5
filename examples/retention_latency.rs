//! Helper of `make bench` for retention (not part of the module).
//!
//! `retention_latency PORT expire N`: logs N records with a 5 s TTL and two tags, waits for them
//! to expire, then issues GETs from another client while the cleaner removes the dead ids.
//! `retention_latency PORT tags N`: as `expire`, but every record has a tag of its own (N tags,
//! so N flows to clean).
//! `retention_latency PORT purge N`: logs N records with two tags, then runs TLOG.PURGE on
//! the prefix while another client issues GETs.
//!
//! Prints the other client's GET latency (p50, p99, max), how long the work took, and the
//! cleaner's tick figures from INFO tlog.

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

fn conn(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
}

fn info(c: &mut redis::Connection) -> HashMap<String, u64> {
    let text: String = redis::cmd("INFO").arg("tlog").query(c).expect("INFO tlog");
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| Some((k.strip_prefix("tlog_")?.to_string(), v.trim().parse().ok()?)))
        .collect()
}

fn fill(c: &mut redis::Connection, prefix: &str, n: usize, ttl: Option<u32>, tag: impl Fn(usize) -> String) {
    let msg = "x".repeat(100);
    let mut done = 0;
    while done < n {
        let mut pipe = redis::pipe();
        for i in done..(done + 10_000).min(n) {
            let cmd = pipe.cmd("TLOG.ADD").arg(prefix);
            if let Some(t) = ttl {
                cmd.arg("TTL").arg(t);
            }
            cmd.arg("MESSAGE").arg(&msg).arg(tag(i)).arg("all").ignore();
        }
        let _: () = pipe.query(c).expect("fill");
        done = (done + 10_000).min(n);
    }
}

/// GETs from one client until `done` says stop; returns sorted latencies in microseconds.
fn gets_until(port: u16, mut done: impl FnMut() -> bool) -> Vec<u64> {
    let mut c = conn(port);
    let mut lat = Vec::new();
    loop {
        for _ in 0..50 {
            let t = Instant::now();
            let _: Option<String> = redis::cmd("GET").arg("probe").query(&mut c).expect("GET");
            lat.push(t.elapsed().as_micros() as u64);
        }
        if done() {
            break;
        }
    }
    lat.sort_unstable();
    lat
}

fn pct(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: retention_latency PORT expire|tags|purge N";
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).expect(usage);
    let n: usize = args.get(3).and_then(|p| p.parse().ok()).expect(usage);
    let mut c = conn(port);
    let _: () = redis::cmd("FLUSHALL").query(&mut c).expect("FLUSHALL");
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("latency-monitor-threshold").arg(1).query(&mut c).expect("CONFIG SET");
    let _: () = redis::cmd("LATENCY").arg("RESET").query(&mut c).expect("LATENCY RESET");
    let before = info(&mut c);
    let start;
    let lat;
    match args.get(2).map(String::as_str) {
        Some(mode @ ("expire" | "tags")) => {
            if mode == "tags" {
                fill(&mut c, "exp", n, Some(5), |i| format!("u{i}"));
            } else {
                fill(&mut c, "exp", n, Some(5), |i| format!("t{}", i % 100));
            }
            thread::sleep(Duration::from_secs(6));
            let _: () = redis::cmd("LATENCY").arg("RESET").query(&mut c).expect("LATENCY RESET");
            start = Instant::now();
            // Done when every id is gone: N from `__all__`, 2N from the tag flows.
            let mut probe = conn(port);
            let mut last_check = Instant::now();
            let base = before.clone();
            lat = gets_until(port, || {
                if last_check.elapsed() < Duration::from_millis(100) {
                    return false;
                }
                last_check = Instant::now();
                let now = info(&mut probe);
                let expired = now["records_expired"] - base["records_expired"];
                let trimmed = now["dead_ids_trimmed"] - base["dead_ids_trimmed"];
                (expired >= n as u64 && trimmed >= 2 * n as u64) || start.elapsed() > Duration::from_secs(600)
            });
        }
        Some("purge") => {
            fill(&mut c, "pur", n, None, |i| format!("t{}", i % 100));
            let _: () = redis::cmd("LATENCY").arg("RESET").query(&mut c).expect("LATENCY RESET");
            start = Instant::now();
            let purger = thread::spawn(move || {
                let mut p = conn(port);
                redis::cmd("TLOG.PURGE").arg("pur").query::<i64>(&mut p).expect("TLOG.PURGE")
            });
            lat = gets_until(port, || purger.is_finished());
        }
        _ => panic!("{usage}"),
    }
    let took = start.elapsed();
    let after = info(&mut c);
    let latency: redis::Value = redis::cmd("LATENCY").arg("LATEST").query(&mut c).expect("LATENCY LATEST");
    println!(
        "work took {:.2} s; other client's GET latency us: p50 {} p99 {} max {} ({} GETs)",
        took.as_secs_f64(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0),
        lat.len()
    );
    println!(
        "cleaner ticks (since load): {} run, p99 <= {} us, max {} us (max CPU time {} us); records expired {}, dead ids trimmed {}, keys purged {}",
        after["cleaner_ticks"] - before["cleaner_ticks"],
        after["cleaner_p99_tick_us"],
        after["cleaner_max_tick_us"],
        after["cleaner_max_tick_cpu_us"],
        after["records_expired"] - before["records_expired"],
        after["dead_ids_trimmed"] - before["dead_ids_trimmed"],
        after["keys_purged"] - before["keys_purged"],
    );
    println!("LATENCY LATEST (events over 1 ms): {latency:?}");
}

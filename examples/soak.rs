//! Helper of `make soak` (not part of the module): N clients for S seconds mixing TLOG.LOG
//! (several tags), TLOG.GET with filters, TLOG.LATEST and TLOG.TAIL against one server.
//! Checks zero errors and that every acknowledged record is readable; prints throughput and
//! latency percentiles per command.
//!
//! `soak PORT [CLIENTS] [SECONDS]`

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

fn conn(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/")).and_then(|c| c.get_connection()).expect("connect")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).expect("usage: soak PORT [CLIENTS] [SECONDS]");
    let clients: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(50);
    let seconds: u64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(60);
    let until = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|w| {
            thread::spawn(move || {
                let mut c = conn(port);
                let mut lat: HashMap<&'static str, Vec<u32>> = HashMap::new();
                let mut acked: Vec<i64> = Vec::new();
                let mut errors = 0u64;
                let mut tail_from = 0i64;
                let mut i = 0u64;
                while Instant::now() < until {
                    i += 1;
                    let user = format!("user:{}", (w as u64 * 7919 + i) % 200);
                    let t0 = Instant::now();
                    let (name, result): (&'static str, redis::RedisResult<redis::Value>) = match i % 10 {
                        // One worker in five logs to a prefix under retention instead: short
                        // TTLs and a per-call limit, so the cleaner works throughout.
                        0..=5 if w % 5 == 0 => {
                            let r = redis::cmd("TLOG.ADD")
                                .arg("{ret}")
                                .arg("TTL")
                                .arg(1 + i % 3)
                                .arg("MAXLEN")
                                .arg("~")
                                .arg(2000)
                                .arg("MESSAGE")
                                .arg(format!("client {w} record {i}"))
                                .arg(&user)
                                .query::<redis::Value>(&mut c);
                            ("TLOG.ADD", r)
                        }
                        0..=5 => {
                            let mut cmd = redis::cmd("TLOG.LOG");
                            cmd.arg("{soak}").arg(format!("client {w} record {i}")).arg(&user);
                            if i.is_multiple_of(3) {
                                cmd.arg("error");
                            }
                            if i.is_multiple_of(5) {
                                cmd.arg("audit");
                            }
                            let r = cmd.query::<redis::Value>(&mut c);
                            if let Ok(redis::Value::Int(id)) = &r {
                                acked.push(*id);
                            }
                            ("TLOG.LOG", r)
                        }
                        6 => (
                            "TLOG.GET",
                            redis::cmd("TLOG.GET")
                                .arg("{soak}")
                                .arg(&user)
                                .arg("AND")
                                .arg(1)
                                .arg("error")
                                .arg("LIMIT")
                                .arg(20)
                                .query(&mut c),
                        ),
                        7 => (
                            "TLOG.GET",
                            redis::cmd("TLOG.GET")
                                .arg("{soak}")
                                .arg("__all__")
                                .arg("NOT")
                                .arg(1)
                                .arg("audit")
                                .arg("LIMIT")
                                .arg(50)
                                .query(&mut c),
                        ),
                        8 => ("TLOG.LATEST", redis::cmd("TLOG.LATEST").arg("{soak}").arg(&user).query(&mut c)),
                        _ => {
                            let r = redis::cmd("TLOG.TAIL")
                                .arg("{soak}")
                                .arg("audit")
                                .arg(tail_from)
                                .arg("COUNT")
                                .arg(100)
                                .arg("BLOCK")
                                .arg(10)
                                .query::<redis::Value>(&mut c);
                            if let Ok(redis::Value::Array(recs)) = &r {
                                if let Some(redis::Value::Array(f)) = recs.last() {
                                    if let Some(redis::Value::Int(id)) = f.get(1) {
                                        tail_from = *id;
                                    }
                                }
                            }
                            ("TLOG.TAIL", r)
                        }
                    };
                    if let Err(e) = result {
                        errors += 1;
                        eprintln!("{name}: {e}");
                    }
                    lat.entry(name).or_default().push(t0.elapsed().as_micros() as u32);
                }
                (lat, acked, errors)
            })
        })
        .collect();
    let mut lat: HashMap<&'static str, Vec<u32>> = HashMap::new();
    let mut acked = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, a, e) = w.join().expect("worker");
        for (k, v) in l {
            lat.entry(k).or_default().extend(v);
        }
        acked.extend(a);
        errors += e;
    }
    // Every acknowledged record is readable.
    let mut c = conn(port);
    let mut missing = 0;
    for chunk in acked.chunks(1000) {
        let keys: Vec<String> = chunk.iter().map(|id| format!("{{soak}}:msg:{id}")).collect();
        let vals: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut c).expect("MGET");
        missing += vals.iter().filter(|v| v.is_none()).count();
    }
    println!("soak: {clients} clients, {seconds} s, {} records logged, {errors} errors, {missing} acknowledged records missing", acked.len());
    let mut names: Vec<_> = lat.keys().copied().collect();
    names.sort();
    for n in names {
        let v = lat.get_mut(n).expect("name");
        v.sort_unstable();
        let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
        println!(
            "  {n:<12} {:>9} ops  {:>8.0} ops/s  p50 {:>6} us  p99 {:>6} us  max {:>7} us",
            v.len(),
            v.len() as f64 / seconds as f64,
            p(0.5),
            p(0.99),
            v[v.len() - 1]
        );
    }
    if errors > 0 || missing > 0 {
        std::process::exit(1);
    }
}

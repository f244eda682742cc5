//! `make bench`: tlog against its peers, in one run on one server, as one table.
//!
//! Starts its own redis-server (the first on PATH, or REDIS_SERVER) with tlog and the API floor
//! (`bench/floor.c`) loaded, and, when `scripts/servers.sh` fetched it, Redis 7.4.1 with tlog
//! and RediSearch for the RediSearch peer. Fixed commands are driven by `redis-benchmark -P 16
//! -c 50`; data sets with a tag set per record by a pipelined client of its own. Every reply
//! is checked before it is timed, and a wrong one aborts the run with the reply shown.
//! Throughputs are medians of interleaved rounds (each round runs every workload of a part
//! once), and each figure is a ratio of two of them from the same run.
//!
//! Parts (BENCH_PARTS=1,3 runs parts 1 and 3; default all):
//!   1  writes and point reads on 100,000 records: SET/GET, Lua, Redis Streams, the API floors
//!   2  queries on a 1,000,000-record flow, and another client's latency during long calls
//!   3  tag filters on 200,000 records (AND, OR, NOT, COUNT against SINTERCARD)
//!   4  the same 200,000 records against RediSearch (Redis 7.4.1 with both modules)
//!   5  TLOG.TAIL with 100 blocked readers
//!   6  retention: MAXLEN, the cleaner and TLOG.PURGE at 1,000,000 records
//!
//! Env: BENCH_ROUNDS (default 3), BENCH_QUICK=1 (smaller data sets and shorter runs, for
//! development: its figures are not the bench's), BENCH_PARTS, TLOG_MODULE (default
//! target/release/libtlog.so), REDIS_SERVER.
//!
//! Reports; does not gate: exits 0 when a goal is missed, and fails only when the setup, a
//! load generator or a sanity check fails.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{cmd, Rng, Server};
use redis::{Connection, Value};

const MSG_LEN: usize = 100;
const PAGE: usize = 100;

fn msg() -> String {
    "x".repeat(MSG_LEN)
}

// --- Settings -------------------------------------------------------------------------------

struct Settings {
    rounds: usize,
    quick: bool,
    parts: BTreeSet<u32>,
    /// Requests per run of a write workload (part 1).
    writes: u64,
    /// Records of part 1's read data set (tlog and the streams).
    point_records: u64,
    /// Records of part 2's flow.
    big_records: u64,
    /// Records of part 6's cleaner and purge runs.
    retention_records: u64,
    /// Seconds each timed run of a read workload aims at.
    target_secs: f64,
}

impl Settings {
    fn from_env() -> Settings {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3usize).max(1);
        let parts = match std::env::var("BENCH_PARTS") {
            Ok(v) if !v.trim().is_empty() => v
                .split(',')
                .map(|p| p.trim().parse().unwrap_or_else(|_| panic!("BENCH_PARTS: '{p}' is not a part number")))
                .collect(),
            _ => (1..=6).collect(),
        };
        if quick {
            Settings {
                rounds,
                quick,
                parts,
                writes: 30_000,
                point_records: 20_000,
                big_records: 100_000,
                retention_records: 50_000,
                target_secs: 0.25,
            }
        } else {
            Settings {
                rounds,
                quick,
                parts,
                writes: 200_000,
                point_records: 100_000,
                big_records: 1_000_000,
                retention_records: 1_000_000,
                target_secs: 1.2,
            }
        }
    }
}

// --- The table ------------------------------------------------------------------------------

enum Goal {
    /// Reported, no goal.
    None,
    /// The ratio must be at least this.
    AtLeast(f64),
    /// The ratio must be at most this.
    AtMost(f64),
    /// A goal on the tlog figure itself, with whether it was met.
    Value(String, bool),
}

struct Row {
    figure: String,
    tlog: String,
    peer: String,
    ratio: Option<f64>,
    goal: Goal,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    memory: Vec<String>,
    notes: Vec<String>,
}

impl Report {
    fn row(&mut self, figure: impl Into<String>, tlog: String, peer: String, ratio: Option<f64>, goal: Goal) {
        let row = Row { figure: figure.into(), tlog, peer, ratio, goal };
        eprintln!(
            "  => {} | {} | {} | {}",
            row.figure,
            row.tlog,
            row.peer,
            row.ratio.map_or("-".into(), |r| format!("{r:.2}"))
        );
        self.rows.push(row);
    }

    /// A throughput ratio `tlog / peer` of two medians.
    fn ratio(&mut self, figure: &str, m: &Medians, tlog: &str, peer: &str, goal: Goal) {
        let (Some(&a), Some(&b)) = (m.get(tlog), m.get(peer)) else { return };
        self.row(figure, rate(a), format!("{} {}", rate(b), peer), Some(a / b), goal);
    }

    /// The cost of `tlog` relative to `base` (inverse ratio of throughputs): `base / tlog`.
    fn cost(&mut self, figure: &str, m: &Medians, tlog: &str, base: &str, goal: Goal) {
        let (Some(&a), Some(&b)) = (m.get(tlog), m.get(base)) else { return };
        self.row(figure, rate(a), format!("{} {}", rate(b), base), Some(b / a), goal);
    }

    fn print(&self, s: &Settings, server: &str) {
        let head = ["figure", "tlog", "peer", "ratio", "goal", "met"];
        let cells: Vec<[String; 6]> = self
            .rows
            .iter()
            .map(|r| {
                let (goal, met) = match &r.goal {
                    Goal::None => ("-".to_string(), "-".to_string()),
                    Goal::AtLeast(g) => (format!(">= {g:.2}"), yes(r.ratio.is_some_and(|x| x >= *g))),
                    Goal::AtMost(g) => (format!("<= {g:.2}"), yes(r.ratio.is_some_and(|x| x <= *g))),
                    Goal::Value(text, ok) => (text.clone(), yes(*ok)),
                };
                let ratio = r.ratio.map_or("-".to_string(), |x| format!("{x:.2}"));
                [r.figure.clone(), r.tlog.clone(), r.peer.clone(), ratio, goal, met]
            })
            .collect();
        let mut w = head.map(str::len);
        for c in &cells {
            for (i, x) in c.iter().enumerate() {
                w[i] = w[i].max(x.chars().count());
            }
        }
        let line = |c: &[String]| {
            let mut out = String::from("|");
            for (i, x) in c.iter().enumerate() {
                let pad = w[i] - x.chars().count();
                if (1..=3).contains(&i) {
                    out += &format!(" {}{x} |", " ".repeat(pad));
                } else {
                    out += &format!(" {x}{} |", " ".repeat(pad));
                }
            }
            out
        };
        println!();
        println!(
            "tlog bench: {server}; medians of {} interleaved rounds; redis-benchmark -P 16 -c 50{}",
            s.rounds,
            if s.quick { "; QUICK mode (smaller data sets, short runs: not the bench's figures)" } else { "" }
        );
        println!("{}", line(&head.map(String::from)));
        println!("{}", line(&w.map(|n| "-".repeat(n))));
        for c in &cells {
            println!("{}", line(c));
        }
        let goals = self.rows.iter().filter(|r| !matches!(r.goal, Goal::None)).count();
        let met = cells.iter().filter(|c| c[5] == "yes").count();
        println!("\n{met} of {goals} goals met.");
        if !self.memory.is_empty() {
            println!("\nMemory per record (used_memory growth / records, 100-byte message):");
            for m in &self.memory {
                println!("  {m}");
            }
        }
        for n in &self.notes {
            println!("{n}");
        }
    }
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "NO" }.into()
}

fn rate(x: f64) -> String {
    if x >= 100.0 {
        format!("{}/s", thousands(x.round() as u64))
    } else {
        format!("{x:.1}/s")
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

// --- Load generation ------------------------------------------------------------------------

type Check = Box<dyn Fn(&Value) -> Result<(), String>>;

/// A fixed command timed with redis-benchmark, and how to check its reply.
struct Workload {
    name: String,
    /// redis-benchmark options before the command (not part of the sanity check).
    opts: Vec<String>,
    args: Vec<String>,
    check: Check,
    /// Requests per run; `None`: sized to run about `target_secs`.
    requests: Option<u64>,
}

fn wl(name: &str, args: &[&str], check: Check) -> Workload {
    Workload {
        name: name.into(),
        opts: Vec::new(),
        args: args.iter().map(|a| a.to_string()).collect(),
        check,
        requests: None,
    }
}

type Medians = HashMap<String, f64>;

/// The throughput of `n` requests of `args` from redis-benchmark -P `pipeline` -c 50.
fn benchmark(port: u16, n: u64, pipeline: u32, args: &[String]) -> f64 {
    benchmark_with(port, n, pipeline, 50, args)
}

fn benchmark_with(port: u16, n: u64, pipeline: u32, clients: u32, args: &[String]) -> f64 {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-n", &n.to_string(), "-P", &pipeline.to_string()])
        .args(["-c", &clients.to_string(), "-q", "--csv"])
        .args(args)
        .output()
        .expect("run redis-benchmark (redis-tools; `make deps` installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() || text.to_ascii_lowercase().contains("error") {
        panic!("redis-benchmark failed: {}\n{text}", args.join(" "));
    }
    let last = text.lines().rev().find(|l| l.starts_with('"')).unwrap_or("");
    let rps = last.split("\",\"").nth(1).unwrap_or("").trim_matches('"');
    if rps == "inf" {
        return 1e9; // too few requests to time: the sizing asks again with more
    }
    rps.parse().unwrap_or_else(|_| panic!("cannot read redis-benchmark's output for {}:\n{text}", args.join(" ")))
}

/// A request count that takes about `secs` for `args` (at least 200).
fn size_for(port: u16, args: &[String], secs: f64) -> u64 {
    let mut n = 200;
    let mut rps = benchmark(port, n, 16, args);
    while (n as f64) / rps < 0.05 && n < 10_000_000 {
        n *= 10;
        rps = benchmark(port, n, 16, args);
    }
    (((secs * rps) as u64) / 100 * 100).max(200)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn run_words(con: &mut Connection, args: &[String]) -> Value {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match cmd(con, &words) {
        Ok(v) => v,
        Err(e) => Value::SimpleString(format!("(error) {e}")),
    }
}

/// Checks `w`'s reply once, and aborts the run with the reply shown if it is wrong.
fn sanity(con: &mut Connection, w: &Workload) {
    let reply = run_words(con, &w.args);
    if let Err(why) = (w.check)(&reply) {
        let mut shown = format!("{reply:?}");
        if shown.len() > 3000 {
            shown.truncate(3000);
            shown += "...";
        }
        panic!("sanity check of '{}' failed: {why}\n  command: {}\n  reply: {shown}", w.name, w.args.join(" "));
    }
}

/// How redis-benchmark drives a group of workloads.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// -P 16 -c 50: for commands of microseconds, where the client would otherwise bound them.
    Pipelined,
    /// -P 1 -c 2: for calls of milliseconds, where -P 16 -c 50 would send 800 at least.
    Serial,
}

/// Checks every workload, sizes the reads, then runs `rounds` interleaved rounds; `reset` runs
/// before each run (and before each sanity check) when given. Returns the medians.
fn measure(
    s: &Settings,
    port: u16,
    con: &mut Connection,
    workloads: &mut [Workload],
    reset: Option<&dyn Fn(&mut Connection)>,
) -> Medians {
    measure_in(Mode::Pipelined, s, port, con, workloads, reset)
}

fn measure_in(
    mode: Mode,
    s: &Settings,
    port: u16,
    con: &mut Connection,
    workloads: &mut [Workload],
    reset: Option<&dyn Fn(&mut Connection)>,
) -> Medians {
    let (pipeline, clients) = if mode == Mode::Serial { (1, 2) } else { (16, 50) };
    for w in workloads.iter() {
        if let Some(r) = reset {
            r(con);
        }
        sanity(con, w);
    }
    for w in workloads.iter_mut() {
        if w.requests.is_some() {
        } else if mode == Mode::Serial {
            // From the time of a few calls, at least 10 requests.
            let t = Instant::now();
            for _ in 0..3 {
                run_words(con, &w.args);
            }
            let per_call = t.elapsed().as_secs_f64() / 3.0;
            w.requests = Some(((s.target_secs / per_call) as u64).clamp(10, 100_000));
        } else {
            w.requests = Some(size_for(port, &[w.opts.clone(), w.args.clone()].concat(), s.target_secs));
        }
    }
    let mut runs: HashMap<String, Vec<f64>> = HashMap::new();
    for round in 1..=s.rounds {
        for w in workloads.iter() {
            if let Some(r) = reset {
                r(con);
            }
            let n = w.requests.unwrap_or(1000);
            let rps = benchmark_with(port, n, pipeline, clients, &[w.opts.clone(), w.args.clone()].concat());
            eprintln!("  round {round}  {:<28} {:>12.0} ops/s  ({n} requests)", w.name, rps);
            runs.entry(w.name.clone()).or_default().push(rps);
        }
    }
    runs.into_iter().map(|(k, mut v)| (k, median(&mut v))).collect()
}

// --- Replies --------------------------------------------------------------------------------

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn items(v: &Value) -> Result<&Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err("not an array".into()),
    }
}

/// The `id` of a record as field/value pairs (RESP2).
fn map_id(rec: &Value) -> Option<i64> {
    let f = items(rec).ok()?;
    f.chunks(2).find(|p| as_text(&p[0]).as_deref() == Some("id")).and_then(|p| as_int(&p[1]))
}

/// The `id` of a stored record's JSON text.
fn json_id(rec: &Value) -> Option<i64> {
    let text = as_text(rec)?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("id")?.as_i64()
}

/// The ids of a decoded page.
fn page_ids(v: &Value) -> Result<Vec<i64>, String> {
    items(v)?.iter().map(|r| map_id(r).ok_or_else(|| "a record without an id".to_string())).collect()
}

/// The ids of a RAW page.
fn raw_ids(v: &Value) -> Result<Vec<i64>, String> {
    items(v)?.iter().map(|r| json_id(r).ok_or_else(|| "a record that is not tlog JSON".to_string())).collect()
}

/// The `id` fields of an FT.SEARCH reply `[total, key, [field, value, ...], ...]`.
fn ft_ids(v: &Value) -> Result<Vec<i64>, String> {
    let a = items(v)?;
    a.iter().skip(2).step_by(2).map(|r| map_id(r).ok_or_else(|| "a result without an id field".to_string())).collect()
}

fn expect_ids(got: Result<Vec<i64>, String>, want: &[i64]) -> Result<(), String> {
    let got = got?;
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "ids {:?}.. ({} of them), expected {:?}.. ({})",
            &got[..got.len().min(5)],
            got.len(),
            &want[..want.len().min(5)],
            want.len()
        ))
    }
}

fn newest(first: i64, n: usize) -> Vec<i64> {
    (0..n as i64).map(|k| first - k).collect()
}

fn check_ids(f: fn(&Value) -> Result<Vec<i64>, String>, want: Vec<i64>) -> Check {
    Box::new(move |v| expect_ids(f(v), &want))
}

fn check_int(want: i64) -> Check {
    Box::new(move |v| if as_int(v) == Some(want) { Ok(()) } else { Err(format!("expected {want}")) })
}

fn check_ok() -> Check {
    Box::new(|v| match v {
        Value::Okay => Ok(()),
        Value::SimpleString(s) if s == "OK" => Ok(()),
        _ => Err("expected OK".into()),
    })
}

/// XREVRANGE: `n` entries, each with the message.
fn check_entries(n: usize) -> Check {
    Box::new(move |v| {
        let a = items(v)?;
        if a.len() != n {
            return Err(format!("{} entries, expected {n}", a.len()));
        }
        for e in a {
            let e = items(e)?;
            let fields = items(e.get(1).ok_or("an entry without fields")?)?;
            if fields.get(1).and_then(as_text).map(|m| m.len()) != Some(MSG_LEN) {
                return Err("an entry without the message".into());
            }
        }
        Ok(())
    })
}

fn int_of(con: &mut Connection, words: &[&str]) -> i64 {
    let v = cmd(con, words).unwrap_or_else(|e| panic!("{}: {e}", words.join(" ")));
    as_int(&v).unwrap_or_else(|| panic!("{}: not an integer: {v:?}", words.join(" ")))
}

fn used_memory(con: &mut Connection) -> i64 {
    let text: String = redis::cmd("INFO").arg("memory").query(con).expect("INFO memory");
    text.lines().find_map(|l| l.strip_prefix("used_memory:")).and_then(|v| v.trim().parse().ok()).expect("used_memory")
}

fn flushall(con: &mut Connection) {
    let _: () = redis::cmd("FLUSHALL").query(con).expect("FLUSHALL");
}

fn script_load(con: &mut Connection, file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench").join(file);
    let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    redis::cmd("SCRIPT").arg("LOAD").arg(body).query(con).expect("SCRIPT LOAD")
}

/// Sends `cmds` pipelined, `batch` at a time; returns the integer replies (0 for others).
fn pipelined(
    con: &mut Connection,
    n: usize,
    batch: usize,
    mut build: impl FnMut(usize, &mut redis::Pipeline),
) -> Vec<i64> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let mut p = redis::pipe();
        let end = (i + batch).min(n);
        for k in i..end {
            build(k, &mut p);
        }
        let replies: Vec<Value> = p.query(con).expect("pipelined writes");
        out.extend(replies.iter().map(|v| as_int(v).unwrap_or(0)));
        i = end;
    }
    out
}

// --- Servers --------------------------------------------------------------------------------

/// bench/floor.c built against the redismodule.h of the redis-module crate, or why not.
fn build_floor(dir: &Path) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let meta = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let meta: serde_json::Value =
        serde_json::from_slice(&meta.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    let manifest = meta["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "redis-module"))
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or("the redis-module crate is not in cargo metadata")?;
    let include = Path::new(manifest).parent().ok_or("manifest path")?.join("src/include");
    let out = dir.join("floor.so");
    let status = Command::new("cc")
        .args(["-O2", "-fPIC", "-shared", "-I"])
        .arg(&include)
        .arg(root.join("bench/floor.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .map_err(|e| format!("cc: {e}"))?;
    if !status.success() {
        return Err("cc failed".into());
    }
    Ok(out)
}

fn server_version(con: &mut Connection) -> String {
    let text: String = redis::cmd("INFO").arg("server").query(con).expect("INFO server");
    text.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("?").trim().to_string()
}

// --- Part 1: writes and point reads ----------------------------------------------------------

fn part1(s: &Settings, srv: &Server, floor: bool, rep: &mut Report) {
    let port = srv.port;
    let mut con = srv.conn();
    let m = msg();
    let log_sha = script_load(&mut con, "log.lua");
    let xadd_sha = script_load(&mut con, "xadd.lua");
    eprintln!("part 1: writes ({} requests a run, the database emptied before each)", s.writes);
    let mut writes = vec![
        wl("SET", &["SET", "key:1", &m], check_ok()),
        wl("Lua log.lua", &["EVALSHA", &log_sha, "1", "lua", &m, "t"], check_int(1)),
        wl(
            "Lua XADD all+tag",
            &["EVALSHA", &xadd_sha, "2", "s:all", "s:t", &m, "t"],
            Box::new(|v| {
                as_text(v).filter(|t| t.contains('-')).map(|_| ()).ok_or_else(|| "expected a stream id".into())
            }),
        ),
        wl("TLOG.LOG", &["TLOG.LOG", "bench", &m, "t"], check_int(1)),
    ];
    if floor {
        writes.push(wl("floor LOG", &["FLOOR.LOG", "floor", &m, "t"], check_int(1)));
    }
    for w in &mut writes {
        w.requests = Some(s.writes);
    }
    // SET writes 100,000 random keys, as today: redis-benchmark's -r, left out of the check.
    writes[0].opts = vec!["-r".into(), "100000".into()];
    writes[0].args[1] = "key:__rand_int__".into();
    let reset = |c: &mut Connection| flushall(c);
    let mw = measure(s, port, &mut con, &mut writes, Some(&reset));

    // The read data set: the same records in tlog and in two streams, and a GET key.
    let n = s.point_records;
    flushall(&mut con);
    let _: () = redis::cmd("SET").arg("key").arg(&m).query(&mut con).expect("SET");
    let m0 = used_memory(&mut con);
    benchmark(port, n, 16, &["TLOG.LOG", "q", &m, "t"].map(String::from));
    let m1 = used_memory(&mut con);
    benchmark(port, n, 16, &["EVALSHA", &xadd_sha, "2", "s:all", "s:t", &m, "t"].map(String::from));
    let m2 = used_memory(&mut con);
    benchmark(port, n, 16, &["EVALSHA", &log_sha, "1", "lua", &m, "t"].map(String::from));
    let m3 = used_memory(&mut con);
    // n is a whole number of pipelines for every client, so redis-benchmark sends exactly n.
    let ni = n as i64;
    for (k, want) in [("q:flow:t", ni), ("q:flow:__all__", ni), ("lua:flow:t", ni)] {
        assert_eq!(int_of(&mut con, &["LLEN", k]), want, "after the fill, LLEN {k}");
    }
    for k in ["s:all", "s:t"] {
        assert_eq!(int_of(&mut con, &["XLEN", k]), ni, "after the fill, XLEN {k}");
    }
    let per = |a: i64, b: i64| (b - a) as f64 / n as f64;
    rep.memory.push(format!(
        "{n} records, one tag: TLOG.LOG {:.0} B; Lua log.lua {:.0} B; Redis Streams (all-stream + tag stream) {:.0} B",
        per(m0, m1),
        per(m2, m3),
        per(m1, m2)
    ));

    eprintln!("part 1: point reads on {n} records");
    let mut reads = vec![
        wl(
            "GET",
            &["GET", "key"],
            Box::new(|v| as_text(v).filter(|t| t.len() == MSG_LEN).map(|_| ()).ok_or("expected the value".into())),
        ),
        wl(
            "TLOG.LATEST",
            &["TLOG.LATEST", "q", "t"],
            Box::new(move |v| if map_id(v) == Some(ni) { Ok(()) } else { Err(format!("expected record {ni}")) }),
        ),
        wl(
            "TLOG.LATEST RAW",
            &["TLOG.LATEST", "q", "t", "RAW"],
            Box::new(move |v| if json_id(v) == Some(ni) { Ok(()) } else { Err(format!("expected record {ni}")) }),
        ),
        wl("XREVRANGE COUNT 1", &["XREVRANGE", "s:t", "+", "-", "COUNT", "1"], check_entries(1)),
        wl("TLOG.GET LIMIT 100", &["TLOG.GET", "q", "t", "LIMIT", "100"], check_ids(page_ids, newest(ni, PAGE))),
        wl(
            "TLOG.GET LIMIT 100 RAW",
            &["TLOG.GET", "q", "t", "LIMIT", "100", "RAW"],
            check_ids(raw_ids, newest(ni, PAGE)),
        ),
        wl("XREVRANGE COUNT 100", &["XREVRANGE", "s:t", "+", "-", "COUNT", "100"], check_entries(PAGE)),
    ];
    if floor {
        reads.push(wl(
            "floor LATEST",
            &["FLOOR.LATEST", "q", "t"],
            Box::new(move |v| if map_id(v) == Some(ni) { Ok(()) } else { Err(format!("expected record {ni}")) }),
        ));
        reads.push(wl("floor PAGE 100", &["FLOOR.PAGE", "q", "t", "100"], check_ids(page_ids, newest(ni, PAGE))));
    }
    let mr = measure(s, port, &mut con, &mut reads, None);
    flushall(&mut con);

    rep.ratio("TLOG.LOG / SET", &mw, "TLOG.LOG", "SET", Goal::AtLeast(0.40));
    rep.ratio("TLOG.LOG / Lua log.lua", &mw, "TLOG.LOG", "Lua log.lua", Goal::AtLeast(2.0));
    rep.ratio("TLOG.LOG / Lua XADD to all-stream + tag stream", &mw, "TLOG.LOG", "Lua XADD all+tag", Goal::None);
    rep.ratio("TLOG.LOG / API floor LOG", &mw, "TLOG.LOG", "floor LOG", Goal::AtLeast(0.9));
    rep.ratio("API floor LOG / SET", &mw, "floor LOG", "SET", Goal::None);
    rep.ratio("API floor LOG / Lua log.lua", &mw, "floor LOG", "Lua log.lua", Goal::None);
    rep.ratio("TLOG.LATEST / GET", &mr, "TLOG.LATEST", "GET", Goal::AtLeast(0.50));
    rep.ratio("TLOG.LATEST / XREVRANGE s + - COUNT 1", &mr, "TLOG.LATEST", "XREVRANGE COUNT 1", Goal::AtLeast(1.0));
    rep.ratio("TLOG.LATEST RAW / XREVRANGE s + - COUNT 1", &mr, "TLOG.LATEST RAW", "XREVRANGE COUNT 1", Goal::None);
    rep.ratio("TLOG.LATEST / API floor LATEST", &mr, "TLOG.LATEST", "floor LATEST", Goal::AtLeast(0.9));
    rep.ratio("API floor LATEST / GET", &mr, "floor LATEST", "GET", Goal::None);
    rep.ratio(
        "TLOG.GET LIMIT 100 / XREVRANGE s + - COUNT 100",
        &mr,
        "TLOG.GET LIMIT 100",
        "XREVRANGE COUNT 100",
        Goal::AtLeast(0.9),
    );
    rep.ratio(
        "TLOG.GET LIMIT 100 RAW / XREVRANGE s + - COUNT 100",
        &mr,
        "TLOG.GET LIMIT 100 RAW",
        "XREVRANGE COUNT 100",
        Goal::None,
    );
    rep.ratio(
        "TLOG.GET LIMIT 100 / API floor PAGE 100 (decoded)",
        &mr,
        "TLOG.GET LIMIT 100",
        "floor PAGE 100",
        Goal::None,
    );
    rep.ratio(
        "API floor PAGE 100 / XREVRANGE s + - COUNT 100",
        &mr,
        "floor PAGE 100",
        "XREVRANGE COUNT 100",
        Goal::None,
    );
}

// --- Part 2: queries on a big flow, and another client's latency -----------------------------

/// Accepts any reply but an error other than the scan limit's (the calls of the latency rows
/// stop there by design).
fn check_bounded() -> Check {
    Box::new(|v| match v {
        Value::SimpleString(e) if e.starts_with("(error)") && !e.contains("scan limit reached") => {
            Err("an error".into())
        }
        _ => Ok(()),
    })
}

/// Worst PING round trip of another client, in ms, while `f` runs.
fn worst_ping_during(port: u16, f: impl FnOnce()) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let pinger = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .and_then(|c| c.get_connection())
                .expect("connect");
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
    f();
    stop.store(true, Ordering::Relaxed);
    pinger.join().expect("pinger").as_secs_f64() * 1e3
}

/// The longest time the slow log holds for commands named `name`, in ms.
fn slowlog_ms(c: &mut Connection, name: &str) -> f64 {
    let log: Vec<Vec<Value>> = redis::cmd("SLOWLOG").arg("GET").arg(128).query(c).expect("SLOWLOG GET");
    log.iter()
        .filter(|e| match e.get(3) {
            Some(Value::Array(args)) => {
                matches!(args.first(), Some(Value::BulkString(w)) if w.eq_ignore_ascii_case(name.as_bytes()))
            }
            _ => false,
        })
        .filter_map(|e| e.get(2).and_then(as_int))
        .max()
        .unwrap_or(0) as f64
        / 1e3
}

/// Runs `words` `rounds` times while another client sends PINGs; a row with that client's
/// worst round trip against its worst with nothing else running (`alone`).
fn latency_row(rep: &mut Report, srv: &Server, words: &[&str], rounds: usize, alone: f64) {
    let mut con = srv.conn();
    let args: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    sanity(&mut con, &wl(words[0], words, check_bounded()));
    for (k, v) in [("slowlog-log-slower-than", "50"), ("slowlog-max-len", "1024")] {
        let _: () = redis::cmd("CONFIG").arg("SET").arg(k).arg(v).query(&mut con).expect("CONFIG SET");
    }
    let mut server: f64 = 0.0;
    let worst = worst_ping_during(srv.port, || {
        for _ in 0..rounds {
            let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).expect("SLOWLOG RESET");
            run_words(&mut con, &args);
            server = server.max(slowlog_ms(&mut con, words[0]));
            thread::sleep(Duration::from_millis(20));
        }
    });
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg(10_000).query(&mut con).expect("CONFIG SET");
    // The goal is on the call's own time in the server (the slow log), which is how long it
    // holds every other client; the worst PING also holds the machine's own stalls, which the
    // PING alone shows.
    rep.row(
        format!("server time of `{}` (x{rounds}), another client's worst PING", words.join(" ")),
        format!("{server:.2} ms, PING {worst:.2} ms"),
        format!("{alone:.2} ms PING alone"),
        None,
        Goal::Value("< 10 ms".into(), server < 10.0),
    );
}

/// The `ts` text of a stored record, every digit kept.
fn stored_ts(con: &mut Connection, key: &str) -> String {
    let rec: String = redis::cmd("GET").arg(key).query(con).expect("GET record");
    let at = rec.find("\"ts\":").unwrap_or_else(|| panic!("{key} has no ts: {rec}")) + 5;
    rec[at..].split([',', '}']).next().unwrap_or("").to_string()
}

fn part2(s: &Settings, srv: &Server, rep: &mut Report) {
    let port = srv.port;
    let mut con = srv.conn();
    let m = msg();
    eprintln!("part 2: filling a {}-record flow", s.big_records);
    let m0 = used_memory(&mut con);
    let t0 = Instant::now();
    let fill_rps = benchmark(port, s.big_records, 64, &["TLOG.LOG", "big", &m, "t"].map(String::from));
    let fill_secs = t0.elapsed().as_secs_f64();
    let m1 = used_memory(&mut con);
    // redis-benchmark may send a few more than asked (whole pipelines): the flow says how many.
    let big = int_of(&mut con, &["LLEN", "big:flow:t"]);
    assert!(big >= s.big_records as i64, "the fill wrote {big} records, fewer than {}", s.big_records);
    assert_eq!(int_of(&mut con, &["LLEN", "big:flow:__all__"]), big, "after the fill, LLEN big:flow:__all__");
    rep.memory.push(format!("{big} records, one tag: TLOG.LOG {:.0} B", (m1 - m0) as f64 / big as f64));
    // `dead`: its newest three quarters of records deleted, their ids left in the flows.
    benchmark(port, s.big_records * 2 / 5, 64, &["TLOG.LOG", "dead", &m, "t"].map(String::from));
    let dead = int_of(&mut con, &["LLEN", "dead:flow:t"]);
    let gone: Vec<i64> = ((dead / 4 + 1)..=dead).collect();
    for chunk in gone.chunks(10_000) {
        let keys: Vec<String> = chunk.iter().map(|id| format!("dead:msg:{id}")).collect();
        let _: () = redis::cmd("DEL").arg(&keys).query(&mut con).expect("DEL");
    }

    let deep = big * 3 / 10; // the deep page starts below this id; the time bound is its ts
    let deep_ts = stored_ts(&mut con, &format!("big:msg:{deep}"));
    let get_sha = script_load(&mut con, "get_limit.lua");
    let before_count = int_of(&mut con, &["TLOG.COUNT", "big", "t", "BEFORE", &deep.to_string()]);
    assert_eq!(before_count, deep - 1, "TLOG.COUNT BEFORE {deep}");
    let since = int_of(&mut con, &["TLOG.COUNT", "big", "t", "SINCE", &deep_ts]);
    let until = int_of(&mut con, &["TLOG.COUNT", "big", "t", "UNTIL", &deep_ts]);
    // Records deep.. have ts >= deep_ts; a few before it may share that microsecond.
    assert!(
        since > big - deep && since <= big - deep + 1 + 1000 && since + until >= big,
        "TLOG.COUNT SINCE/UNTIL {deep_ts} = {since}/{until}: inconsistent"
    );
    let ts_bound = deep_ts.clone();
    let until_check: Check = Box::new(move |v| {
        let a = items(v)?;
        if a.len() != PAGE {
            return Err(format!("{} records", a.len()));
        }
        let first = as_text(&a[0]).unwrap_or_default();
        let id = json_id(&a[0]).unwrap_or(0);
        // The newest record at or before the bound: `deep` itself, or a later one of the same ts.
        if id >= deep && first.contains(&format!("\"ts\":{ts_bound},")) {
            raw_ids(v).and_then(|ids| expect_ids(Ok(ids), &newest(id, PAGE)))
        } else {
            Err(format!("starts at record {id}, expected {deep} or a later one of ts {ts_bound}"))
        }
    });
    // The time bound's page, RAW to see the stored ts: checked once, timed decoded below.
    sanity(
        &mut con,
        &wl("GET UNTIL RAW", &["TLOG.GET", "big", "t", "UNTIL", &deep_ts, "LIMIT", "100", "RAW"], until_check),
    );
    let head = newest(big, PAGE);
    // A day histogram of 1,440 one-minute buckets from the first record's minute on.
    let first_sec = stored_ts(&mut con, "big:msg:1").split('.').next().and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
    let first_sec = first_sec - first_sec.rem_euclid(60);
    let mut q = vec![
        wl("Lua get_limit.lua 100", &["EVALSHA", &get_sha, "1", "big", "t", "100"], check_ids(raw_ids, head.clone())),
        wl("GET LIMIT 100 RAW", &["TLOG.GET", "big", "t", "LIMIT", "100", "RAW"], check_ids(raw_ids, head.clone())),
        wl("GET LIMIT 100", &["TLOG.GET", "big", "t", "LIMIT", "100"], check_ids(page_ids, head)),
        wl(
            "GET BEFORE deep LIMIT 100",
            &["TLOG.GET", "big", "t", "BEFORE", &deep.to_string(), "LIMIT", "100"],
            check_ids(page_ids, newest(deep - 1, PAGE)),
        ),
        wl(
            "GET UNTIL deep-ts LIMIT 100",
            &["TLOG.GET", "big", "t", "UNTIL", &deep_ts, "LIMIT", "100"],
            Box::new(move |v| {
                let ids = page_ids(v)?;
                match ids.first() {
                    Some(&first) if first >= deep => expect_ids(Ok(ids), &newest(first, PAGE)),
                    _ => Err(format!("expected a page from record {deep} on")),
                }
            }),
        ),
        wl("COUNT SINCE", &["TLOG.COUNT", "big", "t", "SINCE", &deep_ts], check_int(since)),
        wl("COUNT BEFORE", &["TLOG.COUNT", "big", "t", "BEFORE", &deep.to_string()], check_int(deep - 1)),
        wl("COUNT", &["TLOG.COUNT", "big", "t"], check_int(big)),
        wl("LLEN", &["LLEN", "big:flow:t"], check_int(big)),
        // Every record matches the MATCH; none has the WHERE's attrs: that call passes over
        // its scan limit and returns its cursor.
        wl(
            "GET MATCH * LIMIT 100",
            &["TLOG.GET", "big", "t", "MATCH", "*", "LIMIT", "100"],
            check_ids(page_ids, newest(big, PAGE)),
        ),
        wl(
            "GET WHERE LIMIT 100 WITHCURSOR",
            &["TLOG.GET", "big", "t", "WHERE", "1", "level", "warn", "LIMIT", "100", "WITHCURSOR"],
            Box::new(|v| items(v).map(|_| ())),
        ),
        wl(
            "COUNT BUCKET 1440",
            &[
                "TLOG.COUNT",
                "big",
                "t",
                "SINCE",
                &first_sec.to_string(),
                "UNTIL",
                &(first_sec + 86_399).to_string(),
                "BUCKET",
                "60",
            ],
            Box::new(|v| {
                items(v).and_then(|a| if a.len() == 1440 { Ok(()) } else { Err(format!("{} buckets", a.len())) })
            }),
        ),
    ];
    eprintln!("part 2: queries on the {big}-record flow");
    let mq = measure(s, port, &mut con, &mut q, None);
    rep.row(
        format!("fill: {big} x TLOG.LOG (redis-benchmark -P 64 -c 50)"),
        rate(fill_rps),
        format!("{fill_secs:.1} s"),
        None,
        Goal::None,
    );
    rep.ratio(
        &format!("TLOG.GET LIMIT 100 RAW / Lua LRANGE+GET, {big}-record flow"),
        &mq,
        "GET LIMIT 100 RAW",
        "Lua get_limit.lua 100",
        Goal::AtLeast(3.0),
    );
    rep.ratio(
        "TLOG.GET LIMIT 100 (decoded) / Lua LRANGE+GET",
        &mq,
        "GET LIMIT 100",
        "Lua get_limit.lua 100",
        Goal::None,
    );
    rep.cost(
        &format!("cost: page at BEFORE {deep} / head page"),
        &mq,
        "GET BEFORE deep LIMIT 100",
        "GET LIMIT 100",
        Goal::AtMost(2.0),
    );
    rep.cost(
        &format!("cost: page at UNTIL <ts of {deep}> / head page"),
        &mq,
        "GET UNTIL deep-ts LIMIT 100",
        "GET LIMIT 100",
        Goal::AtMost(2.0),
    );
    rep.ratio("TLOG.COUNT SINCE <ts> / LLEN", &mq, "COUNT SINCE", "LLEN", Goal::None);
    rep.ratio("TLOG.COUNT BEFORE <id> (the deep page's seek) / LLEN", &mq, "COUNT BEFORE", "LLEN", Goal::None);
    rep.ratio("TLOG.COUNT (no bounds) / LLEN", &mq, "COUNT", "LLEN", Goal::None);
    rep.cost("cost: MATCH * page / head page", &mq, "GET MATCH * LIMIT 100", "GET LIMIT 100", Goal::None);
    rep.cost(
        "cost: WHERE call passing its scan limit / head page",
        &mq,
        "GET WHERE LIMIT 100 WITHCURSOR",
        "GET LIMIT 100",
        Goal::None,
    );
    rep.ratio("TLOG.COUNT BUCKET, 1,440 buckets / LLEN", &mq, "COUNT BUCKET 1440", "LLEN", Goal::None);

    eprintln!("part 2: another client's latency during long calls");
    let alone = worst_ping_during(port, || thread::sleep(Duration::from_millis(if s.quick { 300 } else { 1500 })));
    let r = if s.quick { 3 } else { 8 };
    let deep_s = deep.to_string();
    let (day_from, day_to) = (first_sec.to_string(), (first_sec + 86_399).to_string());
    for words in [
        vec!["TLOG.COUNT", "big", "t", "SINCE", &day_from, "UNTIL", &day_to, "BUCKET", "60"],
        vec!["TLOG.GET", "big", "t", "NOT", "1", "t", "LIMIT", "10"],
        vec!["TLOG.LATEST", "big", "t", "NOT", "1", "t"],
        vec!["TLOG.TAIL", "big", "t", "0", "NOT", "1", "t", "COUNT", "10"],
        vec!["TLOG.COUNT", "big", "__all__", "AND", "1", "t"],
        vec!["TLOG.GET", "big", "t", "LIMIT", "1000"],
        vec!["TLOG.GET", "big", "__all__", "UNTIL", &deep_ts, "LIMIT", "100"],
        vec!["TLOG.COUNT", "big", "t", "BEFORE", &deep_s, "AFTER", "100"],
        vec!["TLOG.GET", "dead", "__all__", "LIMIT", "10"],
        vec!["TLOG.LATEST", "dead"],
    ] {
        latency_row(rep, srv, &words, r, alone);
    }
}

// --- Parts 3 and 4: 200,000 records with a tag set each ---------------------------------------

/// The tag-filter data set: record `i` (id i + 1) has `a` if i is even (100,000), `b` if
/// i % 4 is 0 or 1 (100,000; 50,000 with `a`), `c` if i % 200 is 50 or 151 (2,000; 1,000 with
/// `a`, none with `b`), and 1 to 3 tags of z0..z999 drawn by Zipf's law (z0 the most common).
struct TagSet {
    tags: Vec<Vec<String>>,
}

const TAG_RECORDS: usize = 200_000;
const ZIPF_TAGS: usize = 1000;

impl TagSet {
    fn new() -> TagSet {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let weights: Vec<f64> = (0..ZIPF_TAGS).map(|k| 1.0 / (k + 1) as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut cdf = Vec::with_capacity(ZIPF_TAGS);
        let mut acc = 0.0;
        for w in &weights {
            acc += w / total;
            cdf.push(acc);
        }
        let tags = (0..TAG_RECORDS)
            .map(|i| {
                let mut t = Vec::new();
                if i % 2 == 0 {
                    t.push("a".to_string());
                }
                if i % 4 < 2 {
                    t.push("b".to_string());
                }
                if i % 200 == 50 || i % 200 == 151 {
                    t.push("c".to_string());
                }
                let k = 1 + rng.below(3);
                while t.iter().filter(|x| x.starts_with('z')).count() < k as usize {
                    let u = rng.below(1 << 30) as f64 / (1u64 << 30) as f64;
                    let z = format!("z{}", cdf.partition_point(|&c| c < u).min(ZIPF_TAGS - 1));
                    if !t.contains(&z) {
                        t.push(z);
                    }
                }
                t
            })
            .collect();
        TagSet { tags }
    }

    fn has(&self, i: usize, tag: &str) -> bool {
        self.tags[i].iter().any(|t| t == tag)
    }

    /// Ids (newest first) of the records matching `f`.
    fn ids(&self, f: impl Fn(usize) -> bool) -> Vec<i64> {
        (0..TAG_RECORDS).rev().filter(|&i| f(i)).map(|i| i as i64 + 1).collect()
    }

    fn count(&self, tag: &str) -> usize {
        (0..TAG_RECORDS).filter(|&i| self.has(i, tag)).count()
    }

    /// Writes every record with TLOG.LOG under `prefix`; returns the throughput. The records
    /// must get ids 1.. in order: the prefix must be new.
    fn fill_tlog(&self, con: &mut Connection, prefix: &str) -> f64 {
        let m = msg();
        let t = Instant::now();
        let ids = pipelined(con, TAG_RECORDS, 1000, |i, p| {
            p.cmd("TLOG.LOG").arg(prefix).arg(&m).arg(&self.tags[i]);
        });
        let rps = TAG_RECORDS as f64 / t.elapsed().as_secs_f64();
        assert!(ids.iter().enumerate().all(|(i, &id)| id == i as i64 + 1), "the {prefix} fill did not get ids 1..");
        rps
    }
}

fn check_total(want: usize) -> Check {
    Box::new(move |v| match items(v)?.first().and_then(as_int) {
        Some(n) if n == want as i64 => Ok(()),
        other => Err(format!("total {other:?}, expected {want}")),
    })
}

fn check_nil() -> Check {
    Box::new(|v| if matches!(v, Value::Nil) { Ok(()) } else { Err("expected nil".into()) })
}

fn take(v: Vec<i64>) -> Vec<i64> {
    v.into_iter().take(PAGE).collect()
}

fn part3(s: &Settings, srv: &Server, data: &TagSet, rep: &mut Report) {
    let port = srv.port;
    let mut con = srv.conn();
    eprintln!("part 3: {TAG_RECORDS} records with a tag set each");
    let m0 = used_memory(&mut con);
    data.fill_tlog(&mut con, "tf");
    let m1 = used_memory(&mut con);
    rep.memory
        .push(format!("{TAG_RECORDS} records, 2 to 6 tags: TLOG.LOG {:.0} B", (m1 - m0) as f64 / TAG_RECORDS as f64));
    // The same ids as sets, for SINTERCARD.
    for tag in ["a", "b", "c"] {
        let ids = data.ids(|i| data.has(i, tag));
        for chunk in ids.chunks(10_000) {
            let _: i64 = redis::cmd("SADD").arg(format!("set:{tag}")).arg(chunk).query(&mut con).expect("SADD");
        }
        assert_eq!(int_of(&mut con, &["LLEN", &format!("tf:flow:{tag}")]), ids.len() as i64, "flow {tag}");
        assert_eq!(int_of(&mut con, &["SCARD", &format!("set:{tag}")]), ids.len() as i64, "set {tag}");
    }
    let ab = data.ids(|i| data.has(i, "a") && data.has(i, "b"));
    let ac = data.ids(|i| data.has(i, "a") && data.has(i, "c"));
    let z: Vec<String> = (1..=5).map(|k| format!("z{k}")).collect();
    // The entries of `a` from its head to the 100th record with both `a` and `c`: a list holds
    // no index, so whichever flow an AND scans, finding that page passes over them all.
    let a_ids = data.ids(|i| data.has(i, "a"));
    let span = ac.get(PAGE - 1).map_or(a_ids.len(), |&last| a_ids.iter().filter(|&&id| id >= last).count());
    let span_s = span.to_string();
    let mut q = vec![
        wl(
            "head a",
            &["TLOG.GET", "tf", "a", "LIMIT", "100", "RAW"],
            check_ids(raw_ids, take(data.ids(|i| data.has(i, "a")))),
        ),
        wl(
            "a AND b",
            &["TLOG.GET", "tf", "a", "AND", "1", "b", "LIMIT", "100", "RAW"],
            check_ids(raw_ids, take(ab.clone())),
        ),
        // With the default scan limit this call stops after 2,000 ids of `a` with 19 records
        // (the scan runs over the tag's flow, not the smaller AND flow): SCANLIMIT 0 gives the
        // full page its peers give.
        wl(
            "a AND c",
            &["TLOG.GET", "tf", "a", "AND", "1", "c", "SCANLIMIT", "0", "LIMIT", "100", "RAW"],
            check_ids(raw_ids, take(ac.clone())),
        ),
        // The floor of a list-only AND: LPOS compares each entry it passes, in the server,
        // with nothing to reply.
        wl("LPOS a span", &["LPOS", "tf:flow:a", "none", "MAXLEN", &span_s], check_nil()),
        wl(
            "OR b c",
            &["TLOG.GET", "tf", "__all__", "OR", "2", "b", "c", "LIMIT", "100", "RAW"],
            check_ids(raw_ids, take(data.ids(|i| data.has(i, "b") || data.has(i, "c")))),
        ),
        wl(
            "OR z1..z5",
            &["TLOG.GET", "tf", "__all__", "OR", "5", &z[0], &z[1], &z[2], &z[3], &z[4], "LIMIT", "100", "RAW"],
            check_ids(raw_ids, take(data.ids(|i| z.iter().any(|t| data.has(i, t))))),
        ),
        wl(
            "a NOT b",
            &["TLOG.GET", "tf", "a", "NOT", "1", "b", "LIMIT", "100", "RAW"],
            check_ids(raw_ids, take(data.ids(|i| data.has(i, "a") && !data.has(i, "b")))),
        ),
    ];
    let mut mq = measure(s, port, &mut con, &mut q, None);
    let mut counts = vec![
        wl("COUNT a AND b", &["TLOG.COUNT", "tf", "a", "AND", "1", "b", "SCANLIMIT", "0"], check_int(ab.len() as i64)),
        wl("SINTERCARD a b", &["SINTERCARD", "2", "set:a", "set:b"], check_int(ab.len() as i64)),
        wl("COUNT a AND c", &["TLOG.COUNT", "tf", "a", "AND", "1", "c", "SCANLIMIT", "0"], check_int(ac.len() as i64)),
        wl("SINTERCARD a c", &["SINTERCARD", "2", "set:a", "set:c"], check_int(ac.len() as i64)),
        wl("LPOS a", &["LPOS", "tf:flow:a", "none"], check_nil()),
    ];
    mq.extend(measure_in(Mode::Serial, s, port, &mut con, &mut counts, None));
    let zn: usize = (0..TAG_RECORDS).filter(|&i| z.iter().any(|t| data.has(i, t))).count();
    rep.ratio(
        &format!("a AND b page ({} matches) / head page of a, RAW", ab.len()),
        &mq,
        "a AND b",
        "head a",
        Goal::AtLeast(0.5),
    );
    rep.ratio(
        &format!("a AND c SCANLIMIT 0 page ({} matches) / head page of a, RAW", ac.len()),
        &mq,
        "a AND c",
        "head a",
        Goal::AtLeast(0.5),
    );
    rep.ratio(
        &format!("floor: LPOS over the {span} entries of a that page passes / head page of a"),
        &mq,
        "LPOS a span",
        "head a",
        Goal::None,
    );
    rep.ratio("__all__ OR b c page / head page of a, RAW", &mq, "OR b c", "head a", Goal::None);
    rep.ratio(
        &format!("__all__ OR of 5 Zipf tags ({zn} records) / head page, RAW"),
        &mq,
        "OR z1..z5",
        "head a",
        Goal::None,
    );
    rep.ratio("a NOT b page / head page of a, RAW", &mq, "a NOT b", "head a", Goal::None);
    rep.ratio(
        "TLOG.COUNT a AND b SCANLIMIT 0 / SINTERCARD (-P 1 -c 2)",
        &mq,
        "COUNT a AND b",
        "SINTERCARD a b",
        Goal::AtLeast(1.0),
    );
    rep.ratio(
        "TLOG.COUNT a AND c SCANLIMIT 0 / SINTERCARD (-P 1 -c 2)",
        &mq,
        "COUNT a AND c",
        "SINTERCARD a c",
        Goal::AtLeast(1.0),
    );
    rep.ratio(
        &format!("floor: LPOS over all {} entries of a / SINTERCARD a c (-P 1 -c 2)", a_ids.len()),
        &mq,
        "LPOS a",
        "SINTERCARD a c",
        Goal::None,
    );
}

/// Redis 7.4.1 and RediSearch as scripts/servers.sh leaves them, or why they are missing.
fn redisearch_server() -> Result<(PathBuf, PathBuf), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/servers/redis-7.4");
    let server = dir.join("redis-server");
    let module = dir.join("modules/redisearch.so");
    if !server.exists() {
        return Err(format!("no Redis 7.4.1 at {} (bash scripts/servers.sh fetches it)", server.display()));
    }
    if !module.exists() {
        return Err(format!("no RediSearch module at {} (bash scripts/servers.sh fetches it)", module.display()));
    }
    Ok((server, module))
}

fn part4(s: &Settings, data: &TagSet, rep: &mut Report) {
    let (bin, module) = match redisearch_server() {
        Ok(x) => x,
        Err(why) => {
            let line = format!("RediSearch peer (part 4) skipped: {why}");
            eprintln!("{line}");
            rep.notes.push(line);
            return;
        }
    };
    // The harness starts REDIS_SERVER: this server only, then back to the first one.
    let before = std::env::var_os("REDIS_SERVER");
    std::env::set_var("REDIS_SERVER", &bin);
    let module_arg = module.to_string_lossy().into_owned();
    let srv = Server::start_with(true, &["--loadmodule", &module_arg]);
    match before {
        Some(v) => std::env::set_var("REDIS_SERVER", v),
        None => std::env::remove_var("REDIS_SERVER"),
    }
    let port = srv.port;
    let mut con = srv.conn();
    let version = server_version(&mut con);
    let search: Vec<Value> = redis::cmd("MODULE").arg("LIST").query(&mut con).expect("MODULE LIST");
    let search_ver = search
        .iter()
        .filter_map(|m| items(m).ok())
        .find(|f| f.get(1).and_then(as_text).as_deref() == Some("search"))
        .and_then(|f| f.get(3).and_then(as_int))
        .unwrap_or(0);
    eprintln!("part 4: Redis {version} with tlog and RediSearch {search_ver}: {TAG_RECORDS} records each");
    let m = msg();
    let m0 = used_memory(&mut con);
    let tlog_rps = data.fill_tlog(&mut con, "tf");
    let m1 = used_memory(&mut con);
    // The hashes carry tlog's records: the same id, ts, message and tags.
    let mut ts = Vec::with_capacity(TAG_RECORDS);
    for start in (1..=TAG_RECORDS).step_by(10_000) {
        let keys: Vec<String> = (start..start + 10_000).map(|id| format!("tf:msg:{id}")).collect();
        let recs: Vec<String> = redis::cmd("MGET").arg(&keys).query(&mut con).expect("MGET");
        for r in recs {
            let at = r.find("\"ts\":").expect("a ts") + 5;
            ts.push(r[at..].split([',', '}']).next().unwrap_or("").to_string());
        }
    }
    let _: () = redis::cmd("FT.CREATE")
        .arg(&[
            "rs", "ON", "HASH", "PREFIX", "1", "rs:", "SCHEMA", "id", "NUMERIC", "SORTABLE", "ts", "NUMERIC",
            "SORTABLE", "tags", "TAG",
        ])
        .query(&mut con)
        .expect("FT.CREATE");
    let m2 = used_memory(&mut con);
    let t = Instant::now();
    pipelined(&mut con, TAG_RECORDS, 1000, |i, p| {
        let id = i + 1;
        p.cmd("HSET")
            .arg(format!("rs:{id}"))
            .arg("id")
            .arg(id)
            .arg("ts")
            .arg(&ts[i])
            .arg("message")
            .arg(&m)
            .arg("tags")
            .arg(data.tags[i].join(","));
    });
    let rs_rps = TAG_RECORDS as f64 / t.elapsed().as_secs_f64();
    let m3 = used_memory(&mut con);
    let per = |a: i64, b: i64| (b - a) as f64 / TAG_RECORDS as f64;
    rep.memory.push(format!(
        "{TAG_RECORDS} records, 2 to 6 tags, Redis {version}: TLOG.LOG {:.0} B; RediSearch {search_ver} (hash + index) {:.0} B; ratio {:.2}",
        per(m0, m1),
        per(m2, m3),
        per(m0, m1) / per(m2, m3)
    ));
    let info: Vec<Value> = redis::cmd("FT.INFO").arg("rs").query(&mut con).expect("FT.INFO");
    let docs = info.chunks(2).find(|p| as_text(&p[0]).as_deref() == Some("num_docs")).and_then(|p| as_int(&p[1]));
    assert_eq!(docs, Some(TAG_RECORDS as i64), "RediSearch indexed every hash");

    // The rarest Zipf tag with a full page, and the most common one.
    let rare =
        (0..ZIPF_TAGS).rev().map(|k| format!("z{k}")).find(|z| data.count(z) >= PAGE).expect("a tag with 100 records");
    let (lo, hi) = (ts[TAG_RECORDS / 2 - 1].clone(), ts[TAG_RECORDS * 3 / 4 - 1].clone());
    let lo_f: f64 = lo.parse().expect("ts");
    let hi_f: f64 = hi.parse().expect("ts");
    let in_window = |i: usize| ts[i].parse::<f64>().is_ok_and(|x| x >= lo_f && x <= hi_f);
    let ft = |q: &str| {
        vec![
            "FT.SEARCH".to_string(),
            "rs".into(),
            q.into(),
            "SORTBY".into(),
            "id".into(),
            "DESC".into(),
            "LIMIT".into(),
            "0".into(),
            "100".into(),
        ]
    };
    let has = |t: &'static str| move |i: usize| data.has(i, t);
    // (figure, tlog's words after the prefix, the FT.SEARCH command, the ids both must give)
    type Pair = (String, Vec<String>, Vec<String>, Vec<i64>);
    let pairs: Vec<Pair> = vec![
        ("newest 100 of a (100,000 records)".into(), vec!["a".into()], ft("@tags:{a}"), take(data.ids(has("a")))),
        (
            format!("newest 100 of z0 ({} records)", data.count("z0")),
            vec!["z0".into()],
            ft("@tags:{z0}"),
            take(data.ids(|i| data.has(i, "z0"))),
        ),
        (
            format!("newest 100 of {rare} ({} records)", data.count(&rare)),
            vec![rare.clone()],
            ft(&format!("@tags:{{{rare}}}")),
            take(data.ids(|i| data.has(i, &rare))),
        ),
        (
            "a AND b, newest 100".into(),
            vec!["a".into(), "AND".into(), "1".into(), "b".into()],
            ft("@tags:{a} @tags:{b}"),
            take(data.ids(|i| data.has(i, "a") && data.has(i, "b"))),
        ),
        (
            "a AND c SCANLIMIT 0, newest 100".into(),
            vec!["a".into(), "AND".into(), "1".into(), "c".into(), "SCANLIMIT".into(), "0".into()],
            ft("@tags:{a} @tags:{c}"),
            take(data.ids(|i| data.has(i, "a") && data.has(i, "c"))),
        ),
        (
            "b OR c, newest 100".into(),
            vec!["__all__".into(), "OR".into(), "2".into(), "b".into(), "c".into()],
            ft("@tags:{b|c}"),
            take(data.ids(|i| data.has(i, "b") || data.has(i, "c"))),
        ),
        (
            "a NOT b, newest 100".into(),
            vec!["a".into(), "NOT".into(), "1".into(), "b".into()],
            ft("@tags:{a} -@tags:{b}"),
            take(data.ids(|i| data.has(i, "a") && !data.has(i, "b"))),
        ),
        (
            "time window (50,000 records), newest 100".into(),
            vec!["__all__".into(), "SINCE".into(), lo.clone(), "UNTIL".into(), hi.clone()],
            ft(&format!("@ts:[{lo} {hi}]")),
            take(data.ids(in_window)),
        ),
    ];
    let mut q = Vec::new();
    for (k, (_, tlog, search, want)) in pairs.iter().enumerate() {
        let mut args = vec!["TLOG.GET".to_string(), "tf".into()];
        args.extend(tlog.iter().cloned());
        args.extend(["LIMIT".into(), "100".into()]);
        q.push(Workload {
            name: format!("tlog {k}"),
            opts: Vec::new(),
            args,
            check: check_ids(page_ids, want.clone()),
            requests: None,
        });
        q.push(Workload {
            name: format!("FT.SEARCH #{k}"),
            opts: Vec::new(),
            args: search.clone(),
            check: check_ids(ft_ids, want.clone()),
            requests: None,
        });
    }
    let ab = data.ids(|i| data.has(i, "a") && data.has(i, "b")).len();
    let ac = data.ids(|i| data.has(i, "a") && data.has(i, "c")).len();
    q.push(wl("COUNT a AND b", &["TLOG.COUNT", "tf", "a", "AND", "1", "b", "SCANLIMIT", "0"], check_int(ab as i64)));
    q.push(wl("FT COUNT a b", &["FT.SEARCH", "rs", "@tags:{a} @tags:{b}", "LIMIT", "0", "0"], check_total(ab)));
    q.push(wl("COUNT a AND c", &["TLOG.COUNT", "tf", "a", "AND", "1", "c", "SCANLIMIT", "0"], check_int(ac as i64)));
    q.push(wl("FT COUNT a c", &["FT.SEARCH", "rs", "@tags:{a} @tags:{c}", "LIMIT", "0", "0"], check_total(ac)));
    // FT.SEARCH ... SORTBY takes milliseconds on large results: every pair of this part runs
    // -P 1 -c 2.
    let mq = measure_in(Mode::Serial, s, port, &mut con, &mut q, None);
    rep.row(
        format!("writes: TLOG.LOG / HSET into a RediSearch index (pipelined, {TAG_RECORDS} records)"),
        rate(tlog_rps),
        format!("{} HSET", rate(rs_rps)),
        Some(tlog_rps / rs_rps),
        Goal::None,
    );
    for (k, (figure, ..)) in pairs.iter().enumerate() {
        rep.ratio(
            &format!("RediSearch: {figure}, decoded / FT.SEARCH (-P 1 -c 2)"),
            &mq,
            &format!("tlog {k}"),
            &format!("FT.SEARCH #{k}"),
            Goal::None,
        );
    }
    rep.ratio(
        &format!("RediSearch: TLOG.COUNT a AND b SCANLIMIT 0 ({ab}) / FT.SEARCH LIMIT 0 0 (-P 1 -c 2)"),
        &mq,
        "COUNT a AND b",
        "FT COUNT a b",
        Goal::AtLeast(1.0),
    );
    rep.ratio(
        &format!("RediSearch: TLOG.COUNT a AND c SCANLIMIT 0 ({ac}) / FT.SEARCH LIMIT 0 0 (-P 1 -c 2)"),
        &mq,
        "COUNT a AND c",
        "FT COUNT a c",
        Goal::AtLeast(1.0),
    );
}

// --- Part 5: TLOG.TAIL -----------------------------------------------------------------------

fn connect(port: u16) -> Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
}

fn blocked_clients(c: &mut Connection) -> usize {
    let info: String = redis::cmd("INFO").arg("clients").query(c).expect("INFO");
    info.lines().find_map(|l| l.strip_prefix("blocked_clients:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// `n` clients, each blocked in TLOG.TAIL on a tag of its own named `<stem><i>`, reading on
/// after each reply; each reply is sent to `woke` as (reader, time). Returns their client ids,
/// once all are blocked; CLIENT KILL ID ends them.
fn tail_readers(port: u16, n: usize, stem: &str, woke: Option<mpsc::Sender<(usize, Instant)>>) -> Vec<i64> {
    let (id_tx, id_rx) = mpsc::channel();
    for i in 0..n {
        let (id_tx, woke, tag) = (id_tx.clone(), woke.clone(), format!("{stem}{i}"));
        thread::spawn(move || {
            let mut c = connect(port);
            let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut c).expect("CLIENT ID");
            let _ = id_tx.send(id);
            let mut after = "$".to_string();
            loop {
                let reply: redis::RedisResult<Value> =
                    redis::cmd("TLOG.TAIL").arg("tl").arg(&tag).arg(&after).arg("BLOCK").arg(0).query(&mut c);
                let now = Instant::now();
                let Ok(Value::Array(recs)) = reply else { return };
                if let Some(id) = recs.last().and_then(map_id) {
                    after = id.to_string();
                }
                if let Some(w) = &woke {
                    if w.send((i, now)).is_err() {
                        return;
                    }
                }
            }
        });
    }
    let ids: Vec<i64> =
        (0..n).map(|_| id_rx.recv_timeout(Duration::from_secs(10)).expect("a reader connected")).collect();
    let mut c = connect(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked_clients(&mut c) < n {
        assert!(Instant::now() < deadline, "the TLOG.TAIL readers did not block");
        thread::sleep(Duration::from_millis(10));
    }
    ids
}

fn kill_clients(port: u16, ids: &[i64]) {
    let mut c = connect(port);
    for id in ids {
        let _: redis::RedisResult<i64> = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query(&mut c);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked_clients(&mut c) > 0 {
        assert!(Instant::now() < deadline, "blocked readers still there after CLIENT KILL");
        thread::sleep(Duration::from_millis(10));
    }
}

fn pct(sorted: &[u64], q: f64) -> u64 {
    sorted.get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0)
}

fn part5(s: &Settings, srv: &Server, rep: &mut Report) {
    const READERS: usize = 100;
    let port = srv.port;
    let mut con = srv.conn();
    eprintln!("part 5: TLOG.TAIL, {READERS} readers blocked on {READERS} tags");
    let (tx, rx) = mpsc::channel();
    let readers = tail_readers(port, READERS, "tag", Some(tx));
    let rounds = if s.quick { 300 } else { 2000 };
    let mut micros = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let k = (r * 37) % READERS;
        // Reader k blocks again within this pause before the next record is timed.
        thread::sleep(Duration::from_micros(200));
        let t0 = Instant::now();
        let _: i64 =
            redis::cmd("TLOG.LOG").arg("tl").arg("m").arg(format!("tag{k}")).query(&mut con).expect("TLOG.LOG");
        let (who, t1) = rx.recv_timeout(Duration::from_secs(5)).expect("no reader woke");
        assert_eq!(who, k, "a reader of another tag woke");
        micros.push(t1.duration_since(t0).as_micros() as u64);
    }
    kill_clients(port, &readers);
    micros.sort_unstable();
    let p99 = pct(&micros, 0.99);
    rep.row(
        format!("TLOG.LOG -> blocked TLOG.TAIL reader's reply, {READERS} readers on {READERS} tags ({rounds} records)"),
        format!("p50 {} us, p99 {p99} us", pct(&micros, 0.5)),
        format!("max {} us", micros.last().copied().unwrap_or(0)),
        None,
        Goal::Value("p99 < 1 ms".into(), p99 < 1000),
    );

    let m = msg();
    let n = if s.quick { 50_000 } else { 300_000 };
    let args = ["TLOG.LOG", "tl", &m, "other"].map(String::from);
    let mut runs: HashMap<&str, Vec<f64>> = HashMap::new();
    for round in 0..s.rounds {
        // Each run starts from an empty database, and the order alternates between rounds.
        for held in if round % 2 == 0 { [false, true] } else { [true, false] } {
            let holders = if held { tail_readers(port, READERS, "idle", None) } else { Vec::new() };
            flushall(&mut con);
            let rps = benchmark(port, n, 16, &args);
            kill_clients(port, &holders);
            eprintln!(
                "  round {}  TLOG.LOG {} readers blocked {rps:>12.0} ops/s",
                round + 1,
                if held { READERS } else { 0 }
            );
            runs.entry(if held { "held" } else { "none" }).or_default().push(rps);
        }
    }
    let med: Medians = runs.into_iter().map(|(k, mut v)| (k.to_string(), median(&mut v))).collect();
    rep.row(
        format!("TLOG.LOG with {READERS} readers blocked on other tags / with none"),
        rate(med["held"]),
        format!("{} none", rate(med["none"])),
        Some(med["held"] / med["none"]),
        Goal::AtLeast(0.9),
    );
    flushall(&mut con);
}

// --- Part 6: retention -----------------------------------------------------------------------

fn tlog_info(c: &mut Connection) -> HashMap<String, u64> {
    common::tlog_info(c)
}

fn fill_add(c: &mut Connection, prefix: &str, n: usize, ttl: Option<u32>, tag: impl Fn(usize) -> String) {
    let m = msg();
    pipelined(c, n, 10_000, |i, p| {
        let cmd = p.cmd("TLOG.ADD").arg(prefix);
        if let Some(t) = ttl {
            cmd.arg("TTL").arg(t);
        }
        cmd.arg("MESSAGE").arg(&m).arg(tag(i)).arg("all");
    });
}

/// GETs from another client until `done` says stop; sorted latencies in microseconds.
fn gets_until(port: u16, mut done: impl FnMut() -> bool) -> Vec<u64> {
    let mut c = connect(port);
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

/// Records expiring at once (tags from `tag`): the cleaner's ticks and another client's GETs
/// while it removes their ids.
fn expire_rows(rep: &mut Report, srv: &Server, n: usize, what: &str, tag: impl Fn(usize) -> String) {
    let port = srv.port;
    let mut c = srv.conn();
    flushall(&mut c);
    let before = tlog_info(&mut c);
    // A TTL past the end of the fill (at 40,000 records a second), so that the records expire
    // after it, together, while the GETs below run; they start as the first record expires.
    let ttl = 5 + (n / 40_000) as u32;
    let t0 = Instant::now();
    fill_add(&mut c, "exp", n, Some(ttl), tag);
    let fill = t0.elapsed();
    if fill.as_secs_f64() + 1.0 > f64::from(ttl) {
        eprintln!(
            "  the fill took {:.1} s, longer than the TTL of {ttl} s: records expired during it",
            fill.as_secs_f64()
        );
    }
    thread::sleep(Duration::from_secs(u64::from(ttl)).saturating_sub(fill));
    let start = Instant::now();
    let mut probe = srv.conn();
    let mut last = Instant::now();
    // Done when every record expired and its ids went from its two tag flows, or when the
    // cleaner made no progress for 30 s (the row then says how far it got).
    let (mut seen, mut moved) = (0, Instant::now());
    let lat = gets_until(port, || {
        if last.elapsed() < Duration::from_millis(100) {
            return false;
        }
        last = Instant::now();
        let now = tlog_info(&mut probe);
        let expired = now["records_expired"] - before["records_expired"];
        let trimmed = now["dead_ids_trimmed"] - before["dead_ids_trimmed"];
        if expired + trimmed != seen {
            (seen, moved) = (expired + trimmed, Instant::now());
        }
        (expired >= n as u64 && trimmed >= 2 * n as u64) || moved.elapsed() > Duration::from_secs(30)
    });
    let took = start.elapsed().as_secs_f64();
    let after = tlog_info(&mut c);
    let expired = after["records_expired"] - before["records_expired"];
    let trimmed = after["dead_ids_trimmed"] - before["dead_ids_trimmed"];
    let flows: Vec<String> = redis::cmd("KEYS").arg("exp:flow:*").query(&mut c).expect("KEYS");
    let flows = flows.len();
    rep.row(
        format!("cleaner, {what}: records expired, dead ids trimmed, flows left"),
        format!("{expired}, {trimmed}, {flows}"),
        format!("{n}, {}, 0 expected", 2 * n),
        None,
        Goal::Value("all cleaned".into(), expired >= n as u64 && trimmed >= 2 * n as u64 && flows == 0),
    );
    let cpu = after["cleaner_max_tick_cpu_us"];
    rep.row(
        format!("cleaner, {what}: longest tick (CPU time, since load)"),
        format!("{cpu} us"),
        format!("p99 <= {} us, wall max {} us", after["cleaner_p99_tick_us"], after["cleaner_max_tick_us"]),
        None,
        Goal::Value("<= 1000 us".into(), cpu <= 1000),
    );
    let worst = lat.last().copied().unwrap_or(0) as f64 / 1e3;
    rep.row(
        format!("cleaner, {what}: another client's GET latency ({took:.1} s to clean)"),
        format!("worst {worst:.2} ms"),
        format!("p99 {:.2} ms", pct(&lat, 0.99) as f64 / 1e3),
        None,
        Goal::Value("< 10 ms".into(), worst < 10.0),
    );
}

fn part6(s: &Settings, srv: &Server, rep: &mut Report) {
    let port = srv.port;
    let mut con = srv.conn();
    let m = msg();
    eprintln!("part 6: retention");
    let n = if s.quick { 50_000 } else { 300_000 };
    let mut w = vec![
        wl("TLOG.ADD", &["TLOG.ADD", "rt", "MESSAGE", &m, "t"], check_int(1)),
        wl("TLOG.ADD MAXLEN 1000", &["TLOG.ADD", "rt", "MAXLEN", "1000", "MESSAGE", &m, "t"], check_int(1)),
    ];
    for x in &mut w {
        x.requests = Some(n);
    }
    let reset = |c: &mut Connection| flushall(c);
    let mr = measure(s, port, &mut con, &mut w, Some(&reset));
    rep.ratio(
        "TLOG.ADD MAXLEN 1000 (one record removed a write) / TLOG.ADD",
        &mr,
        "TLOG.ADD MAXLEN 1000",
        "TLOG.ADD",
        Goal::None,
    );

    let r = s.retention_records as usize;
    expire_rows(rep, srv, r, &format!("{r} records (two tags each) expiring at once"), |i| format!("t{}", i % 100));
    let tags = r / 10;
    expire_rows(rep, srv, tags, &format!("{tags} records with a tag each expiring at once"), |i| format!("u{i}"));

    flushall(&mut con);
    fill_add(&mut con, "pur", r, None, |i| format!("t{}", i % 100));
    let start = Instant::now();
    let purger = thread::spawn(move || {
        let mut p = connect(port);
        redis::cmd("TLOG.PURGE").arg("pur").query::<i64>(&mut p).expect("TLOG.PURGE")
    });
    let lat = gets_until(port, || purger.is_finished());
    let took = start.elapsed().as_secs_f64();
    let worst = lat.last().copied().unwrap_or(0) as f64 / 1e3;
    assert_eq!(int_of(&mut con, &["EXISTS", "pur:counter", "pur:flow:__all__"]), 0, "TLOG.PURGE left keys");
    rep.row(
        format!("TLOG.PURGE of {r} records ({took:.1} s): another client's GET latency"),
        format!("worst {worst:.2} ms"),
        format!("p99 {:.2} ms", pct(&lat, 0.99) as f64 / 1e3),
        None,
        Goal::Value("< 10 ms".into(), worst < 10.0),
    );
    let info = tlog_info(&mut con);
    rep.row(
        "cleaner during the run of part 6: longest tick (CPU time, since load)",
        format!("{} us", info["cleaner_max_tick_cpu_us"]),
        format!("wall max {} us", info["cleaner_max_tick_us"]),
        None,
        Goal::Value("<= 1000 us".into(), info["cleaner_max_tick_cpu_us"] <= 1000),
    );
}

// --- Main ------------------------------------------------------------------------------------

fn main() {
    let s = Settings::from_env();
    let dir = tempfile::tempdir().expect("temp dir");
    let floor = match build_floor(dir.path()) {
        Ok(p) => Some(p.to_string_lossy().into_owned()),
        Err(why) => {
            eprintln!("bench/floor.c not built ({why}): the API floor rows are left out");
            None
        }
    };
    let extra: Vec<&str> = floor.as_deref().map(|f| vec!["--loadmodule", f]).unwrap_or_default();
    // Each part on a fresh server: what one part leaves (memory, INFO figures) is not the next's.
    let start = || Server::start_with(true, &extra);
    let mut rep = Report::default();
    let label = {
        let srv = start();
        let v = server_version(&mut srv.conn());
        format!(
            "Redis {v} ({}), {} cores",
            std::env::var("REDIS_SERVER").unwrap_or("redis-server".into()),
            thread::available_parallelism().map_or(0, |n| n.get())
        )
    };
    eprintln!("tlog bench: {label}; parts {:?}; {} rounds{}", s.parts, s.rounds, if s.quick { "; quick" } else { "" });
    let data = (s.parts.contains(&3) || s.parts.contains(&4)).then(TagSet::new);
    for &part in &s.parts {
        match part {
            1 => part1(&s, &start(), floor.is_some(), &mut rep),
            2 => part2(&s, &start(), &mut rep),
            3 => part3(&s, &start(), data.as_ref().expect("data"), &mut rep),
            4 => part4(&s, data.as_ref().expect("data"), &mut rep),
            5 => part5(&s, &start(), &mut rep),
            6 => part6(&s, &start(), &mut rep),
            other => panic!("BENCH_PARTS: no part {other} (1 to 6)"),
        }
    }
    rep.print(&s, &label);
}

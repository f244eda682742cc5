//! Starts a real redis-server with the module for one test, on a free loopback port, in a fresh
//! directory, and stops it when the test ends. No mocks: every assertion talks to a server.
#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::{Commands, Connection, Value};

pub fn module_path() -> PathBuf {
    let path = std::env::var_os("TLOG_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/libtlog.so"));
    assert!(path.exists(), "{} is missing: build it first (`make test` does)", path.display());
    path
}

fn redis_server() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// A redis-server process, killed and waited for on drop.
pub struct Server {
    pub port: u16,
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Server {
    /// A server with the module loaded.
    pub fn start() -> Server {
        Server::start_with(true, &[])
    }

    /// `module`: load tlog or not; `extra`: more server arguments.
    pub fn start_with(module: bool, extra: &[&str]) -> Server {
        Server::start_in(tempfile::tempdir().expect("temp dir"), module, extra)
    }

    /// A server on a fresh port in `dir`, e.g. the directory of a killed one (its AOF/RDB).
    /// The port is free when picked but may be taken before the server binds it (other tests
    /// and servers run at the same time): then the server exits, or another server answers on
    /// the port; either way it starts again on another port.
    pub fn start_in(dir: tempfile::TempDir, module: bool, extra: &[&str]) -> Server {
        let mut dir = Some(dir);
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(redis_server());
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
                .arg("--dir")
                .arg(dir.as_ref().expect("dir").path())
                .args(["--enable-debug-command", "local", "--logfile", "server.log"])
                // A replica's full sync starts at once, not after the default 5 s a diskless
                // sync waits for more replicas to join it.
                .args(["--repl-diskless-sync-delay", "0"]);
            if module {
                cmd.arg("--loadmodule").arg(module_path());
            }
            cmd.args(extra).stdout(Stdio::null()).stderr(Stdio::piped());
            let child = cmd.spawn().expect("start redis-server (is it installed? `make test` installs it)");
            let mut server = Server { port, child, dir: dir.take().expect("dir") };
            if server.wait_ready() {
                return server;
            }
            // Lost the port: take the directory back and try another port.
            let _ = server.child.kill();
            let _ = server.child.wait();
            let placeholder = tempfile::tempdir().expect("temp dir");
            dir = Some(std::mem::replace(&mut server.dir, placeholder));
        }
        panic!("redis-server lost its port to another process 5 times in a row");
    }

    /// A replica of `master` (with the module or without), once its link to the master is up,
    /// so that the replication stream rather than a full sync carries what follows.
    pub fn replica_of(master: &Server, module: bool) -> Server {
        let replica = Server::start_with(module, &["--replicaof", "127.0.0.1", &master.port.to_string()]);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info: String = redis::cmd("INFO").arg("replication").query(&mut replica.conn()).expect("INFO");
            if info.contains("master_link_status:up") {
                return replica;
            }
            assert!(Instant::now() < deadline, "the replica never linked: {info}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server with SIGKILL (no shutdown, no final fsync) and hands back its
    /// directory.
    pub fn kill_hard(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Waits until this server answers, its data loaded. False if the port was taken by another process: this
    /// server exited on "Address already in use", or another server answers on the port.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                if self.log().contains("Address already in use") {
                    return false;
                }
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("redis-server exited ({status}) before accepting connections:\n{}{err}", self.log());
            }
            if let Ok(mut c) = self.try_connect(2) {
                if let Ok(info) = redis::cmd("INFO").arg("server").query::<String>(&mut c) {
                    let pid = format!("process_id:{}", self.child.id());
                    if !info.lines().any(|l| l.trim_end() == pid) {
                        return false;
                    }
                    // INFO answers while the server loads its AOF or RDB, and every other
                    // command then fails with LOADING: ready means loaded.
                    let loaded = redis::cmd("INFO")
                        .arg("persistence")
                        .query::<String>(&mut c)
                        .is_ok_and(|p| p.lines().any(|l| l.trim_end() == "loading:0"));
                    if loaded {
                        return true;
                    }
                }
            }
            if Instant::now() > deadline {
                panic!("redis-server did not answer on port {} within 10 s:\n{}", self.port, self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_connect(&self, protocol: u8) -> redis::RedisResult<Connection> {
        let url = if protocol == 3 {
            format!("redis://127.0.0.1:{}/?protocol=resp3", self.port)
        } else {
            format!("redis://127.0.0.1:{}/", self.port)
        };
        redis::Client::open(url)?.get_connection()
    }

    /// A RESP2 connection.
    pub fn conn(&self) -> Connection {
        self.try_connect(2).expect("connect")
    }

    pub fn conn3(&self) -> Connection {
        self.try_connect(3).expect("connect with RESP3")
    }

    pub fn digest(&self) -> String {
        redis::cmd("DEBUG").arg("DIGEST").query(&mut self.conn()).expect("DEBUG DIGEST")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command given as words, returning the raw reply (errors as `Err`).
pub fn run(con: &mut Connection, words: &[&[u8]]) -> redis::RedisResult<Value> {
    let mut c = redis::cmd(std::str::from_utf8(words[0]).expect("command name"));
    for w in &words[1..] {
        c.arg(*w);
    }
    c.query(con)
}

/// Like `run` with text words.
pub fn cmd(con: &mut Connection, words: &[&str]) -> redis::RedisResult<Value> {
    let bytes: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    run(con, &bytes)
}

/// The full error line of a failed command, e.g. `ERR syntax error`.
pub fn err_of(r: redis::RedisResult<Value>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => {
            let code = e.code().unwrap_or("?").to_string();
            let detail = e.detail().unwrap_or("").to_string();
            format!("{code} {detail}").trim_end().to_string()
        }
    }
}

/// A record reply (RESP2 flat array or RESP3 map) as (field, value) pairs.
pub fn fields(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Array(items) => items.chunks(2).map(|p| (text(&p[0]), p[1].clone())).collect(),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        other => panic!("not a record: {other:?}"),
    }
}

pub fn field(v: &Value, name: &str) -> Value {
    fields(v).into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_else(|| panic!("no field {name} in {v:?}"))
}

pub fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).expect("utf-8"),
        Value::SimpleString(s) => s.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

pub fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

pub fn array(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => panic!("not an array: {other:?}"),
    }
}

/// Ids of the records of a GET reply, in reply order.
pub fn ids(v: &Value) -> Vec<i64> {
    array(v).iter().map(|r| int(&field(r, "id"))).collect()
}

pub fn tags(rec: &Value) -> Vec<String> {
    array(&field(rec, "tags")).iter().map(text).collect()
}

/// Every key matching `pattern` with its DUMP, sorted by name: compare two to show that
/// nothing of those keys changed.
pub fn dump(con: &mut Connection, pattern: &str) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = con.keys(pattern).expect("KEYS");
    names.sort();
    names
        .into_iter()
        .map(|k| {
            let d: Vec<u8> = redis::cmd("DUMP").arg(&k).query(con).expect("DUMP");
            (k, d)
        })
        .collect()
}

/// Writes records `ids` of prefix `p` as another client following the layout would: counter,
/// records tagged `t`, `__all__` and the flow of `t`.
pub fn plain_prefix(con: &mut Connection, p: &str, ids: &[i64]) {
    for &id in ids {
        let _: () = con
            .set(format!("{p}:msg:{id}"), format!(r#"{{"id":{id},"ts":1.5,"message":"of {p}","tags":["t"]}}"#))
            .expect("SET");
        let _: () = con.lpush(format!("{p}:flow:__all__"), id).expect("LPUSH");
        let _: () = con.lpush(format!("{p}:flow:t"), id).expect("LPUSH");
    }
    let _: () = con.set(format!("{p}:counter"), ids.iter().max().copied().unwrap_or(0)).expect("SET");
}

/// The `tlog_*` fields of INFO, without the `tlog_` prefix.
pub fn tlog_info(con: &mut Connection) -> std::collections::HashMap<String, u64> {
    let text: String = redis::cmd("INFO").arg("tlog").query(con).expect("INFO tlog");
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| Some((k.strip_prefix("tlog_")?.to_string(), v.trim().parse().ok()?)))
        .collect()
}

/// Polls `f` until it returns true, for at most `secs` seconds.
pub fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "not reached in {secs} s: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The server's clock (TIME), in microseconds since the epoch.
pub fn server_time_us(con: &mut Connection) -> i64 {
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query(con).expect("TIME");
    secs * 1_000_000 + micros
}

/// Polls the server's clock until it is past `at_us` (microseconds since the epoch): for a
/// test whose point is that time passes (a TTL running out), not that something else happens.
pub fn wait_server_time_past(con: &mut Connection, at_us: i64, what: &str) {
    let mut now = server_time_us(con);
    let limit = Duration::from_micros((at_us - now).max(0) as u64) + Duration::from_secs(10);
    let deadline = Instant::now() + limit;
    while now <= at_us {
        assert!(Instant::now() < deadline, "the server's clock never passed {at_us} µs (now {now}): {what}");
        std::thread::sleep(Duration::from_micros(((at_us - now) as u64 + 1).min(20_000)));
        now = server_time_us(con);
    }
}

/// Polls the `tlog_<field>` of INFO until `pred` holds for it, for at most `secs` seconds;
/// returns the value that did.
pub fn wait_info(con: &mut Connection, field: &str, secs: u64, what: &str, pred: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = *tlog_info(con).get(field).unwrap_or_else(|| panic!("no tlog_{field} in INFO tlog"));
        if pred(v) {
            return v;
        }
        assert!(Instant::now() < deadline, "not reached in {secs} s: {what} (tlog_{field} is {v})");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A small deterministic generator (xorshift), so a failure can be replayed from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The lines `r` gives, read on a thread of their own, as they come.
pub fn lines_of(r: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(r).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

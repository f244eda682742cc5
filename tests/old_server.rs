//! tlog needs Redis 7.0+. On an older server it must refuse to load with a clear log line,
//! and never crash the server: neither at startup (`--loadmodule`) nor at run time
//! (`MODULE LOAD`, after which the server must go on serving).
//!
//! The old server is a Redis 6.x binary taken from env `TLOG_OLD_REDIS`, by default
//! `target/old-redis/redis-server`, which `bash scripts/old-redis.sh` puts there.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const REFUSAL: &str = "tlog needs Redis 7.0 or later";
/// What Redis writes to its log when a module (or anything) crashes it.
const CRASH_MARKERS: [&str; 4] = ["crashed by signal", "REDIS BUG REPORT", "panicked at", "STACK TRACE"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn module_path() -> PathBuf {
    let path = std::env::var_os("TLOG_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target/release/libtlog.so"));
    assert!(path.exists(), "{} is missing: build it first (`cargo build --release`)", path.display());
    // MODULE LOAD resolves a relative path against the server's working directory.
    path.canonicalize().expect("canonical module path")
}

/// The Redis 6.x server binary; fails (never skips) when it is not there.
fn old_redis() -> PathBuf {
    let path = std::env::var_os("TLOG_OLD_REDIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target/old-redis/redis-server"));
    assert!(
        path.is_file(),
        "old Redis server binary {} is missing: run `bash scripts/old-redis.sh` to fetch it \
         (or point TLOG_OLD_REDIS at a Redis 6.x redis-server)",
        path.display()
    );
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; rerun `bash scripts/old-redis.sh`", path.display()));
    let version = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(version.contains(" v=6."), "{} must be Redis 6.x for this test, it says: {version}", path.display());
    path
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// An old redis-server process in a fresh directory, killed and waited for on drop.
struct OldServer {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl OldServer {
    fn spawn(load_module: bool) -> OldServer {
        let bin = old_redis();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let out = File::create(dir.path().join("stdout.log")).expect("stdout log");
        let err = File::create(dir.path().join("stderr.log")).expect("stderr log");
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(dir.path().join("server.log"));
        if load_module {
            cmd.arg("--loadmodule").arg(module_path());
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().expect("start the old redis-server");
        OldServer { port, child, dir }
    }

    /// Server log plus anything printed on stdout/stderr (a Rust panic message goes there).
    fn log(&self) -> String {
        ["server.log", "stdout.log", "stderr.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("")
    }

    /// Waits at most `limit` for the process to exit.
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        client.get_connection_with_timeout(Duration::from_secs(5))
    }

    /// Waits at most 10 s for the server to answer PING, and returns a connection to it.
    fn wait_ready(&mut self) -> redis::Connection {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("old redis-server exited ({status}) before accepting connections:\n{}", self.log());
            }
            if let Ok(mut c) = self.connect() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    c.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
                    return c;
                }
            }
            if Instant::now() > deadline {
                panic!("old redis-server did not answer on port {} within 10 s:\n{}", self.port, self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OldServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_no_crash(log: &str) {
    for marker in CRASH_MARKERS {
        assert!(!log.contains(marker), "the old server log shows a crash ({marker:?}):\n{log}");
    }
}

fn assert_refusal_logged(log: &str, times: usize) {
    let n = log.lines().filter(|l| l.contains(REFUSAL)).count();
    assert_eq!(n, times, "expected {times} line(s) with {REFUSAL:?} in the log:\n{log}");
    // The line says what the server lacks, and that the module is not loading.
    let line = log.lines().find(|l| l.contains(REFUSAL)).unwrap();
    assert!(line.contains("this server lacks RedisModule_"), "refusal names no missing API: {line}");
    assert!(line.ends_with("Not loading."), "refusal line: {line}");
}

#[test]
fn loadmodule_on_old_server_exits_cleanly_with_a_clear_log_line() {
    let mut server = OldServer::spawn(true);
    let status = server.wait_exit(Duration::from_secs(15)).unwrap_or_else(|| {
        panic!("old redis-server with --loadmodule tlog did not exit within 15 s:\n{}", server.log())
    });
    let log = server.log();
    assert_eq!(status.signal(), None, "old redis-server was killed by a signal ({status}):\n{log}");
    assert!(!status.success(), "old redis-server exited 0 with tlog loaded:\n{log}");
    assert_no_crash(&log);
    assert_refusal_logged(&log, 1);
    assert!(log.contains("initialization failed. Module not loaded"), "no load failure in:\n{log}");
    assert!(log.contains("Can't load module from"), "no abort reason in:\n{log}");
}

#[test]
fn module_load_on_running_old_server_errors_and_server_keeps_serving() {
    let mut server = OldServer::spawn(false);
    let mut con = server.wait_ready();
    let module = module_path();

    // Twice: a failed load must leave nothing behind that breaks the next attempt.
    for attempt in 1..=2 {
        let reply: redis::RedisResult<redis::Value> =
            redis::cmd("MODULE").arg("LOAD").arg(module.to_str().expect("utf-8 path")).query(&mut con);
        let err = match reply {
            Ok(v) => panic!("MODULE LOAD #{attempt} of tlog on Redis 6 succeeded: {v:?}\n{}", server.log()),
            Err(e) => e,
        };
        assert!(!err.is_io_error(), "MODULE LOAD #{attempt} broke the connection: {err}\n{}", server.log());
        assert!(err.to_string().contains("Error loading the extension"), "MODULE LOAD #{attempt} error: {err}");
        let pong: String = redis::cmd("PING")
            .query(&mut con)
            .unwrap_or_else(|e| panic!("PING after MODULE LOAD #{attempt} failed: {e}\n{}", server.log()));
        assert_eq!(pong, "PONG");
    }

    let modules: redis::Value = redis::cmd("MODULE").arg("LIST").query(&mut con).expect("MODULE LIST");
    assert!(!format!("{modules:?}").contains("tlog"), "tlog is listed after failed loads: {modules:?}");
    // The server still works as a plain Redis.
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).expect("SET");
    let v: String = redis::cmd("GET").arg("k").query(&mut con).expect("GET");
    assert_eq!(v, "v");
    assert!(server.child.try_wait().expect("try_wait").is_none(), "server exited:\n{}", server.log());

    let log = server.log();
    assert_no_crash(&log);
    assert_refusal_logged(&log, 2);
    assert_eq!(log.matches("initialization failed. Module not loaded").count(), 2, "log:\n{log}");
}

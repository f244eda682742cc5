//! The client programs of docs/clients.md, run with real clients against a real server:
//! redis-py and node-redis, the current major and the one before, each in RESP2 and in RESP3.
//! Each program must exit 0 and print docs/clients/expected.txt. The clients live in
//! target/clients/, installed by `bash scripts/client-deps.sh` (`make test` runs it); the Go
//! program is not run (no Go client here). The page must show each program exactly as it is.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const INSTALL: &str = "run `bash scripts/client-deps.sh` (or `make test`, which runs it)";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The commands a server receives, as MONITOR shows them.
struct Monitor {
    lines: BufReader<TcpStream>,
}

impl Monitor {
    fn start(s: &Server) -> Monitor {
        let mut stream = TcpStream::connect(("127.0.0.1", s.port)).expect("connect for MONITOR");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        stream.write_all(b"MONITOR\r\n").expect("send MONITOR");
        let mut m = Monitor { lines: BufReader::new(stream) };
        assert_eq!(m.next_line(), "+OK");
        m
    }

    fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.lines.read_line(&mut line).expect("read a MONITOR line");
        line.trim_end().to_string()
    }

    /// Every command seen so far: sends a marker on another connection and reads up to it.
    fn seen(mut self, s: &Server) -> Vec<String> {
        let marker = "clients-test-marker";
        let _: String = redis::cmd("ECHO").arg(marker).query(&mut s.conn()).expect("ECHO");
        let mut seen = Vec::new();
        loop {
            let line = self.next_line();
            if line.contains(marker) {
                return seen;
            }
            seen.push(line);
        }
    }
}

/// Runs a program to its end (at most a minute) and returns what it printed.
fn run_program(mut cmd: Command, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what} ({e}): {INSTALL}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait for the program").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("program output");
            panic!("{what} ran for over a minute; it printed:\n{}", String::from_utf8_lossy(&out.stdout));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("program output")
}

/// Runs a client program against a fresh server with `protocol`: it must exit 0, print the
/// expected lines, and have spoken that protocol (RESP3 begins with `HELLO 3`).
fn check_program(mut cmd: Command, client: &str, protocol: u8) {
    let s = Server::start();
    let monitor = Monitor::start(&s);
    cmd.env("TLOG_PORT", s.port.to_string()).env("TLOG_PROTOCOL", protocol.to_string());
    let what = format!("the {client} program (RESP{protocol})");
    let out = run_program(cmd, &what);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed ({}):\n{stderr}\nafter printing:\n{stdout}", out.status);
    let expected =
        std::fs::read_to_string(root().join("docs/clients/expected.txt")).expect("read docs/clients/expected.txt");
    assert_eq!(stdout, expected, "{what} printed other lines than docs/clients/expected.txt; its stderr:\n{stderr}");
    let hello3 = monitor.seen(&s).iter().any(|l| l.contains(r#""HELLO" "3""#));
    assert_eq!(hello3, protocol == 3, "{what} did not speak RESP{protocol} (HELLO 3 sent: {hello3})");
}

fn redis_py(major: u32, protocol: u8) {
    let python = root().join(format!("target/clients/py-redis{major}/bin/python"));
    let version = Command::new(&python)
        .args(["-c", "import redis; print(redis.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| panic!("redis-py {major} is not installed in target/clients/py-redis{major}: {INSTALL}"));
    assert!(
        version.starts_with(&format!("{major}.")),
        "target/clients/py-redis{major} holds redis-py {version}: {INSTALL}"
    );
    let mut cmd = Command::new(&python);
    cmd.arg(root().join("docs/clients/redis_py.py"));
    check_program(cmd, &format!("redis-py {version}"), protocol);
}

fn node_redis(major: u32, protocol: u8) {
    let modules = root().join(format!("target/clients/node-redis{major}/node_modules"));
    let version = std::fs::read_to_string(modules.join("redis/package.json"))
        .ok()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
        .and_then(|p| p["version"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            panic!("node-redis {major} is not installed in target/clients/node-redis{major}: {INSTALL}")
        });
    assert!(
        version.starts_with(&format!("{major}.")),
        "target/clients/node-redis{major} holds node-redis {version}: {INSTALL}"
    );
    // Node resolves `import "redis"` from the program's folder: run a copy beside a link to
    // the installed modules.
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("node_redis.mjs");
    std::fs::copy(root().join("docs/clients/node_redis.mjs"), &program).expect("copy the program");
    std::os::unix::fs::symlink(&modules, dir.path().join("node_modules")).expect("link node_modules");
    let mut cmd = Command::new("node");
    cmd.arg(&program);
    check_program(cmd, &format!("node-redis {version}"), protocol);
}

#[test]
fn redis_py8_resp2() {
    redis_py(8, 2);
}

#[test]
fn redis_py8_resp3() {
    redis_py(8, 3);
}

#[test]
fn redis_py7_resp2() {
    redis_py(7, 2);
}

#[test]
fn redis_py7_resp3() {
    redis_py(7, 3);
}

#[test]
fn node_redis6_resp2() {
    node_redis(6, 2);
}

#[test]
fn node_redis6_resp3() {
    node_redis(6, 3);
}

#[test]
fn node_redis5_resp2() {
    node_redis(5, 2);
}

#[test]
fn node_redis5_resp3() {
    node_redis(5, 3);
}

/// The fenced blocks of a Markdown text that follow a link to `clients/<file>` (the last such
/// link since the block before): (file, the block's text, its first line number).
fn linked_blocks(markdown: &str) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let mut link: Option<String> = None;
    let mut block: Option<(Option<String>, String, usize)> = None;
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            match block.take() {
                None => block = Some((link.take(), String::new(), i + 2)),
                Some((Some(file), text, at)) => out.push((file, text, at)),
                Some((None, ..)) => {}
            }
        } else if let Some((_, text, _)) = block.as_mut() {
            text.push_str(line);
            text.push('\n');
        } else if let Some(at) = line.rfind("](clients/") {
            let rest = &line[at + "](clients/".len()..];
            link = rest.split_once(')').map(|(file, _)| file.to_string());
        }
    }
    out
}

#[test]
fn the_page_shows_each_program_as_it_is() {
    let page = std::fs::read_to_string(root().join("docs/clients.md")).expect("read docs/clients.md");
    let mut shown = Vec::new();
    for (file, block, line) in linked_blocks(&page) {
        let text = std::fs::read_to_string(root().join("docs/clients").join(&file))
            .unwrap_or_else(|e| panic!("docs/clients.md:{line} links clients/{file}, which cannot be read: {e}"));
        assert!(
            block == text,
            "docs/clients.md:{line}: the block after the link to clients/{file} differs from that file; copy the file into the page"
        );
        shown.push(file);
    }
    for entry in std::fs::read_dir(root().join("docs/clients")).expect("list docs/clients") {
        let entry = entry.expect("dir entry");
        if !entry.file_type().expect("file type").is_file() {
            continue; // __pycache__ and the like
        }
        let name = entry.file_name().to_string_lossy().to_string();
        assert!(
            shown.contains(&name),
            "docs/clients/{name} is not shown on docs/clients.md (a link to it, then the file in a block)"
        );
    }
}

#[test]
fn blocks_are_matched_with_the_link_before_them() {
    let md = "See [a.py](clients/a.py):\n\n```python\nprint(1)\n```\n\n```\nnot linked\n```\n[x](other/b) and [b](clients/b.txt)\n```text\nb\n\n```\n";
    assert_eq!(
        linked_blocks(md),
        vec![("a.py".to_string(), "print(1)\n".to_string(), 4), ("b.txt".to_string(), "b\n\n".to_string(), 12)]
    );
}

//! Every `$ tlog ...` transcript of docs/cli.md runs against a fresh server with the module, and
//! must print what the page shows.
//!
//! A fenced `console` block with a `$ tlog` command is a transcript: each `$ ` line is run by
//! bash (a line ending in `<<'EOF'` takes the lines up to `EOF` as its input), stdout and
//! stderr together, with `tlog` on the PATH, `REDIS_URL` set, `TZ=UTC`, no colours and not at a
//! terminal (so the histogram is 80 columns wide). The lines after it, up to the next `$ `
//! line, are its output, exactly; a `^C` line stands for the Ctrl-C that ends `tail -f`.
//!
//! The records of the page have fixed times, so their times are compared as they are. Two
//! things depend on the clock and are bound rather than compared: the times of records logged
//! during a `tail -f` (each time the page shows there stands for one real time of this run,
//! not earlier than the test), and the duration and rate of a summary line (`... in 0.01s
//! (1200 records/s)`). For `tail -f`, the commands of a `<!-- meanwhile: ... -->` line before
//! the block are run once the follower waits on the server, then the follower is stopped.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[derive(Debug)]
struct Step {
    line: usize,
    command: String,
    expected: Vec<String>,
    meanwhile: Vec<String>,
}

fn steps(markdown: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let lines: Vec<&str> = markdown.lines().collect();
    let (mut in_block, mut meanwhile, mut block_start) = (false, Vec::new(), 0);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(m) = line.trim().strip_prefix("<!-- meanwhile:").and_then(|m| m.strip_suffix("-->")) {
            meanwhile = m.split(" ;; ").map(|c| c.trim().to_string()).collect();
        }
        if line.starts_with("```") {
            if !in_block && line.trim() == "```console" {
                in_block = true;
                block_start = steps.len();
            } else if in_block {
                in_block = false;
                // Only blocks that run tlog are transcripts (not the install steps).
                if !steps[block_start..].iter().any(|s| s.command.starts_with("tlog ")) {
                    steps.truncate(block_start);
                }
                meanwhile = Vec::new();
            }
            i += 1;
            continue;
        }
        if in_block {
            if let Some(c) = line.strip_prefix("$ ") {
                let mut command = c.to_string();
                if c.ends_with("<<'EOF'") {
                    loop {
                        i += 1;
                        command.push('\n');
                        command.push_str(lines[i]);
                        if lines[i] == "EOF" {
                            break;
                        }
                    }
                }
                let meanwhile = if command.contains(" -f") { std::mem::take(&mut meanwhile) } else { Vec::new() };
                steps.push(Step { line: i + 1, command, expected: Vec::new(), meanwhile });
            } else if steps.len() > block_start {
                if let Some(s) = steps.last_mut() {
                    s.expected.push(line.to_string());
                }
            }
        }
        i += 1;
    }
    steps
}

/// `2026-11-23 10:02:11.000Z`: where the human times are in a line.
fn human_times(line: &str) -> Vec<(usize, usize)> {
    let b = line.as_bytes();
    let shape = b"dddd-dd-dd dd:dd:dd.ddd";
    let mut found = Vec::new();
    let mut i = 0;
    while i + shape.len() <= b.len() {
        let fits = shape.iter().zip(&b[i..]).all(|(s, c)| if *s == b'd' { c.is_ascii_digit() } else { s == c });
        if fits {
            let end = if b.get(i + shape.len()) == Some(&b'Z') { i + shape.len() + 1 } else { i + shape.len() };
            found.push((i, end));
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

/// `imported 12 records in 0.01s (1200 records/s)`: the line up to its duration.
fn summary_head(line: &str) -> Option<&str> {
    let (head, tail) = line.split_once(" records in ")?;
    let (secs, rest) = tail.split_once("s (")?;
    let rate = rest.strip_suffix(" records/s)")?;
    let ok = secs.parse::<f64>().is_ok() && rate.parse::<u64>().is_ok();
    (ok && (head.starts_with("imported ") || head.starts_with("exported "))).then_some(head)
}

struct Binder {
    /// Doc time -> real time, for records logged while the test runs.
    bound: HashMap<String, String>,
    started: String,
}

impl Binder {
    fn line_matches(&mut self, doc: &str, real: &str) -> bool {
        if let (Some(d), Some(r)) = (summary_head(doc), summary_head(real)) {
            return d == r;
        }
        let (dt, rt) = (human_times(doc), human_times(real));
        if dt.len() != rt.len() {
            return false;
        }
        let (mut da, mut ra) = (0, 0);
        for (d, r) in dt.iter().zip(&rt) {
            if doc[da..d.0] != real[ra..r.0] {
                return false;
            }
            let (dtime, rtime) = (&doc[d.0..d.1], &real[r.0..r.1]);
            if dtime != rtime {
                // Only a time of this run binds, each doc time to one real time and back.
                let fresh = rtime >= self.started.as_str();
                let taken = self.bound.iter().any(|(k, v)| v == rtime && k != dtime);
                match self.bound.get(dtime) {
                    Some(v) if v != rtime => return false,
                    None if !fresh || taken => return false,
                    _ => {}
                }
                self.bound.insert(dtime.to_string(), rtime.to_string());
            }
            da = d.1;
            ra = r.1;
        }
        doc[da..] == real[ra..]
    }
}

fn shell(dir: &std::path::Path, port: u16, command: &str) -> Command {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_tlog")).parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut c = Command::new("bash");
    c.args(["-c", &format!("exec 2>&1\n{command}")])
        .current_dir(dir)
        .env("PATH", path)
        .env("REDIS_URL", format!("redis://127.0.0.1:{port}/"))
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    c
}

/// A `tail -f` step: start it, wait until it waits on the server, run the meanwhile commands,
/// read the lines the page shows, stop it.
fn follow(s: &Server, dir: &std::path::Path, step: &Step) -> Vec<String> {
    let want = step.expected.iter().filter(|l| l.as_str() != "^C").count();
    let mut child = shell(dir, s.port, &format!("exec {}", step.command)).spawn().expect("bash");
    let rx = lines_of(child.stdout.take().expect("stdout"));
    let mut c = s.conn();
    wait_for(10, "tail -f waits on the server", || {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut c).expect("INFO");
        info.lines().any(|l| l.trim() == "blocked_clients:1")
    });
    for m in &step.meanwhile {
        let o = shell(dir, s.port, m).output().expect("meanwhile");
        assert!(o.status.success(), "line {}: {m}: {}", step.line, String::from_utf8_lossy(&o.stdout));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < want {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) => got.push(l),
            Err(_) => break,
        }
    }
    // Nothing more than the page shows.
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let _ = child.wait();
    got.extend(rx.try_iter());
    if step.expected.last().map(String::as_str) == Some("^C") {
        got.push("^C".into());
    }
    got
}

#[test]
fn every_tlog_transcript_of_the_cli_page_prints_what_it_shows() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md")).expect("docs/cli.md");
    let steps = steps(&page);
    assert!(steps.iter().any(|s| s.command.contains("tail") && s.command.contains(" -f")), "a follow transcript");
    assert!(steps.iter().any(|s| s.command.contains("--bucket")), "a histogram transcript");
    assert!(steps.iter().any(|s| s.command.starts_with("tlog get")), "a query transcript");
    let s = Server::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut binder =
        Binder { bound: HashMap::new(), started: chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.3f").to_string() };
    let mut failures = Vec::new();
    for step in &steps {
        let got: Vec<String> = if step.command.contains(" -f") {
            follow(&s, dir.path(), step)
        } else {
            let o = shell(dir.path(), s.port, &step.command).output().expect("bash");
            String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
        };
        let same =
            got.len() == step.expected.len() && step.expected.iter().zip(&got).all(|(d, r)| binder.line_matches(d, r));
        if !same {
            failures.push(format!(
                "docs/cli.md:{}: $ {}\n--- the page shows\n{}\n--- tlog printed\n{}",
                step.line,
                step.command.lines().next().unwrap_or_default(),
                step.expected.join("\n"),
                got.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn steps_take_heredocs_outputs_and_meanwhile_commands() {
    let page = "```console\n$ make build\n```\n<!-- meanwhile: tlog log a b ;; tlog log a c -->\n```console\n\
                $ tlog import a <<'EOF'\n{}\nEOF\nimported 1\n$ tlog tail a -f\nx\n^C\n```\n";
    let s = steps(page);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].command, "tlog import a <<'EOF'\n{}\nEOF");
    assert_eq!(s[0].expected, ["imported 1"]);
    assert_eq!(s[1].meanwhile, ["tlog log a b", "tlog log a c"]);
    assert_eq!(s[1].expected, ["x", "^C"]);
}

#[test]
fn clock_times_bind_once_and_fixed_times_compare() {
    let mut b = Binder { bound: HashMap::new(), started: "2026-12-01 00:00:00.000".into() };
    assert!(b.line_matches("2026-11-23 10:00:00.000Z  1 x", "2026-11-23 10:00:00.000Z  1 x"));
    assert!(!b.line_matches("2026-11-23 10:00:00.000Z  1 x", "2026-11-23 10:00:01.000Z  1 x"));
    assert!(b.line_matches("2026-12-01 21:04:08.382Z 13 y", "2026-12-02 09:00:00.001Z 13 y"));
    assert!(!b.line_matches("2026-12-01 21:04:08.382Z 13 y", "2026-12-02 09:00:00.002Z 13 y"));
    assert!(!b.line_matches("2026-12-01 21:04:08.398Z 14 z", "2026-12-02 09:00:00.001Z 14 z"));
    assert!(b.line_matches("imported 3 records in 0.00s (1 records/s)", "imported 3 records in 0.25s (12 records/s)"));
    assert!(!b.line_matches("imported 3 records in 0.00s (1 records/s)", "imported 4 records in 0.25s (12 records/s)"));
}

//! Every `redis-cli` transcript in README.md and docs/ runs against a real server, so the docs
//! cannot drift from what the server does.
//!
//! Each Markdown file gets a fresh server. Its fenced blocks are read top to bottom; a line
//! `host:port> command` is sent to `redis-cli --no-raw` (on its standard input, so the quoting
//! is redis-cli's own) and the lines after it, up to the next prompt or the end of the block,
//! must be exactly what redis-cli prints. A block whose fence says `resp3` (```` ```resp3 ````)
//! runs with `redis-cli -3`.
//!
//! Times depend on the clock, so they are bound rather than compared: an RFC 3339 time or a
//! record's `"ts"` in an expected output stands for whatever time the server printed there,
//! and a later command that spells one of those times (either way) gets the real one instead.
//! A command may only use times shown before it: a time of the docs' own invention would not
//! fall between the real records.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, SecondsFormat, Utc};
use common::Server;

/// One command of a transcript and the output the docs show for it.
#[derive(Debug, PartialEq)]
struct Step {
    line: usize,
    command: String,
    expected: Vec<String>,
    resp3: bool,
}

/// The prompt of redis-cli: `127.0.0.1:6379> `, `localhost:6380> `.
fn prompt_command(line: &str) -> Option<&str> {
    let (host_port, rest) = line.split_once("> ")?;
    let (host, port) = host_port.rsplit_once(':')?;
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    (host_ok && port_ok).then_some(rest)
}

/// The transcript steps of a Markdown text, in order.
fn steps(markdown: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut fence: Option<bool> = None; // Some(resp3) inside a block
    let mut prompt_in_block = false; // output lines belong to a prompt of the same block only
    for (i, line) in markdown.lines().enumerate() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            fence = match fence {
                None => Some(info.split(|c: char| !c.is_alphanumeric()).any(|w| w == "resp3")),
                Some(_) => None,
            };
            prompt_in_block = false;
            continue;
        }
        let Some(resp3) = fence else { continue };
        if let Some(command) = prompt_command(line) {
            steps.push(Step { line: i + 1, command: command.to_string(), expected: Vec::new(), resp3 });
            prompt_in_block = true;
        } else if prompt_in_block {
            if let Some(last) = steps.last_mut() {
                last.expected.push(line.trim_end().to_string());
            }
        }
    }
    steps
}

/// A time as printed somewhere: where it is in its text, its instant, and how it was spelled.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Time {
    start: usize,
    end: usize,
    micros: i64,
    rfc3339: bool,
    zulu: bool,
}

/// The times in a text: RFC 3339 times with a date, and unix-seconds floats after `ts":`
/// (a record's field, escaped or not) or standing alone with at least nine integer digits.
fn times(text: &str) -> Vec<Time> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if let Some(t) = rfc3339_at(text, i) {
            i = t.end;
            out.push(t);
        } else if let Some(t) = float_at(text, i) {
            i = t.end;
            out.push(t);
        } else {
            i += 1;
        }
    }
    out
}

fn rfc3339_at(text: &str, i: usize) -> Option<Time> {
    let b = text.as_bytes();
    if i > 0 && b[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    // YYYY-MM-DDTHH:MM:SS, then fraction, then Z or +HH:MM.
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < i + shape.len() {
        return None;
    }
    for (k, &s) in shape.iter().enumerate() {
        let c = b[i + k];
        let ok = if s == b'd' { c.is_ascii_digit() } else { c == s || (s == b'T' && c == b't') };
        if !ok {
            return None;
        }
    }
    let mut end = i + shape.len();
    if b.get(end) == Some(&b'.') {
        end += 1;
        while b.get(end).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
        }
    }
    let zulu = matches!(b.get(end), Some(b'Z' | b'z'));
    if zulu {
        end += 1;
    } else if matches!(b.get(end), Some(b'+' | b'-')) && b.len() >= end + 6 {
        end += 6;
    } else {
        return None;
    }
    let t = DateTime::parse_from_rfc3339(&text[i..end]).ok()?;
    Some(Time { start: i, end, micros: t.timestamp_micros(), rfc3339: true, zulu })
}

fn float_at(text: &str, i: usize) -> Option<Time> {
    let b = text.as_bytes();
    if i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.' || b[i - 1] == b'-') {
        return None;
    }
    let mut end = i;
    while b.get(end).is_some_and(|c| c.is_ascii_digit()) {
        end += 1;
    }
    let int_digits = end - i;
    if int_digits == 0 || b.get(end) != Some(&b'.') {
        return None;
    }
    end += 1;
    let frac_start = end;
    while b.get(end).is_some_and(|c| c.is_ascii_digit()) {
        end += 1;
    }
    if end == frac_start || b.get(end).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.') {
        return None;
    }
    let after_ts = text[..i].trim_end_matches([':', '"', '\\', ' ']).ends_with("ts");
    if !(after_ts || (9..=11).contains(&int_digits)) {
        return None;
    }
    let secs: i64 = text[i..i + int_digits].parse().ok()?;
    let frac = &text[frac_start..end];
    let mut micros_part: i64 = 0;
    for k in 0..6 {
        micros_part = micros_part * 10 + frac.as_bytes().get(k).map_or(0, |d| (d - b'0') as i64);
    }
    Some(Time { start: i, end, micros: secs * 1_000_000 + micros_part, rfc3339: false, zulu: false })
}

fn spell(t: &Time, micros: i64) -> String {
    if t.rfc3339 {
        let dt = DateTime::<Utc>::from_timestamp_micros(micros).expect("time in range");
        dt.to_rfc3339_opts(SecondsFormat::Micros, t.zulu)
    } else {
        format!("{}.{:06}", micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000))
    }
}

/// Doc time (micros) -> real time (micros), learnt from outputs, used in commands.
#[derive(Default)]
struct Clock {
    bound: HashMap<i64, i64>,
}

impl Clock {
    /// The command with every time it names replaced by the real one.
    fn command(&self, command: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut at = 0;
        for t in times(command) {
            let real = self.bound.get(&t.micros).ok_or_else(|| {
                format!("the time {} is not shown by an earlier output of this file", &command[t.start..t.end])
            })?;
            out.push_str(&command[at..t.start]);
            out.push_str(&spell(&t, *real));
            at = t.end;
        }
        out.push_str(&command[at..]);
        Ok(out)
    }

    /// Compares an output line with the docs' line, times aside, binding the docs' times.
    fn line_matches(&mut self, doc: &str, real: &str) -> Result<(), String> {
        let (dt, rt) = (times(doc), times(real));
        let mut mismatch = dt.len() != rt.len();
        let (mut da, mut ra) = (0, 0);
        for (d, r) in dt.iter().zip(&rt) {
            mismatch |= doc[da..d.start] != real[ra..r.start] || d.rfc3339 != r.rfc3339;
            da = d.end;
            ra = r.end;
        }
        if mismatch || doc[da..] != real[ra..] {
            return Err(format!("expected: {doc}\n   got:      {real}"));
        }
        for (d, r) in dt.iter().zip(&rt) {
            match self.bound.insert(d.micros, r.micros) {
                Some(prev) if prev != r.micros => {
                    return Err(format!(
                        "the docs show {} for two different real times: give each record its own time",
                        &doc[d.start..d.end]
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn redis_cli(port: u16, resp3: bool, command: &str) -> Vec<String> {
    let mut cli = Command::new("redis-cli");
    cli.args(["-p", &port.to_string(), "--no-raw"]);
    if resp3 {
        cli.arg("-3");
    }
    let mut child = cli
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run redis-cli (`make test` installs redis-tools)");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{command}").expect("write the command");
    drop(stdin);
    let out = child.wait_with_output().expect("redis-cli output");
    let mut lines: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim_end().to_string()).collect();
    lines.extend(String::from_utf8_lossy(&out.stderr).lines().map(|l| l.trim_end().to_string()));
    lines
}

/// Runs one file's transcripts on a fresh server; the failures, each with its line.
fn run_file(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read the docs file");
    let steps = steps(&text);
    if steps.is_empty() {
        return Vec::new();
    }
    let server = Server::start();
    let mut clock = Clock::default();
    let mut failures = Vec::new();
    for step in &steps {
        let shown = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path);
        let place = format!("{}:{}", shown.display(), step.line);
        let command = match clock.command(&step.command) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{place}: {e}"));
                continue;
            }
        };
        let real = redis_cli(server.port, step.resp3, &command);
        let mut errs = Vec::new();
        if real.len() != step.expected.len() {
            errs.push(format!("{} lines expected, {} printed", step.expected.len(), real.len()));
        }
        for (d, r) in step.expected.iter().zip(&real) {
            if let Err(e) = clock.line_matches(d, r) {
                errs.push(e);
                break;
            }
        }
        if !errs.is_empty() {
            failures.push(format!(
                "{place}: `{}`\n   {}\n   the server printed:\n{}",
                step.command,
                errs.join("\n   "),
                real.iter().map(|l| format!("      {l}")).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    failures
}

fn markdown_files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_redis_cli_example_in_the_docs_prints_what_the_docs_show() {
    let files = markdown_files();
    let handles: Vec<_> = files.into_iter().map(|f| std::thread::spawn(move || run_file(&f))).collect();
    let failures: Vec<String> = handles.into_iter().flat_map(|h| h.join().expect("docs thread")).collect();
    assert!(
        failures.is_empty(),
        "{} docs examples differ from the server:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn transcripts_are_read_from_fenced_blocks_only() {
    let md = "Text 127.0.0.1:6379> PING\n```\n127.0.0.1:6379> PING\nPONG\n```\nafter\n```resp3\nlocalhost:6380> TLOG.LATEST p\n1# \"id\" => (integer) 1\n```\n```sh\nmake run\n```\n";
    let s = steps(md);
    assert_eq!(
        s,
        vec![
            Step { line: 3, command: "PING".into(), expected: vec!["PONG".into()], resp3: false },
            Step {
                line: 8,
                command: "TLOG.LATEST p".into(),
                expected: vec!["1# \"id\" => (integer) 1".into()],
                resp3: true
            },
        ]
    );
}

#[test]
fn times_are_found_in_both_spellings() {
    let line = r#""{\"id\":3,\"ts\":1795429502.123456,\"message\":\"at 12.5\"}" 2026-11-23T10:25:02.123456+00:00"#;
    let t = times(line);
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[0].micros, 1_795_429_502_123_456);
    assert_eq!(t[1].micros, 1_795_429_502_123_456);
    assert!(t[1].rfc3339 && !t[1].zulu);
    assert!(times("LIMIT 10 version 7.0.15 1.5").is_empty());
    assert_eq!(times("SINCE 2026-11-23T10:25:02Z")[0].micros, 1_795_429_502_000_000);
}

#[test]
fn output_times_bind_and_commands_get_the_real_ones() {
    let mut clock = Clock::default();
    clock
        .line_matches(r#"   4) "2026-11-23T10:25:02.123456+00:00""#, r#"   4) "2026-12-01T09:00:00.000001+00:00""#)
        .unwrap();
    assert_eq!(
        clock.command("TLOG.GET p t SINCE 2026-11-23T10:25:02.123456+00:00 UNTIL 1795429502.123456").unwrap(),
        "TLOG.GET p t SINCE 2026-12-01T09:00:00.000001+00:00 UNTIL 1796115600.000001"
    );
    assert!(clock.command("TLOG.GET p t SINCE 2026-11-23T10:25:03Z").unwrap_err().contains("not shown"));
    // Everything but the times must match.
    assert!(clock
        .line_matches(r#"4) "2026-11-23T10:25:02.123456+00:00""#, r#"5) "2026-12-01T09:00:00.000001+00:00""#)
        .is_err());
    assert!(clock.line_matches("(integer) 3", "(integer) 4").is_err());
    // One docs time cannot stand for two real ones.
    assert!(clock
        .line_matches(r#""2026-11-23T10:25:02.123456+00:00""#, r#""2026-12-01T09:00:00.000002+00:00""#)
        .unwrap_err()
        .contains("two different real times"));
}

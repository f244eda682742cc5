//! The `tlog` binary against real servers started by the module's harness.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// The binary under test (TLOG_BIN runs the tests against another build).
fn bin() -> String {
    std::env::var("TLOG_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tlog").to_string())
}

/// `tlog args` with `input` on stdin.
fn tlog_in(s: &Server, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port))
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tlog");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    child.wait_with_output().expect("tlog output")
}

fn tlog(s: &Server, args: &[&str]) -> Output {
    tlog_url(&format!("redis://127.0.0.1:{}/", s.port), args)
}

fn tlog_url(url: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("REDIS_URL", url)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .expect("run tlog")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "tlog failed ({}): {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).expect("utf-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Three records with fixed times: text, JSON with attrs, text with two tags.
fn fixture(s: &Server) {
    let mut c = s.conn();
    cmd(&mut c, &["TLOG.ADD", "app", "TS", "1700000000.25", "MESSAGE", "disk almost full", "disk"]).unwrap();
    cmd(
        &mut c,
        &[
            "TLOG.ADD",
            "app",
            "TS",
            "1700000060",
            "ATTRS",
            r#"{"host":"db1","disk":97}"#,
            "JSON",
            "MESSAGE",
            r#"{"disk":100,"ok":false}"#,
            "disk",
            "alert",
        ],
    )
    .unwrap();
    cmd(&mut c, &["TLOG.ADD", "app", "TS", "2023-11-14T22:15:00.5+00:00", "MESSAGE", "recovered", "alert"]).unwrap();
}

#[test]
fn get_prints_human_jsonl_raw_and_table() {
    let s = Server::start();
    fixture(&s);
    assert_eq!(
        ok(&tlog(&s, &["get", "app", "--utc"])),
        "2023-11-14 22:15:00.500Z      3 [alert] recovered\n\
         2023-11-14 22:14:20.000Z      2 [disk,alert] {\"disk\":100,\"ok\":false} {\"host\":\"db1\",\"disk\":97}\n\
         2023-11-14 22:13:20.250Z      1 [disk] disk almost full\n"
    );
    assert_eq!(
        ok(&tlog(&s, &["get", "app", "disk", "-o", "jsonl"])),
        "{\"id\":2,\"ts\":\"2023-11-14T22:14:20.000000Z\",\"message\":{\"disk\":100,\"ok\":false},\"tags\":[\"disk\",\"alert\"],\"attrs\":{\"host\":\"db1\",\"disk\":97}}\n\
         {\"id\":1,\"ts\":\"2023-11-14T22:13:20.250000Z\",\"message\":\"disk almost full\",\"tags\":[\"disk\"],\"attrs\":null}\n"
    );
    assert_eq!(
        ok(&tlog(&s, &["get", "app", "--asc", "-o", "raw"])),
        "{\"id\":1,\"ts\":1700000000.250000,\"message\":\"disk almost full\",\"tags\":[\"disk\"]}\n\
         {\"id\":2,\"ts\":1700000060.000000,\"message\":{\"disk\":100,\"ok\":false},\"tags\":[\"disk\",\"alert\"],\"attrs\":{\"host\":\"db1\",\"disk\":97}}\n\
         {\"id\":3,\"ts\":1700000100.500000,\"message\":\"recovered\",\"tags\":[\"alert\"]}\n"
    );
    assert_eq!(
        ok(&tlog(&s, &["get", "app", "--utc", "-o", "table", "--not", "disk"])),
        "ID  TIME                      TAGS   MESSAGE    ATTRS\n 3  2023-11-14 22:15:00.500Z  alert  recovered\n"
    );
    // -v pretty-prints JSON messages; TZ=UTC makes local time UTC (without the Z).
    let v = ok(&tlog(&s, &["get", "app", "--and", "disk", "alert", "-v"]));
    assert_eq!(v, "2023-11-14 22:14:20.000      2 [disk,alert] {\n  \"disk\": 100,\n  \"ok\": false\n} {\"host\":\"db1\",\"disk\":97}\n");
    // Time bounds: relative, RFC 3339, unix seconds; --limit.
    assert_eq!(ok(&tlog(&s, &["get", "app", "--since", "1h", "-o", "raw"])), "");
    assert_eq!(
        ok(&tlog(&s, &["get", "app", "--since", "2023-11-14T22:14:20Z", "--until", "1700000060", "-o", "jsonl"]))
            .lines()
            .count(),
        1
    );
    assert_eq!(ok(&tlog(&s, &["get", "app", "--limit", "2", "--asc", "-o", "raw"])).lines().count(), 2);
    // Colours only on a terminal or when forced.
    let forced = Command::new(bin())
        .args(["get", "app", "--utc", "--limit", "1"])
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port))
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&forced.stdout).contains("\x1b["), "colour when forced");
    assert!(!ok(&tlog(&s, &["get", "app"])).contains('\x1b'), "no colour when piped");
}

#[test]
fn get_pages_past_the_scan_limit_and_the_page_size() {
    let s = Server::start();
    let mut c = s.conn();
    cmd(&mut c, &["TLOG.LOG", "big", "first", "rare"]).unwrap();
    let mut p = redis::pipe();
    for i in 0..4500 {
        p.cmd("TLOG.LOG").arg("big").arg(format!("m{i}")).arg("common").ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    // 4,500 ids filtered out, beyond the default scan limit of 2,000: nothing is cut short.
    let out = ok(&tlog(&s, &["get", "big", "--not", "common", "-o", "raw"]));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("\"first\""));
    let all = ok(&tlog(&s, &["get", "big", "-o", "jsonl"]));
    assert_eq!(all.lines().count(), 4501);
    let ids: Vec<i64> =
        all.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=4501).rev().collect::<Vec<_>>());
    assert_eq!(ok(&tlog(&s, &["get", "big", "common", "--limit", "2500", "--asc", "-o", "raw"])).lines().count(), 2500);
    assert_eq!(ok(&tlog(&s, &["count", "big", "--not", "common"])), "1\n");
    assert_eq!(ok(&tlog(&s, &["count", "big"])), "4501\n");
}

#[test]
fn log_del_tags_and_purge() {
    let s = Server::start();
    let mut c = s.conn();
    assert_eq!(ok(&tlog(&s, &["log", "shop", "paid", "orders", "eu"])), "1\n");
    assert_eq!(
        ok(&tlog(
            &s,
            &[
                "log",
                "shop",
                r#"{"order":17,"items":[1,2.50]}"#,
                "orders",
                "--json",
                "--ttl",
                "1h",
                "--attr",
                "host=web1",
                "--attr",
                "n=3"
            ]
        )),
        "2\n"
    );
    let raw = text(&cmd(&mut c, &["GET", "shop:msg:2"]).unwrap());
    assert!(
        raw.contains(r#""message":{"order":17,"items":[1,2.50]},"tags":["orders"],"attrs":{"host":"web1","n":3}}"#),
        "{raw}"
    );
    let ttl = int(&cmd(&mut c, &["TTL", "shop:msg:2"]).unwrap());
    assert!((3590..=3600).contains(&ttl), "{ttl}");
    assert_eq!(int(&cmd(&mut c, &["TTL", "shop:msg:1"]).unwrap()), -1);
    // A message that reads like an option is data.
    assert_eq!(ok(&tlog(&s, &["log", "shop", "--", "--json"])), "3\n");
    assert!(text(&cmd(&mut c, &["GET", "shop:msg:3"]).unwrap()).contains(r#""message":"--json""#));

    assert_eq!(
        ok(&tlog(&s, &["tags", "shop", "--utc"]))
            .lines()
            .map(|l| l.split('\t').take(2).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        ["eu 1", "orders 2"]
    );
    let j = ok(&tlog(&s, &["tags", "shop", "--match", "o*", "-o", "jsonl"]));
    assert!(j.starts_with(r#"{"tag":"orders","count":2,"newest_id":2,"newest_ts":""#), "{j}");
    assert_eq!(j.lines().count(), 1);

    assert_eq!(ok(&tlog(&s, &["del", "shop", "1", "99"])), "1\n");
    assert_eq!(ok(&tlog(&s, &["count", "shop"])), "2\n");

    // Purge asks first: not at a terminal, it needs --yes, and nothing is removed.
    let refused = tlog(&s, &["purge", "shop"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--yes"));
    assert_eq!(int(&cmd(&mut c, &["EXISTS", "shop:counter"]).unwrap()), 1);
    let n: i64 = ok(&tlog(&s, &["purge", "shop", "--yes"])).trim().parse().unwrap();
    assert!(n >= 4, "{n}");
    assert_eq!(int(&cmd(&mut c, &["DBSIZE"]).unwrap()), 0);
}

#[test]
fn usage_errors_exit_2_and_server_errors_exit_1_with_the_resp_code() {
    let s = Server::start();
    let mut c = s.conn();
    for args in [
        &["nosuchcommand"][..],
        &["get"],
        &["get", "app", "--since", "yesterday"],
        &["get", "app", "--limit", "x"],
        &["log", "app", "m", "--ttl", "soon"],
        &["log", "app", "m", "--ttl", "0s"],
        &["log", "app", "m", "--attr", "novalue"],
        &["del", "app"],
        &["del", "app", "x"],
        &["tail", "app", "--from", "last"],
        &["get", "app", "-o", "yaml"],
    ] {
        let o = tlog(&s, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("error:"), "{args:?}: {}", stderr(&o));
    }
    cmd(&mut c, &["SET", "bad:flow:__all__", "x"]).unwrap();
    let o = tlog(&s, &["get", "bad"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "error: WRONGTYPE Operation against a key holding the wrong kind of value\n");
    let o = tlog(&s, &["log", "app", "m", "__all__"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "error: ERR tag '__all__' is reserved: every record is in it already\n");
    cmd(&mut c, &["ACL", "SETUSER", "reader", "on", ">pw", "~other:*", "+@all"]).unwrap();
    let o = tlog_url(&format!("redis://reader:pw@127.0.0.1:{}/", s.port), &["get", "app"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: NOPERM "), "{}", stderr(&o));
    // No server: exit 1 too.
    let o = tlog_url("redis://127.0.0.1:1/", &["get", "app"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

/// A `tlog tail -f` process and the lines it prints, read on a thread.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
    errs: mpsc::Receiver<String>,
}

impl Follower {
    fn start(url: &str, args: &[&str]) -> Follower {
        let mut child = Command::new(bin())
            .args(args)
            .env("REDIS_URL", url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tlog tail -f");
        let out = lines_of(child.stdout.take().expect("stdout"));
        let errs = lines_of(child.stderr.take().expect("stderr"));
        Follower { child, lines: out, errs }
    }

    /// The next stderr line, waiting at most `secs`.
    fn err_line(&self, secs: u64) -> String {
        self.errs.recv_timeout(Duration::from_secs(secs)).unwrap_or_else(|_| panic!("no stderr line in {secs}s"))
    }

    /// The ids of the next `n` lines (jsonl), waiting at most 30 s in all.
    fn ids(&self, n: usize) -> Vec<i64> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut ids = Vec::new();
        while ids.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let l =
                self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("only {} of {n} lines: {ids:?}", ids.len()));
            ids.push(serde_json::from_str::<serde_json::Value>(&l).unwrap()["id"].as_i64().unwrap());
        }
        ids
    }

    fn nothing_more(&self) {
        // A record logged after everything else is the next line: nothing in between.
        if let Ok(l) = self.lines.try_recv() {
            panic!("unexpected line {l}");
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tail_catches_up_then_follows_while_another_client_logs() {
    let s = Server::start();
    let url = format!("redis://127.0.0.1:{}/", s.port);
    let mut c = s.conn();
    for i in 0..15 {
        cmd(&mut c, &["TLOG.LOG", "app", &format!("old {i}"), if i % 2 == 0 { "even" } else { "odd" }]).unwrap();
    }
    // Without -f: the newest 10, oldest first; -n; --from.
    let ids = |o: &str| {
        o.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&ok(&tlog(&s, &["tail", "app", "-o", "jsonl"]))), (6..=15).collect::<Vec<_>>());
    assert_eq!(ids(&ok(&tlog(&s, &["tail", "app", "odd", "-n", "3", "-o", "jsonl"]))), [10, 12, 14]);
    assert_eq!(ids(&ok(&tlog(&s, &["tail", "app", "--from", "12", "-o", "jsonl"]))), [13, 14, 15]);
    assert_eq!(ids(&ok(&tlog(&s, &["tail", "app", "--from", "$", "-o", "jsonl"]))), Vec::<i64>::new());

    let f = Follower::start(&url, &["tail", "app", "-f", "-n", "2", "-o", "jsonl"]);
    let odd = Follower::start(&url, &["tail", "app", "odd", "-f", "--from", "$", "--not", "skip", "-o", "jsonl"]);
    assert_eq!(f.ids(2), [14, 15]);
    // `--from $` has resolved its id once it is blocked in TLOG.TAIL: wait for both clients.
    wait_for(10, "the followers block", || {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut c).unwrap();
        info.lines().any(|l| l.trim() == "blocked_clients:2")
    });
    let writer = {
        let mut w = s.conn();
        std::thread::spawn(move || {
            for i in 0..400 {
                let tag = if i % 2 == 0 { "even" } else { "odd" };
                if i % 10 == 1 {
                    cmd(&mut w, &["TLOG.LOG", "app", &format!("new {i}"), tag, "skip"]).unwrap();
                } else {
                    cmd(&mut w, &["TLOG.LOG", "app", &format!("new {i}"), tag]).unwrap();
                }
            }
        })
    };
    assert_eq!(f.ids(400), (16..=415).collect::<Vec<_>>());
    writer.join().unwrap();
    let want: Vec<i64> = (0..400).filter(|i| i % 2 == 1 && i % 10 != 1).map(|i| 16 + i).collect();
    assert_eq!(odd.ids(want.len()), want);
    cmd(&mut c, &["TLOG.LOG", "app", "last", "odd"]).unwrap();
    assert_eq!(f.ids(1), [416]);
    assert_eq!(odd.ids(1), [416]);
    f.nothing_more();
    odd.nothing_more();
}

/// A redis-server on a given port and dir (the harness picks its own port), for a restart.
struct Raw(Child);

impl Raw {
    fn start(port: u16, dir: &std::path::Path) -> Raw {
        let child = Command::new(std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into()))
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir)
            .args(["--logfile", "server2.log", "--loadmodule"])
            .arg(module_path())
            .stdout(Stdio::null())
            .spawn()
            .expect("restart redis-server");
        Raw(child)
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn follow_goes_on_across_a_server_restart_without_missing_or_repeating() {
    let s = Server::start_with(true, &["--appendonly", "yes", "--appendfsync", "always"]);
    let port = s.port;
    let url = format!("redis://127.0.0.1:{port}/");
    let mut c = s.conn();
    for i in 0..5 {
        cmd(&mut c, &["TLOG.LOG", "app", &format!("before {i}")]).unwrap();
    }
    let f = Follower::start(&url, &["tail", "app", "-f", "--from", "0", "-o", "jsonl"]);
    assert_eq!(f.ids(5), [1, 2, 3, 4, 5]);
    let dir = s.kill_hard();
    let _restarted = Raw::start(port, dir.path());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        if let Ok(mut c) = redis::Client::open(url.as_str()).unwrap().get_connection() {
            if cmd(&mut c, &["PING"]).is_ok() {
                break c;
            }
        }
        assert!(Instant::now() < deadline, "the server did not come back");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(int(&cmd(&mut c, &["TLOG.COUNT", "app"]).unwrap()), 5, "the AOF kept the records");
    for i in 0..20 {
        cmd(&mut c, &["TLOG.LOG", "app", &format!("after {i}")]).unwrap();
    }
    assert_eq!(f.ids(20), (6..=25).collect::<Vec<_>>());
    cmd(&mut c, &["TLOG.LOG", "app", "last"]).unwrap();
    assert_eq!(f.ids(1), [26]);
    f.nothing_more();
}

#[test]
fn export_then_import_into_another_prefix_gives_identical_records() {
    let s = Server::start();
    fixture(&s);
    let mut c = s.conn();
    cmd(&mut c, &["TLOG.ADD", "app", "TS", "1700000200", "JSON", "MESSAGE", r#"[1,2.50,"x",null]"#]).unwrap();
    cmd(&mut c, &["TLOG.ADD", "app", "TS", "1700000200", "JSON", "MESSAGE", r#""a json string""#, "q"]).unwrap();
    cmd(&mut c, &["TLOG.ADD", "app", "TS", "1700000300", "MESSAGE", "MESSAGE", "JSON", "TS"]).unwrap();
    cmd(&mut c, &["TLOG.LOG", "app", "tab\there \u{0} nul and é", "x"]).unwrap();
    let export = tlog(&s, &["export", "app"]);
    let exported = ok(&export);
    assert_eq!(exported.lines().count(), 7);
    assert_eq!(stderr(&export).split(" in ").next(), Some("exported 7 records"));
    // Oldest first, as stored.
    let stored: Vec<String> = (1..=7).map(|i| text(&cmd(&mut c, &["GET", &format!("app:msg:{i}")]).unwrap())).collect();
    assert_eq!(exported.lines().collect::<Vec<_>>(), stored);

    let mut import = Command::new(bin())
        .args(["import", "copy", "--batch", "3"])
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    import.stdin.take().unwrap().write_all(exported.as_bytes()).unwrap();
    let out = import.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out).split(" in ").next(), Some("imported 7 records"));
    // The copy is the same records: same ids (a fresh prefix), times, messages, tags, attrs.
    let copied: Vec<String> =
        (1..=7).map(|i| text(&cmd(&mut c, &["GET", &format!("copy:msg:{i}")]).unwrap())).collect();
    assert_eq!(copied, stored);
    let flows = |p: &str| -> Vec<Vec<String>> {
        ["__all__", "disk", "alert", "q", "x", "JSON"]
            .iter()
            .map(|t| redis::cmd("LRANGE").arg(format!("{p}:flow:{t}")).arg(0).arg(-1).query(&mut s.conn()).unwrap())
            .collect()
    };
    assert_eq!(flows("copy"), flows("app"));
    // The jsonl output imports too (RFC 3339 times).
    let jsonl = ok(&tlog(&s, &["get", "app", "--asc", "-o", "jsonl"]));
    let mut import = Command::new(bin())
        .args(["import", "copy2"])
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    import.stdin.take().unwrap().write_all(jsonl.as_bytes()).unwrap();
    assert!(import.wait_with_output().unwrap().status.success());
    let copied2: Vec<String> =
        (1..=7).map(|i| text(&cmd(&mut c, &["GET", &format!("copy2:msg:{i}")]).unwrap())).collect();
    assert_eq!(copied2, stored);

    // An import that fails says where, exits 1, and keeps what came before.
    let mut bad = Command::new(bin())
        .args(["import", "copy"])
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    bad.stdin.take().unwrap().write_all(b"{\"ts\":1600000000,\"message\":\"too old\"}\n").unwrap();
    let out = bad.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: line 1: ERR TS is before the newest record's time"), "{}", stderr(&out));
    let mut junk = Command::new(bin())
        .args(["import", "copy3"])
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    junk.stdin.take().unwrap().write_all(b"not json\n").unwrap();
    let out = junk.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(int(&cmd(&mut c, &["EXISTS", "copy3:counter"]).unwrap()), 0);
}

#[test]
fn cluster_commands_route_by_the_prefix() {
    let nodes: Vec<Server> = (0..3)
        .map(|_| {
            Server::start_with(
                true,
                &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"],
            )
        })
        .collect();
    let addrs: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let out = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-yes"])
        .output()
        .expect("redis-cli --cluster create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in &nodes {
        while !redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut n.conn()).unwrap().contains("cluster_state:ok") {
            assert!(Instant::now() < deadline, "the cluster never became ok");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let url = format!("redis://{}/", addrs[0]);
    let c = |args: &[&str]| {
        let mut a = vec!["--cluster"];
        a.extend_from_slice(args);
        tlog_url(&url, &a)
    };
    let prefixes = ["{app}", "{user:1}", "{user:2}", "{orders}", "{x}", "{y}"];
    for p in prefixes {
        assert_eq!(ok(&c(&["log", p, &format!("hello {p}"), "t"])), "1\n");
        assert_eq!(ok(&c(&["log", p, "second", "t", "--attr", "k=v"])), "2\n");
    }
    for p in prefixes {
        let out = ok(&c(&["get", p, "t", "-o", "raw", "--asc"]));
        assert_eq!(out.lines().count(), 2, "{p}");
        assert!(out.contains(&format!("hello {p}")));
        assert_eq!(ok(&c(&["count", p])), "2\n");
        assert_eq!(ok(&c(&["tail", p, "--from", "1", "-o", "jsonl"])).lines().count(), 1);
        let exported = ok(&c(&["export", p]));
        assert_eq!(exported.lines().count(), 2);
    }
    let used = nodes.iter().filter(|n| int(&cmd(&mut n.conn(), &["DBSIZE"]).unwrap()) > 0).count();
    assert!(used > 1, "the prefixes are on more than one node");
    // Import pipelines its batch to the node of the prefix.
    let exported = ok(&c(&["export", "{app}"]));
    let mut import = Command::new(bin())
        .args(["--cluster", "import", "{copy}"])
        .env("REDIS_URL", &url)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    import.stdin.take().unwrap().write_all(exported.as_bytes()).unwrap();
    let out = import.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(ok(&c(&["export", "{copy}"])), exported);
    let o = c(&["log", "app", "m"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: ERR in cluster mode the prefix needs a hash tag"), "{}", stderr(&o));
}

fn count_of(s: &Server, prefix: &str) -> i64 {
    int(&cmd(&mut s.conn(), &["TLOG.COUNT", prefix]).unwrap())
}

#[test]
fn import_refuses_a_line_that_is_not_a_record_naming_it() {
    let s = Server::start();
    let input = b"{\"id\":1,\"ts\":1700000000,\"message\":\"whole\"}\n{\"id\":2,\"ts\":1700000001,\"message\":\"trunc";
    let o = tlog_in(&s, &["import", "p", "--batch", "1"], input);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("error: line 2: cut off"), "{}", stderr(&o));
    assert_eq!(count_of(&s, "p"), 1);
    for bad in [&b"[1,2]\n"[..], b"\"text\"\n", b"{\"ts\":1,\"message\":\"m\"} trailing\n"] {
        let o = tlog_in(&s, &["import", "q"], bad);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("line 1: not a JSON object of a record"), "{}", stderr(&o));
    }
    assert_eq!(count_of(&s, "q"), 0);
}

#[test]
fn import_accounts_for_every_reply_of_a_batch_with_a_refused_line() {
    let s = Server::start();
    let line = |ts: u64, m: &str| format!("{{\"ts\":{ts},\"message\":\"{m}\"}}\n");
    let input = [line(100, "one"), line(50, "too old"), line(200, "three"), line(300, "four")].concat();
    let o = tlog_in(&s, &["import", "p", "--batch", "3"], input.as_bytes());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("error: line 2: ERR TS is before the newest record's time"), "{err}");
    assert!(err.contains("2 records stored; failed: line 2;"), "{err}");
    assert!(err.contains("--from-line 4"), "{err}");
    assert_eq!(count_of(&s, "p"), 2, "lines 1 and 3 stored, line 4 (next batch) not sent");
    let o = tlog_in(&s, &["import", "p", "--from-line", "4"], input.as_bytes());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("imported 1 records"), "{}", stderr(&o));
    assert_eq!(count_of(&s, "p"), 3);
}

#[test]
fn a_malformed_line_sends_the_good_lines_before_it() {
    let s = Server::start();
    let input = b"{\"ts\":1,\"message\":\"a\"}\n{\"ts\":2,\"message\":\"b\"}\nnot json\n{\"ts\":3,\"message\":\"c\"}\n";
    let o = tlog_in(&s, &["import", "p"], input);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("error: line 3: not a JSON object"), "{}", stderr(&o));
    assert!(stderr(&o).contains("import stopped at line 3: 2 records stored"), "{}", stderr(&o));
    assert_eq!(count_of(&s, "p"), 2);
}

#[test]
fn bytes_that_are_not_utf8_go_out_unchanged() {
    let s = Server::start();
    let mut c = s.conn();
    let stored = b"{\"id\":1,\"ts\":1700000000.000000,\"message\":\"caf\xe9 \xff\",\"tags\":[]}".to_vec();
    run(&mut c, &[b"SET", b"p:msg:1", &stored]).unwrap();
    cmd(&mut c, &["LPUSH", "p:flow:__all__", "1"]).unwrap();
    cmd(&mut c, &["SET", "p:counter", "1"]).unwrap();
    let mut want = stored.clone();
    want.push(b'\n');
    let o = tlog(&s, &["export", "p"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, want);
    let o = tlog(&s, &["get", "p", "-o", "raw"]);
    assert_eq!(o.stdout, want);
    // Imported, the line fails as it is, rather than stored altered.
    let o = tlog_in(&s, &["import", "q"], &want);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("error: line 1: not UTF-8"), "{}", stderr(&o));
    assert_eq!(count_of(&s, "q"), 0);
}

#[test]
fn import_refuses_records_without_time_or_with_odd_tags_and_warns_of_dropped_fields() {
    let s = Server::start();
    let o = tlog_in(&s, &["import", "p"], b"{\"message\":\"no time\",\"tags\":[\"a\"]}\n");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 1: no \"ts\""), "{}", stderr(&o));
    let o = tlog_in(&s, &["import", "p"], b"{\"ts\":1,\"message\":\"m\",\"tags\":[\"a\",7]}\n");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("line 1: \"tags\" [\"a\",7] is not an array of strings"), "{}", stderr(&o));
    assert_eq!(count_of(&s, "p"), 0);
    let input =
        b"{\"ts\":1,\"message\":\"m\",\"host\":\"h\"}\n{\"ts\":2,\"message\":\"n\",\"host\":\"h\",\"attrs\":7}\n";
    let o = tlog_in(&s, &["import", "p"], input);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning: 2 lines had fields a record does not have, not imported: host (2)"), "{err}");
    assert!(err.contains("warning: 1 lines had \"attrs\" that is not an object, not imported"), "{err}");
    assert_eq!(count_of(&s, "p"), 2);
}

#[test]
fn follow_reconnects_when_the_server_stops_answering() {
    let s = Server::start();
    let url = format!("redis://127.0.0.1:{}/", s.port);
    let mut c = s.conn();
    let pid = tlog_info_pid(&mut c);
    for i in 0..3 {
        cmd(&mut c, &["TLOG.LOG", "app", &format!("before {i}")]).unwrap();
    }
    let f = Follower::start(&url, &["tail", "app", "-f", "--from", "0", "-o", "jsonl", "--timeout", "1"]);
    assert_eq!(f.ids(3), [1, 2, 3]);
    let signal = |sig: &str| assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    signal("-STOP");
    let lost = f.err_line(20);
    signal("-CONT");
    assert!(lost.starts_with("tlog: connection lost"), "{lost}");
    for i in 0..5 {
        cmd(&mut c, &["TLOG.LOG", "app", &format!("after {i}")]).unwrap();
    }
    assert_eq!(f.ids(5), [4, 5, 6, 7, 8]);
    let back = f.err_line(20);
    assert!(back.starts_with("tlog: reconnected"), "{back}");
    cmd(&mut c, &["TLOG.LOG", "app", "last"]).unwrap();
    assert_eq!(f.ids(1), [9]);
    f.nothing_more();
}

fn tlog_info_pid(c: &mut redis::Connection) -> String {
    let info: String = redis::cmd("INFO").arg("server").query(c).unwrap();
    info.lines().find_map(|l| l.strip_prefix("process_id:")).unwrap().trim().to_string()
}

#[test]
fn rediss_against_a_server_without_tls_gives_up_within_the_timeout() {
    let s = Server::start();
    let started = Instant::now();
    let mut child = Command::new(bin())
        .args(["get", "app"])
        .env("REDIS_URL", format!("rediss://127.0.0.1:{}/", s.port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > Duration::from_secs(25) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tlog still waits after 25 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    assert!(err.contains("within 10s") && err.contains("TLS"), "{err}");
}

#[test]
fn follow_goes_on_after_a_purge() {
    let s = Server::start();
    let url = format!("redis://127.0.0.1:{}/", s.port);
    let mut c = s.conn();
    for i in 0..5 {
        cmd(&mut c, &["TLOG.LOG", "app", &format!("old {i}")]).unwrap();
    }
    let f = Follower::start(&url, &["tail", "app", "-f", "-n", "5", "-o", "jsonl"]);
    assert_eq!(f.ids(5), [1, 2, 3, 4, 5]);
    cmd(&mut c, &["TLOG.PURGE", "app"]).unwrap();
    cmd(&mut c, &["TLOG.LOG", "app", "new 1"]).unwrap();
    cmd(&mut c, &["TLOG.LOG", "app", "new 2"]).unwrap();
    assert_eq!(f.ids(2), [1, 2]);
    assert!(f.err_line(5).contains("went back from 5 to"));
    cmd(&mut c, &["TLOG.LOG", "app", "new 3"]).unwrap();
    assert_eq!(f.ids(1), [3]);
    f.nothing_more();
}

#[test]
fn a_histogram_has_30_buckets_up_to_until() {
    let s = Server::start();
    let mut c = s.conn();
    cmd(&mut c, &["TLOG.LOG", "app", "now"]).unwrap();
    for args in [&["count", "app", "--bucket", "1m"][..], &["count", "app", "--bucket", "1m", "--until", "3h"]] {
        let out = ok(&tlog(&s, args));
        assert_eq!(out.lines().count(), 31, "{args:?}: {out}");
        assert!(out.lines().last().unwrap().ends_with(" in 30 buckets of 60s"), "{args:?}: {out}");
    }
}

#[test]
fn the_histogram_fits_the_terminal() {
    let s = Server::start();
    cmd(&mut s.conn(), &["TLOG.LOG", "app", "now"]).unwrap();
    let o = Command::new("script")
        .args(["-qec", &format!("stty rows 24 cols 50; {} count app --bucket 1m", bin()), "/dev/null"])
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port))
        .env_remove("COLUMNS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let widest = out.lines().map(|l| l.trim_end_matches('\r').chars().count()).max().unwrap_or(0);
    assert!(out.contains('█'), "{out}");
    assert!((40..=50).contains(&widest), "{widest}: {out}");
    // $COLUMNS wins; 80 when not a terminal.
    let mut cmd80 = Command::new(bin());
    cmd80.args(["count", "app", "--bucket", "1m"]).env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port));
    let w = |o: Output| String::from_utf8(o.stdout).unwrap().lines().map(|l| l.chars().count()).max().unwrap();
    assert_eq!(w(cmd80.env_remove("COLUMNS").output().unwrap()), 80);
    assert_eq!(w(cmd80.env("COLUMNS", "60").output().unwrap()), 60);
}

#[test]
fn control_characters_are_escaped_for_people_and_kept_in_jsonl_and_raw() {
    let s = Server::start();
    let mut c = s.conn();
    cmd(&mut c, &["TLOG.ADD", "app", "TS", "1700000000", "MESSAGE", "a\nb\r\x1b[31mred\x07\tend", "t\x1bx"]).unwrap();
    assert_eq!(
        ok(&tlog(&s, &["get", "app", "--utc"])),
        "2023-11-14 22:13:20.000Z      1 [t\\x1bx] a\\nb\\r\\x1b[31mred\\x07\\tend\n"
    );
    assert_eq!(
        ok(&tlog(&s, &["get", "app", "--utc", "-o", "table"])),
        "ID  TIME                      TAGS    MESSAGE                     ATTRS\n \
         1  2023-11-14 22:13:20.000Z  t\\x1bx  a\\nb\\r\\x1b[31mred\\x07\\tend\n"
    );
    assert_eq!(
        ok(&tlog(&s, &["get", "app", "-o", "jsonl"])),
        "{\"id\":1,\"ts\":\"2023-11-14T22:13:20.000000Z\",\"message\":\"a\\nb\\r\\u001b[31mred\\u0007\\tend\",\"tags\":[\"t\\u001bx\"],\"attrs\":null}\n"
    );
    let raw = ok(&tlog(&s, &["get", "app", "-o", "raw"]));
    assert_eq!(raw.trim_end(), text(&cmd(&mut c, &["GET", "app:msg:1"]).unwrap()));
}

#[test]
fn durations_must_be_whole_seconds_and_attrs_are_taken_as_written() {
    let s = Server::start();
    let mut c = s.conn();
    for args in [
        &["log", "app", "m", "--ttl", "1.5s"][..],
        &["log", "app", "m", "--ttl", "500ms"],
        &["count", "app", "--bucket", "0.5s"],
        &["log", "app", "m", "--attr", "k=1", "--attr", "k=2"],
    ] {
        let o = tlog(&s, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(int(&cmd(&mut c, &["EXISTS", "app:counter"]).unwrap()), 0);
    assert_eq!(ok(&tlog(&s, &["log", "app", "m", "--attr", "s= 5 ", "--attr", "n=5"])), "1\n");
    let raw = text(&cmd(&mut c, &["GET", "app:msg:1"]).unwrap());
    assert!(raw.contains(r#""attrs":{"s":" 5 ","n":5}"#), "{raw}");
}

#[test]
fn help_hides_the_password_and_errors_keep_the_servers_code() {
    let s = Server::start();
    let mut c = s.conn();
    let help = tlog_url("redis://u:sekrit@127.0.0.1:1/", &["--help"]);
    assert!(help.status.success());
    assert!(!String::from_utf8_lossy(&help.stdout).contains("sekrit"));
    cmd(&mut c, &["ACL", "SETUSER", "u", "on", ">right", "+@all", "~*"]).unwrap();
    let o = tlog_url(&format!("redis://u:wrong@127.0.0.1:{}/", s.port), &["count", "app"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: WRONGPASS "), "{}", stderr(&o));
    assert_eq!(ok(&tlog_url(&format!("redis://u:right@127.0.0.1:{}/", s.port), &["count", "app"])), "0\n");
    let o = tlog_url("http://u:sekrit@127.0.0.1:1/", &["count", "app"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error: invalid URL"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("sekrit"), "{}", stderr(&o));
    // export writes records as stored: -o is refused rather than ignored.
    let o = tlog(&s, &["export", "app", "-o", "jsonl"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

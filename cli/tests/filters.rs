//! `--where`, `--match` and `count --bucket` against the server's WHERE, MATCH and BUCKET.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::process::{Command, Output, Stdio};

use common::*;

fn tlog(s: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tlog"))
        .args(args)
        .env("REDIS_URL", format!("redis://127.0.0.1:{}/", s.port))
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .expect("run tlog")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "tlog failed ({}): {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).expect("utf-8 output")
}

fn ids(out: &str) -> Vec<i64> {
    out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_i64().unwrap()).collect()
}

fn fixture(s: &Server) {
    let mut c = s.conn();
    for (ts, attrs, msg, tag) in [
        ("1700000000", r#"{"level":"warn","user":7}"#, "disk 91% full", "db"),
        ("1700000030", r#"{"level":"info","user":8}"#, "login ok", "auth"),
        ("1700000090", r#"{"level":"warn","user":7}"#, "login failed", "auth"),
        ("1700000400", r#"{"level":"warn","user":9}"#, "disk 95% full", "db"),
    ] {
        cmd(&mut c, &["TLOG.ADD", "shop", "TS", ts, "ATTRS", attrs, "MESSAGE", msg, tag]).unwrap();
    }
}

#[test]
fn where_and_match_filter_get_tail_count_and_export() {
    let s = Server::start();
    fixture(&s);
    assert_eq!(ids(&ok(&tlog(&s, &["get", "shop", "--where", "user=7", "-o", "jsonl"]))), [3, 1]);
    assert_eq!(ids(&ok(&tlog(&s, &["get", "shop", "--where", "level=warn", "--where", "user=9", "-o", "jsonl"]))), [4]);
    assert_eq!(ids(&ok(&tlog(&s, &["get", "shop", "--match", "login*", "-o", "jsonl"]))), [3, 2]);
    assert_eq!(ids(&ok(&tlog(&s, &["get", "shop", "db", "--match", "disk*", "--asc", "-o", "jsonl"]))), [1, 4]);
    assert_eq!(
        ids(&ok(&tlog(&s, &["tail", "shop", "--from", "0", "--where", "level=warn", "-o", "jsonl"]))),
        [1, 3, 4]
    );
    assert_eq!(ok(&tlog(&s, &["count", "shop", "--where", "user=7"])), "2\n");
    assert_eq!(ok(&tlog(&s, &["count", "shop", "auth", "--match", "*failed"])), "1\n");
    assert_eq!(ok(&tlog(&s, &["export", "shop", "--where", "user=7"])).lines().count(), 2);
}

#[test]
fn count_bucket_gives_the_servers_buckets_as_a_histogram() {
    let s = Server::start();
    fixture(&s);
    let mut c = s.conn();
    let server =
        cmd(&mut c, &["TLOG.COUNT", "shop", "__all__", "SINCE", "1700000000", "UNTIL", "1700000599", "BUCKET", "300"])
            .unwrap();
    let want: Vec<(i64, i64)> = array(&server).iter().map(|p| (int(&array(p)[0]), int(&array(p)[1]))).collect();
    let out = ok(&tlog(
        &s,
        &["count", "shop", "--since", "1700000000", "--until", "1700000599", "--bucket", "5m", "-o", "jsonl"],
    ));
    let got: Vec<(i64, i64)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["start"].as_i64().unwrap(), v["count"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got, [(1699999800, 3), (1700000100, 0), (1700000400, 1)]);
    // The chart: one line a bucket, the fullest bar the widest, then the total.
    let chart =
        ok(&tlog(&s, &["count", "shop", "--since", "1700000000", "--until", "1700000599", "--bucket", "5m", "--utc"]));
    let lines: Vec<&str> = chart.lines().collect();
    assert_eq!(lines.len(), 4, "{chart}");
    assert!(lines[0].starts_with("2023-11-14 22:10:00.000Z  3  █"), "{chart}");
    assert_eq!(lines[1], "2023-11-14 22:15:00.000Z  0");
    assert!(lines[2].starts_with("2023-11-14 22:20:00.000Z  1  █"), "{chart}");
    assert!(lines[0].matches('█').count() > lines[2].matches('█').count());
    assert_eq!(lines[3], "4 records in 3 buckets of 300s");
    // Filters and the bucket together.
    let out = ok(&tlog(
        &s,
        &[
            "count",
            "shop",
            "--where",
            "level=warn",
            "--since",
            "1700000000",
            "--until",
            "1700000599",
            "--bucket",
            "5m",
            "-o",
            "jsonl",
        ],
    ));
    assert_eq!(
        out,
        "{\"start\":1699999800,\"seconds\":300,\"count\":2}\n{\"start\":1700000100,\"seconds\":300,\"count\":0}\n{\"start\":1700000400,\"seconds\":300,\"count\":1}\n"
    );
}

//! TLOG.DEL: records leave every flow they are in, all or nothing, replicated.

mod common;

use std::time::Duration;

use common::*;
use redis::Commands;

#[test]
fn del_removes_records_from_every_flow_and_counts_what_existed() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "one", "a", "b"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "two", "a"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "three", "b"]).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "p", "1", "99", "1"]).unwrap()), 1);
    assert_eq!(con.lrange::<_, Vec<i64>>("p:flow:__all__", 0, -1).unwrap(), vec![3, 2]);
    assert_eq!(con.lrange::<_, Vec<i64>>("p:flow:a", 0, -1).unwrap(), vec![2]);
    assert_eq!(con.lrange::<_, Vec<i64>>("p:flow:b", 0, -1).unwrap(), vec![3]);
    assert!(!con.exists::<_, bool>("p:msg:1").unwrap());
    // The last id of a flow takes the flow with it.
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "p", "3"]).unwrap()), 1);
    assert!(!con.exists::<_, bool>("p:flow:b").unwrap());
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "p", "3"]).unwrap()), 0);
    // Ids keep growing: a deleted id is never reused.
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "four"]).unwrap()), 4);
    assert_eq!(err_of(cmd(&mut con, &["TLOG.DEL", "p", "x"])), "ERR TLOG.DEL needs record ids (positive integers)");
    assert_eq!(err_of(cmd(&mut con, &["TLOG.DEL", "p"])), "ERR wrong number of arguments for 'tlog.del' command");
}

#[test]
fn del_checks_everything_before_deleting_anything() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "p", "one", "a"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "two", "z"]).unwrap();
    let _: () = con.del("p:flow:z").unwrap();
    let _: () = con.set("p:flow:z", "not a list").unwrap();
    let before = s.digest();
    assert!(err_of(cmd(&mut con, &["TLOG.DEL", "p", "1", "2"])).starts_with("WRONGTYPE"));
    assert_eq!(s.digest(), before);

    let _: () = redis::cmd("ACL").arg("SETUSER").arg("u").arg("on").arg(">pw").arg("+@all").arg("~p:msg:*").arg("~p:flow:__all__").query(&mut con).unwrap();
    let mut u = redis::Client::open(format!("redis://u:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    assert_eq!(err_of(cmd(&mut u, &["TLOG.DEL", "p", "1"])), "NOPERM this user has no permissions to write the 'p:flow:a' key");
    assert_eq!(s.digest(), before);
}

#[test]
fn a_replica_follows_deletions() {
    let master = Server::start();
    let replica = Server::replica_of(&master, false);
    let mut con = master.conn();
    for i in 0..20 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}"), &format!("t{}", i % 3), "all"]).unwrap();
    }
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "p", "2", "5", "8", "20"]).unwrap()), 4);
    let _: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(master.digest(), replica.digest());
}

#[test]
fn a_record_with_ttl_expires_at_the_same_millisecond_everywhere() {
    let master = Server::start_with(true, &["--appendonly", "yes"]);
    let replica = Server::replica_of(&master, false);
    let mut con = master.conn();
    let id = int(&cmd(&mut con, &["TLOG.ADD", "p", "TTL", "1", "MESSAGE", "short-lived", "t"]).unwrap());
    cmd(&mut con, &["TLOG.ADD", "p", "TTL", "3600", "MESSAGE", "long-lived", "t"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "forever", "t"]).unwrap();
    let raw: String = con.get(format!("p:msg:{id}")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let ts_ms = (v["ts"].as_f64().unwrap() * 1000.0).floor() as i64;
    let at: i64 = redis::cmd("PEXPIRETIME").arg(format!("p:msg:{id}")).query(&mut con).unwrap();
    assert_eq!(at, ts_ms + 1000);
    let _: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(master.digest(), replica.digest());
    let before = master.digest();
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).unwrap();
    assert_eq!(master.digest(), before);
    std::thread::sleep(Duration::from_millis(1100));
    let msgs: Vec<String> = array(&cmd(&mut con, &["TLOG.GET", "p", "t"]).unwrap()).iter().map(|r| text(&field(r, "message"))).collect();
    assert_eq!(msgs, ["forever", "long-lived"]);
    assert_eq!(err_of(cmd(&mut con, &["TLOG.ADD", "p", "TTL", "0", "MESSAGE", "m"])), "ERR TTL needs seconds from 1 to 3153600000 (100 years)");
}

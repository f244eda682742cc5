//! Writes to a prefix while a TLOG.PURGE of it runs in slices are refused, writes to other
//! prefixes are not, and the prefix takes writes again once the purge has replied.

mod common;

use common::*;

#[test]
fn writes_to_a_prefix_wait_for_its_purge_to_end() {
    let server = Server::start();
    let mut con = server.conn();
    for i in 0..20 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}"), "t"]).unwrap();
    }
    // Keys of no prefix, so that the purge's SCAN takes many slices.
    cmd(&mut con, &["DEBUG", "POPULATE", "200000", "other"]).unwrap();

    let mut purger = server.conn();
    let purge = std::thread::spawn(move || int(&cmd(&mut purger, &["TLOG.PURGE", "p"]).unwrap()));
    wait_for(10, "the purge to run", || tlog_info(&mut con).get("purges_running").copied() == Some(1));

    let refused = err_of(cmd(&mut con, &["TLOG.LOG", "p", "during"]));
    assert_eq!(refused, "ERR TLOG.PURGE of this prefix is running; write again once it has returned");
    let refused = err_of(cmd(&mut con, &["TLOG.ADD", "p", "MESSAGE", "during"]));
    assert!(refused.starts_with("ERR TLOG.PURGE of this prefix is running"), "{refused}");
    // Other prefixes are written meanwhile.
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "q", "during"]).unwrap()), 1);

    // 20 records, `__all__`, the flow of `t` and the counter.
    assert_eq!(purge.join().unwrap(), 23);
    assert_eq!(tlog_info(&mut con).get("purges_running").copied(), Some(0));
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "after"]).unwrap()), 1);
}

/// A server with records of `p` and enough other keys that a purge of `p` takes many slices.
fn busy_server() -> (Server, redis::Connection) {
    let server = Server::start();
    let mut con = server.conn();
    for i in 0..20 {
        cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}"), "t"]).unwrap();
    }
    cmd(&mut con, &["DEBUG", "POPULATE", "200000", "other"]).unwrap();
    (server, con)
}

fn start_purge(server: &Server) -> std::thread::JoinHandle<redis::RedisResult<redis::Value>> {
    let mut purger = server.conn();
    std::thread::spawn(move || cmd(&mut purger, &["TLOG.PURGE", "p"]))
}

fn refused(con: &mut redis::Connection) -> bool {
    err_of(cmd(con, &["TLOG.LOG", "p", "during"])).starts_with("ERR TLOG.PURGE of this prefix is running")
}

#[test]
fn a_purge_stopped_by_swapdb_lets_writes_in_again() {
    let (server, mut con) = busy_server();
    let purge = start_purge(&server);
    wait_for(10, "the purge to run", || tlog_info(&mut con)["purges_running"] == 1);
    assert!(refused(&mut con));
    cmd(&mut con, &["SWAPDB", "0", "1"]).unwrap();
    let stopped = err_of(purge.join().unwrap());
    assert!(stopped.starts_with("ERR TLOG.PURGE stopped after"), "{stopped}");
    assert_eq!(tlog_info(&mut con)["purges_running"], 0);
    cmd(&mut con, &["TLOG.LOG", "p", "after"]).unwrap();
    cmd(&mut con, &["SWAPDB", "0", "1"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "p", "after"]).unwrap();
}

#[test]
fn a_purge_stopped_by_replicaof_lets_writes_in_once_a_master_again() {
    let (server, mut con) = busy_server();
    let master = Server::start();
    let purge = start_purge(&server);
    wait_for(10, "the purge to run", || tlog_info(&mut con)["purges_running"] == 1);
    assert!(refused(&mut con));
    cmd(&mut con, &["REPLICAOF", "127.0.0.1", &master.port.to_string()]).unwrap();
    // The server itself may answer the blocked client first.
    let stopped = err_of(purge.join().unwrap());
    assert!(stopped.starts_with("ERR TLOG.PURGE stopped after") || stopped.starts_with("UNBLOCKED"), "{stopped}");
    cmd(&mut con, &["REPLICAOF", "NO", "ONE"]).unwrap();
    assert_eq!(tlog_info(&mut con)["purges_running"], 0);
    cmd(&mut con, &["TLOG.LOG", "p", "after"]).unwrap();
}

#[test]
fn two_purges_of_one_prefix_refuse_writes_until_both_end() {
    let (server, mut con) = busy_server();
    let first = start_purge(&server);
    let second = start_purge(&server);
    wait_for(10, "both purges to run", || tlog_info(&mut con)["purges_running"] == 2);
    assert!(refused(&mut con));
    let counts = [int(&first.join().unwrap().unwrap()), int(&second.join().unwrap().unwrap())];
    // The first removes the 23 keys; the second, started meanwhile, those left to it.
    assert_eq!(counts.iter().sum::<i64>(), 23, "{counts:?}");
    assert_eq!(tlog_info(&mut con)["purges_running"], 0);
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "p", "after"]).unwrap()), 1);
}

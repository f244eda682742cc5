//! tlog changes only keys it can show are the prefix's: names alone prove nothing. The
//! cleaner's remembered flows, lists named like flows that are none, strings at a record's
//! name that are not records, and TLOG.PURGE, TLOG.DEL and the limits in front of them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use redis::{Commands, Connection};

/// Polls `f` until it returns true, for at most `secs` seconds.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "not reached in {secs} s: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the cleaner has finished `n` more full SCAN passes over every database.
fn scan_cycles(con: &mut Connection, n: u64) {
    let start = tlog_info(con)["cleaner_scan_cycles"];
    eventually(30, &format!("{n} more SCAN cycles"), || tlog_info(con)["cleaner_scan_cycles"] >= start + n);
}

fn list(con: &mut Connection, key: &str) -> Vec<String> {
    con.lrange(key, 0, -1).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_key_starting_with_colon_flow_is_no_flow_of_the_empty_prefix() {
    let s = Server::start();
    let mut con = s.conn();
    // The empty prefix in use: its flows are `flow:<tag>`, with a remembered TTL tag `queue`
    // and a record 2 that lists `jobs`.
    cmd(&mut con, &["TLOG.ADD", "", "TTL", "1000", "MESSAGE", "m", "queue"]).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "", "m2", "jobs"]).unwrap()), 2);
    // Other clients' lists `:flow:<x>`: no prefix tlog accepts has them as flows.
    let _: () = con.rpush(":flow:queue", &["a", "b", "c", "7", "8", "9"]).unwrap();
    let _: () = con.rpush(":flow:jobs", &["2", "100", "101"]).unwrap();
    // In another database, so that it is the only `__all__` there.
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    let _: () = con.rpush(":flow:__all__", &["5", "6"]).unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    scan_cycles(&mut con, 2);
    assert_eq!(list(&mut con, ":flow:queue"), strings(&["a", "b", "c", "7", "8", "9"]));
    assert_eq!(list(&mut con, ":flow:jobs"), strings(&["2", "100", "101"]));
    // Only the empty prefix of database 0 is known: `:flow:__all__` named no prefix.
    assert_eq!(tlog_info(&mut con)["cleaner_prefixes"], 1);
    assert_eq!(tlog_info(&mut con)["dead_ids_trimmed"], 0);
}

#[test]
fn a_remembered_flow_is_forgotten_once_the_cleaner_finds_it_gone() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.ADD", "", "TTL", "1", "MESSAGE", "m", "q2"]).unwrap();
    cmd(&mut con, &["TLOG.ADD", "w", "TTL", "1", "MESSAGE", "m"]).unwrap();
    eventually(15, "the expired records' flows are removed", || {
        !con.exists::<_, bool>("flow:q2").unwrap()
            && !con.exists::<_, bool>("flow:__all__").unwrap()
            && !con.exists::<_, bool>("w:flow:__all__").unwrap()
    });
    // Other clients now use the names. Nothing in the lists shows them to be tlog's.
    let _: () = con.rpush("flow:q2", &["7", "8", "9", "x"]).unwrap();
    let _: () = con.rpush("w:flow:__all__", &["7", "8", "9"]).unwrap();
    // Another record of the empty prefix expires, so the cleaner sweeps the flows of the
    // tags it remembers, and its SCAN passes every key twice.
    cmd(&mut con, &["TLOG.ADD", "", "TTL", "1", "MESSAGE", "m", "other"]).unwrap();
    eventually(15, "the second record's flow is removed", || !con.exists::<_, bool>("flow:other").unwrap());
    scan_cycles(&mut con, 2);
    assert_eq!(list(&mut con, "flow:q2"), strings(&["7", "8", "9", "x"]));
    assert_eq!(list(&mut con, "w:flow:__all__"), strings(&["7", "8", "9"]));
}

#[test]
fn every_written_tag_is_remembered_but_not_for_entries_that_are_no_ids() {
    let s = Server::start();
    let mut con = s.conn();
    for prefix in ["p3", "p4"] {
        for i in 1..=3 {
            cmd(&mut con, &["TLOG.LOG", prefix, &format!("m{i}"), "t"]).unwrap();
        }
    }
    // Another client pushes an entry that is no id at the oldest end of `p4:flow:t`, then
    // deletes every record of both prefixes: no flow shows by its contents whose it is.
    let _: () = con.rpush("p4:flow:t", "junk").unwrap();
    for prefix in ["p3", "p4"] {
        let _: () =
            con.del(&[format!("{prefix}:msg:1"), format!("{prefix}:msg:2"), format!("{prefix}:msg:3")]).unwrap();
    }
    // This server wrote the flows of `t` (without a TTL): it removes their dead ids ...
    eventually(15, "the dead ids of p3 are removed", || {
        !con.exists::<_, bool>("p3:flow:__all__").unwrap() && !con.exists::<_, bool>("p3:flow:t").unwrap()
    });
    eventually(15, "p4's `__all__` is emptied", || !con.exists::<_, bool>("p4:flow:__all__").unwrap());
    // ... but not an entry that is no id, which only the contents could show to be tlog's: it
    // stops the trimming where it is.
    scan_cycles(&mut con, 2);
    assert_eq!(list(&mut con, "p4:flow:t"), strings(&["3", "2", "1", "junk"]));
}

#[test]
fn flows_shown_while_their_records_live_stay_known_after_a_failover() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 1..=3 {
        cmd(&mut con, &["TLOG.LOG", "p2", &format!("m{i}"), "sess"]).unwrap();
    }
    // The server becomes a replica (of a server that is not there) and a master again, as in
    // a failover: it no longer remembers what it wrote.
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _: () = redis::cmd("REPLICAOF").arg("127.0.0.1").arg(dead_port).query(&mut con).unwrap();
    let _: () = redis::cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut con).unwrap();
    // Its SCAN passes the flows while their records live, and their contents show them.
    scan_cycles(&mut con, 2);
    // Then every record goes at once (expired, or deleted by another client): the flows'
    // contents no longer show anything, but the cleaner remembers them.
    let _: () = con.del(&["p2:msg:1", "p2:msg:2", "p2:msg:3"]).unwrap();
    eventually(15, "the flows of dead ids are removed", || {
        !con.exists::<_, bool>("p2:flow:__all__").unwrap() && !con.exists::<_, bool>("p2:flow:sess").unwrap()
    });
}

#[test]
fn a_flow_is_shown_by_its_oldest_live_id_when_its_newest_ids_are_dead() {
    let s = Server::start();
    let mut con = s.conn();
    // Records 1 to 20 of `p`, all tagged `t`, written by another client (this server remembers
    // none of its flows).
    plain_prefix(&mut con, "p", &(1..=20).collect::<Vec<_>>());
    // The 16 newest and the oldest are deleted: only records 2 to 4 remain, and the oldest live
    // id, 2, is all that shows that the lists are flows of `p`.
    for id in std::iter::once(1).chain(5..=20) {
        let _: () = con.del(format!("p:msg:{id}")).unwrap();
    }
    let want: Vec<i64> = (2..=20).rev().collect();
    eventually(15, "the dead id at the oldest end is removed", || {
        con.lrange::<_, Vec<i64>>("p:flow:__all__", 0, -1).unwrap() == want
            && con.lrange::<_, Vec<i64>>("p:flow:t", 0, -1).unwrap() == want
    });
}

#[test]
fn strings_at_a_records_name_are_records_only_if_they_hold_their_id() {
    let s = Server::start_with(true, &["max-records", "5"]);
    let mut con = s.conn();
    // By name, a prefix `y` of 8 records tagged `t` (max-records 5 would remove 3), but each
    // `y:msg:<i>` holds the JSON of another id: none is a record of `y`.
    for i in 1..=8 {
        let _: () = con
            .set(format!("y:msg:{i}"), format!(r#"{{"id":{},"ts":1.5,"message":"m","tags":["t"]}}"#, 100 + i))
            .unwrap();
        let _: () = con.lpush("y:flow:__all__", i).unwrap();
        let _: () = con.lpush("y:flow:t", i).unwrap();
    }
    let before = dump(&mut con, "y:*");
    scan_cycles(&mut con, 2);
    assert_eq!(dump(&mut con, "y:*"), before);
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "y", "3"]).unwrap()), 0);
    assert_eq!(dump(&mut con, "y:*"), before);
    let stats = tlog_info(&mut con);
    assert_eq!(
        (stats["records_evicted"], stats["records_expired"], stats["dead_ids_trimmed"], stats["records_deleted"]),
        (0, 0, 0, 0)
    );

    // The empty prefix in use, and another application's string `msg:999`.
    cmd(&mut con, &["TLOG.LOG", "", "m", "t"]).unwrap();
    let _: () = con.set("msg:999", "some app string").unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "", "999"]).unwrap()), 0);
    assert_eq!(con.get::<_, String>("msg:999").unwrap(), "some app string");

    // A limit on a write takes an id whose key is not a record for a dead id: the id leaves
    // `__all__`, the key stays, and nothing counts as evicted or archived.
    let _: () = con.set("x:msg:1", r#"{"id":7,"ts":1.5,"message":"not x's record 1","tags":["t"]}"#).unwrap();
    let _: () = con.lpush("x:flow:__all__", 1).unwrap();
    let _: () = con.lpush("x:flow:t", 1).unwrap();
    let _: () = con.set("x:counter", 1).unwrap();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("tlog.archive").arg("yes").query(&mut con).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.ADD", "x", "MAXLEN", "1", "MESSAGE", "m", "u"]).unwrap()), 2);
    assert_eq!(con.lrange::<_, Vec<i64>>("x:flow:__all__", 0, -1).unwrap(), vec![2]);
    assert_eq!(
        con.get::<_, String>("x:msg:1").unwrap(),
        r#"{"id":7,"ts":1.5,"message":"not x's record 1","tags":["t"]}"#
    );
    assert!(!con.exists::<_, bool>("x:archive").unwrap());
    let stats = tlog_info(&mut con);
    assert_eq!((stats["records_evicted"], stats["records_archived"], stats["records_expired"]), (0, 0, 1));
}

#[test]
fn purge_removes_only_what_it_can_show_is_the_prefixs() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 1..=3 {
        cmd(&mut con, &["TLOG.LOG", "", &format!("m{i}"), "t"]).unwrap();
    }
    // Other applications' keys named like keys of the empty prefix.
    let _: () = con.rpush("flow:foreignq", &["j1", "j2"]).unwrap();
    let _: () = con.rpush("flow:other", &["7", "8"]).unwrap();
    let _: () = con.set("msg:999", "some app string").unwrap();
    let _: () = con.set("msg:998", r#"{"id":5,"message":"another id"}"#).unwrap();
    let foreign = |con: &mut Connection| -> Vec<(String, Vec<u8>)> {
        ["flow:foreignq", "flow:other", "msg:999", "msg:998"].iter().flat_map(|k| dump(con, k)).collect()
    };
    let before = foreign(&mut con);
    assert_eq!(before.len(), 4);
    // The counter, three records, `__all__` and the flow of `t`.
    assert_eq!(int(&cmd(&mut con, &["TLOG.PURGE", ""]).unwrap()), 6);
    assert_eq!(foreign(&mut con), before);
    let mut left: Vec<String> = con.keys("*").unwrap();
    left.sort();
    assert_eq!(left, strings(&["flow:foreignq", "flow:other", "msg:998", "msg:999"]));

    // After a restart (a reload here) the server remembers nothing: the flows are shown by
    // their contents, looked at before any record is removed, whatever order the SCAN takes.
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("TLOG.LOG").arg("big").arg(format!("m{i}")).arg(format!("t{}", i % 7)).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let _: () = redis::cmd("DEBUG").arg("RELOAD").query(&mut con).unwrap();
    // 500 records, the counter, `__all__` and 7 tag flows.
    assert_eq!(int(&cmd(&mut con, &["TLOG.PURGE", "big"]).unwrap()), 509);
    assert!(con.keys::<_, Vec<String>>("big:*").unwrap().is_empty());
}

#[test]
fn a_write_refused_by_its_limits_shows_nothing_of_the_prefix() {
    let s = Server::start();
    let mut con = s.conn();
    // Another client's list `z:flow:__all__`, of ids of no record.
    let _: () = con.rpush("z:flow:__all__", &["3", "2", "1"]).unwrap();
    // A user who may write the keys of a new record of `z` but not read record 1, which the
    // limit would look at: TLOG.ADD ... MAXLEN is refused, and nothing is written.
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("w")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("~z:counter")
        .arg("~z:flow:*")
        .arg("~z:msg:4")
        .query(&mut con)
        .unwrap();
    let mut w = redis::Client::open(format!("redis://w:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    assert_eq!(
        err_of(cmd(&mut w, &["TLOG.ADD", "z", "MAXLEN", "1", "MESSAGE", "m"])),
        "NOPERM this user has no permissions to write the 'z:msg:1' key"
    );
    // The refused write taught the cleaner nothing: the list stays as it was.
    scan_cycles(&mut con, 2);
    assert_eq!(list(&mut con, "z:flow:__all__"), strings(&["3", "2", "1"]));
}

#[test]
fn lists_that_show_nothing_do_not_hold_the_cleaner_up() {
    let s = Server::start();
    let mut con = s.conn();
    // 2000 other clients' lists named like the flow of every record of 2000 prefixes: none is
    // shown to be one, and each is looked at once, not at every visit.
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("RPUSH").arg(format!("x{i}:flow:__all__")).arg(&[1, 2, 3]).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    // A prefix written by another client, whose oldest record is then deleted: only the SCAN
    // finds its flow of `t`.
    plain_prefix(&mut con, "p", &[1, 2, 3]);
    let _: () = con.del("p:msg:1").unwrap();
    // The SCAN keeps going however many prefixes it has found, and the dead id goes.
    scan_cycles(&mut con, 2);
    assert_eq!(con.lrange::<_, Vec<i64>>("p:flow:t", 0, -1).unwrap(), vec![3, 2]);
    assert_eq!(con.lrange::<_, Vec<i64>>("p:flow:__all__", 0, -1).unwrap(), vec![3, 2]);
    assert_eq!(con.lrange::<_, Vec<i64>>("x1999:flow:__all__", 0, -1).unwrap(), vec![1, 2, 3]);
}

fn encoding(con: &mut Connection, key: &str) -> String {
    redis::cmd("OBJECT").arg("ENCODING").arg(key).query(con).unwrap()
}

/// Looking at a key is no change to it: a string at a flow's name, which tlog only probes for
/// its type, keeps its encoding through reads, TLOG.TAGS, TLOG.PURGE, refused writes and the
/// cleaner, on the master and on a replica.
#[test]
fn probing_a_string_at_a_flows_name_leaves_its_encoding_alone() {
    let master = Server::start();
    let replica = Server::replica_of(&master, true);
    let mut con = master.conn();
    cmd(&mut con, &["TLOG.LOG", "app", "m", "t"]).unwrap();
    cmd(&mut con, &["TLOG.LOG", "legacy", "m", "t"]).unwrap();
    // Other clients' strings, int and embstr encoded, at names of flows.
    let foreign = [
        ("legacy:flow:__all__", "42"),
        ("app:flow:x", "7"),
        ("app:flow:y", "some short text"),
        ("gone:flow:__all__", "12345678"),
        ("gone:flow:z", "text"),
    ];
    for (k, v) in foreign {
        let _: () = con.set(k, v).unwrap();
    }
    let before: Vec<String> = foreign.iter().map(|(k, _)| encoding(&mut con, k)).collect();
    assert_eq!(before, ["int", "int", "embstr", "int", "embstr"]);
    let _: () = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();

    for c in [&master, &replica] {
        let mut c = c.conn();
        for tag in ["x", "y"] {
            for command in ["TLOG.GET", "TLOG.LATEST", "TLOG.COUNT"] {
                assert!(err_of(cmd(&mut c, &[command, "app", tag])).starts_with("WRONGTYPE"), "{command} {tag}");
            }
        }
        assert!(err_of(cmd(&mut c, &["TLOG.GET", "legacy"])).starts_with("WRONGTYPE"));
        assert!(err_of(cmd(&mut c, &["TLOG.GET", "gone", "z"])).starts_with("WRONGTYPE"));
        cmd(&mut c, &["TLOG.TAGS", "app", "0"]).unwrap();
        cmd(&mut c, &["TLOG.TAGS", "gone", "0"]).unwrap();
    }
    assert!(err_of(cmd(&mut con, &["TLOG.LOG", "app", "m", "x"])).starts_with("WRONGTYPE"));
    assert!(err_of(cmd(&mut con, &["TLOG.LOG", "legacy", "m"])).starts_with("WRONGTYPE"));
    cmd(&mut con, &["TLOG.PURGE", "app"]).unwrap();
    cmd(&mut con, &["TLOG.PURGE", "gone"]).unwrap();
    scan_cycles(&mut con, 2);
    let _: () = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();

    for c in [&master, &replica] {
        let mut c = c.conn();
        let after: Vec<String> = foreign.iter().map(|(k, _)| encoding(&mut c, k)).collect();
        assert_eq!(after, before);
        for (k, v) in foreign {
            assert_eq!(c.get::<_, String>(k).unwrap(), v);
        }
    }
    assert_eq!(master.digest(), replica.digest());
}

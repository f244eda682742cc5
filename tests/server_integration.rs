//! Replication, AOF, ACL, WATCH and keyspace notifications, against real servers.

mod common;

use std::time::{Duration, Instant};

use common::*;
use redis::{Commands, Value};

/// Logs a mix of records: text, JSON, several tags, an empty prefix, inside MULTI and Lua.
fn write_mix(con: &mut redis::Connection) {
    cmd(con, &["TLOG.LOG", "app", "foo created", "foo"]).unwrap();
    cmd(con, &["TLOG.LOG", "app", "foo gets bar", "foo", "bar", "foo"]).unwrap();
    cmd(con, &["TLOG.ADD", "app", "JSON", "MESSAGE", r#"{"k": [1, 2.5, null]}"#, "j"]).unwrap();
    cmd(con, &["TLOG.LOG", "", "bare", "t"]).unwrap();
    let _: () = redis::pipe().atomic().cmd("TLOG.LOG").arg("app").arg("in multi").arg("m").query(con).unwrap();
    let _: i64 = redis::cmd("EVAL")
        .arg("return redis.call('TLOG.LOG', KEYS[1], 'from lua', 'l')")
        .arg(1)
        .arg("app")
        .query(con)
        .unwrap();
    // A refused command in between replicates nothing.
    assert!(cmd(con, &["TLOG.LOG", "app", "x", "__all__"]).is_err());
    for i in 0..50 {
        cmd(con, &["TLOG.LOG", "{bulk}", &format!("record {i}"), &format!("t{}", i % 7)]).unwrap();
    }
}

#[test]
fn a_replica_without_the_module_ends_identical_to_the_master() {
    let master = Server::start_with(true, &[]);
    let replica = Server::replica_of(&master, false);
    let mut con = master.conn();
    write_mix(&mut con);
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(acked, 1);
    assert_eq!(master.digest(), replica.digest());
    let mut rcon = replica.conn();
    let on_replica: String = rcon.get("app:msg:3").unwrap();
    let on_master: String = con.get("app:msg:3").unwrap();
    assert_eq!(on_replica, on_master);
    assert_ne!(master.digest(), "0000000000000000000000000000000000000000");
}

#[test]
fn a_replica_with_the_module_serves_reads() {
    let master = Server::start();
    let replica = Server::replica_of(&master, true);
    let mut con = master.conn();
    write_mix(&mut con);
    let _: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    let mut rcon = replica.conn();
    assert_eq!(
        cmd(&mut rcon, &["TLOG.GET", "app", "foo"]).unwrap(),
        cmd(&mut con, &["TLOG.GET", "app", "foo"]).unwrap()
    );
    assert_eq!(cmd(&mut rcon, &["TLOG.LATEST", "app"]).unwrap(), cmd(&mut con, &["TLOG.LATEST", "app"]).unwrap());
    // Writes are refused on a read-only replica, as for any write command.
    let e = err_of(cmd(&mut rcon, &["TLOG.LOG", "app", "x"]));
    assert!(e.starts_with("READONLY"), "{e}");
    assert_eq!(master.digest(), replica.digest());
}

#[test]
fn aof_reload_restores_an_identical_dataset() {
    let s = Server::start_with(true, &["--appendonly", "yes", "--appendfsync", "always"]);
    let mut con = s.conn();
    write_mix(&mut con);
    let before = s.digest();
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).unwrap();
    assert_eq!(s.digest(), before);
    // And tlog keeps counting from the reloaded state.
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "app", "after reload"]).unwrap()), 6);
}

fn connect_as(s: &Server, user: &str) -> redis::Connection {
    let url = format!("redis://{user}:pw@127.0.0.1:{}/", s.port);
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn setuser(s: &Server, name: &str, rules: &[&str]) -> redis::Connection {
    let mut c = redis::cmd("ACL");
    c.arg("SETUSER").arg(name).arg("reset").arg("on").arg(">pw").arg("+@all");
    for r in rules {
        c.arg(*r);
    }
    let _: () = c.query(&mut s.conn()).unwrap();
    connect_as(s, name)
}

#[test]
fn derived_keys_obey_the_callers_acl() {
    let s = Server::start();
    let mut admin = s.conn();
    cmd(&mut admin, &["TLOG.LOG", "app", "existing", "foo"]).unwrap();
    let before = s.digest();

    let mut other = setuser(&s, "other", &["~other:*"]);
    assert_eq!(
        err_of(cmd(&mut other, &["TLOG.LOG", "app", "x", "foo"])),
        "NOPERM this user has no permissions to write the 'app:counter' key"
    );
    assert_eq!(
        err_of(cmd(&mut other, &["TLOG.GET", "app"])),
        "NOPERM this user has no permissions to read the 'app:flow:__all__' key"
    );
    assert_eq!(
        err_of(cmd(&mut other, &["TLOG.LATEST", "app", "foo"])),
        "NOPERM this user has no permissions to read the 'app:flow:foo' key"
    );
    // Through a script or MULTI the caller's user is still the one checked.
    let e = redis::cmd("EVAL")
        .arg("return redis.call('TLOG.LOG', KEYS[1], 'x')")
        .arg(1)
        .arg("other:k")
        .query::<i64>(&mut other);
    assert!(e.is_ok(), "{e:?}");
    let e = redis::cmd("EVAL")
        .arg("return redis.call('TLOG.LOG', 'app', 'x')")
        .arg(0)
        .query::<i64>(&mut other)
        .unwrap_err();
    assert!(e.to_string().contains("NOPERM") || e.to_string().contains("No permissions"), "{e}");
    let _ = redis::cmd("DEL")
        .arg("other:k:counter")
        .arg("other:k:msg:1")
        .arg("other:k:flow:__all__")
        .query::<i64>(&mut admin);
    assert_eq!(s.digest(), before, "a denied user changed the dataset");

    // A user given the prefix works; one given only some of its keys is refused where it ends.
    let mut tenant = setuser(&s, "tenant", &["~app:*"]);
    assert_eq!(int(&cmd(&mut tenant, &["TLOG.LOG", "app", "mine", "foo"]).unwrap()), 2);
    assert_eq!(ids(&cmd(&mut tenant, &["TLOG.GET", "app", "foo"]).unwrap()), vec![2, 1]);
    let mut flows_only = setuser(&s, "flows", &["~app:flow:*"]);
    assert_eq!(
        err_of(cmd(&mut flows_only, &["TLOG.GET", "app", "foo"])),
        "NOPERM this user has no permissions to read the 'app:msg:2' key"
    );
    let mut no_tag = setuser(&s, "notag", &["~app:counter", "~app:msg:*", "~app:flow:__all__"]);
    let before = s.digest();
    assert_eq!(
        err_of(cmd(&mut no_tag, &["TLOG.LOG", "app", "x", "secret"])),
        "NOPERM this user has no permissions to write the 'app:flow:secret' key"
    );
    assert_eq!(s.digest(), before);
    let mut reader = setuser(&s, "reader", &["%R~app:*"]);
    assert_eq!(ids(&cmd(&mut reader, &["TLOG.GET", "app"]).unwrap()), vec![2, 1]);
    assert_eq!(
        err_of(cmd(&mut reader, &["TLOG.LOG", "app", "x"])),
        "NOPERM this user has no permissions to write the 'app:counter' key"
    );
}

#[test]
fn tlog_log_invalidates_watch_on_the_keys_it_touches_and_a_refused_one_does_not() {
    let s = Server::start();
    let mut a = s.conn();
    let mut b = s.conn();
    cmd(&mut a, &["TLOG.LOG", "app", "first", "foo"]).unwrap();

    let _: () = redis::cmd("WATCH").arg("app:flow:foo").query(&mut a).unwrap();
    cmd(&mut b, &["TLOG.LOG", "app", "second", "foo"]).unwrap();
    let r: redis::Value = redis::pipe().atomic().cmd("GET").arg("app:counter").query(&mut a).unwrap();
    assert_eq!(r, redis::Value::Nil, "EXEC should fail after a watched flow changed");

    let _: () = redis::cmd("WATCH").arg("app:flow:foo").arg("app:counter").query(&mut a).unwrap();
    assert!(cmd(&mut b, &["TLOG.LOG", "app", "x", "foo", "__all__"]).is_err());
    let r: (String,) = redis::pipe().atomic().cmd("GET").arg("app:counter").query(&mut a).unwrap();
    assert_eq!(r.0, "2");

    // Refused after the keys were looked up (the last tag's flow has the wrong type): the
    // counter and the first flows were opened for writing but not written, so WATCH holds.
    let _: () = b.set("app:flow:z", "not a list").unwrap();
    let _: () =
        redis::cmd("WATCH").arg("app:flow:foo").arg("app:counter").arg("app:flow:__all__").query(&mut a).unwrap();
    assert!(err_of(cmd(&mut b, &["TLOG.LOG", "app", "x", "foo", "z"])).starts_with("WRONGTYPE"));
    let r: (String,) = redis::pipe().atomic().cmd("GET").arg("app:counter").query(&mut a).unwrap();
    assert_eq!(r.0, "2");
}

#[test]
fn keyspace_notifications_match_the_plain_commands() {
    let s = Server::start();
    let mut con = s.conn();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("KEA").query(&mut con).unwrap();
    let mut sub = s.conn();
    let mut pubsub = sub.as_pubsub();
    pubsub.psubscribe("__keyspace@0__:app:*").unwrap();
    pubsub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    cmd(&mut con, &["TLOG.LOG", "app", "m", "foo"]).unwrap();
    let mut events = Vec::new();
    for _ in 0..4 {
        let msg = pubsub.get_message().unwrap();
        let channel: String = msg.get_channel_name().to_string();
        let event: String = msg.get_payload().unwrap();
        events.push(format!("{} {event}", channel.trim_start_matches("__keyspace@0__:")));
    }
    assert_eq!(events, ["app:counter incrby", "app:msg:1 set", "app:flow:__all__ lpush", "app:flow:foo lpush"]);
}

#[test]
fn in_cluster_mode_a_prefix_without_a_hash_tag_is_refused() {
    let s = Server::start_with(true, &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]);
    let mut con = s.conn();
    let _: () = redis::cmd("CLUSTER").arg("ADDSLOTSRANGE").arg(0).arg(16383).query(&mut con).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut con).unwrap().contains("cluster_state:ok") {
        assert!(Instant::now() < deadline, "the one-node cluster never became ok");
        std::thread::sleep(Duration::from_millis(50));
    }
    let needs = "ERR in cluster mode the prefix needs a hash tag, e.g. '{app}' instead of 'app', so that all its keys are in one slot";
    for words in [
        &["TLOG.LOG", "app", "m", "t"][..],
        &["TLOG.LOG", "", "m"],
        &["TLOG.LOG", "a{b", "m", "c}"],
        &["TLOG.GET", "app"],
        &["TLOG.LATEST", "{}x"],
    ] {
        assert_eq!(err_of(cmd(&mut con, words)), needs, "{words:?}");
    }
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 0);
    assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", "{app}", "m", "t"]).unwrap()), 1);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "{app}", "t"]).unwrap()), vec![1]);
    // The page was read with MGET, which cluster mode allows for keys of one slot.
    let stats: String = redis::cmd("INFO").arg("commandstats").query(&mut con).unwrap();
    assert!(stats.contains("cmdstat_mget:calls=1,"), "{stats}");
    let slots: Vec<i64> = ["{app}:counter", "{app}:msg:1", "{app}:flow:__all__", "{app}:flow:t"]
        .iter()
        .map(|k| redis::cmd("CLUSTER").arg("KEYSLOT").arg(*k).query(&mut con).unwrap())
        .collect();
    assert!(slots.iter().all(|&s| s == slots[0]), "{slots:?}");

    // Retention in cluster mode: TTL, MAXLEN, the cleaner, PURGE.
    let short = int(&cmd(&mut con, &["TLOG.ADD", "{app}", "TTL", "1", "MESSAGE", "short", "t"]).unwrap());
    cmd(&mut con, &["TLOG.ADD", "{app}", "MAXLEN", "2", "MESSAGE", "kept", "t"]).unwrap();
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "{app}", "t"]).unwrap()), vec![short + 1, short]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis::cmd("LLEN").arg("{app}:flow:t").query::<i64>(&mut con).unwrap() != 1 {
        assert!(Instant::now() < deadline, "the expired record's id stayed in its flow");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(err_of(cmd(&mut con, &["TLOG.PURGE", "app"])), needs);
    // counter, one record, __all__ and the flow of t.
    assert_eq!(int(&cmd(&mut con, &["TLOG.PURGE", "{app}"]).unwrap()), 4);
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn at_maxmemory_a_write_gets_oom_and_writes_nothing_while_reads_work() {
    let s = Server::start();
    let mut con = s.conn();
    cmd(&mut con, &["TLOG.LOG", "app", "before the limit", "t"]).unwrap();
    let used: i64 = {
        let info: String = redis::cmd("INFO").arg("memory").query(&mut con).unwrap();
        info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap()
    };
    let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(used - 1024).query(&mut con).unwrap();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg("noeviction").query(&mut con).unwrap();
    let before = s.digest();
    let e = err_of(cmd(&mut con, &["TLOG.LOG", "app", "over the limit", "t"]));
    assert!(e.starts_with("OOM"), "{e}");
    let e = err_of(cmd(&mut con, &["TLOG.ADD", "app", "JSON", "MESSAGE", "{}", "t"]));
    assert!(e.starts_with("OOM"), "{e}");
    assert_eq!(s.digest(), before);
    assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "app", "t"]).unwrap()), vec![1]);
    assert_eq!(int(&field(&cmd(&mut con, &["TLOG.LATEST", "app"]).unwrap(), "id")), 1);
    assert_eq!(int(&cmd(&mut con, &["TLOG.COUNT", "app"]).unwrap()), 1);
}

#[test]
fn a_three_master_cluster_routes_every_command_by_its_prefix() {
    let nodes: Vec<Server> = (0..3)
        .map(|_| {
            Server::start_with(
                true,
                &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"],
            )
        })
        .collect();
    let addrs: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let mut create = std::process::Command::new("redis-cli");
    create.args(["--cluster", "create"]).args(&addrs).args(["--cluster-yes"]);
    let out = create.output().expect("redis-cli --cluster create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let deadline = Instant::now() + Duration::from_secs(20);
    for n in &nodes {
        while !redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut n.conn()).unwrap().contains("cluster_state:ok") {
            assert!(Instant::now() < deadline, "the cluster never became ok");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // redis-cli -c follows MOVED: every prefix lands on the node owning its hash tag's slot.
    let cli = |args: &[&str]| -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-c", "-p", &nodes[0].port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli -c");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let prefixes = ["{app}", "{user:1}", "{user:2}", "{orders}", "{x}", "{y}"];
    for (i, p) in prefixes.iter().enumerate() {
        assert_eq!(cli(&["TLOG.LOG", p, &format!("m{i}"), "t"]), "1", "{p}");
        assert_eq!(cli(&["TLOG.COUNT", p, "t"]), "1", "{p}");
    }
    // Each node holds exactly the keys of the slots it owns.
    let mut total = 0;
    for n in &nodes {
        let mut c = n.conn();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
        for k in &keys {
            let slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(k).query(&mut c).unwrap();
            let owner: i64 = redis::cmd("CLUSTER").arg("COUNTKEYSINSLOT").arg(slot).query(&mut c).unwrap();
            assert!(owner > 0, "{k} on a node that does not own slot {slot}");
        }
        total += keys.len();
    }
    assert_eq!(total, prefixes.len() * 4);
    // The node that does not own a prefix's slot answers MOVED.
    let slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg("{app}").query(&mut nodes[0].conn()).unwrap();
    let moved = nodes
        .iter()
        .filter_map(|n| cmd(&mut n.conn(), &["TLOG.GET", "{app}"]).err())
        .map(|e| e.to_string())
        .collect::<Vec<_>>();
    assert_eq!(moved.len(), 2, "{moved:?}");
    assert!(moved.iter().all(|m| m.contains(&format!("{slot}"))), "{moved:?}");
    assert!(cli(&["TLOG.LOG", "app", "m"]).contains("needs a hash tag"));

    // A cluster-mode client library sending raw commands routes them by the prefix too (it
    // reads the key position from COMMAND INFO).
    let client =
        redis::cluster::ClusterClient::new(addrs.iter().map(|a| format!("redis://{a}")).collect::<Vec<_>>()).unwrap();
    let mut cc = client.get_connection().unwrap();
    for (i, p) in prefixes.iter().enumerate() {
        let id: i64 =
            redis::cmd("TLOG.LOG").arg(*p).arg(format!("via the library {i}")).arg("t").query(&mut cc).unwrap();
        assert_eq!(id, 2, "{p}");
        let latest: redis::Value = redis::cmd("TLOG.LATEST").arg(*p).arg("t").query(&mut cc).unwrap();
        assert_eq!(text(&field(&latest, "message")), format!("via the library {i}"));
    }
    // TLOG.PURGE runs on the node of the prefix: counter, two records, __all__, the flow of t.
    assert_eq!(cli(&["TLOG.PURGE", "{x}"]), "5");
    for n in &nodes {
        let keys: Vec<String> = redis::cmd("KEYS").arg("{x}*").query(&mut n.conn()).unwrap();
        assert!(keys.is_empty(), "{keys:?}");
    }
}

#[test]
fn the_cleaner_leaves_a_slot_being_migrated_alone() {
    let a = Server::start_with(true, &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]);
    let b = Server::start_with(true, &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]);
    let mut ca = a.conn();
    let mut cb = b.conn();
    let _: () = redis::cmd("CLUSTER").arg("ADDSLOTSRANGE").arg(0).arg(16383).query(&mut ca).unwrap();
    let _: () = redis::cmd("CLUSTER").arg("MEET").arg("127.0.0.1").arg(a.port).query(&mut cb).unwrap();
    let id_of = |c: &mut redis::Connection| -> String { redis::cmd("CLUSTER").arg("MYID").query(c).unwrap() };
    let (ida, idb) = (id_of(&mut ca), id_of(&mut cb));
    let deadline = Instant::now() + Duration::from_secs(20);
    for c in [&mut ca, &mut cb] {
        while !redis::cmd("CLUSTER").arg("INFO").query::<String>(c).unwrap().contains("cluster_state:ok")
            || !redis::cmd("CLUSTER").arg("NODES").query::<String>(c).unwrap().lines().all(|l| l.contains("connected"))
            || redis::cmd("CLUSTER").arg("NODES").query::<String>(c).unwrap().lines().count() < 2
        {
            assert!(Instant::now() < deadline, "the two-node cluster never formed");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for i in 1..=10 {
        cmd(&mut ca, &["TLOG.LOG", "{app}", &format!("m{i}"), "t"]).unwrap();
    }
    // A control prefix in another slot of A, which stays settled.
    for i in 1..=5 {
        cmd(&mut ca, &["TLOG.LOG", "{ctl}", &format!("m{i}"), "t"]).unwrap();
    }
    let slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg("{app}").query(&mut ca).unwrap();
    let ctl_slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg("{ctl}").query(&mut ca).unwrap();
    assert_ne!(slot, ctl_slot);
    let _: () = redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("IMPORTING").arg(&ida).query(&mut cb).unwrap();
    let _: () = redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("MIGRATING").arg(&idb).query(&mut ca).unwrap();
    // The oldest records move first: on A their ids now lead to nothing local.
    let _: () = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(b.port)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS")
        .arg("{app}:msg:1")
        .arg("{app}:msg:2")
        .arg("{app}:msg:3")
        .query(&mut ca)
        .unwrap();
    // The cleaner runs meanwhile: it removes the control prefix's dead ids (records deleted by
    // another client) from `__all__` as it visits the prefix, and from the flow of `t` as its
    // SCAN passes; then it passes every key of A twice more.
    let _: () = ca.del(&["{ctl}:msg:1", "{ctl}:msg:2"]).unwrap();
    let cycles = tlog_info(&mut ca)["cleaner_scan_cycles"];
    wait_for(15, "the control prefix's dead ids are removed", || {
        let all: Vec<i64> = ca.lrange("{ctl}:flow:__all__", 0, -1).unwrap();
        let t: Vec<i64> = ca.lrange("{ctl}:flow:t", 0, -1).unwrap();
        all == [5, 4, 3] && t == [5, 4, 3]
    });
    wait_for(30, "two more SCAN cycles", || tlog_info(&mut ca)["cleaner_scan_cycles"] >= cycles + 2);
    // No id of the slot being migrated has been taken for dead on either node.
    let all: Vec<i64> = redis::cmd("LRANGE").arg("{app}:flow:__all__").arg(0).arg(-1).query(&mut ca).unwrap();
    assert_eq!(all, (1..=10).rev().collect::<Vec<i64>>());
    let t: Vec<i64> = redis::cmd("LRANGE").arg("{app}:flow:t").arg(0).arg(-1).query(&mut ca).unwrap();
    assert_eq!(t.len(), 10);

    // The flow and more records move too; records 9 and 10 stay behind on A. Asked on B, the
    // importing node, a page's MGET is refused there (some of its keys are not local): the
    // page is read key by key instead, and the records B holds come back.
    let _: () = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(b.port)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS")
        .arg("{app}:flow:t")
        .arg("{app}:msg:4")
        .arg("{app}:msg:5")
        .arg("{app}:msg:6")
        .arg("{app}:msg:7")
        .arg("{app}:msg:8")
        .query(&mut ca)
        .unwrap();
    let (page,): (Value,) =
        redis::pipe().cmd("ASKING").ignore().cmd("TLOG.GET").arg("{app}").arg("t").query(&mut cb).unwrap();
    assert_eq!(ids(&page), (1..=8).rev().collect::<Vec<i64>>());
    let stats: String = redis::cmd("INFO").arg("commandstats").query(&mut cb).unwrap();
    assert!(stats.contains("cmdstat_lrange:"), "the batched read was not tried: {stats}");
    assert!(!stats.contains("cmdstat_mget:"), "the MGET ran: {stats}");
}

#[test]
fn the_module_refuses_to_load_where_its_replication_commands_are_renamed_away() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let status = std::process::Command::new(std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into()))
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--save", "", "--rename-command", "MSET", ""])
        .arg("--dir")
        .arg(dir.path())
        .args(["--logfile", "server.log", "--loadmodule"])
        .arg(module_path())
        .status()
        .unwrap();
    assert!(!status.success());
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("this server lacks MSET (rename-command?). Not loading."), "{log}");
}

#[test]
fn pages_are_read_key_by_key_where_mget_and_lrange_are_renamed_away() {
    for renamed in ["MGET", "LRANGE"] {
        let s = Server::start_with(true, &["--rename-command", renamed, ""]);
        let mut con = s.conn();
        for i in 1..=5 {
            cmd(&mut con, &["TLOG.LOG", "p", &format!("m{i}"), "t"]).unwrap();
        }
        let _: () = con.del("p:msg:4").unwrap();
        assert_eq!(ids(&cmd(&mut con, &["TLOG.GET", "p", "t"]).unwrap()), vec![5, 3, 2, 1], "{renamed}");
        let raw = cmd(&mut con, &["TLOG.GET", "p", "t", "LIMIT", "2", "RAW"]).unwrap();
        let stored: Vec<String> = ["p:msg:5", "p:msg:3"].iter().map(|k| con.get(*k).unwrap()).collect();
        assert_eq!(array(&raw).iter().map(text).collect::<Vec<_>>(), stored, "{renamed}");
    }
}

/// The counter is written in place where that ends as a plain SET would (it stays a plain
/// string, which the next write reads without the server copying it), and replaced where it
/// would not: a counter with a time to live loses it, on the master as on a replica (MSET).
#[test]
fn the_counter_is_written_in_place_and_a_ttl_on_it_is_dropped_as_mset_drops_it() {
    let master = Server::start_with(true, &["--appendonly", "yes", "--appendfsync", "always"]);
    let replica = Server::replica_of(&master, false);
    let mut con = master.conn();
    let encoding = |con: &mut redis::Connection, k: &str| -> String {
        redis::cmd("OBJECT").arg("ENCODING").arg(k).query(con).unwrap()
    };
    for (prefix, start) in [("fresh", None), ("int", Some("41")), ("ttl", Some("7"))] {
        if let Some(v) = start {
            let _: () = con.set(format!("{prefix}:counter"), v).unwrap();
        }
        if prefix == "ttl" {
            let _: () = redis::cmd("EXPIRE").arg("ttl:counter").arg(1000).query(&mut con).unwrap();
        }
        let first = start.map_or(1, |v| v.parse::<i64>().unwrap() + 1);
        for i in 0..3 {
            assert_eq!(int(&cmd(&mut con, &["TLOG.LOG", prefix, "m", "t"]).unwrap()), first + i);
        }
        let counter: String = con.get(format!("{prefix}:counter")).unwrap();
        assert_eq!(counter, (first + 2).to_string());
        let ttl: i64 = con.ttl(format!("{prefix}:counter")).unwrap();
        assert_eq!(ttl, -1, "{prefix}: the counter keeps no time to live, as after MSET");
    }
    // Written in place: the counter stays a plain string (a SET would make it an integer or
    // an embedded string, which the next write would have to copy before reading).
    assert_eq!(encoding(&mut con, "fresh:counter"), "raw");
    assert_eq!(encoding(&mut con, "int:counter"), "raw");
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(acked, 1);
    let digest = master.digest();
    assert_eq!(digest, replica.digest());
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).unwrap();
    assert_eq!(master.digest(), digest);
}

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

/// An id pushed out of order (another client's late push) neither hides the others from DEL
/// nor escapes it, within the read window.
#[test]
fn del_finds_ids_in_a_flow_with_an_id_out_of_order() {
    let s = Server::start();
    let mut con = s.conn();
    for i in 1..=10 {
        cmd(&mut con, &["TLOG.LOG", "d", &format!("m{i}"), "t"]).unwrap();
    }
    // A late push of an old id at the head: 3 10 9 8 7 6 5 4 3 2 1.
    let _: i64 = con.lpush("d:flow:t", 3).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "d", "7", "9"]).unwrap()), 2);
    assert_eq!(con.lrange::<_, Vec<i64>>("d:flow:t", 0, -1).unwrap(), vec![3, 10, 8, 6, 5, 4, 3, 2, 1]);
    assert_eq!(con.lrange::<_, Vec<i64>>("d:flow:__all__", 0, -1).unwrap(), vec![10, 8, 6, 5, 4, 3, 2, 1]);
    // A flow of ids written out of order: 12 is late, below 16..13.
    for i in 11..=16 {
        cmd(&mut con, &["TLOG.LOG", "d", &format!("m{i}"), "u"]).unwrap();
    }
    let _: () = redis::cmd("DEL").arg("d:flow:u").query(&mut con).unwrap();
    let _: i64 = redis::cmd("RPUSH").arg("d:flow:u").arg(&[12, 16, 15, 14, 13, 11]).query(&mut con).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "d", "12", "13"]).unwrap()), 2);
    assert_eq!(con.lrange::<_, Vec<i64>>("d:flow:u", 0, -1).unwrap(), vec![16, 15, 14, 11]);
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

    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("u")
        .arg("on")
        .arg(">pw")
        .arg("+@all")
        .arg("~p:msg:*")
        .arg("~p:flow:__all__")
        .query(&mut con)
        .unwrap();
    let mut u = redis::Client::open(format!("redis://u:pw@127.0.0.1:{}/", s.port)).unwrap().get_connection().unwrap();
    assert_eq!(
        err_of(cmd(&mut u, &["TLOG.DEL", "p", "1"])),
        "NOPERM this user has no permissions to write the 'p:flow:a' key"
    );
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
    // The short-lived record's key is expired once the server's clock, in milliseconds, is
    // past `at`.
    wait_server_time_past(&mut con, at * 1000 + 999, "the short-lived record's expiry");
    let msgs: Vec<String> =
        array(&cmd(&mut con, &["TLOG.GET", "p", "t"]).unwrap()).iter().map(|r| text(&field(r, "message"))).collect();
    assert_eq!(msgs, ["forever", "long-lived"]);
    assert_eq!(
        err_of(cmd(&mut con, &["TLOG.ADD", "p", "TTL", "0", "MESSAGE", "m"])),
        "ERR TTL needs seconds from 1 to 3153600000 (100 years)"
    );
}

/// The ids of a flow, newest first.
fn flow(con: &mut redis::Connection, key: &str) -> Vec<i64> {
    con.lrange(key, 0, -1).unwrap()
}

/// Deleting the oldest, the newest and middle ids (each removed from the nearer end of each
/// flow) leaves every flow exactly as a model says, ids listed twice side by side included, and
/// a replica and an AOF reload identical to the master.
#[test]
fn deletions_from_either_end_and_the_middle_match_a_model_everywhere() {
    let master = Server::start_with(true, &["--appendonly", "yes"]);
    let replica = Server::replica_of(&master, true);
    let mut con = master.conn();
    const N: i64 = 3000;
    let mut pipe = redis::pipe();
    for i in 1..=N {
        pipe.cmd("TLOG.LOG").arg("p").arg(format!("m{i}")).arg(format!("t{}", i % 3)).arg("every").ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    // Another client lists the newest record twice in a flow of its own, side by side.
    cmd(&mut con, &["TLOG.LOG", "p", "dup", "dup"]).unwrap();
    let _: i64 = con.lpush("p:flow:dup", N + 1).unwrap();
    let mut model: Vec<i64> = (1..=N + 1).rev().collect();
    let deletions: [&[i64]; 4] =
        [&[1, 2, N, N - 1], &[N / 2, N / 2 + 1, 3, N + 1], &[N - 2, 1000, 2001, 4], &[N / 2 + 2, 5, N - 3]];
    for ids in deletions {
        let args: Vec<String> = ids.iter().map(i64::to_string).collect();
        let mut words = vec!["TLOG.DEL", "p"];
        words.extend(args.iter().map(String::as_str));
        assert_eq!(int(&cmd(&mut con, &words).unwrap()), ids.len() as i64, "{ids:?}");
        model.retain(|id| !ids.contains(id));
        assert_eq!(flow(&mut con, "p:flow:__all__"), model);
        let every: Vec<i64> = model.iter().copied().filter(|&id| id <= N).collect();
        assert_eq!(flow(&mut con, "p:flow:every"), every);
        for t in 0..3 {
            let want: Vec<i64> = every.iter().copied().filter(|id| id % 3 == t).collect();
            assert_eq!(flow(&mut con, &format!("p:flow:t{t}")), want, "t{t}");
        }
    }
    assert!(!con.exists::<_, bool>("p:flow:dup").unwrap());
    let _: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(&mut con).unwrap();
    assert_eq!(master.digest(), replica.digest());
    let before = master.digest();
    let _: () = redis::cmd("DEBUG").arg("LOADAOF").query(&mut con).unwrap();
    assert_eq!(master.digest(), before);
}

/// `usec` of `cmdstat_<name>` in INFO commandstats: the server's time in that command.
fn command_usec(con: &mut redis::Connection, name: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:")))
        .and_then(|v| v.split(',').find_map(|kv| kv.strip_prefix("usec=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no cmdstat_{name} in {info}"))
}

/// TLOG.DEL removes each id from the nearer end of a flow and stops at it: deleting the 100
/// newest or the 100 oldest records of a million-record flow takes a fraction of one scan of
/// the flow (LREM with count 0 scans every element; the old removal ran one such scan per id
/// and flow, seconds for 100 ids), and another client is never held up long.
#[test]
fn deleting_at_either_end_of_a_million_record_flow_never_scans_it() {
    // The cleaner off: it would remove the ids below that have no record.
    let s = Server::start_with(true, &["--tlog.cleaner-budget-us", "0"]);
    let mut con = s.conn();
    const N: i64 = 1_000_000;
    // The layout written directly: ids 1..N on __all__ and t (newest at the head), and the
    // records of the ids deleted below.
    let fill = "for s = tonumber(ARGV[1]), tonumber(ARGV[2]), 5000 do \
                  local ids = {} \
                  for i = s, math.min(s + 4999, tonumber(ARGV[2])) do ids[#ids + 1] = i end \
                  redis.call('LPUSH', KEYS[1], unpack(ids)) \
                  redis.call('LPUSH', KEYS[2], unpack(ids)) \
                end";
    for start in (1..=N).step_by(100_000) {
        let _: () = redis::cmd("EVAL")
            .arg(fill)
            .arg(2)
            .arg("p:flow:__all__")
            .arg("p:flow:t")
            .arg(start)
            .arg(start + 99_999)
            .query(&mut con)
            .unwrap();
    }
    let newest: Vec<i64> = (N - 99..=N).collect();
    let oldest: Vec<i64> = (1..=100).collect();
    for &id in newest.iter().chain(&oldest).chain(&[N / 2]) {
        let _: () = con
            .set(format!("p:msg:{id}"), format!(r#"{{"id":{id},"ts":{id}.000000,"message":"m","tags":["t"]}}"#))
            .unwrap();
    }
    let _: () = con.set("p:counter", N).unwrap();
    assert_eq!(con.llen::<_, i64>("p:flow:t").unwrap(), N);

    // What one scan of the flow costs here.
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut con).unwrap();
    let _: i64 = con.lrem("p:flow:t", 0, "absent").unwrap();
    let scan_usec = command_usec(&mut con, "lrem");

    // A client that pings all along and notes its longest wait.
    let port = s.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pinger = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
            let mut worst = Duration::ZERO;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = std::time::Instant::now();
                let _: String = redis::cmd("PING").query(&mut c).unwrap();
                worst = worst.max(t.elapsed());
            }
            worst
        })
    };
    let mut del_usec = Vec::new();
    for ids in [&newest, &oldest] {
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut con).unwrap();
        let mut c = redis::cmd("TLOG.DEL");
        c.arg("p");
        for id in ids {
            c.arg(*id);
        }
        assert_eq!(c.query::<i64>(&mut con).unwrap(), 100);
        del_usec.push(command_usec(&mut con, "tlog.del"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst_ping = pinger.join().unwrap();
    // For the record: an id in the middle is half a scan away from either end.
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut con).unwrap();
    assert_eq!(int(&cmd(&mut con, &["TLOG.DEL", "p", &(N / 2).to_string()]).unwrap()), 1);
    let middle_usec = command_usec(&mut con, "tlog.del");
    println!(
        "one LREM scan of 1M ids: {scan_usec} us; TLOG.DEL of the 100 newest: {} us, of the 100 oldest: {} us; longest PING meanwhile: {worst_ping:?}; TLOG.DEL of the middle id: {middle_usec} us",
        del_usec[0], del_usec[1]
    );

    assert_eq!(con.llen::<_, i64>("p:flow:t").unwrap(), N - 201);
    assert_eq!(con.lrange::<_, Vec<i64>>("p:flow:__all__", 0, 0).unwrap(), vec![N - 100]);
    assert_eq!(con.lrange::<_, Vec<i64>>("p:flow:t", -1, -1).unwrap(), vec![101]);
    for usec in &del_usec {
        // Generous bounds: far above what the call takes, far below one scan per id.
        assert!(*usec < scan_usec, "TLOG.DEL of 100 ids took {usec} us, one scan of the flow {scan_usec} us");
        assert!(*usec < 50_000, "TLOG.DEL of 100 ids took {usec} us");
    }
}

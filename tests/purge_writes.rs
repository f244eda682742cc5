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

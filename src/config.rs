//! Module configuration values: `tlog.<name>` in redis.conf (after the loadmodule line), as
//! `loadmodule` arguments, and by `CONFIG SET`/`CONFIG GET`. Read on every write and cleaner
//! tick, so the values live in atomics; the server writes them through the config callbacks
//! (`ffi::configs`, registered at load from the tables below). A leaf: it uses no other module.

use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::record::MAX_TTL;

/// Publish each new record as JSON on `<prefix>:log-records`.
pub static PUBLISH: AtomicBool = AtomicBool::new(false);
/// Also on `<prefix>:log-records:<tag>` for each of its tags.
pub static PUBLISH_TAGS: AtomicBool = AtomicBool::new(false);
/// Keep each removed-by-retention record in the stream `<prefix>:archive`.
pub static ARCHIVE: AtomicBool = AtomicBool::new(false);
/// Records kept per prefix by the cleaner; 0: no limit.
pub static MAX_RECORDS: AtomicI64 = AtomicI64::new(0);
/// Seconds a record is kept by the cleaner; 0: no limit.
pub static MAX_AGE: AtomicI64 = AtomicI64::new(0);
/// Entries the archive stream of a prefix keeps.
pub static ARCHIVE_MAXLEN: AtomicI64 = AtomicI64::new(10_000);
/// Microseconds of work per cleaner tick; 0 stops the cleaner.
pub static CLEANER_BUDGET_US: AtomicI64 = AtomicI64::new(400);
/// Positions an id or time may sit away from its sorted place and reads stay exact.
pub static READ_WINDOW: AtomicI64 = AtomicI64::new(100);
/// Ids a read may pass over before it stops with a continuation; 0: no limit.
pub static READ_SCAN_LIMIT: AtomicI64 = AtomicI64::new(2_000);

/// A numeric config: (name, value, min, max). Its default is the value's initial one.
pub type Number = (&'static CStr, &'static AtomicI64, i64, i64);

/// The numeric configs. The upper bounds keep every product of them far from overflow; the
/// server refuses out-of-range numbers itself, with an `ERR` naming the range.
pub const NUMBERS: [Number; 6] = [
    (c"max-records", &MAX_RECORDS, 0, 1_000_000_000_000),
    (c"max-age", &MAX_AGE, 0, MAX_TTL),
    (c"archive-maxlen", &ARCHIVE_MAXLEN, 1, 1_000_000_000),
    (c"cleaner-budget-us", &CLEANER_BUDGET_US, 0, 800),
    (c"read-window", &READ_WINDOW, 0, 10_000),
    (c"read-scan-limit", &READ_SCAN_LIMIT, 0, 1_000_000_000),
];

/// The boolean configs. Each default is the value's initial one.
pub const FLAGS: [(&CStr, &AtomicBool); 3] =
    [(c"publish", &PUBLISH), (c"publish-tags", &PUBLISH_TAGS), (c"archive", &ARCHIVE)];

fn get(v: &AtomicI64) -> i64 {
    v.load(Ordering::Relaxed)
}

/// Whether each new record is published on the prefix's channel, and on its tags' channels.
pub fn publish() -> (bool, bool) {
    (PUBLISH.load(Ordering::Relaxed), PUBLISH_TAGS.load(Ordering::Relaxed))
}

/// The entries the archive stream keeps, if retention archives what it removes.
pub fn archive_maxlen() -> Option<i64> {
    ARCHIVE.load(Ordering::Relaxed).then(|| get(&ARCHIVE_MAXLEN))
}

/// The server-wide limits the cleaner enforces: (max records, max age in microseconds).
pub fn server_limits() -> (Option<u64>, Option<i64>) {
    let (max, age) = (get(&MAX_RECORDS), get(&MAX_AGE));
    ((max > 0).then_some(max as u64), (age > 0).then(|| age.saturating_mul(1_000_000)))
}

/// Microseconds of work per cleaner tick; 0 stops the cleaner.
pub fn cleaner_budget_us() -> i64 {
    get(&CLEANER_BUDGET_US)
}

/// The read window and the default scan limit of reads.
pub fn read_window() -> usize {
    usize::try_from(get(&READ_WINDOW)).unwrap_or(0)
}

pub fn read_scan_limit() -> u64 {
    u64::try_from(get(&READ_SCAN_LIMIT)).unwrap_or(0)
}

//! Counters for `INFO tlog`, since the module was loaded, of what this server did, and the
//! number of TLOG.TAIL readers waiting. Written by the store, the cleaner and TLOG.TAIL, read
//! by INFO. A leaf: it uses no other module.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub static LOGGED: AtomicU64 = AtomicU64::new(0);
pub static EVICTED: AtomicU64 = AtomicU64::new(0);
pub static EXPIRED: AtomicU64 = AtomicU64::new(0);
pub static TRIMMED: AtomicU64 = AtomicU64::new(0);
pub static DELETED: AtomicU64 = AtomicU64::new(0);
pub static ARCHIVED: AtomicU64 = AtomicU64::new(0);
pub static PURGED: AtomicU64 = AtomicU64::new(0);
pub static TICKS: AtomicU64 = AtomicU64::new(0);
/// Ticks that did nothing because the server is a replica (or loading its data).
pub static STANDBY_TICKS: AtomicU64 = AtomicU64::new(0);
pub static LAST_TICK_US: AtomicU64 = AtomicU64::new(0);
pub static MAX_TICK_US: AtomicU64 = AtomicU64::new(0);
pub static MAX_TICK_CPU_US: AtomicU64 = AtomicU64::new(0);
pub static SCAN_CYCLES: AtomicU64 = AtomicU64::new(0);

/// Tick durations in 10 µs buckets up to 5 ms, the last bucket holding anything longer.
const BUCKET_US: u64 = 10;
static TICK_HISTOGRAM: [AtomicU64; 501] = [const { AtomicU64::new(0) }; 501];

/// Records a tick: `us` of wall time, `cpu_us` of the main thread's CPU time (the wall time
/// also counts any time the operating system gave the CPU to another process).
pub fn tick_took(us: u64, cpu_us: u64) {
    add(&TICKS, 1);
    MAX_TICK_CPU_US.fetch_max(cpu_us, Ordering::Relaxed);
    LAST_TICK_US.store(us, Ordering::Relaxed);
    MAX_TICK_US.fetch_max(us, Ordering::Relaxed);
    let i = ((us / BUCKET_US) as usize).min(TICK_HISTOGRAM.len() - 1);
    add(&TICK_HISTOGRAM[i], 1);
}

/// The `q` quantile (0..=1) of tick durations: the upper bound of the bucket holding it,
/// but never more than the longest tick seen (a bucket's bound can lie above every tick in
/// it, and a p99 above the max reads as a bug).
pub fn tick_quantile_us(q: f64) -> u64 {
    let counts: Vec<u64> = TICK_HISTOGRAM.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    quantile_us(&counts, q, MAX_TICK_US.load(Ordering::Relaxed))
}

/// The quantile of a histogram of `BUCKET_US` buckets, capped at `max_us`.
fn quantile_us(counts: &[u64], q: f64, max_us: u64) -> u64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0;
    }
    let rank = ((total as f64 * q).ceil() as u64).max(1);
    let mut seen = 0;
    let mut bound = counts.len() as u64 * BUCKET_US;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            bound = (i as u64 + 1) * BUCKET_US;
            break;
        }
    }
    bound.min(max_us)
}

pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Counts what a retention removal did: records removed by a limit, dead ids (their record
/// expired or was deleted) and records archived.
pub fn removed(evicted: u64, dead: u64, archived: u64) {
    add(&EVICTED, evicted);
    add(&EXPIRED, dead);
    add(&ARCHIVED, archived);
}

pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// How many TLOG.TAIL readers are blocked, on any flow: list pushes signal their keys only
/// while some are (the signal costs a lookup per key).
static READERS: AtomicUsize = AtomicUsize::new(0);

pub fn reader_blocked() {
    READERS.fetch_add(1, Ordering::Relaxed);
}

pub fn reader_gone() {
    // Never below zero, whatever happens.
    let _ = READERS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
}

pub fn readers() -> usize {
    READERS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_quantiles_come_from_10us_buckets() {
        assert_eq!(tick_quantile_us(0.99), 0);
        for _ in 0..98 {
            tick_took(35, 30);
        }
        tick_took(480, 400);
        tick_took(7000, 900);
        // 98 ticks in [30, 40), one in [480, 490), one beyond the last bucket.
        assert_eq!(tick_quantile_us(0.5), 40);
        assert_eq!(tick_quantile_us(0.98), 40);
        assert_eq!(tick_quantile_us(0.99), 490);
        assert_eq!(tick_quantile_us(1.0), 5010);
        assert_eq!(get(&MAX_TICK_US), 7000);
        assert_eq!(get(&MAX_TICK_CPU_US), 900);
    }

    #[test]
    fn tick_quantile_is_never_above_the_longest_tick() {
        // Every tick took 35 µs: its bucket ends at 40, but no tick took that long.
        let mut counts = [0u64; 10];
        counts[3] = 100;
        assert_eq!(quantile_us(&counts, 0.99, 35), 35);
        assert_eq!(quantile_us(&counts, 0.99, 80), 40);
        assert_eq!(quantile_us(&[0; 10], 0.99, 0), 0);
    }
}

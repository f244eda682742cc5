//! The background cleaner: a module timer that, on a master, enforces the server-wide
//! retention limits, removes dead ids (records expired or deleted) from flows, and runs
//! TLOG.PURGE, a bounded amount of work per tick (`tlog.cleaner-budget-us`, at most 800 µs,
//! in steps of well under 1 ms).
//!
//! It finds work four ways: prefixes this server writes to are known at once; so are the tags
//! it writes, whose flows are swept (a batch per tick) once records of the prefix expire or
//! are deleted; an incremental SCAN of every database finds the other prefixes
//! (`<prefix>:flow:__all__`) and tag flows; work left over when a tick's time is up waits in a
//! bounded queue. Replicas never clean: they receive the master's effects (`RPOP`, `LREM`,
//! `DEL`, `XADD`, `UNLINK`), like any other write. In cluster mode, slots being migrated are
//! left alone (a record missing here may be on the other node).
//!
//! Scheduling only: which prefix, flow or purge gets the next slice of the tick. Every key it
//! looks at or changes goes through `store` (`store::retention`, `store::purge`); what it
//! remembers of prefixes and tags is in `prefixes`, its counters in `stats`.
//!
//! `flows`: visits of known prefixes, the flow queue and tag sweeps; `discover`: the SCAN that
//! finds the other prefixes and flows; `purges`: TLOG.PURGE in slices. This file: the timer,
//! the tick and its budget, the state they share, and the INFO section.

mod discover;
mod flows;
mod purges;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::config;
use crate::error::Result;
use crate::ffi::{self, Ctx};
use crate::{prefixes, stats};

pub use purges::{databases_swapped, purge, role_changed};

use discover::discover;
use flows::{refresh_cluster_state, run_flows, run_sweeps, visit_prefixes, FlowJob};
use purges::{abort_purges, run_purges, Purge};

/// Time between ticks while work is waiting, and while there is none.
const BUSY_PERIOD_MS: i64 = 2;
const IDLE_PERIOD_MS: i64 = 100;

/// Entries one step removes from a flow before the clock is read again.
const STEP: usize = 16;

/// The slice a purge gets per tick even when the cleaner is off, in microseconds.
const PURGE_BUDGET_US: i64 = 400;

#[derive(Default)]
struct State {
    flows: VecDeque<FlowJob>,
    /// (db, key) of the flows in `flows`.
    queued: HashSet<(i32, Vec<u8>)>,
    /// Lists whose contents did not show them to be the prefix's flow they are named as, by
    /// (db, key): their length and newest entry then. Not looked at again until either
    /// changes (a record pushed, an entry popped).
    not_shown: HashMap<(i32, Vec<u8>), (usize, Vec<u8>)>,
    purges: VecDeque<Purge>,
    /// In cluster mode, the slots migrating or importing at this tick: their keys may be on
    /// either node, so a missing record proves nothing and nothing there is removed.
    unsettled: Option<HashSet<u16>>,
    /// Prefixes the cleaner warned about (once each).
    warned: HashSet<(i32, Vec<u8>)>,
    scan_db: i32,
    scan_cursor: Vec<u8>,
    scan_paused_until: Option<Instant>,
}

thread_local! {
    // Commands and timers run on the server's main thread only.
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Forgets every prefix and queued flow: the keyspace changed as a whole (FLUSHDB, SWAPDB, a
/// load, a change of replication role). The SCAN finds what is left.
pub fn forget_prefixes() {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.flows.clear();
        s.queued.clear();
        s.not_shown.clear();
        s.warned.clear();
    });
    prefixes::forget_all();
}

/// Starts the timer (at load).
pub fn start(ctx: Ctx) -> std::result::Result<(), String> {
    schedule(ctx, IDLE_PERIOD_MS).map_err(|e| e.to_string())
}

fn schedule(ctx: Ctx, period_ms: i64) -> Result<()> {
    ffi::create_timer(ctx, period_ms, on_timer)
}

fn on_timer(ctx: Ctx) {
    let busy = ffi::guard(Some(ctx), "the cleaner", || tick(ctx)).unwrap_or(false);
    if let Err(e) = schedule(ctx, if busy { BUSY_PERIOD_MS } else { IDLE_PERIOD_MS }) {
        ctx.log_warning(&format!("tlog: the cleaner stopped: {e}"));
    }
}

/// A deadline for one tick's work.
struct Budget {
    until: Instant,
}

impl Budget {
    fn left(&self) -> bool {
        Instant::now() < self.until
    }
}

/// One tick. Returns true if work is waiting (the next tick comes sooner).
fn tick(ctx: Ctx) -> bool {
    let flags = ctx.flags().unwrap_or_default();
    if flags.standby() {
        abort_purges("this server became a replica");
        stats::add(&stats::STANDBY_TICKS, 1);
        return false;
    }
    let start = Instant::now();
    let cpu_start = ffi::thread_cpu_us();
    let budget_us = config::cleaner_budget_us();
    let has_purge = STATE.with(|s| !s.borrow().purges.is_empty());
    let us = if has_purge { budget_us.max(PURGE_BUDGET_US) } else { budget_us };
    if us <= 0 {
        return false;
    }
    let budget = Budget { until: start + Duration::from_micros(us as u64) };
    let mut busy = false;
    if has_purge {
        // Half the tick when the cleaner has work of its own: a long purge does not hold
        // retention back.
        let half = Budget { until: start + Duration::from_micros(us as u64 / 2) };
        busy |= run_purges(ctx, if budget_us > 0 { &half } else { &budget });
    }
    if budget_us > 0 {
        if let Err(e) = refresh_cluster_state(ctx, flags) {
            ctx.log_warning(&format!("tlog: the cleaner waits, no cluster state: {e}"));
            return false;
        }
        busy |= run_sweeps(ctx, &budget);
        busy |= run_flows(ctx, &budget);
        // The visits of known prefixes get at most three quarters of what is left, so that
        // however many prefixes there are, the SCAN (which finds the tag flows and the other
        // prefixes) goes on.
        let left = budget.until.saturating_duration_since(Instant::now());
        busy |= visit_prefixes(ctx, &Budget { until: budget.until.checked_sub(left / 4).unwrap_or(budget.until) });
        if budget.left() {
            busy |= discover(ctx, &budget);
        }
    }
    stats::tick_took(start.elapsed().as_micros() as u64, ffi::thread_cpu_us().saturating_sub(cpu_start));
    busy
}

/// The `tlog` section of INFO.
pub struct Info;

impl ffi::InfoFields for Info {
    fn fields() -> Vec<(&'static std::ffi::CStr, u64)> {
        let (flows, purges) = STATE.with(|s| {
            let s = s.borrow();
            (s.flows.len() as u64, s.purges.len() as u64)
        });
        let backlog = flows + prefixes::sweeps_pending() as u64;
        let load = stats::get;
        vec![
            (c"records_logged", load(&stats::LOGGED)),
            (c"records_evicted", load(&stats::EVICTED)),
            (c"records_expired", load(&stats::EXPIRED)),
            (c"records_deleted", load(&stats::DELETED)),
            (c"records_archived", load(&stats::ARCHIVED)),
            (c"dead_ids_trimmed", load(&stats::TRIMMED)),
            (c"keys_purged", load(&stats::PURGED)),
            (c"cleaner_backlog", backlog),
            (c"purges_running", purges),
            (c"cleaner_prefixes", prefixes::count() as u64),
            (c"cleaner_ticks", load(&stats::TICKS)),
            (c"cleaner_standby_ticks", load(&stats::STANDBY_TICKS)),
            (c"cleaner_last_tick_us", load(&stats::LAST_TICK_US)),
            (c"cleaner_p99_tick_us", stats::tick_quantile_us(0.99)),
            (c"cleaner_max_tick_us", load(&stats::MAX_TICK_US)),
            (c"cleaner_max_tick_cpu_us", load(&stats::MAX_TICK_CPU_US)),
            (c"cleaner_scan_cycles", load(&stats::SCAN_CYCLES)),
            (c"cleaner_budget_us", config::cleaner_budget_us().max(0) as u64),
            (c"tail_readers", stats::readers() as u64),
        ]
    }
}

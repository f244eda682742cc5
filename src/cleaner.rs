//! The background cleaner: a module timer that, on a master, enforces the server-wide
//! retention limits, removes dead ids (records expired or deleted) from flows, and runs
//! TLOG.PURGE, a bounded amount of work per tick (`tlog.cleaner-budget-us`, at most 1 ms).
//!
//! It finds work three ways: prefixes this server writes to are known at once; a slow,
//! incremental SCAN of every database finds the others (`<prefix>:flow:__all__`) and the tag
//! flows of known prefixes; work left over when a tick's time is up waits in a queue for the
//! next tick. Replicas never clean: they receive the master's effects (`RPOP`, `LREM`, `DEL`,
//! `XADD`, `UNLINK`), like any other write.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis_module::raw;

use crate::error::{Error, Result};
use crate::ffi::{Acl, Ctx, RString, Reply};
use crate::keys::{self, Keys};
use crate::record;
use crate::registry::config;
use crate::retention::{self, Archive, Limits};

/// Counters for `INFO tlog`, since the module was loaded, of what this server did.
pub mod stats {
    use super::*;

    pub static LOGGED: AtomicU64 = AtomicU64::new(0);
    pub static EVICTED: AtomicU64 = AtomicU64::new(0);
    pub static EXPIRED: AtomicU64 = AtomicU64::new(0);
    pub static TRIMMED: AtomicU64 = AtomicU64::new(0);
    pub static DELETED: AtomicU64 = AtomicU64::new(0);
    pub static ARCHIVED: AtomicU64 = AtomicU64::new(0);
    pub static PURGED: AtomicU64 = AtomicU64::new(0);
    pub static TICKS: AtomicU64 = AtomicU64::new(0);
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

    /// The upper bound of the bucket holding the `q` quantile (0..=1) of tick durations.
    pub fn tick_quantile_us(q: f64) -> u64 {
        let counts: Vec<u64> = TICK_HISTOGRAM.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64 * q).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return (i as u64 + 1) * BUCKET_US;
            }
        }
        counts.len() as u64 * BUCKET_US
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts what a retention removal did.
    pub fn removed(r: &retention::Removed) {
        add(&EVICTED, r.evicted);
        add(&EXPIRED, r.dead);
        add(&ARCHIVED, r.archived);
    }
}

/// Time between ticks while work is waiting, and while there is none.
const BUSY_PERIOD_MS: i64 = 2;
const IDLE_PERIOD_MS: i64 = 100;
/// A finished SCAN of every database starts again after this long.
const SCAN_PAUSE: Duration = Duration::from_secs(1);
/// Keys looked at per SCAN call of the discovery.
const SCAN_COUNT: &[u8] = b"50";
/// Entries one step removes from a flow before the clock is read again.
const STEP: usize = 16;
/// Known prefixes kept in memory; past this, only the SCAN finds more.
const MAX_PREFIXES: usize = 100_000;
/// TTL tags kept in memory (all prefixes); past this, only the SCAN finds their flows.
const MAX_TTL_TAGS: usize = 100_000;
/// Keys a purge looks at per SCAN call: a step of 50 to 250 µs, the grain of its slices.
const PURGE_SCAN_COUNT: &[u8] = b"50";
/// The slice a purge gets per tick even when the cleaner is off, in microseconds.
const PURGE_BUDGET_US: i64 = 500;

/// A flow whose oldest end still had dead ids when a tick ran out of time.
struct FlowJob {
    db: i32,
    key: Vec<u8>,
    /// The known prefixes the key can be read as a flow of (see `keys::flow_owners`).
    prefixes: Vec<Vec<u8>>,
}

/// A TLOG.PURGE in progress.
struct Purge {
    db: i32,
    prefix: Vec<u8>,
    glob: Vec<u8>,
    cursor: Vec<u8>,
    removed: u64,
    /// The client waiting for the count; none inside MULTI or a script (run to the end there).
    client: *mut raw::RedisModuleBlockedClient,
}

#[derive(Default)]
struct State {
    /// Every prefix known to hold tlog data, per database.
    known: HashMap<i32, HashSet<Vec<u8>>>,
    /// The same, in the order they are visited; `next` is the next one.
    order: Vec<(i32, Vec<u8>)>,
    next: usize,
    flows: VecDeque<FlowJob>,
    /// (db, key) of the flows in `flows`.
    queued: HashSet<(i32, Vec<u8>)>,
    /// Per database and prefix, the tags of records written here with a TTL: where the ids
    /// of expired records are (an expired record no longer says).
    ttl_tags: HashMap<i32, HashMap<Vec<u8>, HashSet<Vec<u8>>>>,
    ttl_tag_count: usize,
    purges: VecDeque<Purge>,
    scan_db: i32,
    scan_cursor: Vec<u8>,
    scan_paused_until: Option<Instant>,
}

thread_local! {
    // Commands and timers run on the server's main thread only.
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Remembers a prefix that holds tlog data (called on its first write this server sees).
pub fn know(db: i32, prefix: &[u8]) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.order.len() >= MAX_PREFIXES || s.known.get(&db).is_some_and(|k| k.contains(prefix)) {
            return;
        }
        s.known.entry(db).or_default().insert(prefix.to_vec());
        s.order.push((db, prefix.to_vec()));
    });
}

/// Remembers the tags of a record written with a TTL, so that once records expire, the
/// cleaner visits those flows without waiting for its SCAN to come by.
pub fn note_ttl_tags(db: i32, prefix: &[u8], tags: &[&str]) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let s = &mut *s;
        for tag in tags {
            let known = s.ttl_tags.get(&db).and_then(|p| p.get(prefix)).is_some_and(|t| t.contains(tag.as_bytes()));
            if known || s.ttl_tag_count >= MAX_TTL_TAGS {
                continue;
            }
            s.ttl_tags.entry(db).or_default().entry(prefix.to_vec()).or_default().insert(tag.as_bytes().to_vec());
            s.ttl_tag_count += 1;
        }
    });
}

/// Queues a flow for the next ticks, unless it is queued already.
fn enqueue(s: &mut State, job: FlowJob, front: bool) {
    if !s.queued.insert((job.db, job.key.clone())) {
        return;
    }
    if front {
        s.flows.push_front(job);
    } else {
        s.flows.push_back(job);
    }
}

/// The known prefixes flow `key` of database `db` can belong to (see `keys::flow_owners`).
fn known_owners(s: &State, db: i32, key: &[u8]) -> Vec<Vec<u8>> {
    let known = s.known.get(&db);
    keys::flow_owners(key)
        .into_iter()
        .filter(|(p, _)| known.is_some_and(|k| k.contains(*p)))
        .map(|(p, _)| p.to_vec())
        .collect()
}

/// Queues the flows of the TTL tags of a prefix: some of its records expired.
fn enqueue_ttl_flows(db: i32, prefix: &[u8]) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(tags) = s.ttl_tags.get(&db).and_then(|p| p.get(prefix)) else { return };
        let names: Vec<Vec<u8>> = tags.iter().map(|t| Keys::new(prefix).flow(t).to_vec()).collect();
        for key in names {
            let prefixes = known_owners(&s, db, &key);
            if !prefixes.is_empty() {
                enqueue(&mut s, FlowJob { db, key, prefixes }, false);
            }
        }
    });
}

/// Forgets every prefix and queued flow: the keyspace changed as a whole (FLUSHDB, SWAPDB, a
/// load, a change of replication role). The SCAN finds what is left.
pub fn forget_prefixes() {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.known.clear();
        s.order.clear();
        s.next = 0;
        s.flows.clear();
        s.queued.clear();
        s.ttl_tags.clear();
        s.ttl_tag_count = 0;
    });
}

/// True while a TLOG.PURGE of this prefix runs: writes to it are refused meanwhile.
pub fn purging(db: i32, prefix: &[u8]) -> bool {
    STATE.with(|s| s.borrow().purges.iter().any(|p| p.db == db && p.prefix == prefix))
}

/// Starts the timer (at load).
pub fn start(ctx: Ctx) -> std::result::Result<(), String> {
    schedule(ctx, IDLE_PERIOD_MS).map_err(|e| e.to_string())
}

fn schedule(ctx: Ctx, period_ms: i64) -> Result<()> {
    let create = unsafe { raw::RedisModule_CreateTimer }.ok_or(Error::Unsupported("RedisModule_CreateTimer"))?;
    // SAFETY: live context; the callback takes no data.
    unsafe { create(ctx.as_ptr(), period_ms, Some(on_timer), std::ptr::null_mut()) };
    Ok(())
}

unsafe extern "C" fn on_timer(ctx: *mut raw::RedisModuleCtx, _: *mut c_void) {
    let Some(ctx) = Ctx::new(ctx) else { return };
    let busy = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tick(ctx))).unwrap_or(false);
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
    let flags = ctx.flags().unwrap_or(0);
    if flags & (raw::REDISMODULE_CTX_FLAGS_SLAVE | raw::REDISMODULE_CTX_FLAGS_LOADING) != 0 {
        abort_purges("this server became a replica");
        return false;
    }
    let start = Instant::now();
    let cpu_start = thread_cpu_us();
    let budget_us = config::CLEANER_BUDGET_US.load(Ordering::Relaxed);
    let has_purge = STATE.with(|s| !s.borrow().purges.is_empty());
    let us = if has_purge { budget_us.max(PURGE_BUDGET_US) } else { budget_us };
    if us <= 0 {
        return false;
    }
    let budget = Budget { until: start + Duration::from_micros(us as u64) };
    let mut busy = false;
    if has_purge {
        busy |= run_purges(ctx, &budget);
    }
    if budget_us > 0 {
        busy |= run_flows(ctx, &budget);
        busy |= visit_prefixes(ctx, &budget);
        if budget.left() {
            discover(ctx, &budget);
        }
    }
    stats::tick_took(start.elapsed().as_micros() as u64, thread_cpu_us().saturating_sub(cpu_start));
    busy
}

/// CPU time of the calling thread, in microseconds.
fn thread_cpu_us() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a timespec to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return 0;
    }
    (t.tv_sec as u64).saturating_mul(1_000_000).saturating_add(t.tv_nsec as u64 / 1000)
}

fn server_limits() -> Limits {
    let max = config::MAX_RECORDS.load(Ordering::Relaxed);
    let age = config::MAX_AGE.load(Ordering::Relaxed);
    Limits {
        max_records: (max > 0).then_some(max as u64),
        max_age_micros: (age > 0).then(|| age.saturating_mul(1_000_000)),
    }
}

/// The archive records removed by retention go to, if archiving is on.
pub fn archive() -> Option<Archive> {
    config::ARCHIVE
        .load(Ordering::Relaxed)
        .then(|| Archive { maxlen: config::ARCHIVE_MAXLEN.load(Ordering::Relaxed) })
}

/// Enforces the server's limits on one prefix and removes the dead ids at the end of its
/// `__all__`, in steps, while the budget lasts. Returns true if it finished.
fn clean_prefix(ctx: Ctx, db: i32, prefix: &[u8], budget: &Budget) -> bool {
    if !ctx.select_db(db) {
        return true;
    }
    let keys = Keys::new(prefix);
    let acl = Acl::unrestricted();
    let mut dead = 0;
    let finished = loop {
        let result = retention::plan(ctx, &keys, &acl, server_limits(), record::now_micros(), 0, archive(), STEP)
            .and_then(|plan| Ok((plan.len(), retention::execute(ctx, &plan)?)));
        match result {
            Ok((n, removed)) => {
                stats::removed(&removed);
                dead += removed.dead;
                if n < STEP {
                    break true;
                }
            }
            Err(e) => {
                // A key of another type under the prefix (a stream where the archive goes):
                // nothing is removed until it is fixed.
                ctx.log_warning(&format!("tlog: the cleaner skips prefix '{}': {e}", String::from_utf8_lossy(prefix)));
                break true;
            }
        }
        if !budget.left() {
            break false;
        }
    };
    if dead > 0 {
        enqueue_ttl_flows(db, prefix);
    }
    finished
}

/// Removes dead ids at the end of a tag flow while the budget lasts. True if it finished.
fn clean_flow(ctx: Ctx, job: &FlowJob, budget: &Budget) -> bool {
    if !ctx.select_db(job.db) {
        return true;
    }
    let Ok(name) = ctx.string(&job.key) else { return true };
    let prefixes: Vec<&[u8]> = job.prefixes.iter().map(Vec::as_slice).collect();
    loop {
        match retention::trim_dead_tail(ctx, &name, &prefixes, STEP) {
            Ok(n) => {
                stats::add(&stats::TRIMMED, n);
                if (n as usize) < STEP {
                    return true;
                }
            }
            Err(_) => return true,
        }
        if !budget.left() {
            return false;
        }
    }
}

/// Flows left unfinished by earlier ticks. True if some are still waiting.
fn run_flows(ctx: Ctx, budget: &Budget) -> bool {
    while budget.left() {
        let Some(job) = STATE.with(|s| {
            let mut s = s.borrow_mut();
            let job = s.flows.pop_front()?;
            s.queued.remove(&(job.db, job.key.clone()));
            Some(job)
        }) else {
            return false;
        };
        if !clean_flow(ctx, &job, budget) {
            STATE.with(|s| enqueue(&mut s.borrow_mut(), job, true));
            return true;
        }
    }
    STATE.with(|s| !s.borrow().flows.is_empty())
}

/// Visits known prefixes in turn, each at most once per tick, as far as the budget goes. True
/// if a prefix still has records to remove (not merely prefixes left to visit: with many
/// prefixes, the visits go on at the idle pace).
fn visit_prefixes(ctx: Ctx, budget: &Budget) -> bool {
    let total = STATE.with(|s| s.borrow().order.len());
    for _ in 0..total {
        if !budget.left() {
            return false;
        }
        let Some((db, prefix)) = STATE.with(|s| {
            let mut s = s.borrow_mut();
            if s.order.is_empty() {
                return None;
            }
            let i = s.next % s.order.len();
            s.next = i + 1;
            Some(s.order[i].clone())
        }) else {
            return false;
        };
        if !clean_prefix(ctx, db, &prefix, budget) {
            // Start there next tick.
            STATE.with(|s| {
                let mut s = s.borrow_mut();
                s.next = s.next.saturating_sub(1);
            });
            return true;
        }
    }
    false
}

/// Steps the SCAN over every database: registers prefixes by their `__all__` flow, and trims
/// the tag flows of known prefixes.
fn discover(ctx: Ctx, budget: &Budget) {
    if STATE.with(|s| s.borrow().scan_paused_until.is_some_and(|t| Instant::now() < t)) {
        return;
    }
    while budget.left() {
        let (db, cursor) = STATE.with(|s| {
            let s = s.borrow();
            (s.scan_db, if s.scan_cursor.is_empty() { b"0".to_vec() } else { s.scan_cursor.clone() })
        });
        if !ctx.select_db(db) {
            // Past the last database: a cycle is done.
            STATE.with(|s| {
                let mut s = s.borrow_mut();
                s.scan_db = 0;
                s.scan_cursor.clear();
                s.scan_paused_until = Some(Instant::now() + SCAN_PAUSE);
            });
            stats::add(&stats::SCAN_CYCLES, 1);
            return;
        }
        let Ok((next, found)) = ctx.scan(&cursor, b"*flow:*", SCAN_COUNT) else { return };
        for key in found {
            let owners = keys::flow_owners(&key);
            if let Some((prefix, _)) = owners.iter().rev().find(|(_, tag)| *tag == keys::ALL_FLOW) {
                know(db, prefix);
                continue;
            }
            let prefixes = STATE.with(|s| known_owners(&s.borrow(), db, &key));
            if prefixes.is_empty() {
                continue;
            }
            let job = FlowJob { db, key, prefixes };
            // Out of time: the flow waits for the next tick.
            if !budget.left() || !clean_flow(ctx, &job, budget) {
                STATE.with(|s| enqueue(&mut s.borrow_mut(), job, false));
            }
        }
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            if next == b"0" {
                s.scan_db += 1;
                s.scan_cursor.clear();
            } else {
                s.scan_cursor = next;
            }
        });
    }
}

/// What a blocked TLOG.PURGE client is told.
type PurgeOutcome = std::result::Result<u64, String>;

/// Starts purging every key of `prefix` in the selected database. Where the client may block,
/// it waits for the count while the work runs in slices between other clients' commands;
/// elsewhere (MULTI, scripts) the whole purge runs now and the count is replied.
pub fn purge(ctx: Ctx, prefix: &[u8]) -> Result<()> {
    let db = ctx.selected_db();
    let mut glob = Vec::with_capacity(prefix.len() * 2 + 2);
    for &c in prefix {
        if matches!(c, b'*' | b'?' | b'[' | b']' | b'\\') {
            glob.push(b'\\');
        }
        glob.push(c);
    }
    glob.extend_from_slice(if prefix.is_empty() { b"*" } else { b":*" });
    let mut job = Purge { db, prefix: prefix.to_vec(), glob, cursor: b"0".to_vec(), removed: 0, client: std::ptr::null_mut() };
    if !ctx.may_block() {
        while !purge_step(ctx, &mut job)? {}
        finish_purge(&job);
        Reply::new(ctx).int(job.removed as i64);
        return Ok(());
    }
    let block = unsafe { raw::RedisModule_BlockClient }.ok_or(Error::Unsupported("RedisModule_BlockClient"))?;
    // SAFETY: live command context; the callbacks match the server's signatures.
    let bc = unsafe { block(ctx.as_ptr(), Some(purge_reply), Some(purge_reply), Some(purge_free), 0) };
    if bc.is_null() {
        return Err(Error::Internal("the server could not block the client"));
    }
    job.client = bc;
    STATE.with(|s| s.borrow_mut().purges.push_back(job));
    Ok(())
}

/// One SCAN step of a purge and the removal of what it found. True when the purge is done.
fn purge_step(ctx: Ctx, job: &mut Purge) -> Result<bool> {
    if !ctx.select_db(job.db) {
        return Ok(true);
    }
    let (next, found) = ctx.scan(&job.cursor, &job.glob, PURGE_SCAN_COUNT)?;
    let names: Vec<RString> = found
        .iter()
        .filter(|k| keys::belongs_to(&job.prefix, k))
        .map(|k| ctx.string(k))
        .collect::<Result<_>>()?;
    if !names.is_empty() {
        let refs: Vec<&RString> = names.iter().collect();
        let n = ctx.call_replicated_int(c"UNLINK", &refs)?;
        job.removed += n.max(0) as u64;
    }
    job.cursor = next;
    Ok(job.cursor == b"0")
}

fn finish_purge(job: &Purge) {
    stats::add(&stats::PURGED, job.removed);
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.known.get_mut(&job.db).is_some_and(|k| k.remove(&job.prefix)) {
            s.order.retain(|(db, p)| !(*db == job.db && *p == job.prefix));
        }
        if let Some(tags) = s.ttl_tags.get_mut(&job.db).and_then(|p| p.remove(&job.prefix)) {
            s.ttl_tag_count -= tags.len();
        }
    });
}

/// Purges in order, while the budget lasts. True if one is still running.
fn run_purges(ctx: Ctx, budget: &Budget) -> bool {
    while budget.left() {
        let Some(mut job) = STATE.with(|s| s.borrow_mut().purges.pop_front()) else { return false };
        let mut outcome = None;
        while budget.left() {
            match purge_step(ctx, &mut job) {
                Ok(false) => {}
                Ok(true) => {
                    outcome = Some(Ok(job.removed));
                    break;
                }
                Err(e) => {
                    outcome = Some(Err(e.to_string()));
                    break;
                }
            }
        }
        match outcome {
            Some(result) => {
                finish_purge(&job);
                unblock(job.client, result);
            }
            None => {
                STATE.with(|s| s.borrow_mut().purges.push_front(job));
                return true;
            }
        }
    }
    STATE.with(|s| !s.borrow().purges.is_empty())
}

fn abort_purges(why: &str) {
    let jobs: Vec<Purge> = STATE.with(|s| s.borrow_mut().purges.drain(..).collect());
    for job in jobs {
        finish_purge(&job);
        unblock(job.client, Err(format!("ERR TLOG.PURGE stopped after {} keys: {why}", job.removed)));
    }
}

fn unblock(client: *mut raw::RedisModuleBlockedClient, outcome: PurgeOutcome) {
    if client.is_null() {
        return;
    }
    let data = Box::into_raw(Box::new(outcome)).cast::<c_void>();
    // SAFETY: a blocked client of ours, unblocked once; the server hands `data` to
    // `purge_reply` and then to `purge_free`.
    unsafe {
        if let Some(f) = raw::RedisModule_UnblockClient {
            f(client, data);
        }
    }
}

unsafe extern "C" fn purge_reply(ctx: *mut raw::RedisModuleCtx, _: *mut *mut raw::RedisModuleString, _: c_int) -> c_int {
    let Some(ctx) = Ctx::new(ctx) else { return raw::REDISMODULE_ERR as c_int };
    let data = ctx.blocked_state().cast::<PurgeOutcome>();
    let reply = Reply::new(ctx);
    // SAFETY: the data given to UnblockClient, still owned by the server until `purge_free`.
    match unsafe { data.as_ref() } {
        Some(Ok(n)) => reply.int(*n as i64),
        Some(Err(e)) => reply.error(&Error::Message(e.clone())),
        None => reply.error(&Error::Internal("TLOG.PURGE ended without a result")),
    }
    raw::REDISMODULE_OK as c_int
}

unsafe extern "C" fn purge_free(_: *mut raw::RedisModuleCtx, data: *mut c_void) {
    if !data.is_null() {
        // SAFETY: made by `Box::into_raw` in `unblock`, freed once here.
        drop(unsafe { Box::from_raw(data.cast::<PurgeOutcome>()) });
    }
}

/// The `tlog` section of INFO.
pub fn register_info(ctx: Ctx) -> std::result::Result<(), String> {
    let reg = unsafe { raw::RedisModule_RegisterInfoFunc }.ok_or("no RegisterInfoFunc")?;
    // SAFETY: live load context.
    if unsafe { reg(ctx.as_ptr(), Some(info)) } != raw::REDISMODULE_OK as c_int {
        return Err("could not register the INFO section".into());
    }
    Ok(())
}

unsafe extern "C" fn info(ctx: *mut raw::RedisModuleInfoCtx, _for_crash_report: c_int) {
    let (Some(section), Some(field)) = (raw::RedisModule_InfoAddSection, raw::RedisModule_InfoAddFieldULongLong) else { return };
    let (backlog, prefixes) = STATE.with(|s| {
        let s = s.borrow();
        ((s.flows.len() + s.purges.len()) as u64, s.order.len() as u64)
    });
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let fields: [(&std::ffi::CStr, u64); 16] = [
        (c"records_logged", load(&stats::LOGGED)),
        (c"records_evicted", load(&stats::EVICTED)),
        (c"records_expired", load(&stats::EXPIRED)),
        (c"records_deleted", load(&stats::DELETED)),
        (c"records_archived", load(&stats::ARCHIVED)),
        (c"dead_ids_trimmed", load(&stats::TRIMMED)),
        (c"keys_purged", load(&stats::PURGED)),
        (c"cleaner_backlog", backlog),
        (c"cleaner_prefixes", prefixes),
        (c"cleaner_ticks", load(&stats::TICKS)),
        (c"cleaner_last_tick_us", load(&stats::LAST_TICK_US)),
        (c"cleaner_p99_tick_us", stats::tick_quantile_us(0.99)),
        (c"cleaner_max_tick_us", load(&stats::MAX_TICK_US)),
        (c"cleaner_max_tick_cpu_us", load(&stats::MAX_TICK_CPU_US)),
        (c"cleaner_scan_cycles", load(&stats::SCAN_CYCLES)),
        (c"cleaner_budget_us", config::CLEANER_BUDGET_US.load(Ordering::Relaxed).max(0) as u64),
    ];
    // SAFETY: live info context; the names are NUL-terminated.
    unsafe {
        section(ctx, std::ptr::null_mut());
        for (name, v) in fields {
            field(ctx, name.as_ptr(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stats;

    #[test]
    fn tick_quantiles_come_from_10us_buckets() {
        assert_eq!(stats::tick_quantile_us(0.99), 0);
        for _ in 0..98 {
            stats::tick_took(35, 30);
        }
        stats::tick_took(480, 400);
        stats::tick_took(7000, 900);
        // 98 ticks in [30, 40), one in [480, 490), one beyond the last bucket.
        assert_eq!(stats::tick_quantile_us(0.5), 40);
        assert_eq!(stats::tick_quantile_us(0.98), 40);
        assert_eq!(stats::tick_quantile_us(0.99), 490);
        assert_eq!(stats::tick_quantile_us(1.0), 5010);
        assert_eq!(stats::MAX_TICK_US.load(std::sync::atomic::Ordering::Relaxed), 7000);
        assert_eq!(stats::MAX_TICK_CPU_US.load(std::sync::atomic::Ordering::Relaxed), 900);
    }
}

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

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::config;
use crate::error::{Error, Result};
use crate::ffi::{self, Acl, BlockedClient, Ctx, Flags, RString, Reply, Unblocked};
use crate::keys::{self, Keys};
use crate::record;
use crate::store::retention::{self, Limits};
use crate::{prefixes, stats, store};

/// Time between ticks while work is waiting, and while there is none.
const BUSY_PERIOD_MS: i64 = 2;
const IDLE_PERIOD_MS: i64 = 100;
/// A finished SCAN of every database starts again after this long.
const SCAN_PAUSE: Duration = Duration::from_secs(1);
/// Keys looked at per SCAN call of the discovery.
const SCAN_COUNT: &[u8] = b"50";
/// Entries one step removes from a flow before the clock is read again.
const STEP: usize = 16;
/// Lists remembered as not shown to be a prefix's flow, until they change; past this, the
/// memory starts afresh.
const MAX_NOT_SHOWN: usize = 20_000;
/// Flows waiting in the queue; past this, the SCAN finds the others.
const MAX_QUEUE: usize = 10_000;
/// The slice a purge gets per tick even when the cleaner is off, in microseconds.
const PURGE_BUDGET_US: i64 = 400;

/// A flow whose oldest end still had dead ids when a tick ran out of time.
struct FlowJob {
    db: i32,
    key: Vec<u8>,
    /// The prefix and tag the flow's name reads as (see `keys::flow_owner`).
    prefix: Vec<u8>,
    tag: Vec<u8>,
}

/// A TLOG.PURGE in progress, and the client waiting for its count.
struct Purge {
    work: store::purge::Purge,
    /// None inside MULTI or a script (run to the end there).
    client: Option<BlockedClient<PurgeOutcome>>,
}

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

/// True if list `key` was found not shown to be the prefix's and has not changed since.
fn still_not_shown(ctx: Ctx, db: i32, key: &[u8], name: &RString) -> bool {
    let Some(then) = STATE.with(|s| s.borrow().not_shown.get(&(db, key.to_vec())).cloned()) else { return false };
    if retention::list_state(ctx, name).is_some_and(|now| now == then) {
        return true;
    }
    STATE.with(|s| s.borrow_mut().not_shown.remove(&(db, key.to_vec())));
    false
}

/// Remembers that the contents of list `key` do not show it to be the prefix's, as it is now.
fn mark_not_shown(ctx: Ctx, db: i32, key: &[u8], name: &RString) {
    let Some(now) = retention::list_state(ctx, name) else { return };
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.not_shown.len() >= MAX_NOT_SHOWN {
            s.not_shown.clear();
        }
        s.not_shown.insert((db, key.to_vec()), now);
    });
}

/// Queues a flow for the next ticks, unless it is queued already or the queue is full (the
/// SCAN finds it then).
fn enqueue(s: &mut State, job: FlowJob, front: bool) {
    if s.flows.len() >= MAX_QUEUE || !s.queued.insert((job.db, job.key.clone())) {
        return;
    }
    if front {
        s.flows.push_front(job);
    } else {
        s.flows.push_back(job);
    }
}

/// The flow job for key `key` of database `db`: the one way to read its name as
/// `<prefix>:flow:<tag>` (see `keys::flow_owner`), if the prefix is known or has a
/// `flow:__all__`. `None` (leave the key alone) where it cannot be judged: no such prefix, or
/// in cluster mode a prefix without a hash tag or a slot being migrated. Whether the flow is
/// really the prefix's is shown when dead ids are to be removed (see `clean_flow`).
fn flow_job(ctx: Ctx, db: i32, key: Vec<u8>) -> Option<FlowJob> {
    let (prefix, tag) = keys::flow_owner(&key)?;
    let known = prefixes::is_known(db, prefix);
    let real = known || ctx.select_db(db) && retention::has_all_flow(ctx, prefix);
    if !real || !settled(prefix) {
        return None;
    }
    let (prefix, tag) = (prefix.to_vec(), tag.to_vec());
    Some(FlowJob { db, key, prefix, tag })
}

/// False in cluster mode for a prefix without a hash tag (its records would be on other
/// nodes) or whose slot is being migrated.
fn settled(prefix: &[u8]) -> bool {
    STATE.with(|s| match &s.borrow().unsettled {
        None => true,
        Some(slots) => keys::has_hash_tag(prefix) && !slots.contains(&keys::key_slot(prefix)),
    })
}

/// At the start of a tick: in cluster mode, which slots are migrating or importing.
fn refresh_cluster_state(ctx: Ctx, flags: Flags) -> Result<()> {
    let unsettled =
        if flags.cluster() { Some(keys::unsettled_slots(&ctx.cluster_nodes()?).into_iter().collect()) } else { None };
    STATE.with(|s| s.borrow_mut().unsettled = unsettled);
    Ok(())
}

/// Queues the flows of pending tag sweeps, `STEP * 4` at a time, while the budget lasts. True
/// if a sweep is still pending.
fn run_sweeps(ctx: Ctx, budget: &Budget) -> bool {
    while budget.left() {
        if STATE.with(|s| s.borrow().flows.len() + STEP * 4 > MAX_QUEUE) {
            // The queue drains first.
            break;
        }
        let Some((db, prefix, tags)) = prefixes::sweep_batch(STEP * 4) else { break };
        for tag in tags {
            let key = Keys::new(&prefix).flow(&tag).to_vec();
            if let Some(job) = flow_job(ctx, db, key) {
                STATE.with(|s| enqueue(&mut s.borrow_mut(), job, false));
            }
        }
    }
    prefixes::sweeps_pending() > 0
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

fn server_limits() -> Limits {
    let (max_records, max_age_micros) = config::server_limits();
    Limits { max_records, max_age_micros }
}

/// Enforces the server's limits on one prefix and removes the dead ids at the end of its
/// `__all__`, in steps, while the budget lasts. Returns true if it finished. Only as far as
/// `__all__` is shown to be the prefix's flow of every record (a list named `x:flow:__all__`
/// is not enough): by its contents (see `retention::shown_by_contents`; a record of the
/// prefix the plan removes shows it too), or, for dead ids only, because this server
/// remembers it (see `State::known`).
fn clean_prefix(ctx: Ctx, db: i32, prefix: &[u8], budget: &Budget) -> bool {
    // A prefix being purged goes as a whole: nothing to trim there.
    if !ctx.select_db(db) || !settled(prefix) || prefixes::purging(db, prefix) {
        return true;
    }
    let keys = Keys::new(prefix);
    let all = keys.all_flow();
    let Ok(all_name) = ctx.string(&all) else { return true };
    let acl = Acl::unrestricted();
    let mut dead = 0;
    let mut proof = retention::Proof { remembered: prefixes::written(db, prefix), contents: None };
    if still_not_shown(ctx, db, &all, &all_name) {
        if !proof.remembered {
            return true;
        }
        proof.contents = Some(false);
    }
    let mut gone = false;
    let finished = loop {
        let step = retention::Step { entries: STEP, flow_ops: STEP * 4, dead_removable: true };
        let rules = retention::Rules {
            limits: server_limits(),
            now_micros: record::now_micros(),
            adding: 0,
            archive: retention::archive(),
        };
        let result = retention::plan(ctx, &keys, &acl, rules, step).and_then(|mut plan| {
            if proof.contents.is_none() && plan.meets_a_record() {
                // The oldest id of the list with a record is a record of the prefix.
                proof.contents = Some(true);
            }
            if plan.is_empty() {
                gone = plan.empties();
                return Ok((false, retention::Removed::default()));
            }
            // Remembered, it may lose its dead ids without a look at its contents; not an
            // entry that is no id.
            let needs_contents = !proof.remembered || plan.removes_a_non_id();
            if proof.contents.is_none() && needs_contents {
                proof.contents = Some(retention::shown_by_contents(ctx, &keys, keys::ALL_FLOW, &all_name)?);
            }
            if !proof.shown() {
                if !proof.remembered {
                    // Not shown to be the prefix's: nothing is removed.
                    return Ok((false, retention::Removed::default()));
                }
                // Remembered: its dead ids may go, up to the first entry that is no id.
                plan.keep_ids_only();
            }
            gone = plan.empties();
            Ok((plan.more(), retention::execute(ctx, &plan)?))
        });
        match result {
            Ok((more, removed)) => {
                stats::removed(removed.evicted, removed.dead, removed.archived);
                dead += removed.dead;
                if !more {
                    break true;
                }
            }
            Err(e) => {
                // A key of another type under the prefix (a stream where the archive goes):
                // nothing is removed until it is fixed. Said once.
                if STATE.with(|s| s.borrow_mut().warned.insert((db, prefix.to_vec()))) {
                    ctx.log_warning(&format!(
                        "tlog: the cleaner skips prefix '{}' until this is fixed: {e}",
                        String::from_utf8_lossy(prefix)
                    ));
                }
                break true;
            }
        }
        if !budget.left() {
            break false;
        }
    };
    if proof.shown() && !proof.remembered && !gone {
        // Remembered from now on: once its every id is dead, its contents show nothing.
        let _ = prefixes::know(db, prefix);
    } else if proof.contents == Some(false) {
        mark_not_shown(ctx, db, &all, &all_name);
    }
    if gone {
        prefixes::forget_written(db, prefix);
    }
    if dead > 0 {
        prefixes::sweep_tag_flows(db, prefix);
    }
    finished
}

/// Removes dead ids at the end of a tag flow while the budget lasts, as far as the flow is
/// shown to be the prefix's: by its contents, or, for dead ids only, because this server
/// remembers the tag (see `State::tags`). A flow whose contents do not show it is not looked
/// at again until it changes. True if it finished.
fn clean_flow(ctx: Ctx, job: &FlowJob, budget: &Budget) -> bool {
    if !ctx.select_db(job.db) || !settled(&job.prefix) || prefixes::purging(job.db, &job.prefix) {
        return true;
    }
    let Ok(name) = ctx.string(&job.key) else { return true };
    let keys = Keys::new(&job.prefix);
    let mut proof =
        retention::Proof { remembered: prefixes::remembered(job.db, &job.prefix, &job.tag), contents: None };
    if still_not_shown(ctx, job.db, &job.key, &name) {
        if !proof.remembered {
            return true;
        }
        proof.contents = Some(false);
    }
    let finished = loop {
        // The proof is carried from step to step: the contents are looked at once per visit.
        let probe_live_tail = !proof.remembered && proof.contents.is_none();
        match retention::trim_dead_tail(ctx, &name, &keys, &job.tag, STEP, &mut proof, probe_live_tail) {
            Ok(trim) => {
                stats::add(&stats::TRIMMED, trim.removed);
                if trim.gone {
                    // Missing or emptied: whatever list comes there next must show itself.
                    prefixes::forget_tag(job.db, &job.prefix, &job.tag);
                    return true;
                }
                if trim.live_tail_shows {
                    proof.contents = Some(true);
                }
                if (trim.removed as usize) < STEP {
                    break true;
                }
            }
            Err(_) => break true,
        }
        if !budget.left() {
            break false;
        }
    };
    if proof.shown() && !proof.remembered {
        prefixes::note_shown(job.db, &job.prefix, &job.tag);
    } else if proof.contents == Some(false) {
        mark_not_shown(ctx, job.db, &job.key, &name);
    }
    finished
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
    for _ in 0..prefixes::count() {
        if !budget.left() {
            return false;
        }
        let Some((db, prefix)) = prefixes::next_to_visit() else { return false };
        if !clean_prefix(ctx, db, &prefix, budget) {
            // Start there next tick.
            prefixes::visit_again();
            return true;
        }
    }
    false
}

/// Steps the SCAN over every database: registers prefixes by their `__all__` flow, and trims
/// the tag flows of known prefixes. True if it removed dead ids (the next tick comes sooner).
fn discover(ctx: Ctx, budget: &Budget) -> bool {
    if STATE.with(|s| s.borrow().scan_paused_until.is_some_and(|t| Instant::now() < t)) {
        return false;
    }
    let trimmed_before = stats::get(&stats::TRIMMED) + stats::get(&stats::EXPIRED);
    let found_work = || stats::get(&stats::TRIMMED) + stats::get(&stats::EXPIRED) > trimmed_before;
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
            return found_work();
        }
        let Ok((next, found)) = retention::scan_flows(ctx, &cursor, SCAN_COUNT) else { return false };
        for key in found {
            if let Some((prefix, keys::ALL_FLOW)) = keys::flow_owner(&key) {
                if !prefixes::discovered(db, prefix) && budget.left() {
                    // No room to remember it: clean it now, as the SCAN passes.
                    clean_prefix(ctx, db, prefix, budget);
                }
                continue;
            }
            let Some(job) = flow_job(ctx, db, key) else { continue };
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
    // Dead ids found: more are likely, the next tick comes soon.
    found_work()
}

/// What a blocked TLOG.PURGE client is told: the count, or why the purge stopped.
struct PurgeOutcome(std::result::Result<u64, String>);

impl Unblocked for PurgeOutcome {
    fn reply(&self, ctx: Ctx) {
        let reply = Reply::new(ctx);
        match &self.0 {
            Ok(n) => reply.int(*n as i64),
            Err(e) => reply.error(&Error::Message(e.clone())),
        }
    }
}

/// Starts purging every key of `prefix` in the selected database. Where the client may block,
/// it waits for the count while the work runs in slices between other clients' commands;
/// elsewhere (MULTI, scripts) the whole purge runs now and the count is replied.
pub fn purge(ctx: Ctx, prefix: &[u8]) -> Result<()> {
    let db = ctx.selected_db();
    let mut job = Purge { work: store::purge::Purge::start(ctx, prefix)?, client: None };
    if !ctx.may_block() {
        while !job.work.step(ctx)? {}
        finish_purge(&job);
        Reply::new(ctx).int(job.work.removed as i64);
        return Ok(());
    }
    job.client = Some(ctx.block_client()?);
    prefixes::purge_started(db, prefix);
    STATE.with(|s| s.borrow_mut().purges.push_back(job));
    Ok(())
}

fn finish_purge(job: &Purge) {
    let work = &job.work;
    stats::add(&stats::PURGED, work.removed);
    prefixes::forget_prefix(work.db, &work.prefix);
    if job.client.is_some() {
        // It ran in slices: writes to the prefix were refused meanwhile.
        prefixes::purge_ended(work.db, &work.prefix);
    }
}

/// Purges in order, while the budget lasts. True if one is still running.
fn run_purges(ctx: Ctx, budget: &Budget) -> bool {
    while budget.left() {
        let Some(mut job) = STATE.with(|s| s.borrow_mut().purges.pop_front()) else { return false };
        let mut outcome = None;
        while budget.left() {
            match job.work.step(ctx) {
                Ok(false) => {}
                Ok(true) => {
                    outcome = Some(Ok(job.work.removed));
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
                unblock(job.client, PurgeOutcome(result));
            }
            None => {
                STATE.with(|s| s.borrow_mut().purges.push_front(job));
                return true;
            }
        }
    }
    STATE.with(|s| !s.borrow().purges.is_empty())
}

/// SWAPDB moved the databases purges were working in: they stop (called by the event).
pub fn databases_swapped() {
    abort_purges("SWAPDB exchanged its database");
}

/// The server's replication role changed: a purge stops at once rather than at the next tick
/// (a replica takes no writes of its own).
pub fn role_changed() {
    abort_purges("this server became a replica");
}

fn abort_purges(why: &str) {
    let jobs: Vec<Purge> = STATE.with(|s| s.borrow_mut().purges.drain(..).collect());
    for job in jobs {
        finish_purge(&job);
        let outcome = PurgeOutcome(Err(format!("ERR TLOG.PURGE stopped after {} keys: {why}", job.work.removed)));
        unblock(job.client, outcome);
    }
}

fn unblock(client: Option<BlockedClient<PurgeOutcome>>, outcome: PurgeOutcome) {
    if let Some(client) = client {
        client.unblock(outcome);
    }
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

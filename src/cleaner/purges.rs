//! TLOG.PURGE in slices: the queue of purges, each step run through `store::purge`, and the
//! blocked clients waiting for their count.

use crate::error::{Error, Result};
use crate::ffi::{BlockedClient, Ctx, Reply, Unblocked};
use crate::{prefixes, stats, store};

use super::{Budget, STATE};

/// A TLOG.PURGE in progress, and the client waiting for its count.
pub(super) struct Purge {
    work: store::purge::Purge,
    /// None inside MULTI or a script (run to the end there).
    client: Option<BlockedClient<PurgeOutcome>>,
    /// Set while it runs in slices: writes to the prefix are refused until it is dropped.
    running: Option<Running>,
}

/// Marks a prefix as being purged in slices (see `prefixes::purge_started`) until dropped,
/// however the purge ends: finished, stopped, or dropped by a caught panic in a step. Without
/// it the prefix would refuse writes until a restart.
struct Running {
    db: i32,
    prefix: Vec<u8>,
}

impl Running {
    fn start(db: i32, prefix: &[u8]) -> Self {
        prefixes::purge_started(db, prefix);
        Running { db, prefix: prefix.to_vec() }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        prefixes::purge_ended(self.db, &self.prefix);
    }
}

/// What a blocked TLOG.PURGE client is told: the count, or why the purge stopped.
pub(super) struct PurgeOutcome(std::result::Result<u64, String>);

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
    let mut job = Purge { work: store::purge::Purge::start(ctx, prefix)?, client: None, running: None };
    if !ctx.may_block() {
        while !job.work.step(ctx)? {}
        finish_purge(&mut job);
        Reply::new(ctx).int(job.work.removed as i64);
        return Ok(());
    }
    job.client = Some(ctx.block_client()?);
    job.running = Some(Running::start(db, prefix));
    STATE.with(|s| s.borrow_mut().purges.push_back(job));
    Ok(())
}

pub(super) fn finish_purge(job: &mut Purge) {
    let work = &job.work;
    stats::add(&stats::PURGED, work.removed);
    prefixes::forget_prefix(work.db, &work.prefix);
    store::floor_cache::forget(work.db, &work.prefix);
    // If it ran in slices, the prefix takes writes again.
    job.running = None;
}

/// Purges in order, while the budget lasts. True if one is still running.
pub(super) fn run_purges(ctx: Ctx, budget: &Budget) -> bool {
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
                finish_purge(&mut job);
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

pub(super) fn abort_purges(why: &str) {
    let jobs: Vec<Purge> = STATE.with(|s| s.borrow_mut().purges.drain(..).collect());
    for mut job in jobs {
        finish_purge(&mut job);
        let outcome = PurgeOutcome(Err(format!("ERR TLOG.PURGE stopped after {} keys: {why}", job.work.removed)));
        unblock(job.client, outcome);
    }
}

pub(super) fn unblock(client: Option<BlockedClient<PurgeOutcome>>, outcome: PurgeOutcome) {
    if let Some(client) = client {
        client.unblock(outcome);
    }
}

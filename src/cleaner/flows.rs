//! Retention of the prefixes and flows the cleaner knows: each known prefix visited in turn
//! (the server-wide limits, dead ids at the end of `__all__`), the queue of tag flows with dead
//! ids left over, and the sweeps that queue a prefix's remembered tags. Every key goes through
//! `store::retention`.

use crate::error::Result;
use crate::ffi::{Acl, Ctx, Flags, RString};
use crate::keys::{self, Keys};
use crate::record;
use crate::store::retention::{self, Limits};
use crate::{config, prefixes, stats};

use super::{Budget, State, STATE, STEP};

/// Lists remembered as not shown to be a prefix's flow, until they change; past this, the
/// memory starts afresh.
const MAX_NOT_SHOWN: usize = 20_000;

/// Flows waiting in the queue; past this, the SCAN finds the others.
const MAX_QUEUE: usize = 10_000;

/// A flow whose oldest end still had dead ids when a tick ran out of time.
pub(super) struct FlowJob {
    db: i32,
    key: Vec<u8>,
    /// The prefix and tag the flow's name reads as (see `keys::flow_owner`).
    prefix: Vec<u8>,
    tag: Vec<u8>,
}

/// True if list `key` was found not shown to be the prefix's and has not changed since.
pub(super) fn still_not_shown(ctx: Ctx, db: i32, key: &[u8], name: &RString) -> bool {
    let Some(then) = STATE.with(|s| s.borrow().not_shown.get(&(db, key.to_vec())).cloned()) else { return false };
    if retention::list_state(ctx, name).is_some_and(|now| now == then) {
        return true;
    }
    STATE.with(|s| s.borrow_mut().not_shown.remove(&(db, key.to_vec())));
    false
}

/// Remembers that the contents of list `key` do not show it to be the prefix's, as it is now.
pub(super) fn mark_not_shown(ctx: Ctx, db: i32, key: &[u8], name: &RString) {
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
pub(super) fn enqueue(s: &mut State, job: FlowJob, front: bool) {
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
pub(super) fn flow_job(ctx: Ctx, db: i32, key: Vec<u8>) -> Option<FlowJob> {
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
pub(super) fn settled(prefix: &[u8]) -> bool {
    STATE.with(|s| match &s.borrow().unsettled {
        None => true,
        Some(slots) => keys::has_hash_tag(prefix) && !slots.contains(&keys::key_slot(prefix)),
    })
}

/// At the start of a tick: in cluster mode, which slots are migrating or importing.
pub(super) fn refresh_cluster_state(ctx: Ctx, flags: Flags) -> Result<()> {
    let unsettled =
        if flags.cluster() { Some(keys::unsettled_slots(&ctx.cluster_nodes()?).into_iter().collect()) } else { None };
    STATE.with(|s| s.borrow_mut().unsettled = unsettled);
    Ok(())
}

/// Queues the flows of pending tag sweeps, `STEP * 4` at a time, while the budget lasts. True
/// if a sweep is still pending.
pub(super) fn run_sweeps(ctx: Ctx, budget: &Budget) -> bool {
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

pub(super) fn server_limits() -> Limits {
    let (max_records, max_age_micros) = config::server_limits();
    Limits { max_records, max_age_micros }
}

/// Enforces the server's limits on one prefix and removes the dead ids at the end of its
/// `__all__`, in steps, while the budget lasts. Returns true if it finished. Only as far as
/// `__all__` is shown to be the prefix's flow of every record (a list named `x:flow:__all__`
/// is not enough): by its contents (see `retention::shown_by_contents`; a record of the
/// prefix the plan removes shows it too), or, for dead ids only, because this server
/// remembers it (see `prefixes::written`).
pub(super) fn clean_prefix(ctx: Ctx, db: i32, prefix: &[u8], budget: &Budget) -> bool {
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
/// remembers the tag (see `prefixes::remembered`). A flow whose contents do not show it is not looked
/// at again until it changes. True if it finished.
pub(super) fn clean_flow(ctx: Ctx, job: &FlowJob, budget: &Budget) -> bool {
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
pub(super) fn run_flows(ctx: Ctx, budget: &Budget) -> bool {
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
pub(super) fn visit_prefixes(ctx: Ctx, budget: &Budget) -> bool {
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

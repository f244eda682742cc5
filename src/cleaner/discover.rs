//! Discovery: an incremental SCAN of every database for `*flow:*` keys, registering the
//! prefixes it finds by their `__all__` and trimming the tag flows of known prefixes as it
//! passes.

use std::time::{Duration, Instant};

use crate::ffi::Ctx;
use crate::keys;
use crate::store::retention;
use crate::{prefixes, stats};

use super::flows::{clean_flow, clean_prefix, enqueue, flow_job};
use super::{Budget, STATE};

/// A finished SCAN of every database starts again after this long.
const SCAN_PAUSE: Duration = Duration::from_secs(1);

/// Keys looked at per SCAN call of the discovery.
const SCAN_COUNT: &[u8] = b"50";

/// Steps the SCAN over every database: registers prefixes by their `__all__` flow, and trims
/// the tag flows of known prefixes. True if it removed dead ids (the next tick comes sooner).
pub(super) fn discover(ctx: Ctx, budget: &Budget) -> bool {
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

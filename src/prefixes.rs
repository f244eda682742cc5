//! What this server remembers of the prefixes in its keyspace: the prefixes known to hold
//! tlog data (and whether their `__all__` is remembered as theirs), the tags whose flows are
//! remembered as a prefix's, the pending sweeps of those flows, and the prefixes a TLOG.PURGE
//! is removing (writes to them are refused meanwhile). Written by the store (on every write)
//! and the cleaner; forgotten when the keyspace is replaced. A leaf: it uses no other module.
//!
//! Names alone prove nothing (a list `flow:queue` of numbers is, by name, a flow of the empty
//! prefix): a flow is the prefix's if this server wrote to it, or if its contents showed it.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

/// Known prefixes kept in memory; past this, the SCAN finds the others and cleans them as it
/// passes. (Bounded also so that no set ever takes long to grow: a command or tick that grows
/// one pays for rehashing it.)
const MAX_PREFIXES: usize = 10_000;
/// Tags of records written with a TTL kept in memory (all prefixes); past this, only the SCAN
/// finds their flows, and only their contents can show them.
const MAX_TTL_TAGS: usize = 10_000;
/// Other tags kept in memory (written without a TTL, or flows shown by their contents).
/// Counted apart, so that they never crowd out the tags of TTL records, whose flows are the
/// ones left holding nothing but dead ids.
const MAX_OTHER_TAGS: usize = 10_000;

/// The tags of one prefix whose flows this server remembers as the prefix's, and how far
/// queuing their flows has got.
#[derive(Default)]
struct Tags {
    /// Each tag's place in `list`, and whether a record with a TTL was written with it.
    index: HashMap<Vec<u8>, (usize, bool)>,
    /// The same tags: what a sweep walks.
    list: Vec<Vec<u8>>,
    /// The next tag a pending sweep queues, if one is pending.
    sweep: Option<usize>,
    /// More records expired while a sweep was pending: sweep once more after it.
    again: bool,
}

#[derive(Default)]
struct State {
    /// Every prefix known to hold tlog data, per database: true for those whose `__all__` this
    /// server remembers as theirs (it wrote to it, or its contents showed it, since the
    /// keyspace was last replaced, and the cleaner has not found it missing or emptied it
    /// since), false for the others (the contents of their `__all__` must show it).
    known: HashMap<i32, HashMap<Vec<u8>, bool>>,
    /// The same, in the order they are visited; `next` is the next one.
    order: Vec<(i32, Vec<u8>)>,
    next: usize,
    /// Per database and prefix, the tags whose flows this server remembers as the prefix's:
    /// those it wrote records with, and those whose contents showed them. Where the ids of
    /// expired records are (an expired record no longer says), and flows that stay the
    /// prefix's once their every id is dead (their contents show nothing then). A tag is
    /// forgotten when the cleaner finds its flow missing or empties it.
    tags: HashMap<i32, HashMap<Vec<u8>, Tags>>,
    ttl_tag_count: usize,
    other_tag_count: usize,
    /// Prefixes whose remembered tags' flows are being queued, a bounded number per tick.
    sweeps: VecDeque<(i32, Vec<u8>)>,
    /// Prefixes a TLOG.PURGE is removing, with how many purges of each are running.
    purging: HashMap<(i32, Vec<u8>), usize>,
}

thread_local! {
    // Commands and timers run on the server's main thread only.
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Remembers a prefix this server writes to (called on its first write this server sees).
/// False if it is not known and there is no room to remember it.
pub fn know(db: i32, prefix: &[u8]) -> bool {
    remember(db, prefix, true)
}

/// Remembers a prefix the SCAN found, unless known already. False if there is no room.
pub fn discovered(db: i32, prefix: &[u8]) -> bool {
    remember(db, prefix, false)
}

fn remember(db: i32, prefix: &[u8], written: bool) -> bool {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if let Some(w) = s.known.get_mut(&db).and_then(|k| k.get_mut(prefix)) {
            *w |= written;
            return true;
        }
        if s.order.len() >= MAX_PREFIXES {
            return false;
        }
        s.known.entry(db).or_default().insert(prefix.to_vec(), written);
        s.order.push((db, prefix.to_vec()));
        true
    })
}

/// True if the prefix is known (see `State::known`).
pub fn is_known(db: i32, prefix: &[u8]) -> bool {
    STATE.with(|s| s.borrow().known.get(&db).is_some_and(|k| k.contains_key(prefix)))
}

/// True if this server remembers `__all__` of the prefix as the prefix's (see `State::known`).
pub fn written(db: i32, prefix: &[u8]) -> bool {
    STATE.with(|s| s.borrow().known.get(&db).and_then(|k| k.get(prefix)).copied().unwrap_or(false))
}

/// The cleaner found `__all__` of the prefix missing, or emptied it: whatever list is put
/// there next must show it is the prefix's (or be written by this server).
pub fn forget_written(db: i32, prefix: &[u8]) {
    STATE.with(|s| {
        if let Some(w) = s.borrow_mut().known.get_mut(&db).and_then(|k| k.get_mut(prefix)) {
            *w = false;
        }
    });
}

/// How many prefixes are known.
pub fn count() -> usize {
    STATE.with(|s| s.borrow().order.len())
}

/// The next known prefix to visit, in turn.
pub fn next_to_visit() -> Option<(i32, Vec<u8>)> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.order.is_empty() {
            return None;
        }
        let i = s.next % s.order.len();
        s.next = i + 1;
        Some(s.order[i].clone())
    })
}

/// The last prefix [`next_to_visit`] gave is visited again next time.
pub fn visit_again() {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.next = s.next.saturating_sub(1);
    });
}

/// True if this server remembers the flow of `tag` as the prefix's (see `State::tags`).
pub fn remembered(db: i32, prefix: &[u8], tag: &[u8]) -> bool {
    STATE.with(|s| s.borrow().tags.get(&db).and_then(|p| p.get(prefix)).is_some_and(|t| t.index.contains_key(tag)))
}

/// Remembers the tags of a record this server wrote, so that the cleaner visits those flows
/// once records of the prefix expire or are deleted, without waiting for its SCAN, and knows
/// them for the prefix's even when their every id is dead. Called on every write: when every
/// tag is known already (the usual case), a lookup per tag and nothing more.
pub fn note_tags(db: i32, prefix: &[u8], tags: &[&str], ttl: bool) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let s = &mut *s;
        if let Some(t) = s.tags.get(&db).and_then(|p| p.get(prefix)) {
            if tags.iter().all(|tag| t.index.get(tag.as_bytes()).is_some_and(|&(_, was_ttl)| was_ttl || !ttl)) {
                return;
            }
        }
        for tag in tags {
            remember_tag(s, db, prefix, tag.as_bytes(), ttl);
        }
    });
}

/// Remembers a tag flow whose contents showed it is the prefix's, so that it stays known for
/// the prefix's once every id in it is dead.
pub fn note_shown(db: i32, prefix: &[u8], tag: &[u8]) {
    STATE.with(|s| remember_tag(&mut s.borrow_mut(), db, prefix, tag, false));
}

fn remember_tag(s: &mut State, db: i32, prefix: &[u8], tag: &[u8], ttl: bool) {
    if let Some(entry) = s.tags.get_mut(&db).and_then(|p| p.get_mut(prefix)).and_then(|t| t.index.get_mut(tag)) {
        if ttl && !entry.1 && s.ttl_tag_count < MAX_TTL_TAGS {
            entry.1 = true;
            s.ttl_tag_count += 1;
            s.other_tag_count = s.other_tag_count.saturating_sub(1);
        }
        return;
    }
    let count = if ttl { &mut s.ttl_tag_count } else { &mut s.other_tag_count };
    if *count >= if ttl { MAX_TTL_TAGS } else { MAX_OTHER_TAGS } {
        return;
    }
    *count += 1;
    let t = s.tags.entry(db).or_default().entry(prefix.to_vec()).or_default();
    t.index.insert(tag.to_vec(), (t.list.len(), ttl));
    t.list.push(tag.to_vec());
}

/// The cleaner found the flow of `tag` missing, or emptied it: the tag is forgotten, and
/// whatever list is put there next must show it is the prefix's (or be written by this
/// server).
pub fn forget_tag(db: i32, prefix: &[u8], tag: &[u8]) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let s = &mut *s;
        let Some(by_prefix) = s.tags.get_mut(&db) else { return };
        let Some(t) = by_prefix.get_mut(prefix) else { return };
        let Some((i, ttl)) = t.index.remove(tag) else { return };
        t.list.swap_remove(i);
        if let Some(moved) = t.list.get(i) {
            if let Some(e) = t.index.get_mut(moved) {
                e.0 = i;
            }
            // The tag moved into place `i` from the end: a sweep already past `i` would miss
            // it, so it runs once more.
            if t.sweep.is_some_and(|at| at > i) {
                t.again = true;
            }
        }
        if ttl {
            s.ttl_tag_count = s.ttl_tag_count.saturating_sub(1);
        } else {
            s.other_tag_count = s.other_tag_count.saturating_sub(1);
        }
        if t.index.is_empty() && t.sweep.is_none() {
            by_prefix.remove(prefix);
        }
    });
}

/// Some records of a prefix expired or were deleted: the flows of its remembered tags are to
/// be swept (see [`sweep_batch`], a bounded number per tick, however many tags there are).
pub fn sweep_tag_flows(db: i32, prefix: &[u8]) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let Some(t) = s.tags.get_mut(&db).and_then(|p| p.get_mut(prefix)) else { return };
        if t.sweep.is_some() {
            t.again = true;
            return;
        }
        t.sweep = Some(0);
        s.sweeps.push_back((db, prefix.to_vec()));
    });
}

/// The next `n` tags of the first pending sweep: its database, prefix and tags (none if the
/// prefix's tags were forgotten meanwhile). `None` when no sweep is pending.
pub fn sweep_batch(n: usize) -> Option<(i32, Vec<u8>, Vec<Vec<u8>>)> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let s = &mut *s;
        let (db, prefix) = s.sweeps.pop_front()?;
        let Some(t) = s.tags.get_mut(&db).and_then(|p| p.get_mut(&prefix)) else {
            return Some((db, prefix, Vec::new()));
        };
        let from = t.sweep.unwrap_or(0).min(t.list.len());
        let to = (from + n).min(t.list.len());
        let tags = t.list[from..to].to_vec();
        t.sweep = if to < t.list.len() {
            Some(to)
        } else if std::mem::take(&mut t.again) {
            Some(0)
        } else {
            None
        };
        if t.sweep.is_some() {
            s.sweeps.push_back((db, prefix.clone()));
        }
        Some((db, prefix, tags))
    })
}

/// How many prefixes have a sweep pending.
pub fn sweeps_pending() -> usize {
    STATE.with(|s| s.borrow().sweeps.len())
}

/// Forgets a purged prefix and its tags.
pub fn forget_prefix(db: i32, prefix: &[u8]) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if s.known.get_mut(&db).is_some_and(|k| k.remove(prefix).is_some()) {
            s.order.retain(|(d, p)| !(*d == db && p == prefix));
        }
        if let Some(tags) = s.tags.get_mut(&db).and_then(|p| p.remove(prefix)) {
            for (_, ttl) in tags.index.values() {
                if *ttl {
                    s.ttl_tag_count = s.ttl_tag_count.saturating_sub(1);
                } else {
                    s.other_tag_count = s.other_tag_count.saturating_sub(1);
                }
            }
        }
    });
}

/// Forgets every prefix, tag and pending sweep: the keyspace changed as a whole (FLUSHDB,
/// SWAPDB, a load, a change of replication role). Purges in progress stay marked until they
/// stop.
pub fn forget_all() {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.known.clear();
        s.order.clear();
        s.next = 0;
        s.tags.clear();
        s.ttl_tag_count = 0;
        s.other_tag_count = 0;
        s.sweeps.clear();
    });
}

/// A TLOG.PURGE of the prefix starts running in slices: writes to it are refused until
/// [`purge_ended`].
pub fn purge_started(db: i32, prefix: &[u8]) {
    STATE.with(|s| *s.borrow_mut().purging.entry((db, prefix.to_vec())).or_default() += 1);
}

pub fn purge_ended(db: i32, prefix: &[u8]) {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let key = (db, prefix.to_vec());
        if let Some(n) = s.purging.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                s.purging.remove(&key);
            }
        }
    });
}

/// True while a TLOG.PURGE of this prefix runs: writes to it are refused meanwhile.
pub fn purging(db: i32, prefix: &[u8]) -> bool {
    STATE.with(|s| {
        let s = s.borrow();
        !s.purging.is_empty() && s.purging.contains_key(&(db, prefix.to_vec()))
    })
}

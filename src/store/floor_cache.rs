//! The id and timestamp of the last record this server logged per prefix, so the next record
//! of the prefix finds its timestamp floor without reading the newest record back. An entry
//! counts only while its id is still the newest of `__all__`; anything else reads the record.
//! A fixed number of slots: memory stays bounded whatever the number of prefixes.

use std::cell::RefCell;

const SLOTS: usize = 256;

struct Slot {
    db: i32,
    prefix: Vec<u8>,
    id: i64,
    ts: i64,
}

thread_local! {
    // Commands run on the server's main thread only.
    static CACHE: RefCell<Vec<Option<Slot>>> = RefCell::new((0..SLOTS).map(|_| None).collect());
}

fn slot_of(db: i32, prefix: &[u8]) -> usize {
    // FNV-1a: a few bytes per command, no need for a keyed hash (a collision only costs
    // a read of the record).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ db as u64;
    for &b in prefix {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h % SLOTS as u64) as usize
}

pub fn get(db: i32, prefix: &[u8], newest: i64) -> Option<i64> {
    CACHE.with(|c| {
        let c = c.borrow();
        match c.get(slot_of(db, prefix))? {
            Some(s) if s.db == db && s.id == newest && s.prefix == prefix => Some(s.ts),
            _ => None,
        }
    })
}

/// Forgets everything: the keyspace changed under the cache (FLUSHDB, SWAPDB, a load, a
/// change of replication role).
pub fn clear() {
    CACHE.with(|c| c.borrow_mut().iter_mut().for_each(|slot| *slot = None));
}

/// Forgets the entry of `prefix` in `db`: its keys are being removed (TLOG.PURGE).
pub fn forget(db: i32, prefix: &[u8]) {
    CACHE.with(|c| {
        if let Some(slot) = c.borrow_mut().get_mut(slot_of(db, prefix)) {
            if slot.as_ref().is_some_and(|s| s.db == db && s.prefix == prefix) {
                *slot = None;
            }
        }
    });
}

pub fn put(db: i32, prefix: &[u8], id: i64, ts: i64) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(slot) = c.get_mut(slot_of(db, prefix)) {
            match slot {
                Some(s) => {
                    s.db = db;
                    s.prefix.clear();
                    s.prefix.extend_from_slice(prefix);
                    s.id = id;
                    s.ts = ts;
                }
                None => *slot = Some(Slot { db, prefix: prefix.to_vec(), id, ts }),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_counts_only_for_its_db_prefix_and_newest_id() {
        put(0, b"app", 7, 100);
        assert_eq!(get(0, b"app", 7), Some(100));
        assert_eq!(get(0, b"app", 8), None);
        assert_eq!(get(1, b"app", 7), None);
        assert_eq!(get(0, b"apq", 7), None);
        put(0, b"app", 8, 90);
        assert_eq!(get(0, b"app", 8), Some(90));
        assert_eq!(get(0, b"app", 7), None);
        clear();
        assert_eq!(get(0, b"app", 8), None);
    }

    #[test]
    fn forgetting_a_prefix_leaves_the_others() {
        put(0, b"app", 3, 100);
        put(1, b"app", 4, 200);
        forget(1, b"app");
        forget(0, b"other");
        assert_eq!(get(0, b"app", 3), Some(100));
        assert_eq!(get(1, b"app", 4), None);
        forget(0, b"app");
        assert_eq!(get(0, b"app", 3), None);
    }
}

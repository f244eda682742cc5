//! Reading a flow and its records: ids by index or by LRANGE, records by key or by MGET, each
//! key ACL-checked first. What `query` plans over (`IdList`).

use crate::error::{Error, Result};
use crate::ffi::{Access, Acl, Ctx, Key, KeyKind, Mode, RString};
use crate::keys::{self, Keys};
use crate::record;

use super::open_prefix;

/// How many records selection keeps open for the reply: a page's worth, so a huge unbounded
/// read does not hold a key handle per record (the rest are reopened for the reply).
const HELD_RECORDS: usize = 1024;

/// How far a flow read may step its list iterator before a fresh seek is cheaper.
const SEEK_STEPS: usize = 64;

/// A flow opened for reading, with the caller's ACL checked for it.
pub struct Flow<'a> {
    ctx: Ctx,
    keys: Keys<'a>,
    acl: std::rc::Rc<Acl>,
    pub(super) name: RString,
    key: std::cell::RefCell<Key>,
    /// Records found while selecting, still open, in the order found.
    held: std::cell::RefCell<std::collections::VecDeque<(i64, Key)>>,
    /// The index the key's list iterator stands at, if any (see `id_at`).
    at: std::cell::Cell<Option<usize>>,
}

impl crate::query::IdList for Flow<'_> {
    fn len(&self) -> usize {
        Flow::len(self)
    }

    fn id(&self, index: usize) -> Option<i64> {
        self.id_at(index)
    }

    fn ids(&self, range: std::ops::Range<usize>) -> Vec<Option<i64>> {
        // One LRANGE for a run costs far less than a list read per entry; where the server
        // will not run it for the module, entry by entry.
        match self.ids_in(range.clone()) {
            Ok(Some(ids)) => ids,
            _ => range.map(|i| self.id_at(i)).collect(),
        }
    }

    fn probe_ts(&self, id: i64) -> Result<Option<i64>> {
        let name = self.record_key(id)?;
        Ok(self.with_record(&name, record::decode_ts)?.flatten())
    }

    fn ceiling(&self) -> Option<i64> {
        // Only to skip work: a caller who may not read the counter gets the same answer, the
        // long way.
        let name = self.ctx.string(&self.keys.counter()).ok()?;
        self.acl.check(&name, Access::Read).ok()?;
        let k = Key::open_string(self.ctx, &name, Mode::Read).ok()?;
        if k.kind() != KeyKind::String {
            return None;
        }
        keys::parse_id(k.string_value().ok()?)
    }

    fn newest_if_ts(&self, id: i64) -> Option<i64> {
        // The id this server last gave out for the prefix, if it is still the newest it knows
        // of: every id in a flow was given out before the one pushed above it, and this one
        // was pushed with nothing given out after it (another writer's id would sit above it
        // at the head), so none is larger. The counter is not opened then. That holds only
        // while the record is the one this server wrote: a record with another time was
        // written again by a client that started its ids over (the keys removed by hand or
        // the counter reset), and the counter decides.
        super::floor_cache::get(self.ctx.selected_db(), self.keys.prefix(), id)
    }

    fn records_ts(&self, ids: &[i64], need_ts: bool) -> Result<crate::query::RecordsTs> {
        // One MGET for the batch; where the server will not run it for the module, one by one.
        let Some((batch, refused)) = self.fetch(ids)? else {
            return crate::query::records_ts_one_by_one(self, ids, need_ts);
        };
        let ts = |stored: &[u8]| if need_ts { record::decode_ts(stored) } else { None };
        Ok((batch.by_position().into_iter().map(|r| r.map(ts)).collect(), refused))
    }

    fn record_ts(&self, id: i64, need_ts: bool) -> Result<Option<Option<i64>>> {
        let name = self.record_key(id)?;
        let k = Key::open_string(self.ctx, &name, Mode::Read)?;
        if k.kind() != KeyKind::String {
            return Ok(None);
        }
        // Read the value now, while this is the only handle on the key: the server may replace
        // a shared or integer-encoded value on first access, which would leave any other open
        // handle on the key dangling.
        let value = k.string_value()?;
        let ts = if need_ts { record::decode_ts(value) } else { None };
        // Keep the record open for the reply that usually follows (see `with_record_id`). A
        // second handle on the same key (a flow may hold an id twice) is safe: the value was
        // made plain above, before it existed.
        let mut held = self.held.borrow_mut();
        if held.len() < HELD_RECORDS {
            held.push_back((id, k));
        }
        Ok(Some(ts))
    }
}

impl crate::query::RecordList for Flow<'_> {
    fn with_record_id<T>(&self, id: i64, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        Flow::with_record_id(self, id, f)
    }

    fn with_records<T>(&self, ids: &[i64], f: impl FnOnce(&[Option<&[u8]>]) -> T) -> Result<Option<T>> {
        let Some((batch, refused)) = self.fetch(ids)? else { return Ok(None) };
        let found = batch.by_position();
        if found.len() < ids.len() {
            return Err(refused.unwrap_or(Error::Internal("a record read came back short")));
        }
        Ok(Some(f(&found)))
    }
}

impl<'a> Flow<'a> {
    /// Opens `<prefix>:flow:<tag>` for reading. A missing flow reads as empty; a key of
    /// another type is WRONGTYPE.
    pub fn open(ctx: Ctx, prefix: &'a [u8], tag: &[u8]) -> Result<Self> {
        let (keys, acl) = open_prefix(ctx, prefix)?;
        Self::open_with(ctx, keys, std::rc::Rc::new(acl), tag)
    }

    /// Another flow of the same prefix, for the same caller.
    pub fn sibling(&self, tag: &[u8]) -> Result<Self> {
        Self::open_with(self.ctx, self.keys, self.acl.clone(), tag)
    }

    pub(super) fn open_with(ctx: Ctx, keys: Keys<'a>, acl: std::rc::Rc<Acl>, tag: &[u8]) -> Result<Self> {
        let name = ctx.string(&keys.flow(tag))?;
        acl.check(&name, Access::Read)?;
        let key = Key::open(ctx, &name, Mode::Read)?;
        if !matches!(key.kind(), KeyKind::Empty | KeyKind::List) {
            return Err(Error::WrongType);
        }
        Ok(Flow {
            ctx,
            keys,
            acl,
            name,
            key: std::cell::RefCell::new(key),
            held: std::cell::RefCell::new(std::collections::VecDeque::new()),
            at: std::cell::Cell::new(None),
        })
    }

    pub fn len(&self) -> usize {
        self.key.borrow().len()
    }

    /// The id at `index` (0 is the newest); `None` past the end or for an entry that is not
    /// an id (written by another client).
    pub fn id_at(&self, index: usize) -> Option<i64> {
        // The server keeps one list iterator per open key and reaches a new index by stepping
        // from the last one, element by element: fine for a scan, O(N) for the jumps of a
        // search. A far jump reopens the key, so the server seeks afresh from the nearer end.
        if self.at.get().is_some_and(|at| at.abs_diff(index) > SEEK_STEPS) {
            if let Ok(fresh) = Key::open(self.ctx, &self.name, Mode::Read) {
                *self.key.borrow_mut() = fresh;
            }
        }
        self.at.set(Some(index));
        self.key.borrow().list_get(self.ctx, index).and_then(|s| keys::parse_id(s.as_bytes()))
    }

    /// The name of record `id`'s key, checked against the caller's read permission. Check
    /// every record a reply will hold before replying: an error cannot follow a partial reply.
    pub fn record_key(&self, id: i64) -> Result<RString> {
        let name = self.ctx.string(&self.keys.msg(id))?;
        self.acl.check(&name, Access::Read)?;
        Ok(name)
    }

    /// Calls `f` with the stored bytes of record `id`, if it exists: from the key selection left
    /// open, or opened now (ACL-checked).
    pub fn with_record_id<T>(&self, id: i64, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        let held = {
            let mut held = self.held.borrow_mut();
            // Records are replied in the order they were looked at, so the one wanted is at
            // or near the front; those before it were looked at and not selected.
            match held.iter().position(|(h, _)| *h == id) {
                Some(i) => {
                    held.drain(..i);
                    held.pop_front().map(|(_, k)| k)
                }
                None => None,
            }
        };
        if let Some(k) = held {
            return Ok(Some(f(k.string_value()?)));
        }
        let name = self.record_key(id)?;
        self.with_record(&name, f)
    }

    /// The ids at the indices `range` (0 is the newest), in list order, read with one LRANGE;
    /// `None` for an entry that is not an id (written by another client). `Ok(None)` if the
    /// server would not run the LRANGE (see [`Ctx::call_strings`]).
    pub fn ids_in(&self, range: std::ops::Range<usize>) -> Result<Option<Vec<Option<i64>>>> {
        if range.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut a = keys::itoa_buf();
        let mut b = keys::itoa_buf();
        let start = self.ctx.string(keys::fmt_id(range.start as i64, &mut a))?;
        let stop = self.ctx.string(keys::fmt_id(range.end as i64 - 1, &mut b))?;
        let Some(reply) = self.ctx.call_strings(c"LRANGE", [&self.name, &start, &stop]) else { return Ok(None) };
        Ok(Some((0..reply.len()).map(|i| reply.get(i).and_then(keys::parse_id)).collect()))
    }

    /// Reads records `ids` with one MGET: for a page, one command costs less than a key opened
    /// per record. Those missing (expired, deleted, or a key of another type) are left out, as
    /// MGET leaves them. Each key is ACL-checked first, in order. At the first one the caller
    /// may not read, the read stops short: the records before it come back with that key's
    /// error beside them, for the caller to raise only if it needs a record from there on
    /// (the first key refused is an error at once). `Ok(None)` if the server would not run the
    /// MGET (see [`Ctx::call_strings`]).
    pub fn fetch(&self, ids: &[i64]) -> Result<Option<(Fetched, Option<Error>)>> {
        // The names share `<prefix>:msg:`; only the digits change.
        let mut name = self.keys.msg_base();
        let base = name.len();
        let mut names = Vec::with_capacity(ids.len());
        let mut refused = None;
        for &id in ids {
            let mut buf = keys::itoa_buf();
            name.truncate(base);
            name.extend_from_slice(keys::fmt_id(id, &mut buf));
            let key = self.ctx.string(&name)?;
            if let Err(e) = self.acl.check(&key, Access::Read) {
                if names.is_empty() {
                    return Err(e);
                }
                refused = Some(e);
                break;
            }
            names.push(key);
        }
        if names.is_empty() {
            return Ok(Some((Fetched { reply: None, found: Vec::new() }, refused)));
        }
        let Some(reply) = self.ctx.call_strings(c"MGET", &names) else { return Ok(None) };
        let found = ids
            .iter()
            .enumerate()
            .take(names.len())
            .filter(|&(i, _)| reply.get(i).is_some())
            .map(|(i, &id)| (id, i))
            .collect();
        Ok(Some((Fetched { reply: Some(reply), found }, refused)))
    }

    /// Calls `f` with the stored bytes of record key `name`, if it holds a string. A missing
    /// record (expired, deleted) or a key of another type is skipped, as MGET skips it.
    pub fn with_record<T>(&self, name: &RString, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        let k = Key::open_string(self.ctx, name, Mode::Read)?;
        if k.kind() != KeyKind::String {
            return Ok(None);
        }
        Ok(Some(f(k.string_value()?)))
    }
}

/// Records read by [`Flow::fetch`].
pub struct Fetched {
    /// The MGET reply; none when no id was asked.
    reply: Option<crate::ffi::CallStrings>,
    /// Each record found and kept: its id and its place in the reply, in the order asked.
    found: Vec<(i64, usize)>,
}

impl Fetched {
    /// How many records were found and kept.
    pub fn len(&self) -> usize {
        self.found.len()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Every record asked for was found and kept: the reply is exactly the page.
    pub fn complete(&self) -> bool {
        self.reply.as_ref().is_some_and(|r| self.found.len() == r.len())
    }

    /// For each id asked (up to a refused key), its stored record, `None` if missing.
    pub fn by_position(&self) -> Vec<Option<&[u8]>> {
        let Some(reply) = &self.reply else { return Vec::new() };
        (0..reply.len()).map(|i| reply.get(i)).collect()
    }

    /// Keeps the records for which `keep(id, stored)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(i64, &[u8]) -> bool) {
        let Some(reply) = &self.reply else { return };
        self.found.retain(|&(id, i)| reply.get(i).is_some_and(|stored| keep(id, stored)));
    }

    /// Keeps the first `n` records.
    pub fn truncate(&mut self, n: usize) {
        self.found.truncate(n);
    }

    /// The MGET reply, for forwarding as it is when [`Fetched::complete`].
    pub fn reply(&self) -> Option<&crate::ffi::CallStrings> {
        self.reply.as_ref()
    }

    /// The records kept: id and stored bytes, in the order asked.
    pub fn records(&self) -> impl Iterator<Item = (i64, &[u8])> + '_ {
        self.found.iter().filter_map(|&(id, i)| Some((id, self.reply.as_ref()?.get(i)?)))
    }
}

//! The only code that touches the keyspace: it derives key names from a prefix, checks the
//! caller's ACL and every key's type, and only then writes, replicates and notifies.
//!
//! Writes follow one path: check everything (ACL, types, counter) with read-only opens -> open
//! for write and write -> replicate the effects as plain commands with concrete values ->
//! keyspace notifications. Nothing is written before the last check passes (a module gets no
//! rollback). Keys written are signalled to WATCH explicitly, only once written.

use std::ffi::c_int;

use redis_module::raw;

use crate::error::{Error, Result};
use crate::ffi::{Access, Acl, Ctx, Key, KeyKind, Mode, RString};
use crate::keys::{self, Keys};
use crate::record::{self, JsonMessage};

/// How far ahead of this server's clock the newest record's timestamp may be and still hold
/// back new timestamps. Beyond it, the newest record is taken to be from a client with a broken
/// clock (or seconds given in milliseconds), and is not allowed to drag every new record's time
/// into the future.
pub const MAX_CLOCK_LEAD_MICROS: i64 = 3600 * 1_000_000;

/// A new record to append: validated and deduplicated by the command.
pub struct NewRecord<'a> {
    pub prefix: &'a [u8],
    pub message: &'a JsonMessage,
    /// UTF-8, non-empty, not `__all__`, no duplicates, in the order given.
    pub tags: &'a [&'a str],
}

/// Appends a record: allocates its id, writes `msg:<id>`, pushes the id on `__all__` and on
/// each tag's flow. Returns the id.
pub fn append(ctx: Ctx, rec: &NewRecord<'_>) -> Result<i64> {
    let keys = Keys::new(rec.prefix);
    let acl = Acl::of_caller(ctx)?;

    let counter_key = ctx.string(&keys.counter())?;
    let mut flow_keys = Vec::with_capacity(rec.tags.len() + 1);
    flow_keys.push(ctx.string(&keys.all_flow())?);
    for tag in rec.tags {
        flow_keys.push(ctx.string(&keys.flow(tag.as_bytes()))?);
    }

    // ACL first: a denied caller learns nothing about the keys' contents or types.
    acl.check(&counter_key, Access::ReadWrite)?;
    acl.check(&flow_keys[0], Access::ReadWrite)?;
    for k in &flow_keys[1..] {
        acl.check(k, Access::Write)?;
    }

    // Keys are opened for writing up front, one lookup each: the module option
    // NO_IMPLICIT_SIGNAL_MODIFIED (set at load) keeps a key we end up not writing from
    // invalidating WATCH; the keys written are signalled below.
    let counter_handle = Key::open(ctx, &counter_key, Mode::Write)?;
    let counter = match counter_handle.kind() {
        KeyKind::Empty => 0,
        KeyKind::String => {
            keys::parse_i64(counter_handle.string_value()?).ok_or(Error::CounterNotInteger)?
        }
        _ => return Err(Error::WrongType),
    };
    let mut flows = Vec::with_capacity(flow_keys.len());
    for k in &flow_keys {
        let flow = Key::open(ctx, k, Mode::Write)?;
        if !matches!(flow.kind(), KeyKind::Empty | KeyKind::List) {
            return Err(Error::WrongType);
        }
        flows.push(flow);
    }
    let newest = flows[0].list_get(ctx, 0).and_then(|s| keys::parse_id(s.as_bytes()));

    // The next id follows both the counter and the newest id of __all__ (a lost counter must
    // not reuse ids), and skips ids whose msg key exists: a record is never overwritten.
    let mut id = counter.max(newest.unwrap_or(0)).max(0).checked_add(1).ok_or(Error::CounterOverflow)?;
    let (msg_key, msg_handle) = loop {
        let k = ctx.string(&keys.msg(id))?;
        let handle = Key::open(ctx, &k, Mode::Write)?;
        if handle.kind() == KeyKind::Empty {
            break (k, handle);
        }
        id = id.checked_add(1).ok_or(Error::CounterOverflow)?;
    };
    acl.check(&msg_key, Access::Write)?;

    // Timestamps never decrease as ids grow: a clock that stepped back reuses the newest time.
    let now = record::now_micros();
    let floor = match newest {
        Some(newest) => newest_ts(ctx, &acl, &keys, newest)?
            .filter(|&ts| ts - now <= MAX_CLOCK_LEAD_MICROS),
        None => None,
    };
    let ts = floor.map_or(now, |f| f.max(now));

    let mut id_buf = keys::itoa_buf();
    let id_str = ctx.string(keys::fmt_id(id, &mut id_buf))?;
    let body = ctx.string(&record::encode(id, ts, rec.message, rec.tags))?;

    // Every check passed: write.
    counter_handle.set_string(&id_str)?;
    msg_handle.set_string(&body)?;
    for flow in &flows {
        flow.push_head(&id_str)?;
    }
    ctx.signal_modified(&counter_key);
    ctx.signal_modified(&msg_key);
    for k in &flow_keys {
        ctx.signal_modified(k);
    }

    // Effects with concrete values, so a replica (even one without this module) and an AOF
    // replay end identical to this server, timestamps included.
    ctx.replicate(c"MSET", &[&counter_key, &id_str, &msg_key, &body])?;
    for k in &flow_keys {
        ctx.replicate(c"LPUSH", &[k, &id_str])?;
    }

    ctx.notify(raw::REDISMODULE_NOTIFY_STRING, c"incrby", &counter_key);
    ctx.notify(raw::REDISMODULE_NOTIFY_STRING, c"set", &msg_key);
    for k in &flow_keys {
        ctx.notify(raw::REDISMODULE_NOTIFY_LIST as c_int, c"lpush", k);
    }
    Ok(id)
}

/// The timestamp of record `id`, if it exists and has one.
fn newest_ts(ctx: Ctx, acl: &Acl, keys: &Keys<'_>, id: i64) -> Result<Option<i64>> {
    let name = ctx.string(&keys.msg(id))?;
    acl.check(&name, Access::Read)?;
    let k = Key::open(ctx, &name, Mode::Read)?;
    Ok(match k.kind() {
        KeyKind::String => record::decode_ts(k.string_value()?),
        _ => None,
    })
}

/// A flow opened for reading, with the caller's ACL checked for it.
pub struct Flow<'a> {
    ctx: Ctx,
    keys: Keys<'a>,
    acl: Acl,
    key: Key,
}

impl<'a> Flow<'a> {
    /// Opens `<prefix>:flow:<tag>` for reading. A missing flow reads as empty; a key of
    /// another type is WRONGTYPE.
    pub fn open(ctx: Ctx, prefix: &'a [u8], tag: &[u8]) -> Result<Self> {
        let keys = Keys::new(prefix);
        let acl = Acl::of_caller(ctx)?;
        let name = ctx.string(&keys.flow(tag))?;
        acl.check(&name, Access::Read)?;
        let key = Key::open(ctx, &name, Mode::Read)?;
        if !matches!(key.kind(), KeyKind::Empty | KeyKind::List) {
            return Err(Error::WrongType);
        }
        Ok(Flow { ctx, keys, acl, key })
    }

    pub fn len(&self) -> usize {
        self.key.len()
    }

    /// The id at `index` (0 is the newest); `None` past the end or for an entry that is not
    /// an id (written by another client).
    pub fn id_at(&self, index: usize) -> Option<i64> {
        self.key.list_get(self.ctx, index).and_then(|s| keys::parse_id(s.as_bytes()))
    }

    /// The name of record `id`'s key, checked against the caller's read permission. Check
    /// every record a reply will hold before replying: an error cannot follow a partial reply.
    pub fn record_key(&self, id: i64) -> Result<RString> {
        let name = self.ctx.string(&self.keys.msg(id))?;
        self.acl.check(&name, Access::Read)?;
        Ok(name)
    }

    /// Calls `f` with the stored bytes of record key `name`, if it holds a string. A missing
    /// record (expired, deleted) or a key of another type is skipped, as MGET skips it.
    pub fn with_record<T>(&self, name: &RString, f: impl FnOnce(&[u8]) -> T) -> Result<Option<T>> {
        let k = Key::open(self.ctx, name, Mode::Read)?;
        if k.kind() != KeyKind::String {
            return Ok(None);
        }
        Ok(Some(f(k.string_value()?)))
    }
}

//! TLOG.PURGE's key work: the permission check, and each SCAN step of a purge with the removal
//! of the keys it shows to be the prefix's. The cleaner schedules the steps.

use crate::error::{Error, Result};
use crate::ffi::{Access, Acl, Ctx, Key, KeyKind, Mode, RString};
use crate::keys::{self, Keys};

use super::{open_prefix, retention};
use crate::prefixes;

/// Checks that the caller may remove every key of the prefix: write access to the keys its
/// ACL patterns would have to cover, `<prefix>:msg:*` and `<prefix>:flow:*` taken literally
/// (a pattern that matches the literal text matches every name it stands for).
pub fn check_purge(ctx: Ctx, prefix: &[u8]) -> Result<()> {
    let (keys, acl) = open_prefix(ctx, prefix)?;
    for name in [keys.counter(), keys.archive(), keys.flow(b"*"), keys.with_tail(b"msg:*")] {
        acl.check(&ctx.string(&name)?, Access::ReadWrite)?;
    }
    Ok(())
}

/// Keys a purge looks at per SCAN call: a step of 50 to 250 µs, the grain of its slices.
const PURGE_SCAN_COUNT: &[u8] = b"50";

/// A TLOG.PURGE's progress. It runs in two passes: the flows first, while the records that
/// show a flow to be the prefix's are still there, then the other keys.
pub struct Purge {
    pub db: i32,
    pub prefix: Vec<u8>,
    /// `<prefix>:flow:*` escaped, for the first pass; `<prefix>:*` escaped, for the second.
    flow_glob: Vec<u8>,
    glob: Vec<u8>,
    /// In the first pass.
    flows: bool,
    cursor: Vec<u8>,
    /// Keys removed so far.
    pub removed: u64,
    /// The caller's ACL user, by name (looked up again each slice: it may change or go);
    /// `None` for an unrestricted caller.
    user: Option<Vec<u8>>,
}

impl Purge {
    /// A purge of every key of `prefix` in the selected database, for the caller.
    pub fn start(ctx: Ctx, prefix: &[u8]) -> Result<Self> {
        let escaped = |text: &[u8]| {
            let mut glob = Vec::with_capacity(text.len() * 2 + 1);
            for &c in text {
                if matches!(c, b'*' | b'?' | b'[' | b']' | b'\\') {
                    glob.push(b'\\');
                }
                glob.push(c);
            }
            glob.push(b'*');
            glob
        };
        let glob = escaped(&Keys::new(prefix).with_tail(b""));
        let flow_glob = escaped(&Keys::new(prefix).flow(b""));
        let user = Acl::caller_name(ctx, ctx.flags()?)?.map(|name| name.as_bytes().to_vec());
        Ok(Purge {
            db: ctx.selected_db(),
            prefix: prefix.to_vec(),
            flow_glob,
            glob,
            flows: true,
            cursor: b"0".to_vec(),
            removed: 0,
            user,
        })
    }

    /// One SCAN step and the removal of what it found. True when the purge is done.
    pub fn step(&mut self, ctx: Ctx) -> Result<bool> {
        step(ctx, self)
    }
}

/// One SCAN step of a purge and the removal of what it found. True when the purge is done.
fn step(ctx: Ctx, job: &mut Purge) -> Result<bool> {
    if !ctx.select_db(job.db) {
        return Ok(true);
    }
    let acl = match &job.user {
        None => Acl::unrestricted(),
        Some(name) => Acl::of_user_name(&ctx.string(name)?)?.ok_or_else(|| {
            Error::Message(format!("ERR TLOG.PURGE stopped after {} keys: its user no longer exists", job.removed))
        })?,
    };
    let (next, found) = ctx.scan(&job.cursor, if job.flows { &job.flow_glob } else { &job.glob }, PURGE_SCAN_COUNT)?;
    let mut names: Vec<RString> = Vec::with_capacity(found.len());
    for key in &found {
        let Some(role) = keys::role_under(&job.prefix, key) else { continue };
        // Flows in the first pass only; they are left in the second (those not shown).
        if (role == keys::Role::Flow) != job.flows {
            continue;
        }
        let name = ctx.string(key)?;
        // The caller's permission first: nothing of a key it may not touch is looked at.
        if let Err(e) = acl.check(&name, Access::ReadWrite) {
            return Err(Error::Message(format!(
                "NOPERM TLOG.PURGE stopped after {} keys: {}",
                job.removed,
                e.to_string().trim_start_matches("NOPERM ")
            )));
        }
        if owns(ctx, job, key, &name, role)? {
            names.push(name);
        }
    }
    if !names.is_empty() {
        // The newest id this server gave out for the prefix is no proof of anything once the
        // prefix's keys go: other clients may start again from id 1.
        super::floor_cache::forget(job.db, &job.prefix);
        let refs: Vec<&RString> = names.iter().collect();
        let n = ctx.call_replicated_int(c"UNLINK", &refs)?;
        job.removed += n.max(0) as u64;
    }
    job.cursor = next;
    if job.cursor == b"0" && job.flows {
        job.flows = false;
        return Ok(false);
    }
    Ok(job.cursor == b"0")
}

/// True if key `key`, which its name makes `role` of the purged prefix, is shown to be the
/// prefix's. A name proves nothing: a flow must be a list shown to be the prefix's (remembered
/// by this server, or by its contents, see `retention::shown_by_contents`), a record a string
/// holding its own id, the counter a string holding an integer, the archive a stream.
fn owns(ctx: Ctx, job: &Purge, key: &[u8], name: &RString, role: keys::Role) -> Result<bool> {
    let prefix_keys = Keys::new(&job.prefix);
    // Only a counter's or a record's value is read: a key of another role is left as it is.
    let k = match role {
        keys::Role::Counter | keys::Role::Record => Key::open_string(ctx, name, Mode::Read)?,
        _ => Key::open(ctx, name, Mode::Read)?,
    };
    Ok(match (role, k.kind()) {
        (keys::Role::Counter, KeyKind::String) => keys::parse_i64(k.string_value()?).is_some(),
        (keys::Role::Record, KeyKind::String) => {
            let id = key.strip_prefix(&*prefix_keys.msg_base()).and_then(keys::parse_id);
            id.is_some_and(|id| k.string_value().is_ok_and(|body| retention::is_record_body(body, id)))
        }
        (keys::Role::Archive, KeyKind::Stream) => true,
        (keys::Role::Flow, KeyKind::List) => {
            drop(k);
            let Some(tag) = key.strip_prefix(&*prefix_keys.flow(b"")) else { return Ok(false) };
            let remembered = if tag == keys::ALL_FLOW {
                prefixes::written(job.db, &job.prefix)
            } else {
                prefixes::remembered(job.db, &job.prefix, tag)
            };
            remembered || retention::shown_by_contents(ctx, &prefix_keys, tag, name)?
        }
        _ => false,
    })
}

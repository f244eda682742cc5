//! Replies of the read commands: records as maps (or their stored JSON with RAW), pages read
//! by MGET, and the `[cursor, result]` form of WITHCURSOR.

use crate::error::Result;
use crate::ffi::Reply;
use crate::query::Outcome;
use crate::record;
use crate::store::{Fetched, Flow};

/// Replies with the records of [`select_page`] as an array. A page read whole by one MGET is
/// forwarded as MGET's reply in RAW form.
pub fn reply_page(reply: &Reply, batches: Vec<Fetched>, raw: bool) {
    if let [one] = batches.as_slice() {
        if raw && one.complete() && one.reply().is_some_and(|r| reply.forward(r)) {
            return;
        }
    }
    reply.array(batches.iter().map(Fetched::len).sum());
    // Each batch is freed once replied: the page is held once, not twice.
    for batch in batches {
        for (id, stored) in batch.records() {
            reply_record(reply, id, stored, raw);
        }
    }
}

/// WITHCURSOR: starts the reply `[cursor, result]`, the cursor 0 when the scan is complete.
pub fn reply_cursor(reply: &Reply, outcome: &Outcome) {
    reply.array(2);
    reply.int(outcome.cursor().unwrap_or(0));
}

/// Replies with the records `ids` of `flow` (those that still exist), as an array.
pub fn reply_records(reply: &Reply, flow: &Flow<'_>, ids: &[i64], raw: bool) -> Result<()> {
    reply.array_postponed();
    let mut n = 0;
    for &id in ids {
        if flow.with_record_id(id, |stored| reply_record(reply, id, stored, raw))?.is_some() {
            n += 1;
        }
    }
    reply.set_array_len(n);
    Ok(())
}

/// Replies with one record: the stored JSON text if `raw`, otherwise a map (a flat
/// field/value array in RESP2) of `id`, `ts` (RFC 3339, or null if the record has none),
/// `message` (text, or compact JSON of a non-string message; null if absent), `tags`, `attrs`
/// (compact JSON of the record's attributes, or null) and `format` (`text` for a string
/// message, `json` for any other JSON value; null if absent).
pub fn reply_record(reply: &Reply, id: i64, stored: &[u8], raw: bool) {
    if raw {
        reply.bulk(stored);
        return;
    }
    let rec = record::decode(stored);
    reply.map(6);
    reply.bulk(b"id");
    reply.int(id);
    reply.bulk(b"ts");
    let mut buf = record::RFC3339_BUF;
    match rec.ts_micros {
        // A time outside the years 0000 to 9999 has no RFC 3339 form: null.
        Some(ts) => match record::rfc3339_into(ts, &mut buf) {
            Some(text) => reply.bulk(text),
            None => reply.null(),
        },
        None => reply.null(),
    }
    reply.bulk(b"message");
    match &rec.message {
        Some(m) => reply.bulk(m.as_bytes()),
        None => reply.null(),
    }
    reply.bulk(b"tags");
    reply.array(rec.tags.len());
    for t in rec.tags.iter() {
        reply.bulk(t.as_bytes());
    }
    reply.bulk(b"attrs");
    match &rec.attrs {
        Some(a) => reply.bulk(a.as_bytes()),
        None => reply.null(),
    }
    reply.bulk(b"format");
    match rec.format {
        Some(f) => reply.bulk(f.name()),
        None => reply.null(),
    }
}

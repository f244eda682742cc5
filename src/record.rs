//! Records as stored: JSON encoding on write, tolerant decoding on read, timestamps. Pure: no
//! Redis types, so `cargo test` covers it.
//!
//! Stored form (compact, fields in this order):
//! `{"id":7,"ts":1732357002.123456,"message":<any JSON>,"tags":["a","b"]}`, and
//! `,"attrs":{...}` before the closing brace when the record has attributes.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::{Error, Result};

const MICROS_PER_SEC: i64 = 1_000_000;

/// The deepest nesting of arrays and objects a JSON message may have. Common JSON parsers
/// recurse (Python's stops near 1000 levels); a record must stay readable by all of them.
pub const MAX_DEPTH: usize = 100;

/// At most this many tags per record: a record's tags are written in one atomic command.
pub const MAX_TAGS: usize = 1024;

/// The longest TTL (and retention age): 100 years, far from any overflow of milliseconds.
pub const MAX_TTL: i64 = 100 * 365 * 24 * 3600;

/// A message ready to be embedded in a record as valid JSON: text (escaped as it is written
/// into the record, with no copy before) or a JSON value already validated and compacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonMessage<'a>(Repr<'a>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr<'a> {
    Text(&'a str),
    Json(String),
}

impl<'a> JsonMessage<'a> {
    /// A text message, stored as a JSON string.
    pub fn text(text: &'a str) -> Self {
        JsonMessage(Repr::Text(text))
    }

    /// A message given as JSON: any JSON value, validated and stored compact.
    pub fn json(json: &str) -> Result<JsonMessage<'static>> {
        let raw: &RawValue = serde_json::from_str(json).map_err(|e| json_error(json, &e))?;
        if depth(raw.get()) > MAX_DEPTH {
            return Err(Error::InvalidJson(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        // The raw scan above accepts what a full parse refuses (a lone UTF-16 surrogate, a
        // number beyond f64): every reader of the record must be able to parse it.
        // Parsed from the text as given, so that its positions are those of `json`.
        serde_json::from_str::<serde_json::Value>(json).map_err(|e| json_error(json, &e))?;
        Ok(JsonMessage(Repr::Json(minify(raw.get()))))
    }

    /// The JSON text as it goes into the record.
    #[cfg(test)]
    pub fn as_str(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Json(j) => Cow::Borrowed(j),
            Repr::Text(_) => {
                let mut out = String::new();
                self.write_to(&mut out);
                Cow::Owned(out)
            }
        }
    }

    fn write_to(&self, out: &mut String) {
        match &self.0 {
            Repr::Text(t) => write_json_str(out, t),
            Repr::Json(j) => out.push_str(j),
        }
    }

    fn len_hint(&self) -> usize {
        match &self.0 {
            Repr::Text(t) => t.len() + 2,
            Repr::Json(j) => j.len(),
        }
    }
}

/// Validates the attributes of a new record (`TLOG.ADD ... ATTRS`): a JSON object, under the
/// rules of a JSON message, returned compact with its key order and number spelling kept.
pub fn attrs(json: &str) -> Result<String> {
    match JsonMessage::json(json) {
        Ok(JsonMessage(Repr::Json(j))) if j.starts_with('{') => Ok(j),
        Ok(_) => Err(Error::BadAttrs(None)),
        Err(Error::InvalidJson(why)) => Err(Error::BadAttrs(Some(why))),
        Err(e) => Err(e),
    }
}

/// The error of a JSON message serde refused. serde words a lone UTF-16 surrogate escape
/// (`"\ud800"`) as "unexpected end of hex escape" or "lone leading surrogate", which says
/// little: such an escape, found no later than where serde stopped, is named instead.
fn json_error(json: &str, e: &serde_json::Error) -> Error {
    match lone_surrogate(json) {
        Some((escape, line, column)) if (line, column) <= (e.line(), e.column()) => {
            Error::InvalidJson(format!("lone surrogate {escape} at line {line} column {column}"))
        }
        _ => Error::InvalidJson(e.to_string()),
    }
}

/// The first `\uXXXX` escape inside a string of `text` that is half of a UTF-16 surrogate
/// pair without its other half: the escape as written, and the line and column (from 1, in
/// bytes) of its backslash.
fn lone_surrogate(text: &str) -> Option<(&str, usize, usize)> {
    let b = text.as_bytes();
    let unit = |at: usize| -> Option<u16> {
        let hex = text.get(at..at + 4)?;
        if b.get(at.checked_sub(2)?..at)? != b"\\u" || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(hex, 16).ok()
    };
    let (mut i, mut in_str) = (0, false);
    while let Some(&c) = b.get(i) {
        match (in_str, c) {
            (false, b'"') => in_str = true,
            (false, _) => {}
            (true, b'"') => in_str = false,
            (true, b'\\') => {
                match unit(i + 2) {
                    Some(0xD800..=0xDBFF) if unit(i + 8).is_some_and(|l| (0xDC00..=0xDFFF).contains(&l)) => {
                        i += 12;
                        continue;
                    }
                    Some(0xD800..=0xDFFF) => {
                        let line_start = b[..i].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
                        let line = 1 + b[..i].iter().filter(|&&c| c == b'\n').count();
                        return Some((text.get(i..i + 6)?, line, i - line_start + 1));
                    }
                    _ => {}
                }
                // An escape is two bytes at least; `\uXXXX` is passed over by its digits.
                i += 2;
                continue;
            }
            (true, _) => {}
        }
        i += 1;
    }
    None
}

/// Encodes a new record. `tags` are the record's own tags (not `__all__`), already deduplicated;
/// `attrs`, if any, a compact JSON object (see [`attrs`]).
pub fn encode(id: i64, ts_micros: i64, message: &JsonMessage<'_>, tags: &[&str], attrs: Option<&str>) -> Vec<u8> {
    let tags_len: usize = tags.iter().map(|t| t.len() + 3).sum();
    let attrs_len = attrs.map_or(0, |a| a.len() + 9);
    let mut out = String::with_capacity(64 + message.len_hint() + tags_len + attrs_len);
    let mut buf = crate::keys::itoa_buf();
    out.push_str("{\"id\":");
    out.push_str(std::str::from_utf8(crate::keys::fmt_id(id, &mut buf)).unwrap_or("0"));
    out.push_str(",\"ts\":");
    push_ts(&mut out, ts_micros);
    out.push_str(",\"message\":");
    message.write_to(&mut out);
    out.push_str(",\"tags\":[");
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(&mut out, tag);
    }
    out.push(']');
    if let Some(a) = attrs {
        out.push_str(",\"attrs\":");
        out.push_str(a);
    }
    out.push('}');
    out.into_bytes()
}

/// Unix seconds with exactly six decimals: `1732357002.123456`. Integer arithmetic, so the text
/// is the same on every machine that formats the same microseconds.
#[cfg(test)]
pub fn format_ts(micros: i64) -> String {
    let mut out = String::with_capacity(24);
    push_ts(&mut out, micros);
    out
}

/// "00" to "99", two bytes each.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

fn push_ts(out: &mut String, micros: i64) {
    if micros < 0 {
        out.push('-');
    }
    let abs = micros.unsigned_abs();
    let per = MICROS_PER_SEC.unsigned_abs();
    let mut digits = [0u8; 27];
    let mut i = digits.len();
    // Two digits per division: the six of the fraction, then the seconds.
    let pair = |digits: &mut [u8; 27], i: &mut usize, v: u64| {
        let at = (v % 100) as usize * 2;
        *i -= 2;
        digits[*i..*i + 2].copy_from_slice(&DIGIT_PAIRS[at..at + 2]);
    };
    let mut frac = abs % per;
    for _ in 0..3 {
        pair(&mut digits, &mut i, frac);
        frac /= 100;
    }
    i -= 1;
    digits[i] = b'.';
    let mut secs = abs / per;
    while secs >= 100 {
        pair(&mut digits, &mut i, secs);
        secs /= 100;
    }
    if secs >= 10 {
        pair(&mut digits, &mut i, secs);
    } else {
        i -= 1;
        digits[i] = b'0' + secs as u8;
    }
    // ASCII digits and a dot: valid UTF-8.
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or("0.000000"));
}

/// The timestamp of a record in the exact form tlog writes (`{"id":N,"ts":S.UUUUUU,...`),
/// read without a JSON parser and without float rounding. `None` for any other form.
fn fast_ts(raw: &[u8]) -> Option<i64> {
    let rest = raw.strip_prefix(b"{\"id\":")?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = rest[digits..].strip_prefix(b",\"ts\":")?;
    let secs_len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || secs_len == 0 || secs_len > 12 || rest.get(secs_len) != Some(&b'.') {
        return None;
    }
    let frac = rest.get(secs_len + 1..secs_len + 7)?;
    if !frac.iter().all(u8::is_ascii_digit) || rest.get(secs_len + 7) != Some(&b',') {
        return None;
    }
    let num = |d: &[u8]| d.iter().fold(0i64, |n, c| n * 10 + i64::from(c - b'0'));
    Some(num(&rest[..secs_len]) * MICROS_PER_SEC + num(frac))
}

/// RFC 3339 in UTC with microseconds and an explicit offset: `2026-11-23T10:15:02.123456+00:00`.
/// `None` outside years 0000 to 9999, which RFC 3339 cannot write (a record of another client
/// may hold such a time): a reply then shows no time rather than a text that is not RFC 3339.
#[cfg(test)]
pub fn rfc3339(micros: i64) -> Option<String> {
    let mut buf = RFC3339_BUF;
    rfc3339_into(micros, &mut buf).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// [`rfc3339_into`] as text, for messages; unix seconds outside years 0000 to 9999.
pub fn rfc3339_text(micros: i64) -> String {
    let mut buf = RFC3339_BUF;
    match rfc3339_into(micros, &mut buf) {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => {
            let mut out = String::new();
            push_ts(&mut out, micros);
            out
        }
    }
}

/// A buffer for [`rfc3339_into`].
pub const RFC3339_BUF: [u8; 32] = *b"0000-00-00T00:00:00.000000+00:00";

/// [`rfc3339`] without allocating, for years 0 to 9999 (`None` outside them). Integer
/// arithmetic on the proleptic Gregorian calendar, as chrono's (checked against it in the
/// tests): this runs once per record replied.
pub fn rfc3339_into(micros: i64, b: &mut [u8; 32]) -> Option<&[u8]> {
    let secs = micros.div_euclid(MICROS_PER_SEC);
    let sub = micros.rem_euclid(MICROS_PER_SEC);
    // Records replied together mostly share their second: its text is kept from the last call.
    let cached = LAST_SECOND.with(|c| {
        let (s, text) = c.get();
        (s == Some(secs)).then_some(text)
    });
    let head = match cached {
        Some(text) => text,
        None => {
            let text = second_text(secs)?;
            LAST_SECOND.with(|c| c.set((Some(secs), text)));
            text
        }
    };
    *b = RFC3339_BUF;
    b[..19].copy_from_slice(&head);
    let mut v = sub as u64;
    for i in (20..26).rev() {
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    Some(&b[..])
}

thread_local! {
    /// The second last formatted by [`rfc3339_into`] and its text, `YYYY-MM-DDTHH:MM:SS`.
    static LAST_SECOND: std::cell::Cell<(Option<i64>, [u8; 19])> = const { std::cell::Cell::new((None, [0; 19])) };
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since the epoch, for years 0 to 9999.
fn second_text(secs: i64) -> Option<[u8; 19]> {
    let days = secs.div_euclid(86_400);
    let day_secs = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut b = *b"0000-00-00T00:00:00";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    // Every value is within its width: the ranges are checked or follow from the arithmetic.
    put(0, 4, year as u64);
    put(5, 2, month as u64);
    put(8, 2, day as u64);
    put(11, 2, (day_secs / 3600) as u64);
    put(14, 2, (day_secs / 60 % 60) as u64);
    put(17, 2, (day_secs % 60) as u64);
    Some(b)
}

/// Year, month (1 to 12) and day (1 to 31) of a count of days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The current time in microseconds since the Unix epoch, from the system's UTC clock.
pub fn now_micros() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        // A clock before 1970: negative, as chrono would give it.
        Err(e) => i64::try_from(e.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// A stored record as read back. Decoding never fails: what cannot be read is left out (see
/// [`decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub ts_micros: Option<i64>,
    /// Text of a string message; compact JSON text of any other value; `None` if absent.
    pub message: Option<Cow<'a, str>>,
    pub tags: Tags<'a>,
    /// Compact JSON text of the record's `"attrs"` object; `None` if it has none (or not an
    /// object).
    pub attrs: Option<Cow<'a, str>>,
    /// Whether the message is text or another JSON value; `None` if absent.
    pub format: Option<Format>,
}

/// What a record's message is: a JSON string (or a stored value that is no record, replied
/// whole as text), or any other JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    /// The name a decoded reply gives it.
    pub fn name(self) -> &'static [u8] {
        match self {
            Format::Text => b"text",
            Format::Json => b"json",
        }
    }
}

/// The tags of a decoded record.
#[derive(Debug, Clone)]
pub enum Tags<'a> {
    /// The inside of a JSON array of strings free of escapes, `"a","b"` (no allocation).
    Plain(&'a str),
    List(Vec<Cow<'a, str>>),
}

impl<'a> Tags<'a> {
    pub fn iter(&self) -> TagIter<'_> {
        match self {
            Tags::Plain(region) => TagIter::Plain(region),
            Tags::List(v) => TagIter::List(v.iter()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Tags::Plain("") => 0,
            Tags::Plain(region) => region.bytes().filter(|&c| c == b'"').count() / 2,
            Tags::List(v) => v.len(),
        }
    }
}

#[cfg(test)]
impl Tags<'_> {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

/// The tags of a record, in order (see [`Tags::iter`]).
pub enum TagIter<'t> {
    /// What is left of `"a","b"`: no quote inside a tag, so each runs to the next quote.
    Plain(&'t str),
    List(std::slice::Iter<'t, Cow<'t, str>>),
}

impl<'t> Iterator for TagIter<'t> {
    type Item = &'t str;

    fn next(&mut self) -> Option<&'t str> {
        match self {
            TagIter::Plain(rest) => {
                let body = rest.strip_prefix(",\"").or_else(|| rest.strip_prefix('"'))?;
                let end = body.find('"')?;
                *rest = &body[end + 1..];
                Some(&body[..end])
            }
            TagIter::List(items) => items.next().map(|t| t.as_ref()),
        }
    }
}

impl PartialEq for Tags<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Tags<'_> {}

/// The fields of a stored record tlog reads, each kept as raw JSON where present (a `null`
/// too: a logged `null` is a message). A field given twice (`{"message":"a","message":"b"}`)
/// takes its last value, as JSON.parse, Python's json and serde_json's `Value` do, rather
/// than making the record unreadable.
#[derive(Default)]
struct Stored<'a> {
    ts: Option<&'a RawValue>,
    message: Option<&'a RawValue>,
    tags: Option<&'a RawValue>,
    attrs: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for Stored<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(StoredVisitor)
    }
}

struct StoredVisitor;

impl<'de> Visitor<'de> for StoredVisitor {
    type Value = Stored<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Stored<'de>, A::Error> {
        let mut out = Stored::default();
        while let Some(field) = map.next_key::<Field>()? {
            let slot = match field {
                Field::Ts => &mut out.ts,
                Field::Message => &mut out.message,
                Field::Tags => &mut out.tags,
                Field::Attrs => &mut out.attrs,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<&RawValue>()?);
        }
        Ok(out)
    }
}

/// A key of a stored record, compared after unescaping.
enum Field {
    Ts,
    Message,
    Tags,
    Attrs,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Field, E> {
                Ok(match v {
                    "ts" => Field::Ts,
                    "message" => Field::Message,
                    "tags" => Field::Tags,
                    "attrs" => Field::Attrs,
                    _ => Field::Other,
                })
            }
        }
        d.deserialize_identifier(FieldVisitor)
    }
}

/// Decodes a stored record, tolerating records written by other clients:
/// - a JSON object: `ts` (a number of unix seconds, or an RFC 3339 string), `message`, `tags`
///   (strings of the array; other elements skipped) and `attrs` (an object) are taken where
///   present and well-formed;
/// - anything else (not JSON, not an object, not UTF-8): the whole stored text becomes the
///   message (invalid UTF-8 replaced by U+FFFD), text, with no timestamp, tags or attrs.
pub fn decode(raw: &[u8]) -> Decoded<'_> {
    let fallback = || Decoded {
        ts_micros: None,
        message: Some(String::from_utf8_lossy(raw)),
        tags: Tags::List(Vec::new()),
        attrs: None,
        format: Some(Format::Text),
    };
    let Ok(text) = std::str::from_utf8(raw) else {
        return fallback();
    };
    if let Some(d) = canonical(text) {
        return d;
    }
    // Only an object is a record (serde would also fill the struct from an array).
    if !text.trim_start().starts_with('{') {
        return fallback();
    }
    let Ok(stored) = serde_json::from_str::<Stored<'_>>(text) else {
        return fallback();
    };
    Decoded {
        ts_micros: stored.ts.and_then(ts_of),
        message: stored.message.map(message_text),
        tags: Tags::List(stored.tags.map(tags_of).unwrap_or_default()),
        attrs: stored.attrs.and_then(attrs_of),
        format: stored.message.map(format_of),
    }
}

/// A cursor over the exact text tlog writes, for [`canonical`].
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn lit<const N: usize>(&mut self, l: &[u8; N]) -> Option<()> {
        let got: &[u8; N] = self.s.as_bytes().get(self.i..self.i + N)?.try_into().ok()?;
        (got == l).then(|| self.i += N)
    }

    /// One or more digits, at most `max`: their value.
    fn number(&mut self, max: usize) -> Option<(i64, usize)> {
        let mut v: i64 = 0;
        let mut n = 0;
        while let Some(&c) = self.s.as_bytes().get(self.i + n) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if n == max {
                return None;
            }
            // Beyond i64 (an id of another client's): not the canonical form.
            v = v.checked_mul(10)?.checked_add(i64::from(d))?;
            n += 1;
        }
        self.i += n;
        (n > 0).then_some((v, n))
    }

    /// A JSON string with no escapes (so its text is the value), returned without quotes.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.lit(b"\"")?;
        let rest = &self.s.as_bytes()[self.i..];
        // Eight bytes at a time up to the word holding the closing quote.
        let mut skip = 0;
        while let Some(chunk) = rest.get(skip..skip + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if needs_escape(u64::from_le_bytes(word)) {
                break;
            }
            skip += 8;
        }
        let n = skip + rest[skip..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        if rest[n] != b'"' {
            return None;
        }
        let start = self.i;
        self.i += n + 1;
        self.s.get(start..start + n)
    }
}

/// [`canonical`], for the fuzz checks.
#[cfg(test)]
pub fn canonical_for_tests(text: &str) -> Option<Decoded<'_>> {
    canonical(text)
}

/// Decodes a record in exactly the form tlog writes with a text message and tags free of
/// escapes (the common case) without a JSON parser. `None` sends any other text to serde.
fn canonical(text: &str) -> Option<Decoded<'_>> {
    let mut c = Cursor { s: text, i: 0 };
    c.lit(b"{\"id\":")?;
    // Ids have at most 19 digits (i64); the value is the key's, not this one.
    c.number(19)?;
    c.lit(b",\"ts\":")?;
    let (secs, _) = c.number(12)?;
    c.lit(b".")?;
    let (frac, frac_digits) = c.number(6)?;
    if frac_digits != 6 {
        return None;
    }
    let ts = secs * MICROS_PER_SEC + frac;
    c.lit(b",\"message\":")?;
    let message = c.plain_string()?;
    c.lit(b",\"tags\":[")?;
    let start = c.i;
    if c.lit(b"]").is_none() {
        loop {
            // A tag that names no tag flow is left to the parser, which drops it.
            if !is_tag(c.plain_string()?) {
                return None;
            }
            if c.lit(b"]").is_some() {
                break;
            }
            c.lit(b",")?;
        }
    }
    let tags = Tags::Plain(text.get(start..c.i - 1)?);
    c.lit(b"}")?;
    (c.i == text.len()).then_some(Decoded {
        ts_micros: Some(ts),
        message: Some(Cow::Borrowed(message)),
        tags,
        attrs: None,
        format: Some(Format::Text),
    })
}

/// The `"id"` of a stored record: the integer a JSON object holds there. `None` for anything
/// else (no such field, another type, not an object, not JSON). A record of a prefix holds its
/// own id: this is part of what shows that a key is one (see the cleaner).
pub fn decode_id(raw: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(raw).ok()?;
    if canonical(text).is_some() {
        // The exact form tlog writes: `{"id":<digits>,...`.
        let digits = &raw[6..];
        let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
        return crate::keys::parse_i64(&digits[..n]);
    }
    if !text.trim_start().starts_with('{') {
        return None;
    }
    #[derive(Deserialize)]
    struct WithId<'a> {
        #[serde(borrow, default)]
        id: Option<&'a RawValue>,
    }
    let with_id: WithId<'_> = serde_json::from_str(text).ok()?;
    serde_json::from_str::<i64>(with_id.id?.get()).ok()
}

/// Only the timestamp of a stored record (cheaper than [`decode`]).
pub fn decode_ts(raw: &[u8]) -> Option<i64> {
    if let Some(ts) = fast_ts(raw) {
        return Some(ts);
    }
    let text = std::str::from_utf8(raw).ok()?;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str::<Stored<'_>>(text).ok()?.ts.and_then(ts_of)
}

fn ts_of(raw: &RawValue) -> Option<i64> {
    let text = raw.get();
    if text.starts_with('"') {
        let s: Cow<'_, str> = serde_json::from_str(text).ok()?;
        return DateTime::parse_from_rfc3339(&s).ok().map(|t| t.timestamp_micros());
    }
    let secs: f64 = serde_json::from_str(text).ok()?;
    let micros = (secs * MICROS_PER_SEC as f64).round();
    // Outside this range the float cannot be a date chrono can print.
    if micros.is_finite() && micros.abs() < 8.0e18 {
        Some(micros as i64).filter(|&m| DateTime::<Utc>::from_timestamp_micros(m).is_some())
    } else {
        None
    }
}

fn message_text(raw: &RawValue) -> Cow<'_, str> {
    let text = raw.get();
    if text.starts_with('"') {
        if let Ok(s) = serde_json::from_str::<Cow<'_, str>>(text) {
            return s;
        }
    }
    if is_compact(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(minify(text))
    }
}

fn format_of(raw: &RawValue) -> Format {
    if raw.get().starts_with('"') {
        Format::Text
    } else {
        Format::Json
    }
}

/// The `"attrs"` of a stored record if it is an object, as compact JSON text.
fn attrs_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('{') {
        return None;
    }
    Some(if is_compact(text) { Cow::Borrowed(text) } else { Cow::Owned(minify(text)) })
}

/// Whether a tag of a stored record names a tag flow. Another client's record may list `""`
/// or `__all__`, which no tag flow is: `<prefix>:flow:` is no flow, and `__all__` holds every
/// record. Decoding drops them, so no reply shows them and no removal touches those keys.
fn is_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.as_bytes() != crate::keys::ALL_FLOW
}

fn tags_of(raw: &RawValue) -> Vec<Cow<'_, str>> {
    serde_json::from_str::<Vec<&RawValue>>(raw.get())
        .map(|items| {
            items
                .into_iter()
                .filter_map(|t| serde_json::from_str::<Cow<'_, str>>(t.get()).ok())
                .filter(|t| is_tag(t))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `s` as a JSON string literal.
fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping (the common case).
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !needs_escape(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        i += 1;
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i - 1]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether any of the eight bytes of `w` is a control character, `"` or `\\` (exact: no
/// byte is reported that is not one of them, none is missed).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    (below_space | has_zero(w ^ (ONES * u64::from(b'"'))) | has_zero(w ^ (ONES * u64::from(b'\\')))) != 0
}

fn is_json_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Tracks whether a byte of valid JSON text is inside a string literal (quotes included).
#[derive(Default)]
struct StringState {
    in_str: bool,
    escaped: bool,
}

impl StringState {
    /// Feeds the next byte; true if it belongs to a string literal.
    fn in_string(&mut self, c: u8) -> bool {
        if self.in_str {
            match (self.escaped, c) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_str = false,
                _ => {}
            }
            true
        } else if c == b'"' {
            self.in_str = true;
            true
        } else {
            false
        }
    }
}

/// The deepest nesting of arrays and objects in valid JSON `text`.
fn depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut state = StringState::default();
    for &c in text.as_bytes() {
        if state.in_string(c) {
            continue;
        }
        match c {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// True if valid JSON `text` has no whitespace outside strings.
fn is_compact(text: &str) -> bool {
    let mut state = StringState::default();
    !text.bytes().any(|c| !state.in_string(c) && is_json_space(c))
}

/// Removes the whitespace outside strings of valid JSON `text`, keeping everything else as it
/// is (key order, number spelling), so the compact form says exactly what the input said.
pub fn minify(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut state = StringState::default();
    // Byte-wise is safe: whitespace is ASCII, and bytes of multi-byte characters never are.
    out.extend(text.bytes().filter(|&c| state.in_string(c) || !is_json_space(c)));
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    #[test]
    fn a_record_holds_its_own_id() {
        let tlog = encode(42, 1_700_000_000_000_000, &JsonMessage::text("m"), &["a"], None);
        assert_eq!(decode_id(&tlog), Some(42));
        assert_eq!(decode_id(br#"{"ts":1.5,"message":"m","id":7}"#), Some(7));
        assert_eq!(decode_id(br#" {"id":7,"message":{"id":8}}"#), Some(7));
        for bad in [
            &br#"{"message":"m"}"#[..],
            br#"{"id":"7"}"#,
            br#"{"id":7.5}"#,
            br#"[7]"#,
            b"7",
            b"queue item",
            br#"{"id":7"#,
            b"\xff",
        ] {
            assert_eq!(decode_id(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn encodes_the_layout_compactly_in_field_order() {
        let rec = encode(3, 1_732_357_002_123_456, &JsonMessage::text("foo gets bar"), &["foo", "bar"], None);
        assert_eq!(
            std::str::from_utf8(&rec).unwrap(),
            r#"{"id":3,"ts":1732357002.123456,"message":"foo gets bar","tags":["foo","bar"]}"#
        );
    }

    #[test]
    fn encoded_records_parse_as_json_with_the_contract_fields() {
        let msg = JsonMessage::json(r#"{"b": [1, 2.50, null], "a": "x y"}"#).unwrap();
        let rec = encode(9, 5, &msg, &[], None);
        let v: serde_json::Value = serde_json::from_slice(&rec).unwrap();
        assert_eq!(v["id"], 9);
        assert_eq!(v["ts"].as_f64(), Some(0.000005));
        assert_eq!(v["message"]["a"], "x y");
        assert_eq!(v["tags"], serde_json::json!([]));
        // Key order and number spelling survive.
        assert_eq!(msg.as_str(), r#"{"b":[1,2.50,null],"a":"x y"}"#);
    }

    #[test]
    fn text_messages_escape_quotes_controls_and_nul() {
        let m = JsonMessage::text("a\"b\\c\n\u{0}\u{1f}é");
        assert_eq!(m.as_str(), "\"a\\\"b\\\\c\\n\\u0000\\u001fé\"");
        let back: String = serde_json::from_str(&m.as_str()).unwrap();
        assert_eq!(back, "a\"b\\c\n\u{0}\u{1f}é");
    }

    #[test]
    fn escaping_matches_serde_at_every_position_of_a_word() {
        // Each special byte at each offset of strings long enough to cross several words.
        let specials = ['"', '\\', '\n', '\u{0}', '\u{1f}', '\u{7f}', ' ', 'é', '€'];
        for len in [0, 1, 7, 8, 9, 16, 23, 40] {
            for at in 0..len.max(1) {
                for &c in &specials {
                    let mut text: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
                    if at < len {
                        text.replace_range(at..at + 1, &c.to_string());
                    }
                    assert_eq!(JsonMessage::text(&text).as_str(), serde_json::to_string(&text).unwrap(), "{text:?}");
                }
            }
        }
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut w = *b"abcdefgh";
                w[at] = b;
                assert_eq!(needs_escape(u64::from_le_bytes(w)), b < 0x20 || b == b'"' || b == b'\\', "{b} at {at}");
            }
        }
    }

    #[test]
    fn numbers_beyond_i64_leave_the_canonical_path_without_overflow() {
        let raw = r#"{"id":9999999999999999999,"ts":1.000000,"message":"m","tags":[]}"#;
        assert!(canonical(raw).is_none());
        let d = decode(raw.as_bytes());
        assert_eq!((d.ts_micros, d.message.as_deref(), d.tags.len()), (Some(1_000_000), Some("m"), 0));
    }

    #[test]
    fn the_clock_is_utc_microseconds_since_the_epoch() {
        let before = Utc::now().timestamp_micros();
        let now = now_micros();
        let after = Utc::now().timestamp_micros();
        assert!(before <= now && now <= after, "{before} {now} {after}");
    }

    #[test]
    fn timestamps_format_as_integer_arithmetic_says() {
        for micros in [0, 1, 999_999, 1_000_000, 1_795_429_502_123_456, -1, -1_000_001, i64::MAX, i64::MIN] {
            let abs = micros.unsigned_abs();
            let want = format!("{}{}.{:06}", if micros < 0 { "-" } else { "" }, abs / 1_000_000, abs % 1_000_000);
            assert_eq!(format_ts(micros), want);
        }
    }

    #[test]
    fn invalid_json_is_refused_with_the_reason() {
        for bad in ["", "{", "nope", "{\"a\":1} x", "[1,]", "'x'", "\"\\ud800\"", "1e400", "[-1e999]"] {
            let e = JsonMessage::json(bad).unwrap_err();
            assert!(e.to_string().starts_with("ERR message is not valid JSON"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_lone_surrogate_is_named_with_its_place() {
        let cases = [
            (r#""\ud800""#, "lone surrogate \\ud800 at line 1 column 2"),
            (r#"["ok \uD83D\uDE00", "\uDC00x"]"#, "lone surrogate \\uDC00 at line 1 column 22"),
            ("{\n  \"a\": \"x\\ud83dy\"}", "lone surrogate \\ud83d at line 2 column 10"),
            (r#""\ud800\u0041""#, "lone surrogate \\ud800 at line 1 column 2"),
        ];
        for (json, why) in cases {
            assert_eq!(JsonMessage::json(json).unwrap_err(), Error::InvalidJson(why.into()), "{json}");
        }
        // A pair is fine, an escaped backslash before `u` is no escape, and an earlier syntax
        // error is reported as serde words it.
        assert!(JsonMessage::json(r#""\ud83d\ude00 \\ud800""#).is_ok());
        assert_eq!(
            JsonMessage::json(r#"[1,,"\ud800"]"#).unwrap_err().to_string(),
            "ERR message is not valid JSON: expected value at line 1 column 4"
        );
    }

    #[test]
    fn any_json_value_is_a_message() {
        for ok in ["null", "true", "0", "-1.5e3", "\"s\"", "[]", "{}", " [ 1 , { \"k\" : \" v \" } ] "] {
            assert!(JsonMessage::json(ok).is_ok(), "{ok}");
        }
        assert_eq!(JsonMessage::json(" [ 1 , { \"k\" : \" v \" } ] ").unwrap().as_str(), "[1,{\"k\":\" v \"}]");
    }

    #[test]
    fn deeply_nested_json_is_refused_not_overflowing_the_stack() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let e = JsonMessage::json(&deep).unwrap_err();
        assert_eq!(e.to_string(), "ERR message is not valid JSON: nested deeper than 100 levels");
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(JsonMessage::json(&ok).is_ok());
        let over = format!("[{ok}]");
        assert!(JsonMessage::json(&over).is_err());
        // Brackets inside strings do not count.
        assert!(JsonMessage::json(&format!("\"{deep}\"")).is_ok());
        // A deep record stored by another client decodes without recursing.
        let rec = format!("{{\"message\":{deep}}}");
        assert_eq!(decode(rec.as_bytes()).message.as_deref(), Some(deep.as_str()));
    }

    #[test]
    fn timestamps_format_with_six_decimals() {
        assert_eq!(format_ts(1_732_357_002_000_001), "1732357002.000001");
        assert_eq!(format_ts(0), "0.000000");
        assert_eq!(format_ts(-1), "-0.000001");
        assert_eq!(rfc3339(1_795_429_502_123_456).as_deref(), Some("2026-11-23T10:25:02.123456+00:00"));
    }

    #[test]
    fn decodes_what_it_encodes() {
        let rec = encode(1, 1_795_429_502_123_456, &JsonMessage::text("hi"), &["a", "b"], None);
        let d = decode(&rec);
        assert_eq!(d.ts_micros, Some(1_795_429_502_123_456));
        assert_eq!(d.message.as_deref(), Some("hi"));
        assert_eq!(d.tags.to_vec(), vec!["a", "b"]);
        assert_eq!(decode_ts(&rec), Some(1_795_429_502_123_456));
    }

    #[test]
    fn attrs_must_be_a_json_object_kept_as_given_but_compact() {
        assert_eq!(attrs(r#" { "b" : [1, 2.50], "a" : "x y" } "#).unwrap(), r#"{"b":[1,2.50],"a":"x y"}"#);
        assert_eq!(attrs("{}").unwrap(), "{}");
        for not_object in ["[]", "1", "\"s\"", "null", "true"] {
            assert_eq!(attrs(not_object), Err(Error::BadAttrs(None)), "{not_object}");
        }
        assert_eq!(
            attrs("{\"a\":").unwrap_err().to_string(),
            "ERR ATTRS needs a JSON object: EOF while parsing a value at line 1 column 5"
        );
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(attrs(&deep).unwrap_err().to_string().starts_with("ERR ATTRS needs a JSON object: nested deeper"));
    }

    #[test]
    fn attrs_and_the_format_of_the_message_decode() {
        let rec = encode(1, 1_795_429_502_123_456, &JsonMessage::text("hi"), &["a"], Some(r#"{"user":1}"#));
        assert_eq!(
            std::str::from_utf8(&rec).unwrap(),
            r#"{"id":1,"ts":1795429502.123456,"message":"hi","tags":["a"],"attrs":{"user":1}}"#
        );
        let d = decode(&rec);
        assert_eq!(d.attrs.as_deref(), Some(r#"{"user":1}"#));
        assert!(matches!(d.attrs, Some(Cow::Borrowed(_))));
        assert_eq!(
            (d.message.as_deref(), d.format, d.tags.to_vec()),
            (Some("hi"), Some(Format::Text), vec!["a".into()])
        );
        assert_eq!((decode_ts(&rec), decode_id(&rec)), (Some(1_795_429_502_123_456), Some(1)));
        // Without attrs: none, and the message's format tells `42` from `"42"`.
        let (json, text) = (
            encode(2, 5, &JsonMessage::json("42").unwrap(), &[], None),
            encode(3, 5, &JsonMessage::text("42"), &[], None),
        );
        let (json, text) = (decode(&json), decode(&text));
        assert_eq!((json.message.as_deref(), json.format, json.attrs), (Some("42"), Some(Format::Json), None));
        assert_eq!((text.message.as_deref(), text.format, text.attrs), (Some("42"), Some(Format::Text), None));
        for (message, format) in [
            ("null", Format::Json),
            ("[1]", Format::Json),
            ("{}", Format::Json),
            ("true", Format::Json),
            ("\"s\"", Format::Text),
        ] {
            let raw = format!("{{\"message\":{message}}}");
            assert_eq!(decode(raw.as_bytes()).format, Some(format), "{raw}");
        }
        // Another client's attrs: spaced out (made compact), or not an object (left out).
        let d = decode(br#"{"id": 4, "ts": 1700000000, "message": "m", "attrs": {"k": [1, "a b"]}}"#);
        assert_eq!(d.attrs.as_deref(), Some(r#"{"k":[1,"a b"]}"#));
        assert_eq!(decode(br#"{"message":"m","attrs":[1]}"#).attrs, None);
        assert_eq!(decode(br#"{"message":"m","attrs":null}"#).attrs, None);
        // No message: no format; not a record: text.
        assert_eq!(decode(b"{}").format, None);
        assert_eq!(decode(b"[1,2]").format, Some(Format::Text));
        assert_eq!(decode(b"42").format, Some(Format::Text));
    }

    #[test]
    fn decodes_records_of_other_clients() {
        // Python's json.dumps: spaces after separators, no tags, integer ts.
        let d = decode(br#"{"id": 5, "ts": 1700000000, "message": {"k": [1, 2]}}"#);
        assert_eq!(d.ts_micros, Some(1_700_000_000_000_000));
        assert_eq!(d.message.as_deref(), Some(r#"{"k":[1,2]}"#));
        assert!(d.tags.is_empty());
        // Float seconds with fewer decimals, and an RFC 3339 string.
        assert_eq!(decode_ts(br#"{"ts": 1700000000.5}"#), Some(1_700_000_000_500_000));
        assert_eq!(decode_ts(br#"{"ts": "2023-11-14T22:13:20.000001+00:00"}"#), Some(1_700_000_000_000_001));
        // A null message is a message.
        assert_eq!(decode(br#"{"message": null}"#).message.as_deref(), Some("null"));
        // Escaped text is unescaped; tag elements that are not strings are skipped.
        let d = decode(br#"{"message":"a\u0000\"b","tags":["x",1,"y\n"]}"#);
        assert_eq!(d.message.as_deref(), Some("a\u{0}\"b"));
        assert_eq!(d.tags.to_vec(), vec!["x", "y\n"]);
    }

    #[test]
    fn a_field_given_twice_takes_its_last_value() {
        let d = decode(br#"{"id":1,"ts":1700000000,"message":"a","message":"b","tags":["x"],"tags":["y"]}"#);
        assert_eq!(
            (d.ts_micros, d.message.as_deref(), d.tags.to_vec()),
            (Some(1_700_000_000_000_000), Some("b"), vec!["y".to_string()])
        );
        // Keys are compared unescaped; a later ill-typed value replaces an earlier good one.
        let d = decode(br#"{"message":"a","m\u0065ssage":{"k":1},"ts":1,"ts":"never"}"#);
        assert_eq!((d.ts_micros, d.message.as_deref()), (None, Some(r#"{"k":1}"#)));
        assert_eq!(decode_ts(br#"{"ts":1,"ts":2}"#), Some(2_000_000));
        // Still only an object is a record.
        assert_eq!(decode(br#"["ts",1]"#).message.as_deref(), Some(r#"["ts",1]"#));
    }

    #[test]
    fn tags_that_name_no_tag_flow_are_dropped() {
        for raw in [
            &br#"{"id":1,"ts":1.000000,"message":"m","tags":["a","__all__","","b"]}"#[..],
            br#"{"id":1,"ts":1,"message":"m","tags":["a","__all__","","b"]}"#,
            br#"{"id":1,"ts":1.000000,"message":"m","tags":["a","\u005f_all__","b"]}"#,
        ] {
            let d = decode(raw);
            assert_eq!(d.tags.to_vec(), vec!["a", "b"], "{}", String::from_utf8_lossy(raw));
            assert_eq!(d.tags.len(), 2);
        }
        assert!(canonical(r#"{"id":1,"ts":1.000000,"message":"m","tags":["__all__"]}"#).is_none());
        assert!(canonical(r#"{"id":1,"ts":1.000000,"message":"m","tags":[""]}"#).is_none());
    }

    #[test]
    fn undecodable_records_degrade_to_their_raw_text() {
        let d = decode(b"plain text, not JSON");
        assert_eq!(
            d,
            Decoded {
                ts_micros: None,
                message: Some("plain text, not JSON".into()),
                tags: Tags::List(vec![]),
                attrs: None,
                format: Some(Format::Text)
            }
        );
        assert_eq!(decode(b"[1,2]").message.as_deref(), Some("[1,2]"));
        assert_eq!(decode(b"\xff\xfe").message.as_deref(), Some("\u{fffd}\u{fffd}"));
        // Missing or ill-typed fields are left out, the rest is kept.
        let d = decode(br#"{"ts":"yesterday","tags":"x","message":"m"}"#);
        assert_eq!(
            d,
            Decoded {
                ts_micros: None,
                message: Some("m".into()),
                tags: Tags::List(vec![]),
                attrs: None,
                format: Some(Format::Text)
            }
        );
        assert_eq!(decode(br#"{"ts":1e300}"#).ts_micros, None);
        assert_eq!(decode(b"{}").message, None);
    }

    #[test]
    fn the_fast_timestamp_path_agrees_with_the_parser() {
        let rec = encode(12, 1_795_429_502_000_042, &JsonMessage::text("m"), &["t"], None);
        assert_eq!(fast_ts(&rec), Some(1_795_429_502_000_042));
        assert_eq!(decode(&rec).ts_micros, fast_ts(&rec));
        // Other spellings fall back to the JSON parser.
        for other in [
            &br#"{"id":1,"ts":1.5,"message":1}"#[..],
            br#"{"id": 1, "ts": 1.000001, "m":1}"#,
            br#"{"ts":1.000001,"id":1}"#,
            br#"{"id":1,"ts":1.0000011,"m":1}"#,
        ] {
            assert_eq!(fast_ts(other), None, "{}", String::from_utf8_lossy(other));
            assert!(decode_ts(other).is_some());
        }
    }

    /// The hand decoder and serde agree wherever the hand decoder answers, and it declines
    /// everything outside its narrow form.
    #[test]
    fn the_canonical_decoder_agrees_with_serde() {
        fn serde(raw: &str) -> Decoded<'_> {
            let st: Stored<'_> = serde_json::from_str(raw).unwrap();
            Decoded {
                ts_micros: st.ts.and_then(ts_of),
                message: st.message.map(message_text),
                tags: Tags::List(st.tags.map(tags_of).unwrap_or_default()),
                attrs: st.attrs.and_then(attrs_of),
                format: st.message.map(format_of),
            }
        }
        let cases: Vec<Vec<u8>> = vec![
            encode(1, 1_795_429_502_123_456, &JsonMessage::text("hello world"), &["a", "b:c"], None),
            encode(2, 5, &JsonMessage::text(""), &[], None),
            encode(3, 5, &JsonMessage::text("é ✓ \u{1F600}"), &["ü"], None),
        ];
        for raw in &cases {
            let text = std::str::from_utf8(raw).unwrap();
            let fast = canonical(text).unwrap();
            assert_eq!(fast, serde(text), "{text}");
            assert_eq!(fast.tags.len(), serde(text).tags.len());
            assert!(matches!(fast.tags, Tags::Plain(_)));
        }
        let declined = [
            encode(4, 5, &JsonMessage::text("a\"b"), &[], None),
            encode(5, 5, &JsonMessage::text("line\nbreak"), &[], None),
            encode(6, 5, &JsonMessage::text("t"), &["x\\y"], None),
            encode(7, 5, &JsonMessage::json("[1]").unwrap(), &[], None),
            br#"{"id":1,"ts":1.000000,"message":"m","tags":[]} "#.to_vec(),
            br#"{"id":1,"ts":1.000000,"message":"m","tags":["a",]}"#.to_vec(),
            br#"{"id":1,"ts":1.000000,"message":"m","tags":[],"x":1}"#.to_vec(),
            br#"{"id":1,"ts":1.5,"message":"m","tags":[]}"#.to_vec(),
            br#"{"id":1, "ts":1.000000,"message":"m","tags":[]}"#.to_vec(),
        ];
        for raw in &declined {
            let text = std::str::from_utf8(raw).unwrap();
            assert_eq!(canonical(text), None, "{text}");
            // ...and decode still reads them through serde.
            assert!(decode(raw).message.is_some(), "{text}");
        }
        assert_eq!(decode(&declined[0]).message.as_deref(), Some("a\"b"));
    }

    #[test]
    fn rfc3339_matches_chrono_formatting() {
        let mut cases = vec![
            0,
            1,
            999_999,
            1_795_429_502_123_456,
            951_782_400_000_000,
            253_402_300_799_999_999,
            -1,
            -62_135_596_800_000_000,
        ];
        // Every day from 1600 to 2500 (leap years and centuries), at a varying time of day, and
        // a spread of times over years 0 to 9999.
        cases.extend(
            (-135_140..194_000i64).map(|d| d * 86_400_000_000 + (d * 7_919_000_003).rem_euclid(86_400_000_000)),
        );
        cases.extend((0..100_000i64).map(|i| -62_167_219_200_000_000 + i * 3_155_695_200_000 + i * 7_777));
        for micros in cases {
            let t = DateTime::<Utc>::from_timestamp_micros(micros).unwrap();
            assert_eq!(rfc3339(micros).unwrap(), t.to_rfc3339_opts(SecondsFormat::Micros, false), "{micros}");
        }
        // Within one second and across seconds, back and forth (the last second is kept).
        let t = 1_795_429_502_000_000;
        for micros in [t, t + 1, t + 999_999, t + 1_000_000, t, t - 1, t + 5] {
            let t = DateTime::<Utc>::from_timestamp_micros(micros).unwrap();
            assert_eq!(rfc3339(micros).unwrap(), t.to_rfc3339_opts(SecondsFormat::Micros, false), "{micros}");
        }
        // Outside years 0000 to 9999 RFC 3339 has no text for it (chrono would write
        // `+10000-01-01T...`): no time.
        for micros in [-62_167_219_200_000_001, 253_402_300_800_000_000, i64::MAX, i64::MIN] {
            assert_eq!(rfc3339(micros), None, "{micros}");
        }
        assert_eq!(rfc3339(253_402_300_799_999_999).as_deref(), Some("9999-12-31T23:59:59.999999+00:00"));
    }

    #[test]
    fn minify_keeps_whitespace_inside_strings() {
        assert_eq!(minify("{ \"a b\" : [ 1 ,\n\t\"c\\\" d\" ] }"), "{\"a b\":[1,\"c\\\" d\"]}");
        assert!(is_compact("{\"a b\":1}"));
        assert!(!is_compact("{\"a\": 1}"));
    }
}

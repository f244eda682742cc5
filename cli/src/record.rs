//! A record as stored (the JSON text `TLOG.GET ... RAW` gives), and the ways to print it.

use chrono::{DateTime, Local, SecondsFormat, TimeZone, Utc};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// A stored record, read from its JSON text. Fields keep their stored JSON text, so a JSON
/// message or attrs object comes out with its key order and number spelling.
#[derive(Debug, Clone)]
pub struct Record {
    /// The stored bytes, unchanged (a plain client may have stored bytes that are not UTF-8).
    pub raw: Vec<u8>,
    pub id: Option<i64>,
    /// Unix seconds and microseconds.
    pub ts: Option<(i64, u32)>,
    /// The message: `Text` for a JSON string (or a record that is not a JSON object), `Json`
    /// for any other JSON value (compact text as stored).
    pub message: Option<Message>,
    pub tags: Vec<String>,
    /// The attrs object as stored (compact JSON text).
    pub attrs: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Text(String),
    Json(String),
}

impl Record {
    /// A record as the server gives it. Bytes that are not UTF-8 are kept in `raw` and shown
    /// as U+FFFD in the decoded fields.
    pub fn parse(bytes: &[u8]) -> Record {
        let text = String::from_utf8_lossy(bytes);
        let raw: &str = &text;
        let fields: Option<HashMap<String, Box<RawValue>>> = serde_json::from_str(raw).ok();
        let Some(fields) = fields else {
            return Record {
                raw: bytes.to_vec(),
                id: None,
                ts: None,
                message: Some(Message::Text(raw.to_string())),
                tags: Vec::new(),
                attrs: None,
            };
        };
        let get = |k: &str| fields.get(k).map(|v| v.get());
        let id = get("id").and_then(|v| v.parse::<i64>().ok());
        let ts = get("ts").and_then(parse_ts);
        let message = get("message").map(|m| match serde_json::from_str::<String>(m) {
            Ok(s) => Message::Text(s),
            Err(_) => Message::Json(m.to_string()),
        });
        let tags = get("tags")
            .and_then(|t| serde_json::from_str::<Vec<serde_json::Value>>(t).ok())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .filter(|t| !t.is_empty() && t != "__all__")
            .collect();
        let attrs = get("attrs").filter(|a| a.trim_start().starts_with('{')).map(str::to_string);
        Record { raw: bytes.to_vec(), id, ts, message, tags, attrs }
    }

    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.ts.and_then(|(s, us)| Utc.timestamp_opt(s, us * 1000).single())
    }

    /// The time as RFC 3339 in UTC with microseconds, as the server's decoded replies give it.
    pub fn ts_rfc3339(&self) -> Option<String> {
        self.time().map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    /// One JSON object a line, fields in a fixed order: id, ts, message, tags, attrs.
    pub fn jsonl(&self) -> String {
        let id = self.id.map_or("null".to_string(), |i| i.to_string());
        let ts = self.ts_rfc3339().map_or("null".to_string(), |t| serde_json::Value::String(t).to_string());
        let message = match &self.message {
            Some(Message::Text(t)) => serde_json::Value::String(t.clone()).to_string(),
            Some(Message::Json(j)) => j.clone(),
            None => "null".into(),
        };
        let tags = serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".into());
        let attrs = self.attrs.clone().unwrap_or_else(|| "null".into());
        format!(r#"{{"id":{id},"ts":{ts},"message":{message},"tags":{tags},"attrs":{attrs}}}"#)
    }

    /// The message for people: text as is, JSON compact (pretty with `pretty`).
    pub fn message_text(&self, pretty: bool) -> String {
        match &self.message {
            Some(Message::Text(t)) => t.clone(),
            Some(Message::Json(j)) if pretty => indent(j),
            Some(Message::Json(j)) => j.clone(),
            None => String::new(),
        }
    }
}

/// A line to import, read strictly: a JSON object with `ts` (unix seconds or RFC 3339) and
/// `message`; `tags`, if there, an array of strings; `id` is read and dropped (the records
/// get the ids of the prefix they go into).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportLine {
    pub ts: (i64, u32),
    pub message: Message,
    pub tags: Vec<String>,
    pub attrs: Option<String>,
    /// Top-level fields tlog does not keep (dropped, counted for a warning).
    pub extra: Vec<String>,
    /// `attrs` was there but not an object or null (dropped, counted for a warning).
    pub attrs_dropped: bool,
}

impl ImportLine {
    pub fn parse(line: &str) -> Result<ImportLine, String> {
        let fields: HashMap<String, Box<RawValue>> = match serde_json::from_str(line) {
            Ok(f) => f,
            Err(e) if e.is_eof() => return Err(format!("cut off: {e}")),
            Err(e) => return Err(format!("not a JSON object of a record: {e}")),
        };
        let get = |k: &str| fields.get(k).map(|v| v.get()).filter(|v| *v != "null");
        let ts = match get("ts") {
            None => return Err("no \"ts\": every record needs its time (unix seconds or RFC 3339)".into()),
            Some(t) => parse_ts(t).ok_or_else(|| format!("\"ts\" {t} is not unix seconds or an RFC 3339 time"))?,
        };
        let message = match fields.get("message").map(|m| m.get()) {
            None => return Err("no \"message\"".into()),
            Some(m) => match serde_json::from_str::<String>(m) {
                Ok(s) => Message::Text(s),
                Err(_) => Message::Json(m.to_string()),
            },
        };
        let tags = match get("tags") {
            None => Vec::new(),
            Some(t) => serde_json::from_str::<Vec<String>>(t)
                .map_err(|_| format!("\"tags\" {t} is not an array of strings"))?
                .into_iter()
                .filter(|t| !t.is_empty() && t != "__all__")
                .collect(),
        };
        let (attrs, attrs_dropped) = match get("attrs") {
            None => (None, false),
            Some(a) if a.trim_start().starts_with('{') => (Some(a.to_string()), false),
            Some(_) => (None, true),
        };
        let mut extra: Vec<String> = fields
            .keys()
            .filter(|k| !["id", "ts", "message", "tags", "attrs"].contains(&k.as_str()))
            .cloned()
            .collect();
        extra.sort();
        Ok(ImportLine { ts, message, tags, attrs, extra, attrs_dropped })
    }
}

/// Text for a terminal: control characters (newline, carriage return, tab, ESC, BEL, DEL, the
/// C1 range) shown escaped (`\n`, `\r`, `\t`, `\x1b`, `\u{9b}`), so a record stays on its
/// line and cannot drive the terminal. The rest is unchanged.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Compact JSON text indented by two spaces, keys in their stored order and numbers as
/// spelled (serde_json's pretty printer would sort keys and respell numbers going through a
/// `Value`).
pub fn indent(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    out.push('\n');
                    out.push_str(&"  ".repeat(depth));
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
                out.push(c);
            }
            ',' => {
                out.push_str(",\n");
                out.push_str(&"  ".repeat(depth));
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// A stored `ts`: unix seconds (a JSON number, read from its text so no digit is lost) or an
/// RFC 3339 string.
pub fn parse_ts(text: &str) -> Option<(i64, u32)> {
    let t = text.trim();
    if let Ok(s) = serde_json::from_str::<String>(t) {
        let dt = DateTime::parse_from_rfc3339(&s).ok()?;
        return Some((dt.timestamp(), dt.timestamp_subsec_micros()));
    }
    if crate::args::is_unix_seconds(t) {
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let micros = format!("{frac:0<6}").parse::<u32>().ok()?;
        return Some((int.parse().ok()?, micros));
    }
    let f: f64 = t.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let us = (f * 1e6).round() as i64;
    Some((us.div_euclid(1_000_000), us.rem_euclid(1_000_000) as u32))
}

/// The time column: local time or UTC, to the millisecond.
pub fn human_time(t: Option<DateTime<Utc>>, utc: bool) -> String {
    match t {
        None => "-".repeat(23),
        Some(t) if utc => t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string(),
        Some(t) => t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_tlog_and_other_clients_store() {
        let r = Record::parse(
            br#"{"id":4,"ts":1795429507.902114,"message":{"user":"foo","n":2.50},"tags":["foo","__all__",""],"attrs":{"z":1,"a":2}}"#,
        );
        assert_eq!(r.id, Some(4));
        assert_eq!(r.ts, Some((1795429507, 902114)));
        assert_eq!(r.message, Some(Message::Json(r#"{"user":"foo","n":2.50}"#.into())));
        assert_eq!(r.tags, ["foo"]);
        assert_eq!(r.attrs.as_deref(), Some(r#"{"z":1,"a":2}"#));
        assert_eq!(
            r.jsonl(),
            r#"{"id":4,"ts":"2026-11-23T10:25:07.902114Z","message":{"user":"foo","n":2.50},"tags":["foo"],"attrs":{"z":1,"a":2}}"#
        );
        let s = Record::parse(br#"{"id":1,"ts":"2026-11-23T11:25:00.5+01:00","message":"42","tags":["a"]}"#);
        assert_eq!(s.ts, Some((1795429500, 500000)));
        assert_eq!(s.message, Some(Message::Text("42".into())));
        assert_eq!(
            s.jsonl(),
            r#"{"id":1,"ts":"2026-11-23T10:25:00.500000Z","message":"42","tags":["a"],"attrs":null}"#
        );
        let junk = Record::parse(b"not json");
        assert_eq!(junk.message, Some(Message::Text("not json".into())));
        assert_eq!(junk.jsonl(), r#"{"id":null,"ts":null,"message":"not json","tags":[],"attrs":null}"#);
        let twice = Record::parse(br#"{"id":1,"message":"a","message":"b","ts":1.5,"attrs":[1]}"#);
        assert_eq!(twice.message, Some(Message::Text("b".into())));
        assert_eq!(twice.ts, Some((1, 500000)));
        assert_eq!(twice.attrs, None);
    }

    #[test]
    fn import_lines_are_read_strictly() {
        let l =
            ImportLine::parse(r#"{"id":9,"ts":1.5,"message":{"a":1},"tags":["x","__all__"],"attrs":{"k":2}}"#).unwrap();
        assert_eq!(l.ts, (1, 500000));
        assert_eq!(l.message, Message::Json(r#"{"a":1}"#.into()));
        assert_eq!(
            (l.tags, l.attrs.as_deref(), l.extra.len(), l.attrs_dropped),
            (vec!["x".to_string()], Some(r#"{"k":2}"#), 0, false)
        );
        assert!(ImportLine::parse(r#"{"id":2,"ts":1700000001,"message":"trunc"#).unwrap_err().starts_with("cut off"));
        assert!(ImportLine::parse("plain text").unwrap_err().starts_with("not a JSON object"));
        assert!(ImportLine::parse("[1]").unwrap_err().starts_with("not a JSON object"));
        assert!(ImportLine::parse(r#"{"message":"no time"}"#).unwrap_err().contains("no \"ts\""));
        assert!(ImportLine::parse(r#"{"ts":null,"message":"m"}"#).unwrap_err().contains("no \"ts\""));
        assert!(ImportLine::parse(r#"{"ts":1}"#).unwrap_err().contains("no \"message\""));
        assert!(ImportLine::parse(r#"{"ts":1,"message":"m","tags":["a",7]}"#).unwrap_err().contains("\"tags\""));
        let l = ImportLine::parse(r#"{"ts":1,"message":"m","attrs":[1],"host":"h","level":3}"#).unwrap();
        assert_eq!((l.extra, l.attrs_dropped, l.attrs), (vec!["host".to_string(), "level".to_string()], true, None));
        let l = ImportLine::parse(r#"{"ts":1,"message":"m","attrs":null,"tags":null}"#).unwrap();
        assert_eq!((l.attrs_dropped, l.tags.len()), (false, 0));
    }

    #[test]
    fn controls_are_escaped_for_terminals() {
        assert_eq!(escape_controls("plain é"), "plain é");
        assert_eq!(escape_controls("a\nb\rc\td\x1b[31me\x07\x7f\u{9b}"), "a\\nb\\rc\\td\\x1b[31me\\x07\\x7f\\u{9b}");
    }

    #[test]
    fn indent_keeps_key_order_numbers_and_strings() {
        assert_eq!(
            indent(r#"{"user":7,"n":2.50,"s":"a,b:{\"c\"}","e":[],"o":{},"l":[1,{"x":null}]}"#),
            "{\n  \"user\": 7,\n  \"n\": 2.50,\n  \"s\": \"a,b:{\\\"c\\\"}\",\n  \"e\": [],\n  \"o\": {},\n  \"l\": [\n    1,\n    {\n      \"x\": null\n    }\n  ]\n}"
        );
        assert_eq!(indent("42"), "42");
    }

    #[test]
    fn times_for_people() {
        let r = Record::parse(br#"{"id":1,"ts":1795429500.871302,"message":"m"}"#);
        assert_eq!(human_time(r.time(), true), "2026-11-23 10:25:00.871Z");
        assert_eq!(human_time(None, true).len(), 23);
        assert_eq!(parse_ts("1e3"), Some((1000, 0)));
        assert_eq!(parse_ts("1700000000.1234567"), Some((1700000000, 123457)));
    }
}

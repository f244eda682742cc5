//! Turning what a person types (times, durations, filters) into the words of tlog's commands.
//! Pure functions: everything here is unit-tested without a server.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// A duration such as `30s`, `15m`, `1h`, `7d`, `1h30m`, or bare seconds (`90`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<u64>().map(Duration::from_secs).map_err(|e| format!("invalid duration '{s}': {e}"));
    }
    humantime::parse_duration(t).map_err(|e| format!("invalid duration '{s}': {e} (use e.g. 30s, 15m, 1h, 7d)"))
}

/// A duration that must be a whole number of seconds (`--ttl`, `--bucket`): the server takes
/// whole seconds, so `1.5s` or `500ms` is refused rather than cut down.
pub fn parse_whole_secs(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.subsec_nanos() != 0 {
        return Err(format!("'{s}' is not a whole number of seconds (the server takes whole seconds)"));
    }
    if d.as_secs() == 0 {
        return Err(format!("'{s}' is shorter than 1s"));
    }
    Ok(d)
}

/// A time as tlog takes it, given relative to `now` (`1h` is an hour ago), as RFC 3339 or as
/// unix seconds. Returned as unix seconds with six decimals, the form every command takes.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<String, String> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(unix_text(dt.timestamp(), dt.timestamp_subsec_micros()));
    }
    if is_unix_seconds(t) {
        return Ok(t.to_string());
    }
    if t == "now" {
        return Ok(unix_text(now.timestamp(), now.timestamp_subsec_micros()));
    }
    match parse_duration(t) {
        Ok(d) => {
            let d = chrono::Duration::from_std(d).map_err(|e| format!("invalid time '{s}': {e}"))?;
            let at = now.checked_sub_signed(d).ok_or_else(|| format!("invalid time '{s}': too far back"))?;
            Ok(unix_text(at.timestamp(), at.timestamp_subsec_micros()))
        }
        Err(_) => Err(format!(
            "invalid time '{s}': use a time ago (30s, 15m, 1h, 7d), RFC 3339 (2026-11-23T10:15:02Z) or unix seconds"
        )),
    }
}

/// Unix seconds with up to six decimals, as the server takes them.
pub fn is_unix_seconds(t: &str) -> bool {
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    !int.is_empty()
        && int.len() <= 12
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 6
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(t.contains('.') && frac.is_empty())
}

fn unix_text(secs: i64, micros: u32) -> String {
    format!("{secs}.{micros:06}")
}

/// A `key=value` attribute. The value is JSON when it parses as JSON (`97`, `true`,
/// `{"a":1}`), else text.
pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not key=value")),
    }
}

/// The JSON object of `--attr` pairs, in the order given (the server keeps key order). A
/// value is JSON when it parses as JSON exactly as written (`97`, `true`, `{"a":1}`; a value
/// with spaces around it, such as `' 5 '`, is text); a key given twice is refused.
pub fn attrs_object(pairs: &[(String, String)]) -> Result<String, String> {
    let mut body: Vec<String> = Vec::with_capacity(pairs.len());
    for (i, (k, v)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(seen, _)| seen == k) {
            return Err(format!("--attr '{k}' is given more than once"));
        }
        let padded = v.trim() != v.as_str();
        let value = match serde_json::from_str::<serde_json::Value>(v) {
            Ok(_) if !padded => v.clone(),
            _ => serde_json::Value::String(v.clone()).to_string(),
        };
        body.push(format!("{}:{}", serde_json::Value::String(k.clone()), value));
    }
    Ok(format!("{{{}}}", body.join(",")))
}

/// The filters shared by get, tail, count and export.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub and: Vec<String>,
    pub or: Vec<String>,
    pub not: Vec<String>,
    pub wheres: Vec<(String, String)>,
    pub pattern: Option<String>,
}

impl Filters {
    /// The filter words, as they follow the tag in TLOG.GET, TLOG.TAIL and TLOG.COUNT.
    pub fn words(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (name, tags) in [("AND", &self.and), ("OR", &self.or), ("NOT", &self.not)] {
            if !tags.is_empty() {
                w.push(name.to_string());
                w.push(tags.len().to_string());
                w.extend(tags.iter().cloned());
            }
        }
        if !self.wheres.is_empty() {
            w.push("WHERE".into());
            w.push(self.wheres.len().to_string());
            for (k, v) in &self.wheres {
                w.push(k.clone());
                w.push(v.clone());
            }
        }
        if let Some(p) = &self.pattern {
            w.push("MATCH".into());
            w.push(p.clone());
        }
        w
    }

    pub fn is_empty(&self) -> bool {
        self.words().is_empty()
    }
}

/// The default SINCE of a histogram: the start of the bucket 29 buckets before the one
/// holding `until` (unix seconds), so that exactly 30 buckets are drawn.
pub fn default_bucket_since(until: &str, secs: u64) -> Result<String, String> {
    let whole: i64 =
        until.split('.').next().and_then(|i| i.parse().ok()).ok_or_else(|| format!("invalid time '{until}'"))?;
    let secs = secs as i64;
    let start = whole.div_euclid(secs) * secs - 29 * secs;
    Ok(start.max(0).to_string())
}

/// Time bounds as words: `SINCE t` and `UNTIL t`.
pub fn time_words(since: Option<&str>, until: Option<&str>) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(s) = since {
        w.extend(["SINCE".to_string(), s.to_string()]);
    }
    if let Some(u) = until {
        w.extend(["UNTIL".to_string(), u.to_string()]);
    }
    w
}

/// The words of a histogram: `TLOG.COUNT prefix tag [filters] SINCE t UNTIL t BUCKET seconds`.
pub fn bucket_words(prefix: &str, tag: &str, f: &Filters, since: &str, until: &str, secs: u64) -> Vec<String> {
    let mut w = vec!["TLOG.COUNT".to_string(), prefix.to_string(), tag.to_string()];
    w.extend(f.words());
    w.extend(time_words(Some(since), Some(until)));
    w.extend(["BUCKET".to_string(), secs.to_string()]);
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_429_500, 250_000_000).single().expect("time")
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_whole_secs("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_whole_secs("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_whole_secs("1.5s").unwrap_err().contains("whole number of seconds"));
        assert!(parse_whole_secs("500ms").is_err());
        assert!(parse_whole_secs("0s").is_err());
    }

    #[test]
    fn times_relative_absolute_and_unix() {
        assert_eq!(parse_time("1h", now()).unwrap(), "1795425900.250000");
        assert_eq!(parse_time("30s", now()).unwrap(), "1795429470.250000");
        assert_eq!(parse_time("now", now()).unwrap(), "1795429500.250000");
        assert_eq!(parse_time("2026-11-23T10:25:00.871302Z", now()).unwrap(), "1795429500.871302");
        assert_eq!(parse_time("2026-11-23T11:25:00.5+01:00", now()).unwrap(), "1795429500.500000");
        assert_eq!(parse_time("1700000000", now()).unwrap(), "1700000000");
        assert_eq!(parse_time("1700000000.25", now()).unwrap(), "1700000000.25");
        assert!(parse_time("yesterday", now()).is_err());
        assert!(parse_time("1700000000.1234567", now()).is_err());
        assert!(parse_time("2026-11-23T10:25:00", now()).is_err());
    }

    #[test]
    fn attrs_keep_order_and_types() {
        let pairs: Vec<_> =
            ["host=db1", "disk=97", "ok=true", "note=a b"].iter().map(|p| parse_pair(p).unwrap()).collect();
        assert_eq!(attrs_object(&pairs).unwrap(), r#"{"host":"db1","disk":97,"ok":true,"note":"a b"}"#);
        let padded = [parse_pair("s= 5 ").unwrap(), parse_pair("t=5").unwrap()];
        assert_eq!(attrs_object(&padded).unwrap(), r#"{"s":" 5 ","t":5}"#);
        let twice = [parse_pair("k=1").unwrap(), parse_pair("k=2").unwrap()];
        assert!(attrs_object(&twice).unwrap_err().contains("more than once"));
        assert_eq!(parse_pair("k=a=b").unwrap(), ("k".into(), "a=b".into()));
        assert!(parse_pair("=x").is_err());
        assert!(parse_pair("novalue").is_err());
    }

    #[test]
    fn a_histogram_has_30_buckets_by_default() {
        assert_eq!(default_bucket_since("1700000179.5", 60), Ok((1700000160 - 29 * 60).to_string()));
        assert_eq!(default_bucket_since("1700000160", 60), Ok((1700000160 - 29 * 60).to_string()));
        assert_eq!(default_bucket_since("100", 60), Ok("0".to_string()));
    }

    #[test]
    fn filter_words_follow_the_server_grammar() {
        let f = Filters {
            and: vec!["a".into()],
            or: vec!["b".into(), "c".into()],
            not: vec!["LIMIT".into()],
            wheres: vec![("host".into(), "db1".into()), ("level".into(), "error".into())],
            pattern: Some("disk*".into()),
        };
        assert_eq!(
            f.words(),
            [
                "AND", "1", "a", "OR", "2", "b", "c", "NOT", "1", "LIMIT", "WHERE", "2", "host", "db1", "level",
                "error", "MATCH", "disk*"
            ]
        );
        assert!(Filters::default().is_empty());
        assert_eq!(
            bucket_words("app", "__all__", &Filters::default(), "1", "2", 300),
            ["TLOG.COUNT", "app", "__all__", "SINCE", "1", "UNTIL", "2", "BUCKET", "300"]
        );
        let w = Filters { wheres: vec![("k".into(), "v".into())], ..Default::default() };
        assert_eq!(
            bucket_words("p", "t", &w, "1", "2", 60),
            ["TLOG.COUNT", "p", "t", "WHERE", "1", "k", "v", "SINCE", "1", "UNTIL", "2", "BUCKET", "60"]
        );
    }
}

//! The record filters of the read commands: `WHERE numpairs field value [...]` on a record's
//! `"attrs"` object and `MATCH pattern` on its message text. Pure: parsing, and matching a
//! stored record's bytes.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::keys;
use crate::record;

/// The most field/value pairs one WHERE takes.
pub const MAX_WHERE_PAIRS: usize = 64;

/// The glob steps MATCH may spend in one call with a scan limit: 2 to 5 ms of matching (180,000
/// to 490,000 steps a millisecond, see [`glob_match_steps`]), about 500 KB of message text for a
/// pattern like `*error*`. A call stops before the record it ran out on, with the usual
/// continuation; a record that alone needs more is an error.
pub const MATCH_STEPS: u64 = 1_000_000;

/// The longest MATCH pattern, in bytes: a glob costs up to (message length x pattern length)
/// steps per record.
pub const MAX_PATTERN_LEN: usize = 1024;

/// The record filters of a query: every pair of `where_` and the pattern must hold.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filter {
    /// WHERE: (field, value) pairs, ANDed.
    pub where_: Vec<(Vec<u8>, Vec<u8>)>,
    /// MATCH: a glob over the message text.
    pub pattern: Option<Vec<u8>>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.where_.is_empty() && self.pattern.is_none()
    }

    /// Parses `WHERE numpairs field value [...]` at `opts[i]` (the WHERE token): the number of
    /// arguments taken, WHERE included.
    pub fn parse_where(&mut self, opts: &[&[u8]], i: usize) -> Result<usize> {
        if !self.where_.is_empty() {
            return Err(Error::RepeatedOption("WHERE"));
        }
        let n = opts
            .get(i + 1)
            .and_then(|v| keys::parse_i64(v))
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| (1..=MAX_WHERE_PAIRS).contains(&n))
            .ok_or(Error::BadNumber("WHERE numpairs", "an integer from 1 to 64"))?;
        let pairs = opts
            .get(i + 2..i + 2 + 2 * n)
            .ok_or_else(|| Error::Message(format!("ERR WHERE {n} needs {n} field/value pairs after it")))?;
        self.where_ = pairs.chunks(2).map(|p| (p[0].to_vec(), p[1].to_vec())).collect();
        Ok(2 + 2 * n)
    }

    /// Parses `MATCH pattern` at `opts[i]`: the number of arguments taken.
    pub fn parse_match(&mut self, opts: &[&[u8]], i: usize) -> Result<usize> {
        if self.pattern.is_some() {
            return Err(Error::RepeatedOption("MATCH"));
        }
        let p = opts.get(i + 1).ok_or(Error::Syntax)?;
        if p.len() > MAX_PATTERN_LEN {
            return Err(Error::Message(format!("ERR MATCH pattern longer than {MAX_PATTERN_LEN} bytes")));
        }
        self.pattern = Some(p.to_vec());
        Ok(2)
    }

    /// Whether the stored record passes every filter, the glob spending at most `steps` (what
    /// is left is written back): `None` if they ran out first. A record that is not a JSON
    /// object has no attributes; its message is its whole text (as the decoded reply shows it).
    pub fn admits(&self, stored: &[u8], steps: &mut u64) -> Option<bool> {
        if self.is_empty() {
            return Some(true);
        }
        let rec = record::decode(stored);
        if let Some(p) = &self.pattern {
            let text = rec.message.as_deref().unwrap_or("");
            if !glob_match_steps(p, text.as_bytes(), steps)? {
                return Some(false);
            }
        }
        if self.where_.is_empty() {
            return Some(true);
        }
        let Some(attrs) = rec.attrs.as_deref() else { return Some(false) };
        let Ok(attrs) = serde_json::from_str::<Map<String, Value>>(attrs) else { return Some(false) };
        Some(self.where_.iter().all(|(field, want)| {
            let Ok(field) = std::str::from_utf8(field) else { return false };
            attrs.get(field).is_some_and(|v| value_equals(v, want))
        }))
    }
}

/// Whether an attribute equals a WHERE argument: a string its text; a number the argument
/// read as a JSON number (`1` equals `1.0`); `true`, `false` and `null` their literal. An
/// object or an array equals nothing.
pub fn value_equals(v: &Value, arg: &[u8]) -> bool {
    match v {
        Value::String(s) => s.as_bytes() == arg,
        Value::Bool(true) => arg == b"true",
        Value::Bool(false) => arg == b"false",
        Value::Null => arg == b"null",
        Value::Number(n) => number_equals(n, arg),
        Value::Array(_) | Value::Object(_) => false,
    }
}

fn number_equals(n: &serde_json::Number, arg: &[u8]) -> bool {
    // JSON's number grammar only: no spaces, no `+`, no `inf`.
    let Ok(text) = std::str::from_utf8(arg) else { return false };
    let json_number = !text.is_empty()
        && text.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'e' | b'E' | b'+'))
        && !text.starts_with('+');
    if !json_number {
        return false;
    }
    let Ok(Value::Number(a)) = serde_json::from_str::<Value>(text) else { return false };
    // Integers compare exactly (beyond 2^53 too); a number with a fraction or an exponent is
    // a double, equal to an integer only if it is exactly that integer (`9007199254740992.0`
    // is not `9007199254740993`, which a double cannot hold); two doubles as doubles.
    match (exact_int(n), exact_int(&a)) {
        (Some(x), Some(y)) => x == y,
        (Some(x), None) => a.as_f64().is_some_and(|y| double_is(y, x)),
        (None, Some(y)) => n.as_f64().is_some_and(|x| double_is(x, y)),
        (None, None) => n.as_f64().zip(a.as_f64()).is_some_and(|(x, y)| x == y),
    }
}

/// A JSON integer's exact value; `None` for a number with a fraction or an exponent.
fn exact_int(n: &serde_json::Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// Whether double `d` is exactly the integer `i`.
fn double_is(d: f64, i: i128) -> bool {
    // Beyond 2^100 no JSON integer (at most 2^64) can be equal; below, the cast is exact.
    d.fract() == 0.0 && d.abs() < 2f64.powi(100) && d as i128 == i
}

/// The most buckets one TLOG.COUNT ... BUCKET replies with.
pub const MAX_BUCKETS: i64 = 10_000;

/// The buckets of `secs` seconds covering `since..=until` (microseconds): the first one's start
/// in seconds (a multiple of `secs` since the epoch) and how many there are.
pub fn buckets(since: i64, until: i64, secs: i64) -> (i64, i64) {
    let width = i128::from(secs) * 1_000_000;
    let first = i128::from(since).div_euclid(width);
    let last = i128::from(until).div_euclid(width);
    let start = i64::try_from(first * i128::from(secs)).unwrap_or(i64::MIN);
    (start, i64::try_from(last - first + 1).unwrap_or(i64::MAX))
}

/// The microseconds `since..=until` of bucket `k` of [`buckets`], clipped to the query's own.
pub fn bucket_range(first: i64, secs: i64, k: i64, since: i64, until: i64) -> (i64, i64) {
    let width = i128::from(secs) * 1_000_000;
    let lo = i128::from(first) * 1_000_000 + i128::from(k) * width;
    let hi = lo + width - 1;
    let clip = |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
    (clip(lo).max(since), clip(hi).min(until))
}

/// The bucket of a record's time `ts` (microseconds), `None` outside them.
pub fn bucket_of(ts: i64, first: i64, secs: i64, n: i64) -> Option<usize> {
    let width = i128::from(secs) * 1_000_000;
    let k = (i128::from(ts) - i128::from(first) * 1_000_000).div_euclid(width);
    (0..i128::from(n)).contains(&k).then_some(k as usize)
}

/// BUCKET's rules: SINCE and UNTIL both given, at most [`MAX_BUCKETS`] buckets.
pub fn check_buckets(since: Option<i64>, until: Option<i64>, secs: i64) -> Result<()> {
    let (Some(since), Some(until)) = (since, until) else {
        return Err(Error::Message("ERR BUCKET needs both SINCE and UNTIL".into()));
    };
    let (_, n) = buckets(since, until, secs);
    if n > MAX_BUCKETS {
        return Err(Error::Message(format!(
            "ERR BUCKET {secs} gives {n} buckets from SINCE to UNTIL: at most {MAX_BUCKETS}"
        )));
    }
    Ok(())
}

/// How deep the recursion of one `*` within another may go, as Redis caps it.
const MAX_NESTING: usize = 1000;

/// Redis's glob (`KEYS`, `SCAN ... MATCH`), byte-wise and case-sensitive: `*` any run, `?` any
/// byte, `[abc]`, `[^abc]`, `[a-z]` a byte of a class, `\x` the byte `x`. As Redis's
/// `stringmatchlen`: a `*` whose rest matches nowhere in the string ends the search (no
/// earlier `*` can help), so the work is polynomial, and nesting is capped.
///
/// One difference: an empty string matches a pattern of `*` alone (Redis's function says no, but
/// `SCAN ... MATCH *` returns every key, the empty one too).
#[cfg(test)]
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    let mut unbounded = u64::MAX;
    glob_match_steps(pattern, string, &mut unbounded) == Some(true)
}

/// [`glob_match`] spending at most `steps` (what is left is written back): `None` if they ran
/// out before the answer. A step is one pattern byte tried against one string byte (a class
/// element included), or one place a `*` tries its rest at.
pub fn glob_match_steps(pattern: &[u8], string: &[u8], steps: &mut u64) -> Option<bool> {
    if string.is_empty() {
        return Some(pattern.iter().all(|&c| c == b'*'));
    }
    let mut g = Glob { skip_longer: false, left: *steps, out: false };
    let matched = g.run(pattern, string, 0);
    *steps = g.left;
    (!g.out).then_some(matched)
}

/// The state of one glob: Redis's early end, and the steps left.
struct Glob {
    skip_longer: bool,
    left: u64,
    /// The steps ran out: every level returns false.
    out: bool,
}

impl Glob {
    fn step(&mut self) -> bool {
        if self.left == 0 {
            self.out = true;
            return false;
        }
        self.left -= 1;
        true
    }

    fn run(&mut self, pattern: &[u8], string: &[u8], nesting: usize) -> bool {
        if nesting > MAX_NESTING {
            return false;
        }
        let (mut p, mut s) = (pattern, string);
        while !p.is_empty() && !s.is_empty() {
            if !self.step() {
                return false;
            }
            match p[0] {
                b'*' => {
                    while p.len() > 1 && p[1] == b'*' {
                        p = &p[1..];
                    }
                    if p.len() == 1 {
                        return true;
                    }
                    while !s.is_empty() {
                        if !self.step() || self.run(&p[1..], s, nesting + 1) {
                            return !self.out;
                        }
                        if self.skip_longer || self.out {
                            return false;
                        }
                        s = &s[1..];
                    }
                    self.skip_longer = true;
                    return false;
                }
                b'?' => s = &s[1..],
                b'[' => {
                    p = &p[1..];
                    let not = p.first() == Some(&b'^');
                    if not {
                        p = &p[1..];
                    }
                    let c = s[0];
                    let mut matched = false;
                    loop {
                        if !self.step() {
                            return false;
                        }
                        if p.is_empty() {
                            // An unclosed class ends the pattern.
                            break;
                        } else if p[0] == b'\\' && p.len() >= 2 {
                            p = &p[1..];
                            if p[0] == c {
                                matched = true;
                            }
                        } else if p[0] == b']' {
                            break;
                        } else if p.len() >= 3 && p[1] == b'-' {
                            let (mut lo, mut hi) = (p[0], p[2]);
                            if lo > hi {
                                std::mem::swap(&mut lo, &mut hi);
                            }
                            p = &p[2..];
                            if c >= lo && c <= hi {
                                matched = true;
                            }
                        } else if p[0] == c {
                            matched = true;
                        }
                        p = &p[1..];
                    }
                    if not {
                        matched = !matched;
                    }
                    if !matched {
                        return false;
                    }
                    s = &s[1..];
                    // The closing `]` (none if the class ran to the end) is stepped over below.
                    if p.is_empty() {
                        return s.is_empty();
                    }
                }
                b'\\' if p.len() >= 2 => {
                    p = &p[1..];
                    if p[0] != s[0] {
                        return false;
                    }
                    s = &s[1..];
                }
                c => {
                    if c != s[0] {
                        return false;
                    }
                    s = &s[1..];
                }
            }
            p = &p[1..];
            if s.is_empty() {
                while p.first() == Some(&b'*') {
                    p = &p[1..];
                }
                break;
            }
        }
        p.is_empty() && s.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_align_to_the_epoch() {
        let s = 1_000_000i64;
        // 10:00:30 to 10:02:10 in minutes: 10:00, 10:01, 10:02.
        let (first, n) = buckets(36_030 * s, 36_130 * s, 60);
        assert_eq!((first, n), (36_000, 3));
        assert_eq!(bucket_range(first, 60, 0, 36_030 * s, 36_130 * s), (36_030 * s, 36_060 * s - 1));
        assert_eq!(bucket_range(first, 60, 2, 36_030 * s, 36_130 * s), (36_120 * s, 36_130 * s));
        assert_eq!(bucket_of(36_059 * s + 999_999, first, 60, n), Some(0));
        assert_eq!(bucket_of(36_060 * s, first, 60, n), Some(1));
        assert_eq!(bucket_of(36_180 * s, first, 60, n), None);
        assert_eq!(bucket_of(35_999 * s, first, 60, n), None);
        // Before the epoch, buckets still start at multiples.
        assert_eq!(buckets(-1, 0, 60), (-60, 2));
        // A bound on an edge is in the bucket it starts.
        assert_eq!(buckets(60 * s, 120 * s, 60), (60, 2));
        assert_eq!(check_buckets(Some(0), Some(86_400 * s - 1), 60), Ok(()));
        assert_eq!(check_buckets(Some(0), Some(10_000 * s - 1), 1), Ok(()));
        let too_many = check_buckets(Some(0), Some(10_000 * s), 1).unwrap_err().to_string();
        assert_eq!(too_many, "ERR BUCKET 1 gives 10001 buckets from SINCE to UNTIL: at most 10000");
        assert_eq!(check_buckets(Some(0), Some(i64::MAX), i64::MAX), Ok(()));
        let need = Error::Message("ERR BUCKET needs both SINCE and UNTIL".into());
        assert_eq!(check_buckets(None, Some(0), 1), Err(need.clone()));
        assert_eq!(check_buckets(Some(0), None, 1), Err(need));
    }

    fn unbounded() -> u64 {
        u64::MAX
    }

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes())
    }

    #[test]
    fn globs_as_redis_does() {
        // Literal text, `?` and `*`.
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hello") && m("h?llo", "hallo") && !m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo") && m("h*llo", "heeeello") && !m("h*llo", "helloo"));
        assert!(m("*", "") && m("*", "anything") && m("**", "x") && m("", ""));
        assert!(!m("", "x") && !m("?", ""));
        assert!(m("*error*", "disk error on sda") && !m("*error*", "disk Error"));
        assert!(m("a*", "a") && m("a**", "a") && m("*a", "ba") && !m("*a", "ab"));
        // Classes, negated classes, ranges (either way round), escapes inside.
        assert!(m("h[ae]llo", "hello") && m("h[ae]llo", "hallo") && !m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo") && !m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo") && !m("h[a-b]llo", "hcllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("[\\]]", "]") && m("[\\-]", "-") && m("[a\\-z]", "-") && !m("[a\\-z]", "b"));
        assert!(m("x[-]", "x-") && !m("[]", "") && !m("[]", "]"));
        // An unclosed class ends the pattern.
        assert!(m("a[bc", "ab") && !m("a[bc", "ad"));
        // Escapes outside classes; a trailing backslash is itself.
        assert!(m("\\*", "*") && !m("\\*", "x") && m("a\\?", "a?") && !m("a\\?", "ab"));
        assert!(m("a\\", "a\\"));
        // Byte-wise: a multi-byte character is several `?`.
        assert!(m("??", "é") && !m("?", "é"));
        // Case-sensitive.
        assert!(!m("HELLO", "hello"));
        // Ranges compare bytes as unsigned (as Redis on ARM; on x86 it compares them signed).
        assert!(glob_match(b"[a-\xff]", b"\xc3") && glob_match(b"[\x80-\xff]", b"\xff"));
        assert!(!glob_match(b"[\x80-\xff]", b"a"));
    }

    #[test]
    fn pathological_patterns_stay_cheap() {
        // Exponential without the early end of a `*` whose rest matches nowhere.
        let s = "a".repeat(10_000);
        let p = format!("{}b", "a*".repeat(40));
        let t = std::time::Instant::now();
        assert!(!m(&p, &s));
        assert!(t.elapsed() < std::time::Duration::from_millis(500), "{:?}", t.elapsed());
        // Nesting beyond the cap fails rather than recursing on.
        let deep = "*a".repeat(2000);
        assert!(!m(&deep, &"a".repeat(2000)));
        assert!(m(&"*a".repeat(500), &"a".repeat(600)));
    }

    #[test]
    fn the_glob_spends_at_most_its_steps() {
        let s = "a".repeat(10_000);
        // Redis's glob: about 5,000 steps at each of 10,000 places.
        let costly = format!("*{}b", "?".repeat(5000));
        let mut left = MATCH_STEPS;
        assert_eq!(glob_match_steps(costly.as_bytes(), s.as_bytes(), &mut left), None);
        assert_eq!(left, 0);
        let classes = format!("*{}b", "[a]".repeat(1000));
        assert_eq!(glob_match_steps(classes.as_bytes(), s.as_bytes(), &mut unbounded().min(MATCH_STEPS)), None);
        // Enough steps: the answer, and what is left written back.
        let mut left = 100;
        assert_eq!(glob_match_steps(b"*b", b"aab", &mut left), Some(true));
        assert!(left < 100 && left > 90, "{left}");
        let spent = |p: &str, s: &str| {
            let mut left = u64::MAX;
            glob_match_steps(p.as_bytes(), s.as_bytes(), &mut left).unwrap();
            u64::MAX - left
        };
        // A literal: a step a byte; a `*`: one, and two a place it tries.
        assert_eq!(spent("hello", "hello"), 5);
        assert_eq!(spent("*error*", &"x".repeat(1000)), 2001);
        // Exactly enough steps is enough; one fewer is not.
        let need = spent("h*llo", "heeeello");
        assert_eq!(glob_match_steps(b"h*llo", b"heeeello", &mut { need }), Some(true));
        assert_eq!(glob_match_steps(b"h*llo", b"heeeello", &mut (need - 1)), None);
        // The same answers as without a bound, whatever the steps.
        for (p, s) in [("h[ae]llo", "hallo"), ("*a", "ab"), ("a[bc", "ab"), ("*x*", "yyy"), ("", "")] {
            let want = glob_match(p.as_bytes(), s.as_bytes());
            for n in 0..40 {
                let got = glob_match_steps(p.as_bytes(), s.as_bytes(), &mut { n });
                assert!(got.is_none() || got == Some(want), "{p} {s} {n}");
            }
        }
        // A record's filter stops there too.
        let f = Filter { where_: Vec::new(), pattern: Some(costly.into_bytes()) };
        let rec = format!(r#"{{"id":1,"ts":1.5,"message":"{s}","tags":[]}}"#);
        assert_eq!(f.admits(rec.as_bytes(), &mut unbounded().min(MATCH_STEPS)), None);
    }

    fn args(v: &[&'static str]) -> Vec<&'static [u8]> {
        v.iter().map(|s| s.as_bytes()).collect()
    }

    #[test]
    fn parses_where_and_match() {
        let mut f = Filter::default();
        let a = args(&["WHERE", "2", "level", "warn", "user", "7", "LIMIT"]);
        assert_eq!(f.parse_where(&a, 0), Ok(6));
        assert_eq!(f.where_, vec![(b"level".to_vec(), b"warn".to_vec()), (b"user".to_vec(), b"7".to_vec())]);
        assert_eq!(f.parse_where(&a, 0), Err(Error::RepeatedOption("WHERE")));
        let bad_n = Error::BadNumber("WHERE numpairs", "an integer from 1 to 64");
        for n in ["0", "65", "-1", "x", "99999999999999999999"] {
            assert_eq!(Filter::default().parse_where(&args(&["WHERE", n, "a", "b"]), 0), Err(bad_n.clone()));
        }
        assert_eq!(Filter::default().parse_where(&args(&["WHERE"]), 0), Err(bad_n));
        let missing = Filter::default().parse_where(&args(&["WHERE", "2", "a", "b", "c"]), 0).unwrap_err();
        assert_eq!(missing.to_string(), "ERR WHERE 2 needs 2 field/value pairs after it");
        let mut f = Filter::default();
        assert_eq!(f.parse_match(&args(&["MATCH", "*x*"]), 0), Ok(2));
        assert_eq!(f.pattern.as_deref(), Some(&b"*x*"[..]));
        assert_eq!(f.parse_match(&args(&["MATCH", "y"]), 0), Err(Error::RepeatedOption("MATCH")));
        assert_eq!(Filter::default().parse_match(&args(&["MATCH"]), 0), Err(Error::Syntax));
        let long = "?".repeat(MAX_PATTERN_LEN);
        assert_eq!(Filter::default().parse_match(&[b"MATCH", long.as_bytes()], 0), Ok(2));
        let longer = format!("{long}?");
        let too_long = Filter::default().parse_match(&[b"MATCH", longer.as_bytes()], 0).unwrap_err();
        assert_eq!(too_long.to_string(), "ERR MATCH pattern longer than 1024 bytes");
    }

    #[test]
    fn values_equal_by_their_json_type() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert!(value_equals(&v("\"warn\""), b"warn") && !value_equals(&v("\"warn\""), b"WARN"));
        assert!(value_equals(&v("\"1\""), b"1") && !value_equals(&v("\"1\""), b"1.0"));
        assert!(value_equals(&v("1"), b"1") && value_equals(&v("1"), b"1.0") && value_equals(&v("1.0"), b"1"));
        assert!(value_equals(&v("100"), b"1e2") && !value_equals(&v("1"), b"2"));
        assert!(!value_equals(&v("1"), b" 1") && !value_equals(&v("1"), b"+1") && !value_equals(&v("1"), b"one"));
        assert!(value_equals(&v("9007199254740993"), b"9007199254740993"));
        assert!(!value_equals(&v("9007199254740993"), b"9007199254740992"));
        // An integer and a double: equal only if the double is exactly the integer.
        assert!(!value_equals(&v("9007199254740993"), b"9007199254740992.0"));
        assert!(!value_equals(&v("9007199254740992.0"), b"9007199254740993"));
        assert!(value_equals(&v("9007199254740992"), b"9007199254740992.0"));
        assert!(value_equals(&v("9007199254740992.0"), b"9007199254740992"));
        assert!(value_equals(&v("18446744073709551615"), b"18446744073709551615"));
        assert!(!value_equals(&v("18446744073709551615"), b"1.8446744073709552e19"));
        assert!(value_equals(&v("-9223372036854775808"), b"-9223372036854775808"));
        assert!(!value_equals(&v("1"), b"1.5") && !value_equals(&v("1e300"), b"1"));
        assert!(value_equals(&v("0"), b"-0.0") && value_equals(&v("2.5e0"), b"2.5"));
        assert!(value_equals(&v("-2.5"), b"-2.5"));
        assert!(value_equals(&v("true"), b"true") && !value_equals(&v("true"), b"1"));
        assert!(value_equals(&v("false"), b"false") && value_equals(&v("null"), b"null"));
        assert!(!value_equals(&v("\"null\""), b"nul"));
        assert!(!value_equals(&v("[1]"), b"[1]") && !value_equals(&v("{}"), b"{}"));
    }

    #[test]
    fn admits_records_by_attrs_and_message() {
        let f = |w: &[(&str, &str)], p: Option<&str>| Filter {
            where_: w.iter().map(|(a, b)| (a.as_bytes().to_vec(), b.as_bytes().to_vec())).collect(),
            pattern: p.map(|p| p.as_bytes().to_vec()),
        };
        let rec = br#"{"id":1,"ts":1.5,"message":"disk full","tags":["a"],"attrs":{"level":"warn","n":3}}"#;
        assert!(f(&[], None).admits(rec, &mut unbounded()).unwrap());
        assert!(f(&[("level", "warn")], None).admits(rec, &mut unbounded()).unwrap());
        assert!(f(&[("level", "warn"), ("n", "3")], Some("disk*")).admits(rec, &mut unbounded()).unwrap());
        assert!(!f(&[("level", "warn"), ("n", "4")], None).admits(rec, &mut unbounded()).unwrap());
        assert!(!f(&[("missing", "x")], None).admits(rec, &mut unbounded()).unwrap());
        assert!(!f(&[], Some("*error*")).admits(rec, &mut unbounded()).unwrap());
        // Without attrs, WHERE matches nothing; a JSON message is matched as compact JSON.
        let json = br#"{"id":2,"ts":1.5,"message":{"a": 1},"tags":[]}"#;
        assert!(!f(&[("a", "1")], None).admits(json, &mut unbounded()).unwrap());
        assert!(f(&[], Some("{\"a\":1}")).admits(json, &mut unbounded()).unwrap());
        // A value that is no record: its whole text is the message.
        assert!(f(&[], Some("plain*")).admits(b"plain text", &mut unbounded()).unwrap());
        // One not UTF-8: its text, each invalid byte replaced by U+FFFD.
        assert!(f(&[], Some("\u{fffd}x")).admits(b"\xffx", &mut unbounded()).unwrap());
        assert!(!f(&[], Some("?x")).admits(b"\xffx", &mut unbounded()).unwrap());
    }
}

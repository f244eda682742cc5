//! Key names of the data layout, derived from a prefix. Pure: no Redis types.
//!
//! `<prefix>:counter`, `<prefix>:msg:<id>`, `<prefix>:flow:<tag>`; an empty prefix gives bare
//! keys (`counter`, `msg:1`, `flow:t`). A tag is appended after `flow:` byte for byte, so no tag
//! can name a key outside `<prefix>:flow:`.

/// The flow that holds every record.
pub const ALL_FLOW: &[u8] = b"__all__";

/// Builds key names for one prefix, reusing one buffer for the common part.
#[derive(Debug, Clone)]
pub struct Keys {
    /// `<prefix>:` or empty.
    base: Vec<u8>,
}

impl Keys {
    pub fn new(prefix: &[u8]) -> Self {
        let mut base = Vec::with_capacity(prefix.len() + 1);
        if !prefix.is_empty() {
            base.extend_from_slice(prefix);
            base.push(b':');
        }
        Keys { base }
    }

    fn with(&self, parts: &[&[u8]]) -> Vec<u8> {
        let len = self.base.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut key = Vec::with_capacity(len);
        key.extend_from_slice(&self.base);
        for p in parts {
            key.extend_from_slice(p);
        }
        key
    }

    pub fn counter(&self) -> Vec<u8> {
        self.with(&[b"counter"])
    }

    pub fn msg(&self, id: i64) -> Vec<u8> {
        let mut buf = itoa_buf();
        self.with(&[b"msg:", fmt_id(id, &mut buf)])
    }

    pub fn flow(&self, tag: &[u8]) -> Vec<u8> {
        self.with(&[b"flow:", tag])
    }

    pub fn all_flow(&self) -> Vec<u8> {
        self.flow(ALL_FLOW)
    }
}

/// A stack buffer big enough for any i64 in decimal.
pub fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// Formats an id in decimal into `buf` without allocating.
pub fn fmt_id(id: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = id.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if id < 0 {
        // Ids are positive; this keeps the function total (i64::MIN has 19 digits plus sign).
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Parses a decimal integer the way Redis's `string2ll` does: optional `-`, no leading zeros,
/// no spaces or `+`, within i64. This is what INCR accepts in a counter.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] => return if neg { None } else { Some(0) },
        [b'0', ..] => return None,
        _ => {}
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = i64::from(c - b'0');
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// Parses a record id as held in a flow: a positive decimal integer.
pub fn parse_id(s: &[u8]) -> Option<i64> {
    parse_i64(s).filter(|&id| id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_a_prefix_are_colon_separated() {
        let k = Keys::new(b"app");
        assert_eq!(k.counter(), b"app:counter");
        assert_eq!(k.msg(42), b"app:msg:42");
        assert_eq!(k.flow(b"user:1"), b"app:flow:user:1");
        assert_eq!(k.all_flow(), b"app:flow:__all__");
    }

    #[test]
    fn empty_prefix_gives_bare_keys() {
        let k = Keys::new(b"");
        assert_eq!(k.counter(), b"counter");
        assert_eq!(k.msg(1), b"msg:1");
        assert_eq!(k.flow(b"t"), b"flow:t");
        assert_eq!(k.all_flow(), b"flow:__all__");
    }

    #[test]
    fn tags_are_appended_byte_for_byte() {
        let k = Keys::new(b"{p}");
        assert_eq!(k.flow(b"../x\0\xff"), b"{p}:flow:../x\0\xff");
    }

    #[test]
    fn ids_format_in_decimal() {
        let mut b = itoa_buf();
        assert_eq!(fmt_id(0, &mut b), b"0");
        assert_eq!(fmt_id(7, &mut b), b"7");
        assert_eq!(fmt_id(1234567890, &mut b), b"1234567890");
        assert_eq!(fmt_id(i64::MAX, &mut b), b"9223372036854775807");
        assert_eq!(fmt_id(i64::MIN, &mut b), b"-9223372036854775808");
    }

    #[test]
    fn integers_parse_like_redis_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"17"), Some(17));
        assert_eq!(parse_i64(b"-5"), Some(-5));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"-", b"-0", b"01", b"+1", b" 1", b"1 ", b"1.0", b"9223372036854775808", b"abc"] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn flow_ids_are_positive() {
        assert_eq!(parse_id(b"3"), Some(3));
        assert_eq!(parse_id(b"0"), None);
        assert_eq!(parse_id(b"-3"), None);
        assert_eq!(parse_id(b"x"), None);
    }
}

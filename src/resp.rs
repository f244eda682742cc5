//! Reading the RESP2 protocol of a command run inside the server (LRANGE, MGET): an array of
//! bulk strings and nulls. Pure: no Redis types, so `cargo test` covers it.
//!
//! The server's own reply parser walks every element through the module API; reading the
//! protocol once here costs a fraction of that on a page of records.

/// The elements of a RESP2 array of bulk strings and nulls (`*N`, then `$len` + bytes or
/// `$-1` each): `Some(bytes)` or `None` for a null. `None` if `proto` is anything else, or
/// holds anything after the array: the caller then reads the reply the slow way.
pub fn bulk_array(proto: &[u8]) -> Option<Vec<Option<&[u8]>>> {
    let mut at = 0;
    let n = header(proto, &mut at, b'*')?;
    let n = usize::try_from(n).ok()?;
    // Each element takes at least 5 bytes (`$-1\r\n`): a count beyond that is malformed.
    if n > proto.len() / 5 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = header(proto, &mut at, b'$')?;
        if len < 0 {
            if len != -1 {
                return None;
            }
            out.push(None);
            continue;
        }
        let start = at;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        if !crlf(proto, end) {
            return None;
        }
        out.push(Some(&proto[start..end]));
        at = end + 2;
    }
    (at == proto.len()).then_some(out)
}

/// `\r\n` at `at`.
fn crlf(buf: &[u8], at: usize) -> bool {
    buf.get(at) == Some(&b'\r') && at.checked_add(1).and_then(|i| buf.get(i)) == Some(&b'\n')
}

/// `<kind><integer>\r\n` at `*at`: the integer, with `*at` moved past the line.
fn header(buf: &[u8], at: &mut usize, kind: u8) -> Option<i64> {
    if buf.get(*at) != Some(&kind) {
        return None;
    }
    let mut i = *at + 1;
    let neg = buf.get(i) == Some(&b'-');
    if neg {
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    while let Some(&c) = buf.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v * 10 + u64::from(d);
        i += 1;
        // 18 digits cannot overflow; no length or count of a reply comes near.
        if i - start > 18 {
            return None;
        }
    }
    if i == start || !crlf(buf, i) {
        return None;
    }
    *at = i + 2;
    let v = v as i64;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_arrays_of_bulks_and_nulls() {
        let proto = b"*3\r\n$2\r\nab\r\n$-1\r\n$0\r\n\r\n";
        assert_eq!(bulk_array(proto), Some(vec![Some(&b"ab"[..]), None, Some(&b""[..])]));
        assert_eq!(bulk_array(b"*0\r\n"), Some(vec![]));
        // Bulk bytes are taken by length: CR, LF and NUL inside are data.
        let proto = b"*1\r\n$6\r\na\r\nb\0c\r\n";
        assert_eq!(bulk_array(proto), Some(vec![Some(&b"a\r\nb\0c"[..])]));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            &b""[..],
            b"$2\r\nab\r\n",              // not an array
            b"*1\r\n:5\r\n",              // an integer element
            b"*2\r\n$2\r\nab\r\n",        // fewer elements than announced
            b"*1\r\n$2\r\nab\r\nxx",      // bytes after the array
            b"*1\r\n$3\r\nab\r\n",        // bulk shorter than its length
            b"*1\r\n$2\r\nabc\r\n",       // bulk longer than its length
            b"*1\r\n$-2\r\n",             // a negative length other than -1
            b"*-1\r\n",                   // a null array
            b"*1\r\n$\r\n\r\n",           // no digits
            b"*99999999999999999999\r\n", // overflow
            b"*1000\r\n$-1\r\n",          // a count the bytes cannot hold
            b"-ERR x\r\n",
        ] {
            assert_eq!(bulk_array(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}

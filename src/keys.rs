//! Key names of the data layout, derived from a prefix. Pure: no Redis types.
//!
//! `<prefix>:counter`, `<prefix>:msg:<id>`, `<prefix>:flow:<tag>`; an empty prefix gives bare
//! keys (`counter`, `msg:1`, `flow:t`). A tag is appended after `flow:` byte for byte, so no tag
//! can name a key outside `<prefix>:flow:`.

/// The flow that holds every record.
pub const ALL_FLOW: &[u8] = b"__all__";

/// Builds key names for one prefix. Names are built on the stack when short (the usual case:
/// this runs several times per command).
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    prefix: &'a [u8],
}

impl<'a> Keys<'a> {
    pub fn new(prefix: &'a [u8]) -> Self {
        Keys { prefix }
    }

    pub fn prefix(&self) -> &'a [u8] {
        self.prefix
    }

    fn with(&self, parts: &[&[u8]]) -> KeyName {
        let sep: &[u8] = if self.prefix.is_empty() { b"" } else { b":" };
        let len = self.prefix.len() + sep.len() + parts.iter().map(|p| p.len()).sum::<usize>();
        let mut name =
            if len <= INLINE { KeyName::Inline([0; INLINE], 0) } else { KeyName::Heap(Vec::with_capacity(len)) };
        name.push(self.prefix);
        name.push(sep);
        for p in parts {
            name.push(p);
        }
        name
    }

    /// `<prefix>:<tail>`, for names outside the layout's own (ACL checks of patterns).
    pub fn with_tail(&self, tail: &[u8]) -> KeyName {
        self.with(&[tail])
    }

    pub fn counter(&self) -> KeyName {
        self.with(&[b"counter"])
    }

    pub fn msg(&self, id: i64) -> KeyName {
        let mut buf = itoa_buf();
        self.with(&[b"msg:", fmt_id(id, &mut buf)])
    }

    /// `<prefix>:msg:`, to which a record's id is appended: see [`Keys::msg`].
    pub fn msg_base(&self) -> Vec<u8> {
        self.with(&[b"msg:"]).to_vec()
    }

    pub fn flow(&self, tag: &[u8]) -> KeyName {
        self.with(&[b"flow:", tag])
    }

    pub fn all_flow(&self) -> KeyName {
        self.flow(ALL_FLOW)
    }

    /// The stream that keeps records removed by retention (when archiving is on).
    pub fn archive(&self) -> KeyName {
        self.with(&[b"archive"])
    }

    /// The pub/sub channel of new records: `<prefix>:log-records`, or per tag
    /// `<prefix>:log-records:<tag>`.
    pub fn channel(&self, tag: Option<&[u8]>) -> KeyName {
        match tag {
            Some(t) => self.with(&[b"log-records:", t]),
            None => self.with(&[b"log-records"]),
        }
    }
}

const INLINE: usize = 112;

/// A key name: inline up to 112 bytes, on the heap beyond.
pub enum KeyName {
    Inline([u8; INLINE], usize),
    Heap(Vec<u8>),
}

impl KeyName {
    fn push(&mut self, part: &[u8]) {
        match self {
            KeyName::Inline(buf, len) => {
                buf[*len..*len + part.len()].copy_from_slice(part);
                *len += part.len();
            }
            KeyName::Heap(v) => v.extend_from_slice(part),
        }
    }
}

impl std::ops::Deref for KeyName {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            KeyName::Inline(buf, len) => &buf[..*len],
            KeyName::Heap(v) => v,
        }
    }
}

/// The segment that nests prefixes: a prefix `a:flow:x` would have its keys among the flows of
/// `a` (`a:flow:x:counter` is also the flow of tag `x:counter` of `a`).
const FLOW_SEGMENT: &[u8] = b"flow";

/// If `prefix` has a `flow` segment (`flow`, `a:flow`, `flow:x`, `a:flow:b`, `:flow`;
/// segments are what `:` separates), `Some(outer)`: the prefix whose flows its keys would be,
/// read at the first `flow` segment that makes them so (`a`; the empty prefix for `flow` and
/// `flow:x`). tlog refuses every such prefix, so that no key is both a flow of one prefix and a
/// key of another. `Some(None)` for a prefix whose `flow` segments nest it in no prefix: only
/// `flow` right after a leading `:` (`:flow`, `:flow:x`), since the empty prefix's flows are
/// `flow:<tag>`, without a leading `:`. It is refused all the same: one rule, any `flow`
/// segment, is easier to state and to check than its exceptions.
pub fn flow_segment_outer(prefix: &[u8]) -> Option<Option<&[u8]>> {
    let mut start: usize = 0;
    let mut found = false;
    for segment in prefix.split(|&c| c == b':') {
        if segment == FLOW_SEGMENT {
            match start {
                0 => return Some(Some(&prefix[..0])),
                // `:flow...`: the empty prefix has no `:` before its `flow:`.
                1 => found = true,
                _ => return Some(Some(&prefix[..start - 1])),
            }
        }
        start += segment.len() + 1;
    }
    found.then_some(None)
}

/// The key of a nested prefix that the flow of a tag would be (see [`nested_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nested<'a> {
    /// What the nested prefix adds after `<prefix>:flow`: `Some(b"x")` for `<prefix>:flow:x`,
    /// `None` for `<prefix>:flow` itself.
    pub inner: Option<&'a [u8]>,
    /// What the key is in the nested prefix's layout.
    pub role: Role,
    /// The key's name after the nested prefix and its `:`: `counter`, `archive`, `msg:<id>` or
    /// `flow:<tag>`.
    pub rest: &'a [u8],
}

impl Nested<'_> {
    /// The nested prefix's name, for a tag of `prefix`: `<prefix>:flow[:<inner>]`.
    pub fn prefix_under(&self, prefix: &[u8]) -> Vec<u8> {
        let mut name = Keys::new(prefix).with_tail(FLOW_SEGMENT).to_vec();
        if let Some(inner) = self.inner {
            name.push(b':');
            name.extend_from_slice(inner);
        }
        name
    }
}

/// Whether the flow of `tag` under any prefix P, `P:flow:<tag>`, would also be a key of a
/// prefix nested as `P:flow` or `P:flow:<x>`: its counter, archive, a record or a flow. That is
/// the case when the tag, or what follows any `:` in it, is `counter`, `archive`, `msg:<id>` or
/// `flow:<anything>` (`counter`, `msg:7`, `flow:x`, `x:counter`, `a:b:flow:c`). The first such
/// reading is returned (the shortest nested prefix). Tags such as `user:42` or `order:17` name
/// no other key. Writes refuse these tags, and tlog never takes such a key for a flow of P.
pub fn nested_key(tag: &[u8]) -> Option<Nested<'_>> {
    if let Some(role) = layout_role(tag) {
        return Some(Nested { inner: None, role, rest: tag });
    }
    tag.iter().enumerate().filter(|&(_, &c)| c == b':').find_map(|(i, _)| {
        let rest = &tag[i + 1..];
        layout_role(rest).map(|role| Nested { inner: Some(&tag[..i]), role, rest })
    })
}

/// How `key` reads as a flow `<prefix>:flow:<tag>` (or `flow:<tag>` for the empty prefix) of a
/// prefix tlog accepts, with a tag that names no key of a nested prefix: `(prefix, tag)`. At
/// most one reading qualifies: the prefix ends before the first `flow` segment (a longer one
/// would have a `flow` segment), and then the tag must not be refused. `a:flow:b:flow:c` has
/// none: tag `b:flow:c` of `a` is refused, and so is the prefix `a:flow:b`. A reading counts
/// only if the prefix's flow of the tag is `key` exactly: `:flow:x` is no flow at all (the
/// empty prefix's flow of `x` is `flow:x`, and any longer prefix would have a `flow` segment).
pub fn flow_owner(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = (0..key.len()).find(|&i| key[i..].starts_with(b"flow:") && (i == 0 || key[i - 1] == b':'))?;
    let (prefix, tag) = (&key[..at.saturating_sub(1)], &key[at + 5..]);
    if *Keys::new(prefix).flow(tag) != *key {
        return None;
    }
    nested_key(tag).is_none().then_some((prefix, tag))
}

/// What a key of the layout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Counter,
    Record,
    Flow,
    Archive,
}

/// The role a key name has in the layout of the empty prefix, whatever the tag of a flow.
fn layout_role(rest: &[u8]) -> Option<Role> {
    if rest == b"counter" {
        Some(Role::Counter)
    } else if rest == b"archive" {
        Some(Role::Archive)
    } else if rest.starts_with(b"flow:") {
        Some(Role::Flow)
    } else if rest.strip_prefix(b"msg:").is_some_and(|id| parse_id(id).is_some()) {
        Some(Role::Record)
    } else {
        None
    }
}

/// The role of `key` in the layout under `prefix`: its counter, a record (`msg:<id>`), a flow,
/// or its archive. `None` for other keys that merely start with the prefix, among them the
/// keys under `<prefix>:flow:` whose tag [`nested_key`] refuses: they are keys of a nested
/// prefix (`a:flow:x:counter` is the counter of `a:flow:x`), never flows of this one.
pub fn role_under(prefix: &[u8], key: &[u8]) -> Option<Role> {
    let rest = if prefix.is_empty() { key } else { key.strip_prefix(prefix)?.strip_prefix(b":")? };
    match layout_role(rest)? {
        Role::Flow if rest.strip_prefix(b"flow:").and_then(nested_key).is_some() => None,
        role => Some(role),
    }
}

/// The cluster slot of a key: CRC16 (XMODEM) of its hash tag if it has one, else of the whole
/// key, modulo 16384, as Redis computes it.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&c| c == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&c| c == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for &b in hashed {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc & 0x3fff
}

/// The slots being migrated away from or imported to this node, from the `myself` line of
/// `CLUSTER NODES` (entries `[slot->-node]` and `[slot-<-node]`).
pub fn unsettled_slots(cluster_nodes: &[u8]) -> Vec<u16> {
    let Some(line) = cluster_nodes.split(|&c| c == b'\n').find(|l| {
        l.split(|&c| c == b' ').nth(2).is_some_and(|flags| flags.split(|&c| c == b',').any(|f| f == b"myself"))
    }) else {
        return Vec::new();
    };
    line.split(|&c| c == b' ')
        .filter_map(|e| e.strip_prefix(b"["))
        .filter_map(|e| {
            let end = e.iter().position(|&c| c == b'-')?;
            std::str::from_utf8(&e[..end]).ok()?.parse().ok()
        })
        .collect()
}

/// True if every key derived from `prefix` hashes to the same cluster slot: the prefix holds a
/// complete hash tag (`{app}`, `x{a}y`), i.e. its first `{` is followed, inside the prefix, by
/// a `}` with at least one byte between. Redis hashes only the tag then, whatever follows.
pub fn has_hash_tag(prefix: &[u8]) -> bool {
    let Some(open) = prefix.iter().position(|&c| c == b'{') else {
        return false;
    };
    match prefix[open + 1..].iter().position(|&c| c == b'}') {
        Some(len) => len > 0,
        None => false,
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
        v = if neg { v.checked_mul(10)?.checked_sub(d)? } else { v.checked_mul(10)?.checked_add(d)? };
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
    fn record_names_built_on_the_base_match_the_layout() {
        for prefix in [&b"app"[..], b"", b"{t}:x"] {
            let keys = Keys::new(prefix);
            for id in [1, 42, i64::MAX] {
                let mut buf = itoa_buf();
                let mut name = keys.msg_base();
                name.extend_from_slice(fmt_id(id, &mut buf));
                assert_eq!(name, &*keys.msg(id));
            }
        }
        assert_eq!(&*Keys::new(b"app").msg(7), b"app:msg:7");
        assert_eq!(&*Keys::new(b"").msg(7), b"msg:7");
    }

    #[test]
    fn slots_are_computed_as_redis_does() {
        // Values from CLUSTER KEYSLOT.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"{app}:msg:1"), 6805);
        assert_eq!(key_slot(b"{}x"), key_slot(b"{}x"));
        assert_ne!(key_slot(b"{}x"), key_slot(b"x"));
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn migrating_and_importing_slots_come_from_the_myself_line() {
        let nodes = b"07c3 127.0.0.1:30004@31004 master - 0 1 3 connected 10923-16383 [100-<-a1b2]\n\
e7d1 127.0.0.1:30002@31002 myself,master - 0 0 2 connected 5461-10922 [6805->-292f] [93-<-292f]\n";
        assert_eq!(unsettled_slots(nodes), vec![6805, 93]);
        assert!(unsettled_slots(b"e7d1 127.0.0.1:30002@31002 myself,master - 0 0 2 connected 0-16383\n").is_empty());
    }

    #[test]
    fn a_flow_key_has_at_most_one_owner() {
        assert_eq!(flow_owner(b"app:flow:user:1"), Some((&b"app"[..], &b"user:1"[..])));
        assert_eq!(flow_owner(b"flow:__all__"), Some((&b""[..], &b"__all__"[..])));
        assert_eq!(flow_owner(b"flow:queue"), Some((&b""[..], &b"queue"[..])));
        assert_eq!(flow_owner(b"{a}:x:flow:t"), Some((&b"{a}:x"[..], &b"t"[..])));
        // Tag `b:flow:c` of `a` is refused, and so is the prefix `a:flow:b`.
        assert_eq!(flow_owner(b"a:flow:b:flow:c"), None);
        // The main flow of the nested prefix `a:flow`, not tag `flow:__all__` of `a`.
        assert_eq!(flow_owner(b"a:flow:flow:__all__"), None);
        assert_eq!(flow_owner(b"flow:x:counter"), None);
        assert!(flow_owner(b"workflow:x").is_none());
        assert!(flow_owner(b"app:msg:1").is_none());
        assert!(flow_owner(b"app:flow").is_none());
        // Not `flow:x` and `flow:__all__` of the empty prefix, whose flows have no leading `:`;
        // no other prefix is accepted either (`:flow` has a `flow` segment).
        assert_eq!(flow_owner(b":flow:x"), None);
        assert_eq!(flow_owner(b":flow:__all__"), None);
        assert_eq!(flow_owner(b":flow:queue"), None);
        assert_eq!(flow_owner(b":flow:flow:t"), None);
        assert_eq!(flow_owner(b"::flow:t"), Some((&b":"[..], &b"t"[..])));
        assert_eq!(flow_owner(b"a::flow:t"), Some((&b"a:"[..], &b"t"[..])));
        // Every reading given is exact.
        for key in [&b"app:flow:user:1"[..], b"flow:__all__", b"{a}:x:flow:t", b"::flow:t", b"x:flow:"] {
            if let Some((p, t)) = flow_owner(key) {
                assert_eq!(&*Keys::new(p).flow(t), key);
            }
        }
    }

    /// The analysis behind the rule, checked by brute force: for prefixes Q and P2 = Q:S and a
    /// suffix of each layout, a key of Q equals a key of P2 only if S is `flow` or starts with
    /// `flow:`, the key is a flow of Q, and `nested_key` refuses its tag (naming P2 and the
    /// key's role there).
    #[test]
    fn keys_of_two_prefixes_meet_only_where_the_rule_says() {
        let prefixes: &[&[u8]] = &[
            b"",
            b"a",
            b"a:b",
            b"flow",
            b"a:flow",
            b"flow:x",
            b"a:flow:x",
            b"a:flow:x:y",
            b"msg",
            b"a:msg",
            b"a:counter",
            b"x:flow:flow",
            b":",
            b":flow",
            b":flow:x",
            b":flow:flow",
            b"a:",
            b"a::flow",
        ];
        let tails: &[&[u8]] = &[
            b"",
            b"t",
            b"x",
            b"y",
            b"x:y",
            b"flow",
            b"counter",
            b"archive",
            b"msg:1",
            b"msg:01",
            b"msg:x",
            b"__all__",
            b"flow:t",
            b"flow:__all__",
            b"x:counter",
            b"x:flow:y",
            b"x:y:msg:7",
            b"x:archive",
            b"user:42",
            b"order:17",
        ];
        let mut suffixes: Vec<Vec<u8>> =
            vec![b"counter".to_vec(), b"archive".to_vec(), b"msg:1".to_vec(), b"msg:42".to_vec()];
        suffixes.extend(tails.iter().map(|t| [&b"flow:"[..], t].concat()));
        let key = |p: &[u8], s: &[u8]| if p.is_empty() { s.to_vec() } else { [p, b":", s].concat() };
        let is_key = |p: &[u8], k: &[u8]| suffixes.iter().any(|s| key(p, s) == k);
        let mut met = Vec::new();
        for &q in prefixes {
            for &p2 in prefixes {
                if q == p2 {
                    continue;
                }
                for s in &suffixes {
                    let k = key(q, s);
                    if !is_key(p2, &k) || role_under(p2, &k).is_none() {
                        continue;
                    }
                    // A key of both (as P2's layout reads it).
                    let nested_under_q =
                        if q.is_empty() { Some(p2) } else { p2.strip_prefix(q).and_then(|r| r.strip_prefix(b":")) };
                    let s2 = nested_under_q.unwrap_or_else(|| {
                        panic!("{:?} {:?}", String::from_utf8_lossy(q), String::from_utf8_lossy(p2))
                    });
                    assert!(s2 == b"flow" || s2.starts_with(b"flow:"), "{}", String::from_utf8_lossy(p2));
                    assert_eq!(flow_segment_outer(p2).flatten().map(|o| o.len() <= q.len()), Some(true));
                    let tag = s.strip_prefix(b"flow:").expect("a flow of Q");
                    let n =
                        nested_key(tag).unwrap_or_else(|| panic!("tag {} not refused", String::from_utf8_lossy(tag)));
                    // The nested prefix named is P2 itself or one nested further (a prefix
                    // refused for its own `flow` segment).
                    assert!(n.prefix_under(q) == p2 || flow_segment_outer(&n.prefix_under(q)).is_some());
                    assert_eq!(role_under(q, &k), None, "{}", String::from_utf8_lossy(&k));
                    met.push(String::from_utf8_lossy(&k).into_owned());
                }
            }
        }
        // The collisions of the issue are among those found.
        for k in [
            "a:flow:flow:__all__",
            "a:flow:counter",
            "a:flow:x:counter",
            "flow:counter",
            "flow:x:flow:y",
            "a:flow:msg:1",
            "a:flow:x:flow:y",
        ] {
            assert!(met.iter().any(|m| m == k), "{k} not found: {met:?}");
        }
    }

    #[test]
    fn tags_that_would_name_keys_of_a_nested_prefix() {
        type Case<'a> = (&'a [u8], Option<&'a [u8]>, Role, &'a [u8]);
        let refused: [Case; 10] = [
            (b"counter", None, Role::Counter, b"counter"),
            (b"archive", None, Role::Archive, b"archive"),
            (b"msg:7", None, Role::Record, b"msg:7"),
            (b"flow:x", None, Role::Flow, b"flow:x"),
            (b"flow:__all__", None, Role::Flow, b"flow:__all__"),
            (b"flow:", None, Role::Flow, b"flow:"),
            (b"x:counter", Some(b"x"), Role::Counter, b"counter"),
            (b"x:flow:y", Some(b"x"), Role::Flow, b"flow:y"),
            (b"a:b:msg:12", Some(b"a:b"), Role::Record, b"msg:12"),
            (b":archive", Some(b""), Role::Archive, b"archive"),
        ];
        for (tag, inner, role, rest) in refused {
            assert_eq!(nested_key(tag), Some(Nested { inner, role, rest }), "{}", String::from_utf8_lossy(tag));
        }
        for ok in [
            &b"user:42"[..],
            b"order:17",
            b"flow",
            b"x:flow",
            b"workflow:x",
            b"counters",
            b"my-counter",
            b"msg:0",
            b"msg:007",
            b"msg:x",
            b"x:msg",
            b"archive:2024",
            b"__all__",
            b"t",
        ] {
            assert_eq!(nested_key(ok), None, "{}", String::from_utf8_lossy(ok));
        }
        let n = nested_key(b"x:counter").unwrap();
        assert_eq!(n.prefix_under(b"a"), b"a:flow:x");
        assert_eq!(n.prefix_under(b""), b"flow:x");
        assert_eq!(nested_key(b"counter").unwrap().prefix_under(b"a"), b"a:flow");
        assert_eq!(nested_key(b"counter").unwrap().prefix_under(b""), b"flow");
        // The refused key, rebuilt from the nested prefix, is the tag's flow.
        for (prefix, tag) in [(&b"a"[..], &b"x:flow:y"[..]), (b"", b"msg:7"), (b"{t}", b"a:b:archive")] {
            let n = nested_key(tag).unwrap();
            assert_eq!(
                Keys::new(&n.prefix_under(prefix)).with_tail(n.rest).to_vec(),
                Keys::new(prefix).flow(tag).to_vec()
            );
        }
    }

    #[test]
    fn prefixes_with_a_flow_segment() {
        let cases: [(&[u8], &[u8]); 9] = [
            (b"flow", b""),
            (b"flow:x", b""),
            (b"a:flow", b"a"),
            (b"a:flow:b", b"a"),
            (b"a:b:flow", b"a:b"),
            (b"a:flow:flow", b"a"),
            (b"{t}:flow:", b"{t}"),
            (b":flow:flow", b":flow"),
            (b"a::flow", b"a:"),
        ];
        for (prefix, outer) in cases {
            assert_eq!(flow_segment_outer(prefix), Some(Some(outer)), "{}", String::from_utf8_lossy(prefix));
        }
        // Refused, but nested in no prefix: the empty prefix's flows have no leading `:`.
        for nowhere in [&b":flow"[..], b":flow:x", b":flow:"] {
            assert_eq!(flow_segment_outer(nowhere), Some(None), "{}", String::from_utf8_lossy(nowhere));
        }
        for ok in [
            &b""[..],
            b"app",
            b"flows",
            b"workflow",
            b"a:flowx",
            b"a:xflow:b",
            b"{flow}",
            b"a::b",
            b"Flow",
            b":",
            b"::",
        ] {
            assert_eq!(flow_segment_outer(ok), None, "{}", String::from_utf8_lossy(ok));
        }
    }

    #[test]
    fn only_layout_keys_belong_to_a_prefix() {
        let cases: [(&[u8], Role); 6] = [
            (b"app:counter", Role::Counter),
            (b"app:archive", Role::Archive),
            (b"app:flow:x", Role::Flow),
            (b"app:flow:__all__", Role::Flow),
            (b"app:flow:user:42", Role::Flow),
            (b"app:msg:12", Role::Record),
        ];
        for (k, role) in cases {
            assert_eq!(role_under(b"app", k), Some(role), "{}", String::from_utf8_lossy(k));
        }
        for k in [&b"app:sub:msg:1"[..], b"app:msg:x", b"app:msg:0", b"app2:counter", b"app:other", b"app"] {
            assert_eq!(role_under(b"app", k), None, "{}", String::from_utf8_lossy(k));
        }
        // Keys of the nested prefixes `app:flow` and `app:flow:x`, not flows of `app`.
        for k in [
            &b"app:flow:counter"[..],
            b"app:flow:msg:3",
            b"app:flow:flow:__all__",
            b"app:flow:x:flow:t",
            b"app:flow:x:archive",
        ] {
            assert_eq!(role_under(b"app", k), None, "{}", String::from_utf8_lossy(k));
        }
        assert_eq!(role_under(b"", b"msg:3"), Some(Role::Record));
        assert_eq!(role_under(b"", b"app:msg:3"), None);
        assert_eq!(role_under(b"", b"flow:queue"), Some(Role::Flow));
        assert_eq!(role_under(b"", b"flow:x:counter"), None);
    }

    #[test]
    fn keys_with_a_prefix_are_colon_separated() {
        let k = Keys::new(b"app");
        assert_eq!(&*k.counter(), b"app:counter");
        assert_eq!(&*k.msg(42), b"app:msg:42");
        assert_eq!(&*k.flow(b"user:1"), b"app:flow:user:1");
        assert_eq!(&*k.all_flow(), b"app:flow:__all__");
        assert_eq!(&*k.channel(None), b"app:log-records");
        assert_eq!(&*k.channel(Some(b"user:1")), b"app:log-records:user:1");
        assert_eq!(&*Keys::new(b"").channel(None), b"log-records");
    }

    #[test]
    fn empty_prefix_gives_bare_keys() {
        let k = Keys::new(b"");
        assert_eq!(&*k.counter(), b"counter");
        assert_eq!(&*k.msg(1), b"msg:1");
        assert_eq!(&*k.flow(b"t"), b"flow:t");
        assert_eq!(&*k.all_flow(), b"flow:__all__");
    }

    #[test]
    fn tags_are_appended_byte_for_byte() {
        let k = Keys::new(b"{p}");
        assert_eq!(&*k.flow(b"../x\0\xff"), b"{p}:flow:../x\0\xff");
        // Long names move to the heap, unchanged.
        let long = vec![b'x'; 500];
        let name = Keys::new(&long).flow(b"t");
        assert!(matches!(name, KeyName::Heap(_)));
        assert_eq!(name.len(), 507);
        assert!(name.ends_with(b":flow:t") && name.starts_with(&long));
        let edge = vec![b'y'; INLINE - 8];
        assert!(matches!(Keys::new(&edge).counter(), KeyName::Inline(..)));
        assert!(matches!(Keys::new(&edge).msg(1000), KeyName::Heap(_)));
        assert_eq!(&*Keys::new(&edge).msg(1000), [&edge[..], b":msg:1000"].concat().as_slice());
    }

    #[test]
    fn hash_tags_must_close_inside_the_prefix() {
        for yes in [&b"{app}"[..], b"{a}", b"x{app}y", b"{a}}", b"{a}{b}", b"{{a}"] {
            assert!(has_hash_tag(yes), "{}", String::from_utf8_lossy(yes));
        }
        // `{}` is empty (Redis hashes the whole key); `a{b` would close in a tag of a flow key.
        for no in [&b""[..], b"app", b"{}", b"{}x", b"a{b", b"}{a", b"{}{a}"] {
            assert!(!has_hash_tag(no), "{}", String::from_utf8_lossy(no));
        }
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

//! Randomised robustness checks of everything that reads client input or stored data: argument
//! parsing, JSON messages, stored-record decoding, times, ids. Inputs are mutations of the
//! committed corpus (`fuzz/corpus/`) and random tokens; every function must return, never panic
//! (a panic in a command aborts the server), and the hand decoder must agree with serde.
//!
//! `cargo test --release --lib fuzz` runs a quick pass; `make fuzz` (FUZZ_ITERS) a long one.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::commands::{add, new_record_tags, parse_read, tags, tail};
use crate::query::{self, Allowed};
use crate::{keys, record};

const CORPUS: &[&[u8]] = &[
    include_bytes!("../fuzz/corpus/tlog-record.json"),
    include_bytes!("../fuzz/corpus/python-record.json"),
    include_bytes!("../fuzz/corpus/escaped-record.json"),
    include_bytes!("../fuzz/corpus/array.json"),
    include_bytes!("../fuzz/corpus/text.txt"),
    include_bytes!("../fuzz/corpus/options.txt"),
];

const INTERESTING: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b",",
    b":",
    b"\\u0000",
    b"\\ud800",
    b"-",
    b".",
    b"e9",
    b"0",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"99999999999999999999",
    b"1e400",
    b"\xff",
    b"\xc3",
    b"\0",
    b"null",
    b"true",
    b" ",
    b"\n",
    b"__all__",
    b"$",
    b"*",
    b"T",
    b"Z",
    b"+01:00",
];

const WORDS: &[&[u8]] = &[
    b"LIMIT",
    b"ASC",
    b"DESC",
    b"BEFORE",
    b"AFTER",
    b"SINCE",
    b"UNTIL",
    b"AND",
    b"OR",
    b"NOT",
    b"RAW",
    b"COUNT",
    b"BLOCK",
    b"MATCH",
    b"JSON",
    b"MESSAGE",
    b"0",
    b"1",
    b"2",
    b"-1",
    b"3",
    b"x",
    b"",
    b"1700000000.5",
    b"2026-11-23T10:15:02Z",
    b"__all__",
    b"$",
    b"99999999999999999999",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A mutated corpus entry (or random bytes, or a deep nesting).
fn input(rng: &mut Rng) -> Vec<u8> {
    let mut v = match rng.below(10) {
        0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
        1 => {
            let d = 1 + rng.below(400);
            let mut v = b"{\"message\":".to_vec();
            v.extend(std::iter::repeat_n(b'[', d));
            v.extend(std::iter::repeat_n(b']', rng.below(d + 1)));
            v
        }
        _ => CORPUS[rng.below(CORPUS.len())].to_vec(),
    };
    for _ in 0..rng.below(6) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(at..at, piece.iter().copied());
            }
            2 => v.truncate(at),
            3 if !v.is_empty() => {
                let end = (at + rng.below(16)).min(v.len());
                let piece = v[at.min(end)..end].to_vec();
                v.splice(at..at, piece);
            }
            _ => {
                if at < v.len() {
                    v.remove(at);
                }
            }
        }
    }
    v
}

/// A list of arguments: command words, numbers and mutated inputs.
fn tokens(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..rng.below(12))
        .map(|_| if rng.below(4) == 0 { input(rng) } else { WORDS[rng.below(WORDS.len())].to_vec() })
        .collect()
}

/// One round over every entry point; returns how many panicked.
fn round(rng: &mut Rng) -> usize {
    let data = input(rng);
    let toks = tokens(rng);
    let args: Vec<&[u8]> = toks.iter().map(Vec::as_slice).collect();
    let checks: [&dyn Fn(); 8] = [
        &|| {
            let d = record::decode(&data);
            let _ = record::decode_ts(&data);
            // The hand decoder, where it answers, agrees with the general path.
            if let Ok(text) = std::str::from_utf8(&data) {
                if let Some(fast) = record::canonical_for_tests(text) {
                    assert_eq!(fast, d);
                }
            }
        },
        &|| {
            if let Ok(text) = std::str::from_utf8(&data) {
                if let Ok(m) = record::JsonMessage::json(text) {
                    // What is accepted stores as a record every JSON parser reads.
                    let rec = record::encode(1, 0, &m, &["t"], None);
                    assert!(serde_json::from_slice::<serde_json::Value>(&rec).is_ok());
                }
                let rec = record::encode(1, 0, &record::JsonMessage::text(text), &[text], None);
                assert!(serde_json::from_slice::<serde_json::Value>(&rec).is_ok());
            }
        },
        &|| {
            for allowed in [Allowed::GET, Allowed::LATEST, Allowed::COUNT, Allowed::TAIL] {
                let _ = query::parse_options(&args, allowed);
                let _ = parse_read(&args, allowed);
            }
        },
        &|| {
            let _ = add::parse(&args);
        },
        &|| {
            let _ = tags::parse(&args);
            let _ = tail::parse(&args);
        },
        &|| {
            let _ = query::parse_time(&data);
            let _ = keys::parse_i64(&data);
        },
        &|| {
            let _ = new_record_tags(b"p", &args);
            let _ = keys::has_hash_tag(&data);
            let _ = (
                keys::flow_owner(&data),
                keys::flow_segment_outer(&data),
                keys::nested_key(&data),
                keys::role_under(b"p", &data),
            );
        },
        &|| {
            if let Some(ts) = record::decode_ts(&data) {
                let _ = record::rfc3339(ts);
            }
        },
    ];
    checks.iter().filter(|c| catch_unwind(AssertUnwindSafe(c)).is_err()).count()
}

fn run(iterations: u64, seed: u64) -> (u64, usize) {
    let mut rng = Rng(seed | 1);
    let mut panics = 0;
    for _ in 0..iterations {
        panics += round(&mut rng);
    }
    (iterations * 8, panics)
}

#[test]
fn fuzz_inputs_never_panic() {
    let iterations = std::env::var("FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seed = std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x7106_f022);
    // Panics are expected to print; keep the output readable if one happens.
    let (executions, panics) = run(iterations, seed);
    println!("fuzz: {executions} executions (seed {seed:#x}), {panics} panics");
    assert_eq!(panics, 0, "seed {seed:#x}");
}

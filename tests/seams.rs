//! Holds the seams of the source tree, read as text (no server needed):
//! - pure modules (`keys`, `record`, `query`, `resp`, `error`) use only each other: never
//!   `crate::ffi`, `redis_module`, the store or anything above it;
//! - `unsafe` and `redis_module` appear only under `src/ffi/` and in `src/lib.rs`;
//! - only `src/store/` (and the FFI layer that provides them) accesses the keyspace: opens a
//!   key (`Key::open`) or runs a command on keys through the server (`call_replicated`,
//!   `call_replicated_int`, `call_strings`, `replicate`, `scan`);
//! - dependencies go one way: pure <- ffi <- store <- cleaner <- commands <- lib, with the
//!   leaf state (`config`, `stats`, `prefixes`) usable by all and using only pure modules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const PURE: &[&str] = &["keys", "record", "query", "resp", "error"];
const LEAF: &[&str] = &["config", "stats", "prefixes"];
/// The layers above the pure modules, lowest first.
const LAYERS: &[&str] = &["ffi", "store", "cleaner", "commands", "lib"];

/// The rank of a top-level module: pure 0, leaf state 1, then the layers from 2.
fn rank(module: &str) -> Option<usize> {
    if PURE.contains(&module) {
        return Some(0);
    }
    if LEAF.contains(&module) {
        return Some(1);
    }
    LAYERS.iter().position(|l| *l == module).map(|i| i + 2)
}

/// Every `.rs` file under `dir`, with its text stripped of comments.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("a source file is readable");
            out.push((path, strip_comments(&text)));
        }
    }
    out.sort();
    out
}

/// The code of a file without `//` comments (doc comments included) and string literals'
/// text, so that prose and messages never count as code.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut code = String::new();
        let mut in_str = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_str {
                if c == '\\' {
                    chars.next();
                } else if c == '"' {
                    in_str = false;
                    code.push('"');
                }
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_str = true;
            }
            code.push(c);
        }
        out.push_str(&code);
        out.push('\n');
    }
    out
}

/// The top-level module a file belongs to (`src/store/flow.rs` -> `store`, `src/lib.rs` ->
/// `lib`).
fn module_of(src: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(src).expect("under src/");
    let first = rel.components().next().expect("a file name").as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a file's code names through `crate::` (or `$crate::`).
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            // `crate::name!` is an exported macro, not a module.
            if !name.is_empty() && !rest[name.len()..].starts_with('!') {
                found.insert(name);
            }
        }
    }
    found
}

fn has_word(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Calls that access the keyspace (see the file's doc).
const KEY_ACCESS: &[&str] =
    &["Key::open(", ".call_replicated(", ".call_replicated_int(", ".call_strings(", ".replicate(", ".scan("];

/// Checks `src/` (the crate's, or another tree's for the test of the test) and returns every
/// violation, and the dependency graph between top-level modules.
fn check(src: &Path) -> (Vec<String>, BTreeMap<String, BTreeSet<String>>) {
    let mut violations = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, code) in sources(src) {
        let module = module_of(src, &path);
        let file = path.strip_prefix(src).map(|p| p.display().to_string()).unwrap_or_default();
        let in_ffi = module == "ffi";
        let seam = in_ffi || module == "lib";
        if !seam && has_word(&code, "unsafe") {
            violations.push(format!("src/{file}: `unsafe` outside src/ffi/ and src/lib.rs"));
        }
        if !seam && code.contains("redis_module") {
            violations.push(format!("src/{file}: names `redis_module` outside src/ffi/ and src/lib.rs"));
        }
        if !in_ffi && module != "store" {
            for call in KEY_ACCESS {
                if code.contains(call) {
                    violations.push(format!("src/{file}: keyspace access `{call}` outside src/store/"));
                }
            }
        }
        // `fuzz` is a test module, and `super`/`self` stay inside the module.
        if module == "fuzz" {
            continue;
        }
        let Some(mine) = rank(&module) else {
            violations.push(format!("src/{file}: module `{module}` has no place in the layers"));
            continue;
        };
        for used in uses(&code) {
            if used == module || used == "self" || used == "super" {
                continue;
            }
            graph.entry(module.clone()).or_default().insert(used.clone());
            let Some(theirs) = rank(&used) else { continue };
            let allowed = match mine {
                // Pure modules and leaf state use pure modules only.
                0 | 1 => theirs == 0,
                // Layers use what is below them, and the leaf state.
                _ => theirs < mine,
            };
            if !allowed {
                violations.push(format!("src/{file}: `{module}` uses `crate::{used}`, which is not below it"));
            }
        }
    }
    (violations, graph)
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_seams_hold() {
    let (violations, graph) = check(&src_dir());
    for (module, uses) in &graph {
        println!("{module} -> {}", uses.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    assert!(violations.is_empty(), "the seams are broken:\n{}", violations.join("\n"));
}

/// The checks catch what they are for: a copy of the tree with one violation of each kind.
#[test]
fn the_seam_checks_catch_violations() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let copy = dir.path().join("src");
    let copy_tree = |from: &Path, to: &Path| {
        fn go(from: &Path, to: &Path) {
            fs::create_dir_all(to).expect("mkdir");
            for entry in fs::read_dir(from).expect("readable") {
                let path = entry.expect("entry").path();
                let target = to.join(path.file_name().expect("a name"));
                if path.is_dir() {
                    go(&path, &target);
                } else {
                    fs::copy(&path, &target).expect("copy");
                }
            }
        }
        go(from, to);
    };
    copy_tree(&src_dir(), &copy);
    let add = |file: &str, text: &str| {
        let path = copy.join(file);
        let mut body = fs::read_to_string(&path).expect("readable");
        body.push_str(text);
        fs::write(&path, body).expect("writable");
    };
    add("record.rs", "\nfn bad(_: crate::ffi::Ctx) {}\n");
    add("commands/get.rs", "\nfn bad2() { unsafe {} }\n");
    add("cleaner/flows.rs", "\nfn bad3(ctx: Ctx, k: &RString) { let _ = Key::open(ctx, k, Mode::Read); }\n");
    add("store/mod.rs", "\nuse crate::cleaner;\n");
    add("keys.rs", "\n// unsafe, crate::ffi and Key::open( in a comment are fine\n");
    let (violations, _) = check(&copy);
    let has = |what: &str| violations.iter().any(|v| v.contains(what));
    assert!(has("src/record.rs: `record` uses `crate::ffi`"), "{violations:?}");
    assert!(has("src/commands/get.rs: `unsafe` outside"), "{violations:?}");
    assert!(has("src/cleaner/flows.rs: keyspace access `Key::open(`"), "{violations:?}");
    assert!(has("src/store/mod.rs: `store` uses `crate::cleaner`"), "{violations:?}");
    assert!(!has("src/keys.rs"), "{violations:?}");
    assert_eq!(violations.len(), 4, "{violations:?}");
}

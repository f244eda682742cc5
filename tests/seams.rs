//! Holds the seams of the source tree, read as text (no server needed):
//! - pure modules (`keys`, `record`, `query`, `resp`, `error`, `filter`) use only each other: never
//!   `crate::ffi`, `redis_module`, the store or anything above it;
//! - `unsafe` and `redis_module` appear only under `src/ffi/` and in `src/lib.rs`;
//! - only `src/store/` (and the FFI layer that provides them) accesses the keyspace: opens a
//!   key (`Key::open`) or runs a command on keys through the server (`call_replicated`,
//!   `call_replicated_int`, `call_strings`, `replicate`, `scan`), and only it names the key
//!   handle `ffi::Key` (imported under any name);
//! - no file pulls in code from elsewhere (`#[path]`, `include!`, `extern crate self`);
//! - dependencies (through `crate::` paths, groups, and `super::` paths that reach the crate
//!   root) go one way: pure <- ffi <- store <- cleaner <- commands <- lib, with the
//!   leaf state (`config`, `stats`, `prefixes`) usable by all and using only pure modules.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const PURE: &[&str] = &["keys", "record", "query", "resp", "error", "filter"];
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

/// The code of a file without comments (line, doc and nested block comments) and without the
/// text of string, raw string and char literals, so that prose and messages never count as
/// code and no literal can hide code (a `'"'` opening a string to the eye of a naive scan).
/// Line breaks are kept.
fn strip_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let at = |i: usize| chars.get(i).copied();
    // The start of a raw string at `i` (`r"`, `r#"`, `br"`...): the index of its `"` and its
    // number of `#`.
    let raw_start = |i: usize| {
        let mut j = i + if chars[i] == 'b' { 2 } else { 1 };
        let mut hashes = 0;
        while at(j) == Some('#') {
            hashes += 1;
            j += 1;
        }
        (at(j) == Some('"')).then_some((j, hashes))
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let raw = (c == 'r' || (c == 'b' && at(i + 1) == Some('r'))) && !prev_ident;
        if c == '/' && at(i + 1) == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == Some('*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == Some('/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if let Some((quote, hashes)) = raw.then(|| raw_start(i)).flatten() {
            // A raw string ends at `"` followed by as many `#` as it opened with.
            let mut j = quote + 1;
            while j < chars.len() && !(chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == Some('#'))) {
                if chars[j] == '\n' {
                    out.push('\n');
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1 + hashes;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == Some('\n') {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' && at(i + 1) == Some('\\') {
            // An escaped char literal: `'\''`, `'\n'`, `'\u{..}'`.
            i += 3;
            while i < chars.len() && chars[i] != '\'' && chars[i] != '\n' {
                i += 1;
            }
            out.push_str("' '");
            i += 1;
        } else if c == '\'' && at(i + 2) == Some('\'') {
            out.push_str("' '");
            i += 3;
        } else {
            // Code, or a lifetime's `'`.
            out.push(c);
            i += 1;
        }
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

/// The module path of a file (`src/store/flow.rs` -> `[store, flow]`, `src/store/mod.rs` ->
/// `[store]`, `src/lib.rs` -> `[]`).
fn module_path(src: &Path, path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src).expect("under src/");
    let mut parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_string());
        }
    }
    parts
}

/// `code` with whitespace only where it separates two words (`crate :: ffi` -> `crate::ffi`).
fn compact(code: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(code.len());
    let mut space = false;
    for c in code.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && word(c) && out.chars().next_back().is_some_and(word) {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

fn ident_at(code: &str) -> String {
    code.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// The first names of the items of the `{...}` group that `code` starts with (just after its
/// `{`); nested groups belong to their item.
fn group_items(code: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (i, c) in code.char_indices() {
        match c {
            '}' if depth == 0 => break,
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            _ if start && depth == 0 && !c.is_whitespace() => {
                start = false;
                let name = ident_at(&code[i..]);
                if !name.is_empty() {
                    items.push(name);
                }
            }
            _ => {}
        }
    }
    items
}

/// The top-level modules a file's code names through `crate::` (or `$crate::`), or through a
/// `super::` path that climbs to the crate root; `module` is the file's module path.
fn uses(code: &str, module: &[String]) -> BTreeSet<String> {
    let compact = compact(code);
    let mut found = BTreeSet::new();
    for (i, _) in compact.match_indices("crate::").chain(compact.match_indices("super::")) {
        if compact[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut rest = &compact[i..];
        let root: &[String] = if let Some(r) = rest.strip_prefix("crate::") {
            rest = r;
            &[]
        } else {
            // Only the first `super` of a chain starts a path.
            if compact[..i].ends_with("::") {
                continue;
            }
            let mut n = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                rest = r;
                n += 1;
            }
            &module[..module.len().saturating_sub(n)]
        };
        if let Some(top) = root.first() {
            found.insert(top.clone());
        } else if let Some(group) = rest.strip_prefix('{') {
            found.extend(group_items(group));
        } else {
            let name = ident_at(rest);
            // `crate::name!` is an exported macro, not a module.
            if !name.is_empty() && !rest[name.len()..].starts_with('!') {
                found.insert(name);
            }
        }
    }
    found.remove("self");
    found.remove("super");
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
        let compact = compact(&code);
        if !in_ffi && module != "store" {
            for call in KEY_ACCESS {
                if compact.contains(call) {
                    violations.push(format!("src/{file}: keyspace access `{call}` outside src/store/"));
                }
            }
            // A key handle is the store's, under any name: no import of it, no path to it.
            let imports_key =
                code.split(';').any(|stmt| stmt.split_whitespace().any(|w| w == "use") && has_word(stmt, "Key"));
            if imports_key || has_word(&compact, "ffi::Key") {
                violations.push(format!("src/{file}: names `ffi::Key` outside src/store/"));
            }
        }
        // Every file of the crate is under src/ and read here: none may pull in another.
        if compact.contains("#[path") || compact.contains("include!(") || compact.contains("extern crate self") {
            violations.push(format!("src/{file}: `#[path]`, `include!` or `extern crate self`"));
        }
        // `fuzz` is a test module, and `super`/`self` stay inside the module.
        if module == "fuzz" {
            continue;
        }
        let Some(mine) = rank(&module) else {
            violations.push(format!("src/{file}: module `{module}` has no place in the layers"));
            continue;
        };
        for used in uses(&code, &module_path(src, &path)) {
            if used == module {
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
    add("keys.rs", "\n/* unsafe { crate::ffi } */ const S: &str = r#\"a\"b unsafe\"#; const C: char = '\\'';\n");
    // What a review planted and the first version of this test missed.
    add("resp.rs", "\nuse crate::{ffi::{Ctx}, cleaner};\n");
    add("store/flow.rs", "\nfn bad4() { super::super::commands::COMMANDS; }\n");
    add(
        "commands/tags.rs",
        "\nuse crate::ffi::Key as Handle;\nfn bad5(c: Ctx, k: &RString) { Handle::open(c, k, Mode::Read); }\n",
    );
    add("error.rs", "\nconst Q: char = '\"'; fn bad6(_: crate::ffi::Ctx) {}\n");
    add("stats.rs", "\n#[path = \"../../elsewhere.rs\"]\nmod elsewhere;\n");
    add("config.rs", "\ninclude!(\"../../elsewhere.rs\");\n");
    add("cleaner/discover.rs", "\nfn bad7() { let _ = crate :: ffi :: Key :: open; }\n");
    let (violations, _) = check(&copy);
    let has = |what: &str| violations.iter().any(|v| v.contains(what));
    assert!(has("src/record.rs: `record` uses `crate::ffi`"), "{violations:?}");
    assert!(has("src/commands/get.rs: `unsafe` outside"), "{violations:?}");
    assert!(has("src/cleaner/flows.rs: keyspace access `Key::open(`"), "{violations:?}");
    assert!(has("src/store/mod.rs: `store` uses `crate::cleaner`"), "{violations:?}");
    assert!(!has("src/keys.rs"), "{violations:?}");
    assert!(has("src/resp.rs: `resp` uses `crate::ffi`"), "{violations:?}");
    assert!(has("src/resp.rs: `resp` uses `crate::cleaner`"), "{violations:?}");
    assert!(has("src/store/flow.rs: `store` uses `crate::commands`"), "{violations:?}");
    assert!(has("src/commands/tags.rs: names `ffi::Key`"), "{violations:?}");
    assert!(has("src/error.rs: `error` uses `crate::ffi`"), "{violations:?}");
    assert!(has("src/stats.rs: `#[path]`"), "{violations:?}");
    assert!(has("src/config.rs: `#[path]`, `include!`"), "{violations:?}");
    assert!(has("src/cleaner/discover.rs: names `ffi::Key`"), "{violations:?}");
    assert_eq!(violations.len(), 12, "{violations:?}");
}

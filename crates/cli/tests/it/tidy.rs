//! Checks on the codebase itself: every Rust file says what it is for.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_purpose_line() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` first line: {missing:?}"
    );
}

fn server_files() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f
                .strip_prefix(&src)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            (rel, std::fs::read_to_string(&f).unwrap_or_default())
        })
        .collect()
}

/// The outbound client (`outbound.rs`) is the server's only HTTP client:
/// another one would not refuse internal addresses.
#[test]
fn the_outbound_client_is_the_only_http_client() {
    let others: Vec<String> = server_files()
        .into_iter()
        .filter(|(name, text)| {
            name != "outbound.rs"
                && (text.contains("reqwest::Client") || text.contains("reqwest::ClientBuilder"))
        })
        .map(|(name, _)| name)
        .collect();
    assert!(
        others.is_empty(),
        "HTTP clients outside outbound.rs: {others:?}"
    );
}

/// Secrets are compared in constant time (`auth::same_secret`), never with
/// `==`, which returns at the first differing byte. Keys and tokens are
/// looked up by their hash, so the values checked by comparison are CSRF
/// tokens, signatures and link nonces.
#[test]
fn secrets_are_never_compared_with_eq() {
    let mut found = Vec::new();
    for (name, text) in server_files() {
        for (i, line) in text.lines().enumerate() {
            let l = line.trim().to_lowercase();
            // Names compared with literals (`k == "_csrf"`) are not secrets.
            if l.starts_with("//") || l.contains("same_secret") || l.contains("== \"") {
                continue;
            }
            let compares = l.contains(" == ") || l.contains(" != ");
            let secret = ["csrf", "signature", "nonce", "challenge"]
                .iter()
                .any(|w| l.contains(w));
            if compares && secret {
                found.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "secrets compared with ==: {found:?}");
}

/// The server reads "now" from its clock (`clock.rs`) alone, so tests can
/// move time instead of sleeping through it.
#[test]
fn the_server_reads_the_time_from_its_clock() {
    let found: Vec<String> = server_files()
        .into_iter()
        .filter(|(name, _)| name != "clock.rs")
        .flat_map(|(name, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| {
                    [
                        "Timestamp::now()",
                        "SystemTime::now()",
                        "Zoned::now()",
                        "Date::today",
                    ]
                    .iter()
                    .any(|w| l.contains(w))
                })
                .map(|(i, l)| format!("{name}:{}: {}", i + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        found.is_empty(),
        "wall-clock reads outside clock.rs: {found:?}"
    );
}

/// Audit entries are written by `work::Work` alone, whose commit takes
/// exactly one, in the change's own transaction: a change cannot be stored
/// without its entry, nor audited twice.
#[test]
fn audit_entries_are_written_only_by_a_unit_of_work() {
    let found: Vec<String> = server_files()
        .into_iter()
        .filter(|(name, _)| name != "work.rs")
        .filter(|(_, text)| text.contains("audit::record("))
        .map(|(name, _)| name)
        .collect();
    assert!(
        found.is_empty(),
        "audit::record outside work.rs (use Work::commit): {found:?}"
    );
}

/// Every server source file as a module path (`support::service`), with its
/// text.
fn server_modules() -> Vec<(String, String)> {
    server_files()
        .into_iter()
        .map(|(name, text)| {
            let path = name
                .trim_end_matches(".rs")
                .trim_end_matches("/mod")
                .replace('/', "::");
            (path, text)
        })
        .collect()
}

/// The modules each server module names through `crate::` (imports and
/// paths in the code), by module path, resolved to the longest module
/// that exists; a module does not count itself.
fn module_edges() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let modules = server_modules();
    let known: std::collections::BTreeSet<String> =
        modules.iter().map(|(p, _)| p.clone()).collect();
    let resolve = |segments: &[&str]| -> Option<String> {
        (1..=segments.len())
            .rev()
            .map(|n| segments[..n].join("::"))
            .find(|p| known.contains(p))
    };
    let mut edges = std::collections::BTreeMap::new();
    for (path, text) in &modules {
        let mut to = std::collections::BTreeSet::new();
        let parent: Vec<&str> = path.split("::").collect();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + 7..];
            // `use crate::a::{b, c::d}` names each of b and c::d under a.
            let head: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut base: Vec<&str> = head.split("::").filter(|s| !s.is_empty()).collect();
            if rest[head.len()..].starts_with('{') {
                let inner: String = rest[head.len() + 1..]
                    .chars()
                    .take_while(|c| *c != '}')
                    .collect();
                for item in inner.split(',') {
                    let mut full = base.clone();
                    full.extend(item.trim().split("::").filter(|s| !s.is_empty()));
                    if let Some(m) = resolve(&full) {
                        to.insert(m);
                    }
                }
                base.clear();
            }
            if !base.is_empty()
                && let Some(m) = resolve(&base)
            {
                to.insert(m);
            }
        }
        // `super::x` from a file in a folder names a sibling.
        for (at, _) in text.match_indices("super::") {
            let name: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let folder = if known.iter().any(|k| k.starts_with(&format!("{path}::"))) {
                &parent[..]
            } else {
                &parent[..parent.len().saturating_sub(1)]
            };
            let mut full: Vec<&str> = folder[..folder.len().saturating_sub(1)].to_vec();
            full.push(&name);
            if let Some(m) = resolve(&full) {
                to.insert(m);
            }
        }
        to.remove(path);
        // A parent (`mod.rs`) naming its children is how folders are built.
        to.retain(|m| !m.starts_with(&format!("{path}::")));
        edges.insert(path.clone(), to);
    }
    edges
}

/// The adapters: the JSON API, the pages, and machine intake.
const ADAPTERS: [&str; 3] = ["api", "ui", "ingest"];

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// Layers, as ARCHITECTURE.md states them: only the adapters (and the
/// startup that wires them) name an adapter; an adapter never names
/// another adapter; an area's adapter module names no other area's.
#[test]
fn adapters_are_named_only_by_the_wiring_and_never_by_each_other() {
    let mut found = Vec::new();
    for (from, to) in module_edges() {
        for m in to {
            let (a, b) = (top(&from), top(&m));
            if !ADAPTERS.contains(&b) || from == "startup" || from == "lib" {
                continue;
            }
            if !ADAPTERS.contains(&a) {
                found.push(format!("{from} names the adapter {m}"));
            } else if a != b {
                found.push(format!("the adapter {from} names another adapter, {m}"));
            } else {
                // Within one adapter: an area's module names no other
                // area's (shared helpers sit beside them, under other names).
                let area = |p: &str| p.split("::").nth(1).map(str::to_owned);
                let areas = liveops_core::Area::ALL.map(|x| x.slug());
                if let (Some(x), Some(y)) = (area(&from), area(&m))
                    && x != y
                    && areas.contains(&x.as_str())
                    && areas.contains(&y.as_str())
                {
                    found.push(format!("{from} names another area's adapter, {m}"));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "layer rules broken:\n{}",
        found.join("\n")
    );
}

/// No module of the server depends on itself through others.
#[test]
fn server_modules_form_no_cycle() {
    let edges = module_edges();
    // Tarjan's strongly connected components.
    struct T<'a> {
        edges: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        index: std::collections::HashMap<String, usize>,
        low: std::collections::HashMap<String, usize>,
        on: std::collections::HashSet<String>,
        stack: Vec<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(t: &mut T<'_>, v: &str) {
        t.index.insert(v.to_owned(), t.next);
        t.low.insert(v.to_owned(), t.next);
        t.next += 1;
        t.stack.push(v.to_owned());
        t.on.insert(v.to_owned());
        let next: Vec<String> = t.edges.get(v).into_iter().flatten().cloned().collect();
        for w in next {
            if !t.index.contains_key(&w) {
                visit(t, &w);
                let lw = t.low[&w];
                let lv = t.low[v];
                t.low.insert(v.to_owned(), lv.min(lw));
            } else if t.on.contains(&w) {
                let iw = t.index[&w];
                let lv = t.low[v];
                t.low.insert(v.to_owned(), lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(&w);
                let done = w == v;
                scc.push(w);
                if done {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        edges: &edges,
        index: Default::default(),
        low: Default::default(),
        on: Default::default(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    let shown: Vec<String> = t.out.iter().map(|c| c.join(" ↔ ")).collect();
    assert!(shown.is_empty(), "module cycles:\n{}", shown.join("\n"));
}

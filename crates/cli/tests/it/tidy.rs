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

//! Secret detection in text: well-known credential formats, plus generic
//! `password = "…"` style assignments gated by Shannon entropy. Pure: the
//! caller reads the files and decides which to skip.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// A line carrying one of these is a reviewed exception (the second keeps
/// lines already marked for gitleaks quiet here too).
const ALLOW_MARKERS: [&str; 2] = ["liveops:allow", "gitleaks:allow"];

/// One detector. A pattern's `secret` group, when it has one, is the secret
/// itself; otherwise the whole match is.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    pub description: &'static str,
    pattern: &'static str,
    /// Least Shannon entropy (bits per character) of the secret: a real
    /// token is random, `ghp_aaaa…` in a doc is not.
    min_entropy: f64,
    generic: bool,
}

const fn known(
    id: &'static str,
    description: &'static str,
    pattern: &'static str,
    min_entropy: f64,
) -> Rule {
    Rule {
        id,
        description,
        pattern,
        min_entropy,
        generic: false,
    }
}

/// Random tokens of 20+ characters from a 36–64 symbol alphabet score well
/// above 3.5; words, repeated characters and short sequences score below 3.
const TOKEN_ENTROPY: f64 = 3.0;

/// The rules, most specific first: where two rules match the same text the
/// earlier one reports it.
pub static RULES: &[Rule] = &[
    known(
        "aws-access-key-id",
        "AWS access key id",
        r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        TOKEN_ENTROPY,
    ),
    known(
        "aws-secret-access-key",
        "AWS secret access key, next to its name",
        r#"(?im)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)["']?\s*(?::=|=>|=|:)\s*["']?(?P<secret>[A-Za-z0-9/+=]{40})(?:["'\s,;]|$)"#,
        3.5,
    ),
    known(
        "github-pat",
        "GitHub personal access token (classic)",
        r"\bghp_[0-9A-Za-z]{36}\b",
        TOKEN_ENTROPY,
    ),
    known(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        r"\bgithub_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}\b",
        TOKEN_ENTROPY,
    ),
    known(
        "github-oauth-token",
        "GitHub OAuth access token",
        r"\bgho_[0-9A-Za-z]{36}\b",
        TOKEN_ENTROPY,
    ),
    known(
        "github-app-token",
        "GitHub App user-to-server or server-to-server token",
        r"\bgh[us]_[0-9A-Za-z]{36}\b",
        TOKEN_ENTROPY,
    ),
    known(
        "github-refresh-token",
        "GitHub refresh token",
        r"\bghr_[0-9A-Za-z]{36,76}\b",
        TOKEN_ENTROPY,
    ),
    known(
        "gitlab-pat",
        "GitLab personal access token",
        r"\bglpat-[0-9A-Za-z_\-]{20,}",
        TOKEN_ENTROPY,
    ),
    known(
        "slack-token",
        "Slack bot, user, app or refresh token",
        r"\bxox[baprs]-[0-9A-Za-z]{10,}(?:-[0-9A-Za-z]+)+",
        TOKEN_ENTROPY,
    ),
    known(
        "slack-webhook",
        "Slack incoming webhook URL",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[0-9A-Za-z_/+\-]{30,}",
        TOKEN_ENTROPY,
    ),
    known(
        "stripe-live-key",
        "Stripe live secret or restricted key",
        r"\b[rs]k_live_[0-9A-Za-z]{24,}\b",
        TOKEN_ENTROPY,
    ),
    known(
        "google-api-key",
        "Google API key",
        r"\bAIza[0-9A-Za-z_\-]{35}",
        TOKEN_ENTROPY,
    ),
    known(
        "private-key",
        "PEM private key block",
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
        0.0,
    ),
    known(
        "jwt",
        "JSON Web Token",
        r"\beyJ[0-9A-Za-z_\-]{10,}\.eyJ[0-9A-Za-z_\-]{10,}\.[0-9A-Za-z_\-]{10,}",
        TOKEN_ENTROPY,
    ),
    known(
        "npm-token",
        "npm access token",
        r"\bnpm_[0-9A-Za-z]{36}\b",
        TOKEN_ENTROPY,
    ),
    known(
        "pypi-token",
        "PyPI upload token",
        r"\bpypi-AgE[0-9A-Za-z_\-]{50,}",
        TOKEN_ENTROPY,
    ),
    known(
        "sendgrid-api-key",
        "SendGrid API key",
        r"\bSG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}",
        TOKEN_ENTROPY,
    ),
    known(
        "twilio-api-key",
        "Twilio API key SID",
        r"\bSK[0-9a-fA-F]{32}\b",
        TOKEN_ENTROPY,
    ),
    known(
        "liveops-token",
        "liveops API token or ingest key",
        r"\blo_(?:pat|ingest)_[0-9A-Za-z]{40}\b",
        TOKEN_ENTROPY,
    ),
    Rule {
        id: "generic-secret",
        description: "a password, secret, token or API key assigned a literal",
        // A name containing a secret-ish word, an assignment (`=`, `:`,
        // `:=`, `=>`, JSON's `": `), then a quoted literal or a bare word
        // running to the end of the value.
        pattern: r#"(?im)(?P<name>[a-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api_?key|apikey|access_?key|auth_?key|private_?key)[a-z0-9_.\-]*)["']?[ \t]*(?::=|=>|=|:)[ \t]*(?:"(?P<dq>[^"\r\n]{8,200})"|'(?P<sq>[^'\r\n]{8,200})'|(?P<bare>[A-Za-z0-9/+=_\-.~!@$%^&*]{12,200})(?:[\s#;,]|$))"#,
        min_entropy: 3.0,
        generic: true,
    },
];

/// A secret found in text. The secret itself is never kept: only its first
/// characters, enough to recognise it among one's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub rule: &'static str,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters, where the secret starts.
    pub column: u32,
    /// The first four characters, then `****`.
    pub masked: String,
    /// Shannon entropy of the secret, bits per character.
    pub entropy: f64,
}

static COMPILED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|r| Regex::new(r.pattern).expect("built-in secret patterns compile"))
        .collect()
});

/// Finds the secrets in `text`, in reading order. Lines with an allow
/// comment are skipped.
pub fn scan(text: &str) -> Vec<Hit> {
    let lines = LineIndex::new(text);
    let mut taken: Vec<Range<usize>> = Vec::new();
    let mut hits: Vec<(usize, Hit)> = Vec::new();
    for (rule, re) in RULES.iter().zip(COMPILED.iter()) {
        for caps in re.captures_iter(text) {
            let Some(m) = ["secret", "dq", "sq", "bare"]
                .iter()
                .find_map(|g| caps.name(g))
                .or_else(|| caps.get(0))
            else {
                continue;
            };
            let secret = m.as_str();
            if taken.iter().any(|t| t.start < m.end() && m.start() < t.end) {
                continue;
            }
            let entropy = shannon_entropy(secret);
            if entropy < rule.min_entropy || secret.contains("EXAMPLE") {
                continue;
            }
            if rule.generic {
                let name = caps.name("name").map_or(0..0, |n| n.range());
                let leads = lines.leads_line(text, name.start);
                let bare = caps.name("bare").is_some();
                if !plausible_literal(&text[name], secret, bare, leads) {
                    continue;
                }
            }
            let (line, line_text, column) = lines.locate(text, m.start());
            if ALLOW_MARKERS.iter().any(|a| line_text.contains(a)) {
                continue;
            }
            taken.push(m.range());
            hits.push((
                m.start(),
                Hit {
                    rule: rule.id,
                    line,
                    column,
                    masked: mask(secret),
                    entropy,
                },
            ));
        }
    }
    hits.sort_by_key(|(start, _)| *start);
    hits.into_iter().map(|(_, h)| h).collect()
}

/// Shannon entropy of `s` over its characters, in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts: HashMap<char, u32> = HashMap::new();
    let mut total = 0u32;
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let total = f64::from(total);
    counts
        .values()
        .map(|&n| {
            let p = f64::from(n) / total;
            -p * p.log2()
        })
        .sum()
}

fn mask(secret: &str) -> String {
    let mut out: String = secret.chars().take(4).collect();
    out.push_str("****");
    out
}

/// Name suffixes that say the value is about a secret, not the secret:
/// `TOKEN_URL`, `password_file`, `api_key_header`.
const DESCRIBING_SUFFIXES: [&str; 14] = [
    "url", "uri", "path", "file", "dir", "name", "type", "header", "prefix", "env", "field",
    "endpoint", "length", "ttl",
];

/// Words that mark a value as a placeholder, a default or an example.
const PLACEHOLDER_WORDS: [&str; 15] = [
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "password",
    "passwd",
    "your",
    "dummy",
    "sample",
    "redacted",
    "fake",
    "test",
    "secret",
    "token",
];

/// Whether a literal assigned to a secret-ish name looks like a real secret
/// rather than a placeholder, a reference to one, or code. `leads` says
/// whether the name starts its line, as in `.env`, INI and YAML files.
fn plausible_literal(name: &str, value: &str, bare: bool, leads: bool) -> bool {
    // Unquoted values elsewhere are code: `let x: Type = …`,
    // `out->secret_len = SOME_CONSTANT;`; so are Rust fields of reference
    // type, `secret_key: &PrivateKey,`.
    if bare && (!leads || value.starts_with(['&', '*'])) {
        return false;
    }
    // Secrets have no spaces; messages and lists of words do.
    if value.contains(char::is_whitespace) {
        return false;
    }
    // snake_case and SCREAMING_CASE names are identifiers, not secrets.
    let identifier = value.contains('_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && (!value.chars().any(|c| c.is_ascii_uppercase())
            || !value.chars().any(|c| c.is_ascii_lowercase()));
    if identifier {
        return false;
    }
    let name = name.to_ascii_lowercase();
    if DESCRIBING_SUFFIXES
        .iter()
        .any(|s| name.ends_with(&format!("_{s}")) || name.ends_with(&format!("-{s}")))
    {
        return false;
    }
    // Templating and environment references: `${VAR}`, `{{ x }}`,
    // `<token>`, `%(pw)s`, `@PASSWORD@`, `$DB_PASS`.
    if value.starts_with(['$', '<', '{', '%', '@']) || value.contains("${") || value.contains("{{")
    {
        return false;
    }
    if value.contains("://") || value.starts_with(['/', '.', '~']) {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w))
        || ["xxx", "***", "..."].iter().any(|w| lower.contains(w))
    {
        return false;
    }
    // A secret mixes letters with digits or punctuation; letters alone
    // (with `_`, `-`, `.`) spell names: `"_RSAPrivateKey"`, `settings.KEY`.
    let letters = value.chars().any(|c| c.is_ascii_alphabetic());
    let digits = value.chars().any(|c| c.is_ascii_digit());
    let symbols = value
        .chars()
        .any(|c| !c.is_ascii_alphanumeric() && !matches!(c, '_' | '-' | '.'));
    letters && (digits || symbols)
}

/// Byte offsets of line starts, to turn a match offset into a position.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// Whether only indentation, `export`, `set` or a YAML list dash comes
    /// before `offset` on its line.
    fn leads_line(&self, text: &str, offset: usize) -> bool {
        let idx = self.starts.partition_point(|&s| s <= offset) - 1;
        let before = text[self.starts[idx]..offset].trim();
        matches!(before, "" | "export" | "set" | "-")
    }

    /// The 1-based line, that line's text and the 1-based character column.
    fn locate<'t>(&self, text: &'t str, offset: usize) -> (u32, &'t str, u32) {
        let idx = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[idx];
        let end = self.starts.get(idx + 1).map_or(text.len(), |&e| e - 1);
        let line_text = &text[start..end];
        let column = text[start..offset].chars().count() + 1;
        (
            u32::try_from(idx + 1).unwrap_or(u32::MAX),
            line_text,
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test secrets are assembled at run time so that this file does not
    /// itself hold anything a scanner would flag.
    fn cat(parts: &[&str]) -> String {
        parts.concat()
    }

    /// 36 characters with high entropy, varied per call.
    fn random36(seed: &str) -> String {
        let alphabet = "Q7mZ2xKp9LwR4tVb8NcY3hJf6GdS5aUe1Ho0";
        let mut out = String::new();
        let shift = seed.len();
        for (i, c) in alphabet.chars().cycle().skip(shift).take(36).enumerate() {
            if i % 5 == 0 {
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Scans `text` and returns `(rule, line, column, masked)` per hit.
    fn check(text: &str) -> Vec<(&'static str, u32, u32, String)> {
        scan(text)
            .into_iter()
            .map(|h| (h.rule, h.line, h.column, h.masked))
            .collect()
    }

    fn rules_of(text: &str) -> Vec<&'static str> {
        scan(text).into_iter().map(|h| h.rule).collect()
    }

    #[test]
    fn every_pattern_compiles_and_ids_are_unique() {
        assert_eq!(COMPILED.len(), RULES.len());
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }

    #[test]
    fn entropy_is_zero_for_one_symbol_and_log2_n_for_n_distinct() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-9);
        assert!((shannon_entropy("changeme") - 2.75).abs() < 1e-9);
    }

    #[test]
    fn aws_key_pair_is_found_with_positions_and_masked() {
        let id = cat(&["AK", "IA", "Q3ZJ7XW2LMNB5KPD"]);
        let key = cat(&["wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYz9Qe4tLm8K"]);
        let text = format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {key}\n");
        assert_eq!(
            check(&text),
            [
                ("aws-access-key-id", 2, 21, "AKIA****".to_owned()),
                ("aws-secret-access-key", 3, 25, "wJal****".to_owned()),
            ]
        );
    }

    #[test]
    fn token_formats_are_recognised() {
        let r = random36("x");
        let cases = [
            (cat(&["gh", "p_", &r]), "github-pat"),
            (cat(&["gh", "o_", &r]), "github-oauth-token"),
            (cat(&["gh", "s_", &r]), "github-app-token"),
            (cat(&["gh", "u_", &r]), "github-app-token"),
            (cat(&["gh", "r_", &r]), "github-refresh-token"),
            (
                cat(&["github_", "pat_", &r[..22], "_", &r, &r[..23]]),
                "github-fine-grained-pat",
            ),
            (cat(&["gl", "pat-", &r[..20]]), "gitlab-pat"),
            (
                cat(&["xo", "xb-", "2318475911", "-", "7730249135", "-", &r[..24]]),
                "slack-token",
            ),
            (
                cat(&[
                    "https://hooks.slack.com/",
                    "services/T0A1B2C3D/B4E5F6G7H/",
                    &r[..24],
                ]),
                "slack-webhook",
            ),
            (cat(&["sk", "_live_", &r[..28]]), "stripe-live-key"),
            (cat(&["rk", "_live_", &r[..28]]), "stripe-live-key"),
            (cat(&["AI", "za", &r[..35]]), "google-api-key"),
            (cat(&["-----BEGIN RSA ", "PRIVATE KEY-----"]), "private-key"),
            (
                cat(&["-----BEGIN OPENSSH ", "PRIVATE KEY-----"]),
                "private-key",
            ),
            (
                cat(&[
                    "ey",
                    "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
                    "ey",
                    "JzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9.",
                    &r[..30],
                ]),
                "jwt",
            ),
            (cat(&["np", "m_", &r]), "npm-token"),
            (
                cat(&["py", "pi-", "AgEIcHlwaS5vcmc", &r, &r[..20]]),
                "pypi-token",
            ),
            (
                cat(&["S", "G.", &r[..22], ".", &r, &r[..7]]),
                "sendgrid-api-key",
            ),
            (
                cat(&["S", "K", "9f3b2c7e1a4d8f60b5c2e9a7d3f1b8c4"]),
                "twilio-api-key",
            ),
            (cat(&["lo_", "pat_", &r, &r[..4]]), "liveops-token"),
            (cat(&["lo_", "ingest_", &r, &r[..4]]), "liveops-token"),
        ];
        for (secret, rule) in cases {
            let text = format!("config:\n  value: {secret}\n");
            assert_eq!(rules_of(&text), [rule], "{secret}");
            let hit = &scan(&text)[0];
            assert_eq!((hit.line, hit.column), (2, 10), "{rule}");
            assert_eq!(hit.masked, format!("{}****", &secret[..4]));
            assert!(!hit.masked.contains(&secret[4..]));
        }
    }

    #[test]
    fn generic_assignments_with_random_values_are_found() {
        let value = cat(&["Zq8&vLp2", "!rT9wXk4"]);
        for line in [
            format!("db_password = \"{value}\""),
            format!("\"client_secret\": \"{value}\","),
            format!("API_KEY={value}"),
            format!("auth_token: '{value}'"),
            format!("apiKey := \"{value}\""),
            format!("export DB_PASSWORD={value}"),
            format!("  - api_key: {value}"),
        ] {
            assert_eq!(rules_of(&line), ["generic-secret"], "{line}");
            assert_eq!(scan(&line)[0].masked, "Zq8&****");
        }
    }

    #[test]
    fn placeholders_defaults_and_code_are_not_secrets() {
        for line in [
            "password = \"changeme\"",
            "password = \"password123\"",
            "api_key = \"xxxxxxxxxxxxxxxx\"",
            "token = \"${GITHUB_TOKEN}\"",
            "token: ${{ secrets.GITHUB_TOKEN }}",
            "secret: <token>",
            "api_key = \"<your-api-key-here>\"",
            "password = get_password()",
            "password = form.password_field",
            "password = os.environ[\"DB_PASSWORD\"]",
            "TOKEN_URL = \"https://auth.company.io/v2/oauth\"",
            "password_file = \"/run/keys/db-Pw2\"",
            "const TOKEN_PREFIX: &str = \"lo_pat_\";",
            "secret_key = \"{{ vault.key }}\"",
            "password: %(db_password)s",
            // Found in real code and test data while tuning the rule.
            "error: unexpected token: \"[year] [month]\"",
            "    let der_private_key_buffer: EcPrivateKeyRfc5915Der = x();",
            "  out->private_key_len = MLDSA44_PRIVATE_KEY_BYTES;",
            "pub const IFLA_INET6_TOKEN: _bindgen_ty_7 = _bindgen_ty_7::IFLA_INET6_TOKEN;",
            "generate_private_key: x25519_generate_private_key,",
            "(json!({\"api_key\": \"lo_ingest_wrong\"}), 401),",
            "    private_key: \"_RSAPrivateKey\",",
            "        secret_key: &HpkePrivateKey2,",
            "api_key = settings.GOOGLE_API_KEY_VALUE",
        ] {
            assert_eq!(rules_of(line), Vec::<&str>::new(), "{line}");
        }
    }

    #[test]
    fn documentation_examples_and_low_entropy_tokens_are_not_secrets() {
        let aws_doc = cat(&["AKIA", "IOSFODNN7", "EXAMPLE"]);
        let repeated = cat(&["gh", "p_", &"a".repeat(36)]);
        assert!(scan(&format!("id = {aws_doc}\ntoken {repeated}\n")).is_empty());
    }

    #[test]
    fn allow_comments_silence_a_line() {
        let token = cat(&["gh", "p_", &random36("allow")]);
        let text = format!(
            "a = \"{token}\" # liveops:allow\nb = \"{token}\" // gitleaks:allow\nc = \"{token}\"\n"
        );
        assert_eq!(
            check(&text),
            [("github-pat", 3, 6, cat(&["gh", "p_", "****"]))]
        );
    }

    #[test]
    fn a_known_token_in_an_assignment_is_reported_once_by_its_own_rule() {
        let token = cat(&["gh", "p_", &random36("once")]);
        assert_eq!(
            rules_of(&format!("github_token = \"{token}\"")),
            ["github-pat"]
        );
    }

    #[test]
    fn columns_count_characters_and_crlf_lines_work() {
        let token = cat(&["np", "m_", &random36("crlf")]);
        let text = format!("é = 1\r\n// ünïcödé {token}\r\n");
        assert_eq!(check(&text), [("npm-token", 2, 12, "npm_****".to_owned())]);
    }
}

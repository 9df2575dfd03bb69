//! Error tracking's grouping: which events are the same bug. An event's
//! fingerprint is, by default,
//!
//! - for an exception with a stack trace: its type and the module (or file)
//!   and function of each in-app frame, never line numbers, so a bug keeps
//!   its group across edits around it (all frames count when none is
//!   marked in-app);
//! - for an exception without one: its type and its normalised value;
//! - otherwise: the normalised message, with numbers, ids, hex and UUIDs
//!   replaced, so that "order 1234 failed" and "order 98 failed" group.
//!
//! An SDK's own `fingerprint` replaces it, with `{{ default }}` standing for
//! the default one; a project's grouping rules go first of all. Also here:
//! an event's title and culprit, as the issue shows them.

use std::sync::LazyLock;

use regex::Regex;

/// One frame of a stack trace, innermost last (as SDKs send them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub module: Option<String>,
    pub function: Option<String>,
    pub filename: Option<String>,
    pub lineno: Option<u32>,
    /// Whether the frame is the application's own code; `None` when the
    /// SDK did not say.
    pub in_app: Option<bool>,
}

/// One exception of an event (a chained one has several, outermost last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exception {
    pub ty: String,
    pub value: Option<String>,
    pub module: Option<String>,
    pub frames: Vec<Frame>,
}

/// What grouping reads of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grouped<'a> {
    pub exceptions: &'a [Exception],
    pub message: Option<&'a str>,
    /// The SDK's fingerprint, when it sent one.
    pub fingerprint: Option<&'a [String]>,
}

/// The parts that name a group; equal parts, same group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub Vec<String>);

impl Fingerprint {
    /// One string for the parts, for a store to hash: each part's length
    /// before it, so no two lists of parts read the same.
    pub fn canonical(&self) -> String {
        self.0
            .iter()
            .map(|p| format!("{}:{p}", p.len()))
            .collect::<Vec<_>>()
            .join("|")
    }
}

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
        .unwrap_or_else(|_| unreachable!("a valid pattern"))
});
static HEX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b0x[0-9a-f]+\b|\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b")
        .unwrap_or_else(|_| unreachable!("a valid pattern"))
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    // A number at the start of a word, with its decimals or dotted parts
    // (`30s`, `1.5`, `10.0.0.1`).
    Regex::new(r"[-+]?\b\d+(?:\.\d+)*").unwrap_or_else(|_| unreachable!("a valid pattern"))
});
static ID: LazyLock<Regex> = LazyLock::new(|| {
    // Words that mix letters and digits and are long enough to be ids:
    // tokens, hashes, request ids.
    Regex::new(r"\b(?:[A-Za-z_-]*\d[A-Za-z0-9_-]*){1}\b")
        .unwrap_or_else(|_| unreachable!("a valid pattern"))
});

/// A message with what varies from one occurrence to the next replaced:
/// UUIDs by `<uuid>`, hex by `<hex>`, numbers by `<int>`, and other words
/// mixing letters and digits (ids, tokens) by `<id>`.
pub fn normalise_message(message: &str) -> String {
    let s = UUID.replace_all(message.trim(), "<uuid>");
    let s = HEX.replace_all(&s, |c: &regex::Captures<'_>| {
        let m = &c[0];
        // Short words that happen to be hex letters and a digit (`a1`) are
        // left to the id rule below; long ones and 0x… are hex.
        if m.len() >= 8 || m.starts_with("0x") || m.starts_with("0X") {
            "<hex>".to_owned()
        } else {
            m.to_owned()
        }
    });
    let s = NUMBER.replace_all(&s, "<int>");
    let s = ID.replace_all(&s, |c: &regex::Captures<'_>| {
        let m = &c[0];
        if m.starts_with('<') || m.chars().filter(char::is_ascii_alphanumeric).count() < 4 {
            m.to_owned()
        } else {
            "<id>".to_owned()
        }
    });
    s.into_owned()
}

/// The frames that name a bug: the in-app ones, or all when none is.
fn naming_frames(frames: &[Frame]) -> Vec<&Frame> {
    let in_app: Vec<&Frame> = frames.iter().filter(|f| f.in_app == Some(true)).collect();
    if in_app.is_empty() {
        frames.iter().collect()
    } else {
        in_app
    }
}

/// Where a frame is, without its line: the module, or else the file name
/// without its directories (which differ between machines).
fn place(f: &Frame) -> String {
    if let Some(m) = f.module.as_deref().filter(|m| !m.is_empty()) {
        return m.to_owned();
    }
    f.filename
        .as_deref()
        .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned())
        .unwrap_or_default()
}

/// The default fingerprint of an event.
pub fn default_fingerprint(exceptions: &[Exception], message: Option<&str>) -> Fingerprint {
    let mut parts = Vec::new();
    if exceptions.iter().any(|e| !e.frames.is_empty()) {
        for e in exceptions {
            parts.push(e.ty.clone());
            for f in naming_frames(&e.frames) {
                parts.push(format!(
                    "{} {}",
                    place(f),
                    f.function.as_deref().unwrap_or("?")
                ));
            }
        }
    } else if !exceptions.is_empty() {
        for e in exceptions {
            parts.push(e.ty.clone());
            if let Some(v) = e.value.as_deref() {
                parts.push(normalise_message(v));
            }
        }
    } else {
        parts.push(
            message
                .map(normalise_message)
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "<no message>".to_owned()),
        );
    }
    Fingerprint(parts)
}

/// What a project's grouping rule matches, with `*` as any run of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// The type of any exception of the event.
    Type(String),
    /// The event's message or any exception's value.
    Message(String),
    /// The module of any frame or exception.
    Module(String),
}

impl Matcher {
    /// What it looks at (`type`, `message`, `module`) and its pattern.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            Matcher::Type(p) => ("type", p),
            Matcher::Message(p) => ("message", p),
            Matcher::Module(p) => ("module", p),
        }
    }

    /// A matcher from what it looks at and a pattern (1 to 200 characters).
    pub fn new(what: &str, pattern: &str) -> Result<Matcher, String> {
        let pattern = pattern.trim();
        if pattern.is_empty() || pattern.chars().count() > 200 {
            return Err("a grouping rule's pattern must be 1 to 200 characters".into());
        }
        let p = pattern.to_owned();
        match what {
            "type" => Ok(Matcher::Type(p)),
            "message" => Ok(Matcher::Message(p)),
            "module" => Ok(Matcher::Module(p)),
            other => Err(format!(
                "a grouping rule matches type, message or module, not `{other}`"
            )),
        }
    }
}

/// A project's rule: events it matches group under `fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub matcher: Matcher,
    pub fingerprint: Vec<String>,
}

/// Whether `text` matches `pattern`, where `*` is any run of characters
/// (none included); case matters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

impl Rule {
    fn matches(&self, e: &Grouped<'_>) -> bool {
        match &self.matcher {
            Matcher::Type(p) => e.exceptions.iter().any(|x| glob(p, &x.ty)),
            Matcher::Message(p) => {
                e.message.is_some_and(|m| glob(p, m))
                    || e.exceptions
                        .iter()
                        .any(|x| x.value.as_deref().is_some_and(|v| glob(p, v)))
            }
            Matcher::Module(p) => e.exceptions.iter().any(|x| {
                x.module.as_deref().is_some_and(|m| glob(p, m))
                    || x.frames
                        .iter()
                        .any(|f| f.module.as_deref().is_some_and(|m| glob(p, m)))
            }),
        }
    }
}

/// The fingerprint an event groups under: the first of the project's
/// rules that matches it, else the SDK's fingerprint (`{{ default }}`
/// expanded), else the default.
pub fn fingerprint(event: &Grouped<'_>, rules: &[Rule]) -> Fingerprint {
    let default = || default_fingerprint(event.exceptions, event.message);
    if let Some(rule) = rules.iter().find(|r| r.matches(event)) {
        return Fingerprint(expand(&rule.fingerprint, &default));
    }
    match event.fingerprint.filter(|f| !f.is_empty()) {
        Some(given) => Fingerprint(expand(given, &default)),
        None => default(),
    }
}

fn expand(parts: &[String], default: &dyn Fn() -> Fingerprint) -> Vec<String> {
    let mut out = Vec::new();
    for p in parts {
        let bare: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        if bare == "{{default}}" {
            out.extend(default().0);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// The longest title an issue keeps.
const TITLE_CHARS: usize = 200;

fn shorten(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

/// An issue's title: the last exception's `Type: value`, or the message.
pub fn title(exceptions: &[Exception], message: Option<&str>) -> String {
    let line = match exceptions.last() {
        Some(e) => match e.value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => format!("{}: {}", e.ty, v.lines().next().unwrap_or(v)),
            None => e.ty.clone(),
        },
        None => message
            .map(|m| m.lines().next().unwrap_or(m).trim().to_owned())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "<no message>".to_owned()),
    };
    shorten(&line, TITLE_CHARS)
}

/// Where the error happened, as the issue shows it: the innermost in-app
/// frame of the last exception, `module in function`.
pub fn culprit(exceptions: &[Exception]) -> Option<String> {
    let e = exceptions.last()?;
    let f = naming_frames(&e.frames).into_iter().last()?;
    let place = place(f);
    Some(match f.function.as_deref() {
        Some(func) if !place.is_empty() => format!("{place} in {func}"),
        Some(func) => func.to_owned(),
        None => place,
    })
    .filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(module: &str, function: &str, line: u32, in_app: bool) -> Frame {
        Frame {
            module: Some(module.into()),
            function: Some(function.into()),
            filename: Some(format!("/srv/app/{module}.py")),
            lineno: Some(line),
            in_app: Some(in_app),
        }
    }

    fn exception(ty: &str, value: &str, frames: Vec<Frame>) -> Exception {
        Exception {
            ty: ty.into(),
            value: Some(value.into()),
            module: None,
            frames,
        }
    }

    #[test]
    fn messages_lose_what_varies() {
        assert_eq!(
            normalise_message("order 1234 failed for user 42"),
            "order <int> failed for user <int>"
        );
        assert_eq!(
            normalise_message("no row 3f2b8c1e-9a4d-4f6b-8e2a-1c3d5e7f9a0b at 0x7ffd5e2a"),
            "no row <uuid> at <hex>"
        );
        assert_eq!(
            normalise_message("token tok9Xyz2 expired; sha deadbeef00112233; took 30s"),
            "token <id> expired; sha <hex>; took <int>s"
        );
        assert_eq!(normalise_message("plain words stay"), "plain words stay");
    }

    #[test]
    fn the_same_call_site_groups_and_lines_do_not_matter() {
        let a = [exception(
            "ValueError",
            "bad amount 12",
            vec![
                frame("django.core", "handle", 10, false),
                frame("shop.views", "checkout", 40, true),
                frame("shop.pay", "charge", 7, true),
            ],
        )];
        let b = [exception(
            "ValueError",
            "bad amount 99",
            vec![
                frame("django.core", "handle", 12, false),
                frame("shop.views", "checkout", 44, true),
                frame("shop.pay", "charge", 9, true),
            ],
        )];
        let fa = default_fingerprint(&a, None);
        assert_eq!(fa, default_fingerprint(&b, None));
        assert_eq!(
            fa.0,
            ["ValueError", "shop.views checkout", "shop.pay charge"]
        );
        let other = [exception(
            "KeyError",
            "x",
            vec![frame("shop.views", "checkout", 40, true)],
        )];
        assert_ne!(fa, default_fingerprint(&other, None));
        // With no frame in-app, every frame counts.
        let none_in_app = [Exception {
            frames: vec![Frame {
                in_app: None,
                ..frame("lib", "f", 1, false)
            }],
            ..exception("E", "v", vec![])
        }];
        assert_eq!(default_fingerprint(&none_in_app, None).0, ["E", "lib f"]);
        let all_library = [exception("E", "v", vec![frame("lib", "f", 1, false)])];
        assert_eq!(default_fingerprint(&all_library, None).0, ["E", "lib f"]);
    }

    #[test]
    fn without_frames_the_value_or_message_groups() {
        let a = [exception("TimeoutError", "after 30s on 10.0.0.1", vec![])];
        let b = [exception("TimeoutError", "after 31s on 10.0.0.2", vec![])];
        assert_eq!(default_fingerprint(&a, None), default_fingerprint(&b, None));
        assert_eq!(
            default_fingerprint(&[], Some("user 17 not found")),
            default_fingerprint(&[], Some("user 9001 not found"))
        );
        assert_eq!(default_fingerprint(&[], None).0, ["<no message>"]);
    }

    #[test]
    fn sdk_fingerprints_and_project_rules_win() {
        let ex = [exception(
            "DbError",
            "deadlock",
            vec![frame("shop.db", "save", 3, true)],
        )];
        let custom = vec!["database".to_owned(), "{{ default }}".to_owned()];
        let e = Grouped {
            exceptions: &ex,
            message: None,
            fingerprint: Some(&custom),
        };
        assert_eq!(
            fingerprint(&e, &[]).0,
            ["database", "DbError", "shop.db save"]
        );
        let rules = [Rule {
            matcher: Matcher::Module("shop.*".into()),
            fingerprint: vec!["shop-errors".into()],
        }];
        assert_eq!(fingerprint(&e, &rules).0, ["shop-errors"]);
        let by_type = Rule {
            matcher: Matcher::Type("Db*".into()),
            fingerprint: vec!["db".into()],
        };
        assert_eq!(fingerprint(&e, std::slice::from_ref(&by_type)).0, ["db"]);
        let by_message = Rule {
            matcher: Matcher::Message("*lock*".into()),
            fingerprint: vec!["locks".into()],
        };
        assert_eq!(fingerprint(&e, &[by_message]).0, ["locks"]);
        let no = Rule {
            matcher: Matcher::Type("Http*".into()),
            fingerprint: vec!["http".into()],
        };
        assert_eq!(fingerprint(&e, &[no]).0[0], "database");
        assert_ne!(
            Fingerprint(vec!["a|b".into()]).canonical(),
            Fingerprint(vec!["a".into(), "b".into()]).canonical()
        );
    }

    #[test]
    fn globs_match_runs() {
        assert!(glob("shop.*", "shop.views"));
        assert!(glob("*Error", "ValueError"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(glob("*", ""));
        assert!(!glob("a*b*c", "axxcyyb"));
        assert!(!glob("shop", "shop.views"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn titles_and_culprits() {
        let ex = [exception(
            "ValueError",
            "bad amount 12\nmore",
            vec![
                frame("shop.views", "checkout", 40, true),
                frame("shop.pay", "charge", 7, true),
                frame("stripe", "post", 1, false),
            ],
        )];
        assert_eq!(title(&ex, None), "ValueError: bad amount 12");
        assert_eq!(culprit(&ex).as_deref(), Some("shop.pay in charge"));
        assert_eq!(title(&[], Some("  disk full  ")), "disk full");
        assert_eq!(title(&[], None), "<no message>");
        assert_eq!(culprit(&[]), None);
        let long = "x".repeat(300);
        assert_eq!(title(&[], Some(&long)).chars().count(), 201);
    }
}

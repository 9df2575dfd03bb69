//! JavaScript source maps, read with the `sourcemap` crate: which uploaded
//! file a minified frame's URL names, where that file says its map is, and
//! a Sentry event's frames put back in their original file, line, function
//! and context.
//!
//! Files are uploaded per release under a name: `~/path` for a file served
//! at `/path` on any host (sentry-cli's default), or a whole URL. The
//! minified frames an event keeps in `raw_stacktrace`, as Sentry does; each
//! mapped frame says which map moved it in `data`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use sourcemap::{DecodedMap, SourceMap, SourceView};

/// The largest file an upload takes.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// Lines of context on each side of a mapped frame's line.
const CONTEXT_LINES: u32 = 5;

/// Context lines longer than this are cut (minified code is one line).
const MAX_CONTEXT_CHARS: usize = 200;

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceMapError {
    #[error("a file name must be `~/path` or a URL, without spaces: `{0}`")]
    BadName(String),
    #[error("`{0}` is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge(String),
    #[error("`{0}` is not UTF-8 text")]
    NotText(String),
    #[error("`{0}` is not a source map: {1}")]
    BadMap(String, String),
}

/// What an uploaded file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A source map (`.map`, or JSON that reads as one).
    Map,
    /// A (minified) script, whose `sourceMappingURL` names its map.
    Source,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Map => "map",
            FileKind::Source => "source",
        }
    }
}

/// A file a release's events are mapped with, ready to use.
#[derive(Debug)]
pub enum Artifact {
    Map(SourceMap),
    Source(SourceView),
}

impl Artifact {
    /// Its size in memory, roughly, for a cache's budget.
    pub fn weight(&self) -> usize {
        match self {
            Artifact::Map(m) => {
                let contents: usize = m.source_contents().flatten().map(str::len).sum();
                contents + m.get_token_count() as usize * 24
            }
            Artifact::Source(s) => s.source().len(),
        }
    }
}

fn check_name(name: &str) -> Result<(), SourceMapError> {
    let ok = !name.is_empty()
        && name.len() <= 1024
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
        && (name.starts_with("~/") || name.contains("://"));
    if ok {
        Ok(())
    } else {
        Err(SourceMapError::BadName(name.to_owned()))
    }
}

fn decode(name: &str, text: &str) -> Result<SourceMap, SourceMapError> {
    let bad = |e: sourcemap::Error| SourceMapError::BadMap(name.to_owned(), e.to_string());
    match sourcemap::decode_slice(text.as_bytes()).map_err(bad)? {
        DecodedMap::Regular(m) => Ok(m),
        DecodedMap::Index(i) => i.flatten().map_err(bad),
        DecodedMap::Hermes(h) => Ok(SourceMap::clone(&h)),
    }
}

/// Reads an upload: a name of the right shape, within the size limit,
/// text, and, for a map, a map that decodes.
pub fn read_upload(name: &str, bytes: Vec<u8>) -> Result<(FileKind, String), SourceMapError> {
    check_name(name)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(SourceMapError::TooLarge(name.to_owned()));
    }
    let text = String::from_utf8(bytes).map_err(|_| SourceMapError::NotText(name.to_owned()))?;
    if text.contains('\0') {
        return Err(SourceMapError::NotText(name.to_owned()));
    }
    let looks_like_map =
        name.ends_with(".map") || sourcemap::is_sourcemap_slice(text.trim_start().as_bytes());
    if looks_like_map {
        decode(name, &text)?;
        Ok((FileKind::Map, text))
    } else {
        Ok((FileKind::Source, text))
    }
}

/// Makes a stored file usable; a map that no longer decodes is `None`.
pub fn artifact(kind: FileKind, text: &str) -> Option<Artifact> {
    match kind {
        FileKind::Map => decode("", text).ok().map(Artifact::Map),
        FileKind::Source => Some(Artifact::Source(SourceView::from_string(text.to_owned()))),
    }
}

/// The names a script at `url` may have been uploaded under, best first:
/// `~/path` (any host), then the URL without its query, then as given.
pub fn names_for(url: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bare = url.split(['?', '#']).next().unwrap_or(url);
    if let Ok(u) = url::Url::parse(bare)
        && !u.path().is_empty()
    {
        let path = if u.path().starts_with('/') {
            u.path().to_owned()
        } else {
            format!("/{}", u.path())
        };
        names.push(format!("~{path}"));
    }
    for n in [bare, url] {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_owned());
        }
    }
    names
}

/// The name of the map a script names in its `sourceMappingURL`,
/// resolved against the script's own name; inline (`data:`) maps are not
/// looked up by name.
pub fn map_name_of(script_name: &str, script: &SourceView) -> Option<String> {
    let r = script.sourcemap_reference().ok()??;
    let target = r.get_url();
    if target.starts_with("data:") {
        return None;
    }
    if target.contains("://") {
        return names_for(target).into_iter().next();
    }
    if let Some(rest) = target.strip_prefix('/') {
        return Some(format!("~/{rest}"));
    }
    let dir = script_name.rsplit_once('/').map_or("", |(d, _)| d);
    let mut parts: Vec<&str> = dir.split('/').collect();
    for seg in target.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The URLs of the frames an event could have mapped: those with a line
/// and a column, as browsers give them.
pub fn frame_urls(payload: &Value) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for frame in frames(payload) {
        if let (Some(url), Some(_), Some(_)) = (
            frame_url(frame),
            frame.get("lineno").and_then(Value::as_u64),
            frame.get("colno").and_then(Value::as_u64),
        ) && !urls.iter().any(|u| u == url)
        {
            urls.push(url.to_owned());
        }
    }
    urls
}

/// Where a frame's script was: `abs_path`, or `filename` (the browser
/// SDK sends only that).
fn frame_url(frame: &Value) -> Option<&str> {
    frame
        .get("abs_path")
        .or_else(|| frame.get("filename"))
        .and_then(Value::as_str)
}

fn frames(payload: &Value) -> impl Iterator<Item = &Value> {
    exception_values(payload)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("stacktrace")?.get("frames")?.as_array())
        .flatten()
}

fn exception_values(payload: &Value) -> Option<&Vec<Value>> {
    match payload.get("exception")? {
        Value::Array(a) => Some(a),
        Value::Object(o) => o.get("values")?.as_array(),
        _ => None,
    }
}

fn exception_values_mut(payload: &mut Value) -> Option<&mut Vec<Value>> {
    match payload.get_mut("exception")? {
        Value::Array(a) => Some(a),
        Value::Object(o) => o.get_mut("values")?.as_array_mut(),
        _ => None,
    }
}

/// What maps one script's frames: its map (by name), and the script itself
/// when it was uploaded too (original function names need it).
#[derive(Debug, Clone)]
pub struct Mapping {
    pub map_name: String,
    pub map: Arc<Artifact>,
    pub script: Option<Arc<Artifact>>,
}

/// A source as a frame shows it: the map's `webpack://` and leading
/// `./`/`../` left off.
fn display_source(source: &str) -> String {
    let mut s = source;
    if let Some((_, rest)) = s.split_once("://") {
        s = rest.trim_start_matches(|c: char| c != '/' && c != '.');
    }
    loop {
        let t = s
            .trim_start_matches("./")
            .trim_start_matches("../")
            .trim_start_matches('/');
        if t.len() == s.len() {
            return s.to_owned();
        }
        s = t;
    }
}

fn clip(line: &str) -> String {
    if line.chars().count() <= MAX_CONTEXT_CHARS {
        line.to_owned()
    } else {
        line.chars().take(MAX_CONTEXT_CHARS).collect::<String>() + " {snip}"
    }
}

/// One frame, mapped; `None` when its place is not in the map.
fn map_frame(frame: &Value, url: &str, m: &Mapping) -> Option<Value> {
    let Artifact::Map(map) = &*m.map else {
        return None;
    };
    let line = u32::try_from(frame.get("lineno")?.as_u64()?.checked_sub(1)?).ok()?;
    let col = u32::try_from(frame.get("colno")?.as_u64()?.checked_sub(1)?).ok()?;
    let token = map.lookup_token(line, col)?;
    let source = token.get_source()?;
    let src_line = token.get_src_line();
    let minified_function = frame.get("function").and_then(Value::as_str);
    let function = match (m.script.as_deref(), minified_function) {
        (Some(Artifact::Source(view)), Some(f)) => {
            let last = f.rsplit('.').next().unwrap_or(f);
            map.get_original_function_name(line, col, last, view)
                .map(str::to_owned)
        }
        _ => None,
    }
    .or_else(|| minified_function.map(str::to_owned));
    let mut out = frame.as_object()?.clone();
    let file = display_source(source);
    out.insert(
        "in_app".into(),
        Value::Bool(!source.contains("node_modules")),
    );
    out.insert("filename".into(), Value::String(file.clone()));
    let abs = url::Url::parse(url)
        .ok()
        .filter(|_| !source.contains("://"))
        .and_then(|u| u.join(source).ok())
        .map_or_else(|| source.to_owned(), |u| u.to_string());
    out.insert("abs_path".into(), Value::String(abs));
    out.insert("lineno".into(), json!(src_line + 1));
    out.insert("colno".into(), json!(token.get_src_col() + 1));
    match function {
        Some(f) => out.insert("function".into(), Value::String(f)),
        None => out.remove("function"),
    };
    for k in ["context_line", "pre_context", "post_context"] {
        out.remove(k);
    }
    if let Some(view) = map.get_source_view(token.get_src_id())
        && let Some(context) = view.get_line(src_line)
    {
        // A file that ends with a newline has no line after it.
        let last = u32::try_from(view.line_count())
            .unwrap_or(u32::MAX)
            .saturating_sub(1);
        let around = |lines: std::ops::Range<u32>| -> Vec<Value> {
            lines
                .filter_map(|i| Some((i, view.get_line(i)?)))
                .filter(|(i, l)| !(*i == last && l.is_empty()))
                .map(|(_, l)| Value::String(clip(l)))
                .collect()
        };
        out.insert("context_line".into(), Value::String(clip(context)));
        out.insert(
            "pre_context".into(),
            Value::Array(around(src_line.saturating_sub(CONTEXT_LINES)..src_line)),
        );
        out.insert(
            "post_context".into(),
            Value::Array(around(src_line + 1..src_line + 1 + CONTEXT_LINES)),
        );
    }
    let minified = format!("{url}:{}:{}", line + 1, col + 1);
    let mut data = out
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    data.insert("sourcemap".into(), Value::String(m.map_name.clone()));
    data.insert("minified".into(), Value::String(minified));
    if let Some(f) = minified_function {
        data.insert("minified_function".into(), Value::String(f.to_owned()));
    }
    out.insert("data".into(), Value::Object(data));
    Some(Value::Object(out))
}

/// Maps an event's frames with the mappings found for their URLs. The
/// frames as they came are kept in each exception's `raw_stacktrace`.
/// Returns how many frames were mapped; with none, the payload is as it
/// was.
pub fn symbolicate(payload: &mut Value, mappings: &HashMap<String, Mapping>) -> usize {
    if mappings.is_empty() {
        return 0;
    }
    let mut mapped = 0;
    let Some(values) = exception_values_mut(payload) else {
        return 0;
    };
    for exc in values.iter_mut() {
        let Some(frames) = exc
            .get("stacktrace")
            .and_then(|s| s.get("frames"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        let mut changed = false;
        let new: Vec<Value> = frames
            .iter()
            .map(
                |f| match frame_url(f).and_then(|u| Some((u, mappings.get(u)?))) {
                    Some((u, m)) => match map_frame(f, u, m) {
                        Some(x) => {
                            changed = true;
                            mapped += 1;
                            x
                        }
                        None => f.clone(),
                    },
                    None => f.clone(),
                },
            )
            .collect();
        if changed && let Some(obj) = exc.as_object_mut() {
            if let Some(raw) = obj.get("stacktrace").cloned() {
                obj.insert("raw_stacktrace".into(), raw);
            }
            if let Some(st) = obj.get_mut("stacktrace").and_then(Value::as_object_mut) {
                st.insert("frames".into(), Value::Array(new));
            }
        }
    }
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-line original and its one-line "minified" form:
    /// `function checkout(){throw new Error("x")}` maps back to line 2.
    fn fixture() -> (String, String) {
        let original =
            "// cart\nfunction checkout(cart) {\n  throw new Error(\"empty cart\");\n}\n";
        let minified =
            "function a(b){throw new Error(\"empty cart\")}\n//# sourceMappingURL=app.min.js.map\n";
        let mut b = sourcemap::SourceMapBuilder::new(Some("app.min.js"));
        let src = b.add_source("webpack://shop/./src/cart.js");
        b.set_source_contents(src, Some(original));
        // `function` at 0:0 from 1:0, the name `a` at 0:9 from `checkout`
        // at 1:9, and `throw` at 0:14 from 2:2.
        b.add_raw(0, 0, 1, 0, Some(src), None, false);
        let name = b.add_name("checkout");
        b.add_raw(0, 9, 1, 9, Some(src), Some(name), false);
        b.add_raw(0, 14, 2, 2, Some(src), None, false);
        let map = b.into_sourcemap();
        let mut out = Vec::new();
        map.to_writer(&mut out).expect("write map");
        (String::from_utf8(out).expect("utf-8"), minified.to_owned())
    }

    fn event(url: &str) -> Value {
        json!({"exception": {"values": [{"type": "Error", "value": "empty cart",
        "stacktrace": {"frames": [
            {"filename": url, "function": "HTMLButtonElement.a", "lineno": 1, "colno": 15, "in_app": true},
            {"abs_path": "http://cdn.example/other.js", "function": "x", "lineno": 1, "colno": 1}
        ]}}]}})
    }

    #[test]
    fn names_come_from_the_path_on_any_host() {
        assert_eq!(
            names_for("http://127.0.0.1:9000/static/app.min.js?v=3"),
            vec![
                "~/static/app.min.js",
                "http://127.0.0.1:9000/static/app.min.js",
                "http://127.0.0.1:9000/static/app.min.js?v=3"
            ]
        );
        assert_eq!(names_for("app.js"), vec!["app.js"]);
    }

    #[test]
    fn a_script_names_its_map_relative_to_itself() {
        let (_, minified) = fixture();
        let view = SourceView::from_string(minified);
        assert_eq!(
            map_name_of("~/static/app.min.js", &view).as_deref(),
            Some("~/static/app.min.js.map")
        );
        let up = SourceView::from_string("x()\n//# sourceMappingURL=../maps/a.map\n".into());
        assert_eq!(
            map_name_of("~/static/js/a.js", &up).as_deref(),
            Some("~/static/maps/a.map")
        );
        let none = SourceView::from_string("x()\n".into());
        assert_eq!(map_name_of("~/a.js", &none), None);
    }

    #[test]
    fn uploads_are_read_or_refused_with_a_reason() {
        let (map, minified) = fixture();
        assert_eq!(
            read_upload("~/static/app.min.js.map", map.into_bytes()).map(|r| r.0),
            Ok(FileKind::Map)
        );
        assert_eq!(
            read_upload("~/static/app.min.js", minified.into_bytes()).map(|r| r.0),
            Ok(FileKind::Source)
        );
        assert!(matches!(
            read_upload("~/a.js.map", b"{\"version\":3,\"mappings\":7}".to_vec()),
            Err(SourceMapError::BadMap(..))
        ));
        assert!(matches!(
            read_upload("app.js", b"x".to_vec()),
            Err(SourceMapError::BadName(_))
        ));
        assert!(matches!(
            read_upload("~/a.js", vec![0xff, 0xfe]),
            Err(SourceMapError::NotText(_))
        ));
        assert!(matches!(
            read_upload("~/a.js", vec![b'x'; MAX_FILE_BYTES + 1]),
            Err(SourceMapError::TooLarge(_))
        ));
    }

    fn mappings(with_script: bool) -> HashMap<String, Mapping> {
        let (map, minified) = fixture();
        let url = "http://127.0.0.1:9000/static/app.min.js";
        let mapping = Mapping {
            map_name: "~/static/app.min.js.map".into(),
            map: Arc::new(artifact(FileKind::Map, &map).expect("map")),
            script: with_script
                .then(|| Arc::new(artifact(FileKind::Source, &minified).expect("script"))),
        };
        HashMap::from([(url.to_owned(), mapping)])
    }

    #[test]
    fn a_minified_frame_gets_its_original_place_function_and_context() {
        let url = "http://127.0.0.1:9000/static/app.min.js";
        let mut payload = event(url);
        assert_eq!(symbolicate(&mut payload, &mappings(true)), 1);
        let exc = &payload["exception"]["values"][0];
        let f = &exc["stacktrace"]["frames"][0];
        assert_eq!(f["filename"], "src/cart.js");
        assert_eq!(f["abs_path"], "webpack://shop/./src/cart.js");
        assert_eq!(f["lineno"], 3);
        assert_eq!(f["function"], "checkout");
        assert_eq!(f["context_line"], "  throw new Error(\"empty cart\");");
        assert_eq!(
            f["pre_context"],
            json!(["// cart", "function checkout(cart) {"])
        );
        assert_eq!(f["post_context"], json!(["}"]));
        assert_eq!(f["in_app"], true);
        assert_eq!(f["data"]["sourcemap"], "~/static/app.min.js.map");
        assert_eq!(f["data"]["minified"], format!("{url}:1:15"));
        // The frame of a script with no map stays, and the raw frames are kept.
        assert_eq!(exc["stacktrace"]["frames"][1]["function"], "x");
        assert_eq!(exc["raw_stacktrace"]["frames"][0]["lineno"], 1);
    }

    #[test]
    fn without_the_script_the_minified_function_name_stays() {
        let mut payload = event("http://127.0.0.1:9000/static/app.min.js");
        assert_eq!(symbolicate(&mut payload, &mappings(false)), 1);
        let f = &payload["exception"]["values"][0]["stacktrace"]["frames"][0];
        assert_eq!(f["function"], "HTMLButtonElement.a");
        assert_eq!(f["lineno"], 3);
    }

    #[test]
    fn frames_of_other_scripts_or_outside_the_map_are_left_alone() {
        let mut payload = event("http://127.0.0.1:9000/static/other.min.js");
        let before = payload.clone();
        assert_eq!(symbolicate(&mut payload, &mappings(true)), 0);
        assert_eq!(payload, before);
        assert_eq!(
            frame_urls(&before),
            vec![
                "http://127.0.0.1:9000/static/other.min.js",
                "http://cdn.example/other.js"
            ]
        );
    }

    #[test]
    fn sources_are_shown_without_their_bundler_prefix() {
        assert_eq!(display_source("webpack://shop/./src/a.js"), "src/a.js");
        assert_eq!(display_source("../src/app.js"), "src/app.js");
        assert_eq!(
            display_source("../node_modules/@sentry/core/x.js"),
            "node_modules/@sentry/core/x.js"
        );
    }
}

//! OpenAPI change detection: a model of an API description that knows no wire
//! format, and the checks that compare two versions of it, each named and
//! levelled as oasdiff names and levels it.
//!
//! The model they compare lives in [`super::openapi`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use semver::Version;

use super::openapi::{
    Location, Method, Operation, Parameter, RequestBody, Response, Schema, SecurityRequirement,
    Spec, Type, accepts,
};

/// How a change affects the clients of the old version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Breaking: some client written against the old version stops working.
    Err,
    /// Possibly breaking: it depends on what the clients do.
    Warn,
    /// Not breaking.
    Info,
}

impl Level {
    pub fn is_breaking(self) -> bool {
        self == Level::Err
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Err => "ERR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One difference between two versions of an API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// oasdiff's id for the check, such as `request-parameter-became-required`.
    pub id: &'static str,
    pub level: Level,
    /// The operation's method, upper case (`GET`).
    pub method: String,
    /// The operation's path in the new version (the old one when removed).
    pub path: String,
    /// What changed, as a sentence for people.
    pub text: String,
}

/// Every change from `old` to `new`, per operation in path order, each once.
pub fn diff(old: &Spec, new: &Spec) -> Vec<Change> {
    let mut out = Vec::new();
    // Paths match by shape: `/pets/{id}` and `/pets/{petId}` are one path.
    let new_by_shape: BTreeMap<String, &String> =
        new.paths.keys().map(|p| (path_shape(p), p)).collect();
    let old_shapes: BTreeSet<String> = old.paths.keys().map(|p| path_shape(p)).collect();
    for (old_path, old_ops) in &old.paths {
        let counterpart = new_by_shape
            .get(&path_shape(old_path))
            .and_then(|p| new.paths.get_key_value(*p));
        let Some((new_path, new_ops)) = counterpart else {
            for (method, op) in old_ops {
                let mut r = Report::new(&mut out, *method, old_path);
                if op.deprecated {
                    r.push(
                        "api-path-removed-with-deprecation",
                        Level::Info,
                        "the path was removed after its deprecation".into(),
                    );
                } else {
                    r.push(
                        "api-path-removed-without-deprecation",
                        Level::Err,
                        "the path was removed without being deprecated first".into(),
                    );
                }
            }
            continue;
        };
        for (method, old_op) in old_ops {
            let mut r = Report::new(&mut out, *method, new_path);
            match new_ops.get(method) {
                Some(new_op) => operation(&mut r, old_path, old_op, new_op),
                None if old_op.deprecated => r.push(
                    "api-removed-with-deprecation",
                    Level::Info,
                    "the endpoint was removed after its deprecation".into(),
                ),
                None => r.push(
                    "api-removed-without-deprecation",
                    Level::Err,
                    "the endpoint was removed without being deprecated first".into(),
                ),
            }
        }
        for method in new_ops.keys().filter(|m| !old_ops.contains_key(*m)) {
            endpoint_added(&mut out, *method, new_path);
        }
    }
    for (path, ops) in &new.paths {
        if !old_shapes.contains(&path_shape(path)) {
            for method in ops.keys() {
                endpoint_added(&mut out, *method, path);
            }
        }
    }
    // The same schema under several media types reports the same change.
    let mut seen = BTreeSet::new();
    out.retain(|c| seen.insert((c.method.clone(), c.path.clone(), c.id, c.text.clone())));
    out
}

fn endpoint_added(out: &mut Vec<Change>, method: Method, path: &str) {
    Report::new(out, method, path).push("endpoint-added", Level::Info, "endpoint added".into());
}

/// The path with its parameter names blanked: `/pets/{}`.
fn path_shape(path: &str) -> String {
    let mut shape = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                shape.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => shape.push(c),
            _ => {}
        }
    }
    shape
}

/// The names of the path parameters in a template, in order.
fn path_params(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect()
}

/// Where the changes of one operation go.
struct Report<'a> {
    out: &'a mut Vec<Change>,
    method: Method,
    path: &'a str,
}

impl<'a> Report<'a> {
    fn new(out: &'a mut Vec<Change>, method: Method, path: &'a str) -> Report<'a> {
        Report { out, method, path }
    }

    fn push(&mut self, id: &'static str, level: Level, text: String) {
        self.out.push(Change {
            id,
            level,
            method: self.method.as_str().to_owned(),
            path: self.path.to_owned(),
            text,
        });
    }
}

fn operation(r: &mut Report<'_>, old_path: &str, old: &Operation, new: &Operation) {
    if !old.deprecated && new.deprecated {
        r.push(
            "endpoint-deprecated",
            Level::Info,
            "the endpoint was deprecated".into(),
        );
    } else if old.deprecated && !new.deprecated {
        r.push(
            "endpoint-reactivated",
            Level::Info,
            "the endpoint is no longer deprecated".into(),
        );
    }
    parameters(r, old_path, old, new);
    request_body(r, old.request_body.as_ref(), new.request_body.as_ref());
    responses(r, &old.responses, &new.responses);
    security(r, &old.security, &new.security);
}

/// What identifies a parameter across versions: path parameters by their
/// place in the template (a rename is not a new parameter), headers without
/// regard to case, the rest by name.
fn param_key(path: &str, p: &Parameter) -> (Location, String) {
    match p.location {
        Location::Path => match path_params(path).iter().position(|n| *n == p.name) {
            Some(i) => (Location::Path, format!("#{i}")),
            None => (Location::Path, p.name.clone()),
        },
        Location::Header => (Location::Header, p.name.to_ascii_lowercase()),
        l => (l, p.name.clone()),
    }
}

fn parameters(r: &mut Report<'_>, old_path: &str, old: &Operation, new: &Operation) {
    let new_path = r.path.to_owned();
    let olds: BTreeMap<_, &Parameter> = old
        .parameters
        .iter()
        .map(|p| (param_key(old_path, p), p))
        .collect();
    let news: BTreeMap<_, &Parameter> = new
        .parameters
        .iter()
        .map(|p| (param_key(&new_path, p), p))
        .collect();
    for (key, o) in &olds {
        let what = format!("the {} parameter `{}`", o.location.as_str(), o.name);
        let Some(n) = news.get(key) else {
            if o.deprecated {
                r.push(
                    "request-parameter-removed-with-deprecation",
                    Level::Info,
                    format!("{what} was removed after its deprecation"),
                );
            } else {
                r.push(
                    "request-parameter-removed",
                    Level::Warn,
                    format!("{what} was removed"),
                );
            }
            continue;
        };
        let what = format!("the {} parameter `{}`", n.location.as_str(), n.name);
        if !o.required && n.required {
            r.push(
                "request-parameter-became-required",
                Level::Err,
                format!("{what} became required"),
            );
        } else if o.required && !n.required {
            r.push(
                "request-parameter-became-optional",
                Level::Info,
                format!("{what} became optional"),
            );
        }
        if let (Some(os), Some(ns)) = (&o.schema, &n.schema) {
            let side = Side {
                dir: Dir::Param,
                owner: &what,
            };
            schema(r, &side, "", os, ns, 0);
        }
    }
    for (key, n) in &news {
        if olds.contains_key(key) {
            continue;
        }
        let what = format!("the {} parameter `{}`", n.location.as_str(), n.name);
        if n.location == Location::Path {
            r.push(
                "new-request-path-parameter",
                Level::Err,
                format!("{what} was added"),
            );
        } else if n.required {
            r.push(
                "new-required-request-parameter",
                Level::Err,
                format!("{what} was added, required"),
            );
        } else {
            r.push(
                "new-optional-request-parameter",
                Level::Info,
                format!("{what} was added, optional"),
            );
        }
    }
}

fn request_body(r: &mut Report<'_>, old: Option<&RequestBody>, new: Option<&RequestBody>) {
    let (o, n) = match (old, new) {
        (None, None) => return,
        (None, Some(n)) => {
            if n.required {
                r.push(
                    "request-body-added-required",
                    Level::Err,
                    "a required request body was added".into(),
                );
            } else {
                r.push(
                    "request-body-added-optional",
                    Level::Info,
                    "an optional request body was added".into(),
                );
            }
            return;
        }
        (Some(_), None) => {
            r.push(
                "request-body-removed",
                Level::Err,
                "the request body was removed".into(),
            );
            return;
        }
        (Some(o), Some(n)) => (o, n),
    };
    if !o.required && n.required {
        r.push(
            "request-body-became-required",
            Level::Err,
            "the request body became required".into(),
        );
    } else if o.required && !n.required {
        r.push(
            "request-body-became-optional",
            Level::Info,
            "the request body became optional".into(),
        );
    }
    let side = Side {
        dir: Dir::Request,
        owner: "the request",
    };
    for (media, os) in &o.content {
        match n.content.get(media) {
            None => r.push(
                "request-body-media-type-removed",
                Level::Err,
                format!("the request body no longer accepts {media}"),
            ),
            Some(ns) => {
                if let (Some(os), Some(ns)) = (os, ns) {
                    schema(r, &side, "", os, ns, 0);
                }
            }
        }
    }
    for media in n.content.keys().filter(|m| !o.content.contains_key(*m)) {
        r.push(
            "request-body-media-type-added",
            Level::Info,
            format!("the request body now also accepts {media}"),
        );
    }
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

fn responses(
    r: &mut Report<'_>,
    old: &BTreeMap<String, Response>,
    new: &BTreeMap<String, Response>,
) {
    for (status, o) in old {
        let Some(n) = new.get(status) else {
            if is_success(status) {
                r.push(
                    "response-success-status-removed",
                    Level::Err,
                    format!("the success response {status} was removed"),
                );
            } else {
                r.push(
                    "response-non-success-status-removed",
                    Level::Info,
                    format!("the non-success response {status} was removed"),
                );
            }
            continue;
        };
        let owner = format!("the {status} response");
        let side = Side {
            dir: Dir::Response,
            owner: &owner,
        };
        for (media, os) in &o.content {
            match n.content.get(media) {
                None => r.push(
                    "response-media-type-removed",
                    Level::Err,
                    format!("{owner} no longer comes as {media}"),
                ),
                Some(ns) => {
                    if let (Some(os), Some(ns)) = (os, ns) {
                        schema(r, &side, "", os, ns, 0);
                    }
                }
            }
        }
        for media in n.content.keys().filter(|m| !o.content.contains_key(*m)) {
            r.push(
                "response-media-type-added",
                Level::Info,
                format!("{owner} now also comes as {media}"),
            );
        }
    }
    for status in new.keys().filter(|s| !old.contains_key(*s)) {
        if is_success(status) {
            r.push(
                "response-success-status-added",
                Level::Info,
                format!("the success response {status} was added"),
            );
        } else {
            r.push(
                "response-non-success-status-added",
                Level::Info,
                format!("the non-success response {status} was added"),
            );
        }
    }
}

fn requirement_text(req: &SecurityRequirement) -> String {
    if req.is_empty() {
        "anonymous access".to_owned()
    } else {
        req.keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

fn security(r: &mut Report<'_>, old: &[SecurityRequirement], new: &[SecurityRequirement]) {
    let by_schemes = |reqs: &[SecurityRequirement]| -> BTreeMap<Vec<String>, SecurityRequirement> {
        reqs.iter()
            .map(|req| (req.keys().cloned().collect(), req.clone()))
            .collect()
    };
    let (olds, news) = (by_schemes(old), by_schemes(new));
    for (schemes, o) in &olds {
        let Some(n) = news.get(schemes) else {
            r.push(
                "api-security-removed",
                Level::Err,
                format!(
                    "the security requirement {} was removed",
                    requirement_text(o)
                ),
            );
            continue;
        };
        for (scheme, old_scopes) in o {
            let Some(new_scopes) = n.get(scheme) else {
                continue;
            };
            for scope in new_scopes.difference(old_scopes) {
                r.push(
                    "api-security-scope-added",
                    Level::Err,
                    format!("the scope `{scope}` is now needed for {scheme}"),
                );
            }
            for scope in old_scopes.difference(new_scopes) {
                r.push(
                    "api-security-scope-removed",
                    Level::Info,
                    format!("the scope `{scope}` is no longer needed for {scheme}"),
                );
            }
        }
    }
    for (schemes, n) in &news {
        if olds.contains_key(schemes) {
            continue;
        }
        // oasdiff counts an added requirement as harmless, which holds
        // when it is one more alternative; an endpoint that needed nothing
        // before turns away every anonymous client now.
        if old.is_empty() {
            r.push(
                "api-security-added",
                Level::Err,
                format!(
                    "the endpoint was open and now requires {}",
                    requirement_text(n)
                ),
            );
        } else {
            r.push(
                "api-security-added",
                Level::Info,
                format!(
                    "the security requirement {} was added as an alternative",
                    requirement_text(n)
                ),
            );
        }
    }
}

/// Which side of the exchange a schema is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Param,
    Request,
    Response,
}

/// A schema's side and the words for what holds it (`the 200 response`).
struct Side<'a> {
    dir: Dir,
    owner: &'a str,
}

impl Side<'_> {
    /// The words for the schema at `prop` (`""` for the whole body).
    fn subject(&self, prop: &str) -> String {
        match (self.dir, prop.is_empty()) {
            (Dir::Param, true) => self.owner.to_owned(),
            (Dir::Param, false) => format!("`{prop}` of {}", self.owner),
            (_, true) => format!("the body of {}", self.owner),
            (_, false) => format!("the property `{prop}` of {}", self.owner),
        }
    }
}

/// A kind of schema change, before it is named for its side.
#[derive(Debug, Clone, Copy)]
enum What {
    TypeChanged,
    TypeWidened,
    TypeNarrowed,
    BecameNullable,
    BecameNotNullable,
    EnumValueRemoved,
    EnumValueAdded,
    BecameEnum,
    PropertyRemoved { required: bool },
    PropertyAdded { required: bool },
    BecameRequired,
    BecameOptional,
    OneOfAdded,
    OneOfRemoved,
    AnyOfAdded,
    AnyOfRemoved,
}

/// The oasdiff check a schema change falls under, and its level; `None`
/// for changes no check reports. `root` is the body itself, as opposed to
/// one of its properties.
fn check(dir: Dir, root: bool, what: What) -> Option<(&'static str, Level)> {
    use Level::{Err, Info, Warn};
    use What::*;
    Some(match (dir, root, what) {
        (Dir::Param, _, TypeChanged | TypeNarrowed) => ("request-parameter-type-changed", Err),
        (Dir::Param, _, TypeWidened) => ("request-parameter-type-generalized", Info),
        (Dir::Param, _, BecameNullable) => ("request-parameter-became-nullable", Info),
        (Dir::Param, _, BecameNotNullable) => ("request-parameter-became-not-nullable", Err),
        (Dir::Param, _, EnumValueRemoved) => ("request-parameter-enum-value-removed", Err),
        (Dir::Param, _, EnumValueAdded) => ("request-parameter-enum-value-added", Info),
        (Dir::Param, _, BecameEnum) => ("request-parameter-became-enum", Err),
        (Dir::Param, _, _) => return None,

        (Dir::Request, true, TypeChanged | TypeNarrowed) => ("request-body-type-changed", Err),
        (Dir::Request, true, TypeWidened) => ("request-body-type-generalized", Info),
        (Dir::Request, false, TypeChanged | TypeNarrowed) => ("request-property-type-changed", Err),
        (Dir::Request, false, TypeWidened) => ("request-property-type-generalized", Info),
        (Dir::Request, true, BecameNullable) => ("request-body-became-nullable", Info),
        (Dir::Request, false, BecameNullable) => ("request-property-became-nullable", Info),
        (Dir::Request, true, BecameNotNullable) => ("request-body-became-not-nullable", Err),
        (Dir::Request, false, BecameNotNullable) => ("request-property-became-not-nullable", Err),
        (Dir::Request, true, EnumValueRemoved) => ("request-body-enum-value-removed", Err),
        (Dir::Request, false, EnumValueRemoved) => ("request-property-enum-value-removed", Err),
        (Dir::Request, _, EnumValueAdded) => ("request-property-enum-value-added", Info),
        (Dir::Request, true, BecameEnum) => ("request-body-became-enum", Err),
        (Dir::Request, false, BecameEnum) => ("request-property-became-enum", Err),
        (Dir::Request, _, PropertyRemoved { .. }) => ("request-property-removed", Warn),
        (Dir::Request, _, PropertyAdded { required: true }) => {
            ("new-required-request-property", Err)
        }
        (Dir::Request, _, PropertyAdded { required: false }) => {
            ("new-optional-request-property", Info)
        }
        (Dir::Request, _, BecameRequired) => ("request-property-became-required", Err),
        (Dir::Request, _, BecameOptional) => ("request-property-became-optional", Info),
        (Dir::Request, true, OneOfAdded) => ("request-body-one-of-added", Info),
        (Dir::Request, false, OneOfAdded) => ("request-property-one-of-added", Info),
        (Dir::Request, true, OneOfRemoved) => ("request-body-one-of-removed", Err),
        (Dir::Request, false, OneOfRemoved) => ("request-property-one-of-removed", Err),
        (Dir::Request, true, AnyOfAdded) => ("request-body-any-of-added", Info),
        (Dir::Request, false, AnyOfAdded) => ("request-property-any-of-added", Info),
        (Dir::Request, true, AnyOfRemoved) => ("request-body-any-of-removed", Err),
        (Dir::Request, false, AnyOfRemoved) => ("request-property-any-of-removed", Err),

        (Dir::Response, true, TypeChanged) => ("response-body-type-changed", Err),
        (Dir::Response, true, TypeWidened) => ("response-body-type-generalized", Err),
        (Dir::Response, true, TypeNarrowed) => ("response-body-type-specialized", Info),
        (Dir::Response, false, TypeChanged) => ("response-property-type-changed", Err),
        (Dir::Response, false, TypeWidened) => ("response-property-type-generalized", Err),
        (Dir::Response, false, TypeNarrowed) => ("response-property-type-specialized", Info),
        (Dir::Response, true, BecameNullable) => ("response-body-became-nullable", Err),
        (Dir::Response, false, BecameNullable) => ("response-property-became-nullable", Err),
        (Dir::Response, true, BecameNotNullable) => ("response-body-became-not-nullable", Info),
        (Dir::Response, false, BecameNotNullable) => {
            ("response-property-became-not-nullable", Info)
        }
        (Dir::Response, true, EnumValueRemoved) => ("response-mediatype-enum-value-removed", Info),
        (Dir::Response, false, EnumValueRemoved) => ("response-property-enum-value-removed", Info),
        (Dir::Response, _, EnumValueAdded) => ("response-property-enum-value-added", Warn),
        (Dir::Response, _, BecameEnum) => return None,
        (Dir::Response, _, PropertyRemoved { required: true }) => {
            ("response-required-property-removed", Err)
        }
        (Dir::Response, _, PropertyRemoved { required: false }) => {
            ("response-optional-property-removed", Info)
        }
        (Dir::Response, _, PropertyAdded { required: true }) => {
            ("response-required-property-added", Info)
        }
        (Dir::Response, _, PropertyAdded { required: false }) => {
            ("response-optional-property-added", Info)
        }
        (Dir::Response, _, BecameRequired) => ("response-property-became-required", Info),
        (Dir::Response, _, BecameOptional) => ("response-property-became-optional", Err),
        (Dir::Response, true, OneOfAdded) => ("response-body-one-of-added", Err),
        (Dir::Response, false, OneOfAdded) => ("response-property-one-of-added", Err),
        (Dir::Response, true, OneOfRemoved) => ("response-body-one-of-removed", Info),
        (Dir::Response, false, OneOfRemoved) => ("response-property-one-of-removed", Info),
        (Dir::Response, true, AnyOfAdded) => ("response-body-any-of-added", Err),
        (Dir::Response, false, AnyOfAdded) => ("response-property-any-of-added", Err),
        (Dir::Response, true, AnyOfRemoved) => ("response-body-any-of-removed", Info),
        (Dir::Response, false, AnyOfRemoved) => ("response-property-any-of-removed", Info),
    })
}

fn emit(r: &mut Report<'_>, side: &Side<'_>, prop: &str, what: What, text: String) {
    if let Some((id, level)) = check(side.dir, prop.is_empty(), what) {
        r.push(id, level, text);
    }
}

/// How the values one schema allows compare with another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Same,
    Wider,
    Narrower,
    Other,
}

/// Whether every value of a type in `b` is allowed by `a`.
fn covers(a: &BTreeSet<Type>, b: &BTreeSet<Type>) -> bool {
    a.is_empty() || (!b.is_empty() && b.iter().all(|t| accepts(a, *t)))
}

fn type_relation(old: &Schema, new: &Schema) -> Relation {
    let types = match (
        covers(&new.types, &old.types),
        covers(&old.types, &new.types),
    ) {
        (true, true) => Relation::Same,
        (true, false) => Relation::Wider,
        (false, true) => Relation::Narrower,
        (false, false) => Relation::Other,
    };
    let format = match (&old.format, &new.format) {
        (a, b) if a == b => Relation::Same,
        (Some(_), None) => Relation::Wider,
        (None, Some(_)) => Relation::Narrower,
        _ => Relation::Other,
    };
    match (types, format) {
        (Relation::Same, r) | (r, Relation::Same) => r,
        (a, b) if a == b => a,
        _ => Relation::Other,
    }
}

/// Deep enough for any hand-written API; a guard, since the model is a tree.
const MAX_DEPTH: usize = 64;

fn schema(
    r: &mut Report<'_>,
    side: &Side<'_>,
    prop: &str,
    old: &Schema,
    new: &Schema,
    depth: usize,
) {
    // A recursion marker stands for a schema compared where it first appears.
    if depth > MAX_DEPTH || old.recursive.is_some() || new.recursive.is_some() {
        return;
    }
    let subject = side.subject(prop);
    let what = match type_relation(old, new) {
        Relation::Same => None,
        Relation::Wider => Some(What::TypeWidened),
        Relation::Narrower => Some(What::TypeNarrowed),
        Relation::Other => Some(What::TypeChanged),
    };
    if let Some(what) = what {
        let text = format!(
            "the type of {subject} changed from {} to {}",
            old.type_text(),
            new.type_text()
        );
        emit(r, side, prop, what, text);
    }
    if !old.nullable && new.nullable {
        emit(
            r,
            side,
            prop,
            What::BecameNullable,
            format!("{subject} became nullable"),
        );
    } else if old.nullable && !new.nullable {
        emit(
            r,
            side,
            prop,
            What::BecameNotNullable,
            format!("{subject} is no longer nullable"),
        );
    }
    match (&old.enum_values, &new.enum_values) {
        (Some(o), Some(n)) => {
            for v in o.iter().filter(|v| !n.contains(v)) {
                emit(
                    r,
                    side,
                    prop,
                    What::EnumValueRemoved,
                    format!("the value {v} was removed from {subject}"),
                );
            }
            for v in n.iter().filter(|v| !o.contains(v)) {
                emit(
                    r,
                    side,
                    prop,
                    What::EnumValueAdded,
                    format!("the value {v} was added to {subject}"),
                );
            }
        }
        (None, Some(n)) => {
            let text = format!("{subject} was restricted to the values {}", n.join(", "));
            emit(r, side, prop, What::BecameEnum, text);
        }
        _ => {}
    }
    if side.dir != Dir::Param {
        properties(r, side, prop, old, new, depth);
    }
    if let (Some(o), Some(n)) = (&old.items, &new.items) {
        schema(r, side, &join(prop, "items"), o, n, depth + 1);
    }
    alternatives(r, side, prop, &old.one_of, &new.one_of, "oneOf", depth);
    alternatives(r, side, prop, &old.any_of, &new.any_of, "anyOf", depth);
}

fn join(prop: &str, name: &str) -> String {
    if prop.is_empty() {
        name.to_owned()
    } else {
        format!("{prop}/{name}")
    }
}

/// Whether a property is invisible on this side: clients never send a
/// read-only property, and never receive a write-only one.
fn hidden(dir: Dir, s: &Schema) -> bool {
    (dir == Dir::Request && s.read_only) || (dir == Dir::Response && s.write_only)
}

fn properties(
    r: &mut Report<'_>,
    side: &Side<'_>,
    prop: &str,
    old: &Schema,
    new: &Schema,
    depth: usize,
) {
    for (name, o) in &old.properties {
        let child = join(prop, name);
        let subject = side.subject(&child);
        let was_required = old.required.contains(name);
        let Some(n) = new.properties.get(name) else {
            if !hidden(side.dir, o) {
                let text = if was_required {
                    format!(
                        "the required property `{child}` was removed from {}",
                        side.owner
                    )
                } else {
                    format!(
                        "the optional property `{child}` was removed from {}",
                        side.owner
                    )
                };
                emit(
                    r,
                    side,
                    &child,
                    What::PropertyRemoved {
                        required: was_required,
                    },
                    text,
                );
            }
            continue;
        };
        let is_required = new.required.contains(name);
        if !hidden(side.dir, n) {
            if !was_required && is_required {
                emit(
                    r,
                    side,
                    &child,
                    What::BecameRequired,
                    format!("{subject} became required"),
                );
            } else if was_required && !is_required {
                emit(
                    r,
                    side,
                    &child,
                    What::BecameOptional,
                    format!("{subject} became optional"),
                );
            }
        }
        schema(r, side, &child, o, n, depth + 1);
    }
    for (name, n) in &new.properties {
        if old.properties.contains_key(name) || hidden(side.dir, n) {
            continue;
        }
        let child = join(prop, name);
        let required = new.required.contains(name);
        let text = format!(
            "the {} property `{child}` was added to {}",
            if required { "required" } else { "optional" },
            side.owner
        );
        emit(r, side, &child, What::PropertyAdded { required }, text);
    }
}

/// `oneOf`/`anyOf` alternatives, matched by the component they came from,
/// else by their place among the inline ones.
fn alternatives(
    r: &mut Report<'_>,
    side: &Side<'_>,
    prop: &str,
    old: &[Schema],
    new: &[Schema],
    keyword: &str,
    depth: usize,
) {
    fn keyed(list: &[Schema]) -> BTreeMap<String, &Schema> {
        let mut inline = 0;
        list.iter()
            .map(|s| match &s.name {
                Some(name) => (name.clone(), s),
                None => {
                    inline += 1;
                    (format!("inline schema #{inline}"), s)
                }
            })
            .collect()
    }
    let (olds, news) = (keyed(old), keyed(new));
    let subject = side.subject(prop);
    let (added, removed) = if keyword == "oneOf" {
        (What::OneOfAdded, What::OneOfRemoved)
    } else {
        (What::AnyOfAdded, What::AnyOfRemoved)
    };
    for (key, o) in &olds {
        match news.get(key) {
            Some(n) => schema(r, side, prop, o, n, depth + 1),
            None => emit(
                r,
                side,
                prop,
                removed,
                format!("{key} was removed from the {keyword} of {subject}"),
            ),
        }
    }
    for key in news.keys().filter(|k| !olds.contains_key(*k)) {
        emit(
            r,
            side,
            prop,
            added,
            format!("{key} was added to the {keyword} of {subject}"),
        );
    }
}

/// A version number that does not match the changes it ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionProblem {
    /// oasdiff's id: `api-version-not-bumped`, `api-version-decreased` or
    /// `api-major-version-not-bumped`.
    pub id: &'static str,
    pub old: Version,
    pub new: Version,
    /// The lowest version the breaking changes allow.
    pub needed: Version,
    pub breaking: usize,
}

impl fmt::Display for VersionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.breaking;
        let (changes, need) = if n == 1 {
            ("change", "needs")
        } else {
            ("changes", "need")
        };
        match self.id {
            "api-version-not-bumped" => write!(
                f,
                "{n} breaking {changes} but the version stays {} (needs {} or later)",
                self.old, self.needed
            ),
            "api-version-decreased" => write!(
                f,
                "{n} breaking {changes} but the version went down from {} to {} (needs {} or later)",
                self.old, self.new, self.needed
            ),
            _ => write!(
                f,
                "{n} breaking {changes} {need} {} or later after {}, not {}",
                self.needed, self.old, self.new
            ),
        }
    }
}

/// The lowest version that may ship breaking changes after `old`: the next
/// major; before 1.0.0 the next minor (semver leaves 0.y.z free to break,
/// and Cargo's convention treats the minor as the major there); for 0.0.z
/// the next patch.
pub fn next_breaking(old: &Version) -> Version {
    match (old.major, old.minor) {
        (0, 0) => Version::new(0, 0, old.patch + 1),
        (0, minor) => Version::new(0, minor + 1, 0),
        (major, _) => Version::new(major + 1, 0, 0),
    }
}

/// Whether `new` is a fit version number for `changes` shipped after `old`:
/// `None` when it is, or when nothing breaks.
pub fn check_version(changes: &[Change], old: &Version, new: &Version) -> Option<VersionProblem> {
    let breaking = changes.iter().filter(|c| c.level.is_breaking()).count();
    if breaking == 0 {
        return None;
    }
    let needed = next_breaking(old);
    // A pre-release of the needed version (2.0.0-rc.1) is on the right line.
    let release = Version::new(new.major, new.minor, new.patch);
    let id = if new == old {
        "api-version-not-bumped"
    } else if new < old {
        "api-version-decreased"
    } else if release < needed {
        "api-major-version-not-bumped"
    } else {
        return None;
    };
    Some(VersionProblem {
        id,
        old: old.clone(),
        new: new.clone(),
        needed,
        breaking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(props: &[(&str, Schema)], required: &[&str]) -> Schema {
        Schema {
            types: BTreeSet::from([Type::Object]),
            properties: props
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            required: required.iter().map(|r| (*r).to_owned()).collect(),
            ..Schema::default()
        }
    }

    fn string_enum(values: &[&str]) -> Schema {
        Schema {
            enum_values: Some(values.iter().map(|v| format!("\"{v}\"")).collect()),
            ..Schema::of(Type::String)
        }
    }

    fn param(name: &str, location: Location, required: bool, schema: Schema) -> Parameter {
        Parameter {
            name: name.to_owned(),
            location,
            required,
            deprecated: false,
            schema: Some(schema),
        }
    }

    fn json(schema: Schema) -> BTreeMap<String, Option<Schema>> {
        BTreeMap::from([("application/json".to_owned(), Some(schema))])
    }

    fn responding(status: &str, schema: Schema) -> Operation {
        Operation {
            responses: BTreeMap::from([(
                status.to_owned(),
                Response {
                    content: json(schema),
                },
            )]),
            ..Operation::default()
        }
    }

    fn accepting(required: bool, schema: Schema) -> Operation {
        Operation {
            request_body: Some(RequestBody {
                required,
                content: json(schema),
            }),
            ..Operation::default()
        }
    }

    fn spec(ops: &[(&str, Method, Operation)]) -> Spec {
        let mut spec = Spec::default();
        for (path, method, op) in ops {
            spec.paths
                .entry((*path).to_owned())
                .or_default()
                .insert(*method, op.clone());
        }
        spec
    }

    fn one(op: Operation) -> Spec {
        spec(&[("/pets/{id}", Method::Get, op)])
    }

    /// The ids and levels of the changes from `old` to `new`, in order.
    fn ids(old: &Spec, new: &Spec) -> Vec<(&'static str, Level)> {
        diff(old, new).iter().map(|c| (c.id, c.level)).collect()
    }

    fn check_op(old: Operation, new: Operation, expected: &[(&'static str, Level)]) {
        assert_eq!(ids(&one(old), &one(new)), expected);
    }

    use Level::{Err, Info, Warn};

    #[test]
    fn identical_specs_have_no_changes() {
        let s = one(responding(
            "200",
            obj(&[("id", Schema::of(Type::Integer))], &["id"]),
        ));
        assert!(diff(&s, &s).is_empty());
    }

    #[test]
    fn a_removed_path_breaks_unless_it_was_deprecated() {
        let old = spec(&[
            ("/pets", Method::Get, Operation::default()),
            (
                "/old",
                Method::Get,
                Operation {
                    deprecated: true,
                    ..Operation::default()
                },
            ),
        ]);
        let new = spec(&[]);
        let changes = diff(&old, &new);
        assert_eq!(
            changes
                .iter()
                .map(|c| (c.id, c.level, c.method.as_str(), c.path.as_str()))
                .collect::<Vec<_>>(),
            [
                ("api-path-removed-with-deprecation", Info, "GET", "/old"),
                ("api-path-removed-without-deprecation", Err, "GET", "/pets"),
            ]
        );
    }

    #[test]
    fn a_removed_operation_breaks_and_an_added_one_does_not() {
        let old = spec(&[
            ("/pets", Method::Get, Operation::default()),
            ("/pets", Method::Delete, Operation::default()),
        ]);
        let new = spec(&[
            ("/pets", Method::Get, Operation::default()),
            ("/pets", Method::Post, Operation::default()),
            ("/toys", Method::Get, Operation::default()),
        ]);
        assert_eq!(
            ids(&old, &new),
            [
                ("api-removed-without-deprecation", Err),
                ("endpoint-added", Info),
                ("endpoint-added", Info),
            ]
        );
    }

    #[test]
    fn renaming_a_path_parameter_is_no_change() {
        let old = spec(&[(
            "/pets/{id}",
            Method::Get,
            Operation {
                parameters: vec![param("id", Location::Path, true, Schema::of(Type::Integer))],
                ..Operation::default()
            },
        )]);
        let new = spec(&[(
            "/pets/{petId}",
            Method::Get,
            Operation {
                parameters: vec![param(
                    "petId",
                    Location::Path,
                    true,
                    Schema::of(Type::Integer),
                )],
                ..Operation::default()
            },
        )]);
        assert!(ids(&old, &new).is_empty());
    }

    #[test]
    fn deprecating_an_endpoint_is_info() {
        check_op(
            Operation::default(),
            Operation {
                deprecated: true,
                ..Operation::default()
            },
            &[("endpoint-deprecated", Info)],
        );
    }

    fn with_params(params: Vec<Parameter>) -> Operation {
        Operation {
            parameters: params,
            ..Operation::default()
        }
    }

    #[test]
    fn parameter_checks() {
        let limit = |required| {
            param(
                "limit",
                Location::Query,
                required,
                Schema::of(Type::Integer),
            )
        };
        check_op(
            with_params(vec![]),
            with_params(vec![limit(true)]),
            &[("new-required-request-parameter", Err)],
        );
        check_op(
            with_params(vec![]),
            with_params(vec![limit(false)]),
            &[("new-optional-request-parameter", Info)],
        );
        check_op(
            with_params(vec![limit(false)]),
            with_params(vec![]),
            &[("request-parameter-removed", Warn)],
        );
        check_op(
            with_params(vec![limit(false)]),
            with_params(vec![limit(true)]),
            &[("request-parameter-became-required", Err)],
        );
        check_op(
            with_params(vec![limit(true)]),
            with_params(vec![limit(false)]),
            &[("request-parameter-became-optional", Info)],
        );
        let as_string = param("limit", Location::Query, false, Schema::of(Type::String));
        check_op(
            with_params(vec![limit(false)]),
            with_params(vec![as_string]),
            &[("request-parameter-type-changed", Err)],
        );
        let as_number = param("limit", Location::Query, false, Schema::of(Type::Number));
        check_op(
            with_params(vec![limit(false)]),
            with_params(vec![as_number]),
            &[("request-parameter-type-generalized", Info)],
        );
        let token = param("tenant", Location::Path, true, Schema::of(Type::String));
        check_op(
            with_params(vec![]),
            with_params(vec![token]),
            &[("new-request-path-parameter", Err)],
        );
    }

    #[test]
    fn header_parameters_match_without_regard_to_case() {
        let h = |name: &str| param(name, Location::Header, false, Schema::of(Type::String));
        check_op(
            with_params(vec![h("X-Request-Id")]),
            with_params(vec![h("x-request-id")]),
            &[],
        );
    }

    #[test]
    fn parameter_enum_checks_look_into_array_items() {
        let status = |values: &[&str]| {
            param(
                "status",
                Location::Query,
                false,
                Schema {
                    items: Some(Box::new(string_enum(values))),
                    ..Schema::of(Type::Array)
                },
            )
        };
        let changes = diff(
            &one(with_params(vec![status(&["available", "sold"])])),
            &one(with_params(vec![status(&["available", "pending"])])),
        );
        assert_eq!(
            changes.iter().map(|c| (c.id, c.level)).collect::<Vec<_>>(),
            [
                ("request-parameter-enum-value-removed", Err),
                ("request-parameter-enum-value-added", Info),
            ]
        );
        assert_eq!(
            changes[0].text,
            "the value \"sold\" was removed from `items` of the query parameter `status`"
        );
    }

    #[test]
    fn request_body_checks() {
        let pet = |props: &[(&str, Schema)], required: &[&str]| obj(props, required);
        let name = Schema::of(Type::String);
        check_op(
            accepting(false, pet(&[], &[])),
            accepting(true, pet(&[], &[])),
            &[("request-body-became-required", Err)],
        );
        check_op(
            accepting(false, pet(&[], &[])),
            accepting(false, pet(&[("name", name.clone())], &["name"])),
            &[("new-required-request-property", Err)],
        );
        check_op(
            accepting(false, pet(&[("name", name.clone())], &[])),
            accepting(false, pet(&[("name", name.clone())], &["name"])),
            &[("request-property-became-required", Err)],
        );
        check_op(
            accepting(false, pet(&[("name", name.clone())], &[])),
            accepting(false, pet(&[], &[])),
            &[("request-property-removed", Warn)],
        );
        check_op(
            accepting(false, pet(&[("kind", string_enum(&["cat", "dog"]))], &[])),
            accepting(false, pet(&[("kind", string_enum(&["cat"]))], &[])),
            &[("request-property-enum-value-removed", Err)],
        );
        check_op(
            Operation::default(),
            accepting(true, pet(&[], &[])),
            &[("request-body-added-required", Err)],
        );
    }

    #[test]
    fn read_only_properties_are_not_sent_so_adding_them_breaks_no_request() {
        let id = Schema {
            read_only: true,
            ..Schema::of(Type::Integer)
        };
        check_op(
            accepting(true, obj(&[], &[])),
            accepting(true, obj(&[("id", id)], &["id"])),
            &[],
        );
    }

    #[test]
    fn response_checks() {
        let body =
            |props: &[(&str, Schema)], required: &[&str]| responding("200", obj(props, required));
        let s = Schema::of(Type::String);
        check_op(
            body(&[("id", s.clone())], &["id"]),
            body(&[], &[]),
            &[("response-required-property-removed", Err)],
        );
        check_op(
            body(&[("tag", s.clone())], &[]),
            body(&[], &[]),
            &[("response-optional-property-removed", Info)],
        );
        check_op(
            body(&[("id", s.clone())], &[]),
            body(&[("id", Schema::of(Type::Integer))], &[]),
            &[("response-property-type-changed", Err)],
        );
        check_op(
            body(&[("status", string_enum(&["a"]))], &[]),
            body(&[("status", string_enum(&["a", "b"]))], &[]),
            &[("response-property-enum-value-added", Warn)],
        );
        check_op(
            body(&[("status", string_enum(&["a", "b"]))], &[]),
            body(&[("status", string_enum(&["a"]))], &[]),
            &[("response-property-enum-value-removed", Info)],
        );
        let nullable = Schema {
            nullable: true,
            ..s.clone()
        };
        check_op(
            body(&[("tag", s.clone())], &[]),
            body(&[("tag", nullable)], &[]),
            &[("response-property-became-nullable", Err)],
        );
        check_op(
            body(&[("tag", s.clone())], &["tag"]),
            body(&[("tag", s.clone())], &[]),
            &[("response-property-became-optional", Err)],
        );
        check_op(
            body(&[], &[]),
            body(&[("tag", s.clone())], &["tag"]),
            &[("response-required-property-added", Info)],
        );
    }

    #[test]
    fn response_status_checks() {
        let mut old = responding("200", obj(&[], &[]));
        old.responses.insert("404".into(), Response::default());
        check_op(
            old.clone(),
            responding("201", obj(&[], &[])),
            &[
                ("response-success-status-removed", Err),
                ("response-non-success-status-removed", Info),
                ("response-success-status-added", Info),
            ],
        );
    }

    #[test]
    fn format_changes_are_type_changes() {
        let dt = |f: &str| Schema {
            format: Some(f.to_owned()),
            ..Schema::of(Type::String)
        };
        let body = |s| responding("200", obj(&[("at", s)], &[]));
        check_op(
            body(dt("date")),
            body(dt("date-time")),
            &[("response-property-type-changed", Err)],
        );
        check_op(
            body(dt("date")),
            body(Schema::of(Type::String)),
            &[("response-property-type-generalized", Err)],
        );
        check_op(
            body(Schema::of(Type::String)),
            body(dt("date")),
            &[("response-property-type-specialized", Info)],
        );
    }

    #[test]
    fn nested_properties_and_items_get_a_path() {
        let tags = |inner: Schema| Schema {
            items: Some(Box::new(obj(&[("name", inner)], &["name"]))),
            ..Schema::of(Type::Array)
        };
        let changes = diff(
            &one(responding(
                "200",
                obj(&[("tags", tags(Schema::of(Type::String)))], &[]),
            )),
            &one(responding(
                "200",
                obj(&[("tags", tags(Schema::of(Type::Integer)))], &[]),
            )),
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].text,
            "the type of the property `tags/items/name` of the 200 response changed from string to integer"
        );
    }

    #[test]
    fn one_of_alternatives_match_by_component_name() {
        let named = |n: &str| Schema {
            name: Some(n.to_owned()),
            ..obj(&[], &[])
        };
        let either = |alts: Vec<Schema>| Schema {
            one_of: alts,
            ..Schema::default()
        };
        check_op(
            responding("200", either(vec![named("Cat"), named("Dog")])),
            responding(
                "200",
                either(vec![named("Dog"), named("Cat"), named("Fish")]),
            ),
            &[("response-body-one-of-added", Err)],
        );
        check_op(
            accepting(true, either(vec![named("Cat"), named("Dog")])),
            accepting(true, either(vec![named("Dog")])),
            &[("request-body-one-of-removed", Err)],
        );
    }

    #[test]
    fn recursive_markers_stop_the_walk() {
        let node = |inner: Schema| obj(&[("child", inner)], &[]);
        let marker = Schema {
            recursive: Some("Node".into()),
            ..Schema::default()
        };
        check_op(
            responding("200", node(marker.clone())),
            responding("200", node(marker)),
            &[],
        );
    }

    #[test]
    fn security_checks() {
        let req = |scheme: &str, scopes: &[&str]| -> SecurityRequirement {
            BTreeMap::from([(
                scheme.to_owned(),
                scopes.iter().map(|s| (*s).to_owned()).collect(),
            )])
        };
        let secured = |reqs: Vec<SecurityRequirement>| Operation {
            security: reqs,
            ..Operation::default()
        };
        check_op(
            secured(vec![req("api_key", &[]), req("oauth", &["read"])]),
            secured(vec![req("oauth", &["read"])]),
            &[("api-security-removed", Err)],
        );
        check_op(
            secured(vec![req("oauth", &["read"])]),
            secured(vec![req("oauth", &["read"]), req("api_key", &[])]),
            &[("api-security-added", Info)],
        );
        check_op(
            secured(vec![]),
            secured(vec![req("api_key", &[])]),
            &[("api-security-added", Err)],
        );
        check_op(
            secured(vec![req("oauth", &["read"])]),
            secured(vec![req("oauth", &["read", "write"])]),
            &[("api-security-scope-added", Err)],
        );
    }

    #[test]
    fn all_of_merges_properties_and_narrows_types() {
        let merged = Schema::merge_all_of(vec![
            obj(&[("id", Schema::of(Type::Number))], &["id"]),
            obj(
                &[
                    ("id", Schema::of(Type::Integer)),
                    ("name", Schema::of(Type::String)),
                ],
                &["name"],
            ),
        ]);
        assert_eq!(
            merged.required,
            BTreeSet::from(["id".to_owned(), "name".to_owned()])
        );
        assert_eq!(
            merged.properties["id"].types,
            BTreeSet::from([Type::Integer])
        );
        assert_eq!(merged.properties.len(), 2);
        assert_eq!(Schema::merge_all_of(vec![]), Schema::default());
    }

    fn v(s: &str) -> Version {
        s.parse().expect("version")
    }

    #[test]
    fn breaking_changes_need_a_major_bump_or_a_minor_one_before_1_0() {
        let breaking = [Change {
            id: "api-path-removed-without-deprecation",
            level: Err,
            method: "GET".into(),
            path: "/pets".into(),
            text: String::new(),
        }];
        let problem =
            |old: &str, new: &str| check_version(&breaking, &v(old), &v(new)).map(|p| p.id);
        assert_eq!(
            problem("1.2.0", "1.3.0"),
            Some("api-major-version-not-bumped")
        );
        assert_eq!(problem("1.2.0", "2.0.0"), None);
        assert_eq!(problem("1.2.0", "2.0.0-rc.1"), None);
        assert_eq!(problem("1.2.0", "1.2.0"), Some("api-version-not-bumped"));
        assert_eq!(problem("1.2.0", "1.1.0"), Some("api-version-decreased"));
        assert_eq!(problem("0.3.2", "0.4.0"), None);
        assert_eq!(
            problem("0.3.2", "0.3.3"),
            Some("api-major-version-not-bumped")
        );
        assert_eq!(problem("0.0.3", "0.0.4"), None);
        let text = check_version(&breaking, &v("1.2.0"), &v("1.3.0"))
            .expect("a problem")
            .to_string();
        assert_eq!(
            text,
            "1 breaking change needs 2.0.0 or later after 1.2.0, not 1.3.0"
        );
        let info = [Change {
            level: Info,
            ..breaking[0].clone()
        }];
        assert_eq!(check_version(&info, &v("1.2.0"), &v("1.2.0")), None);
    }
}

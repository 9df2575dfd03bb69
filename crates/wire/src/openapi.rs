//! OpenAPI 3.0 and 3.1 descriptions, in JSON or YAML, read into the core's
//! API model for change detection.
//!
//! The document is read into a JSON value first and then walked: local
//! `$ref`s are resolved (a schema that contains itself gets a recursion
//! marker, a chain of refs that only points back at itself is an error),
//! `allOf` is merged, and a `null` alternative of a `oneOf`/`anyOf` becomes
//! the schema's nullability. Webhooks are not read: no client calls them.

use std::collections::{BTreeMap, BTreeSet};

use liveops_core::docs::openapi::{
    Location, Method, Operation, Parameter, RequestBody, Response, Schema, SecurityRequirement,
    Spec, Type,
};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    #[error("not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error("not an OpenAPI document: {0}")]
    NotOpenApi(String),
    #[error(
        "this is a Swagger {0} document; only OpenAPI 3.0 and 3.1 are supported (convert it first)"
    )]
    Swagger(String),
    #[error("OpenAPI version `{0}` is not supported; 3.0.x and 3.1.x are")]
    UnsupportedVersion(String),
    #[error("unknown $ref `{reference}` used at {at}")]
    UnknownRef { reference: String, at: String },
    #[error(
        "external $ref `{reference}` used at {at}: only refs inside the document (#/...) are supported; bundle the spec into one file first"
    )]
    ExternalRef { reference: String, at: String },
    #[error("$ref cycle: `{reference}` at {at} leads back to itself")]
    RefCycle { reference: String, at: String },
    #[error("invalid {at}: {message}")]
    Invalid { at: String, message: String },
    #[error("the spec is too large or too deeply nested once its $refs are resolved (at {at})")]
    TooLarge { at: String },
}

fn invalid(at: &str, message: impl Into<String>) -> OpenApiError {
    OpenApiError::Invalid {
        at: at.to_owned(),
        message: message.into(),
    }
}

/// Schema nodes one spec may expand to; refs shared many times over could
/// otherwise multiply a small file into an enormous tree.
const MAX_NODES: usize = 200_000;
/// How deep schemas may nest, refs followed included.
const MAX_DEPTH: usize = 200;

/// Reads an OpenAPI 3.0 or 3.1 description from JSON or YAML bytes.
pub fn parse(bytes: &[u8]) -> Result<Spec, OpenApiError> {
    let doc = decode(bytes)?;
    let root = match &doc {
        Value::Object(root) => root,
        Value::Null => return Err(OpenApiError::NotOpenApi("the document is empty".into())),
        _ => {
            return Err(OpenApiError::NotOpenApi(
                "the document is not a mapping".into(),
            ));
        }
    };
    let version = version(root)?;
    Reader {
        doc: &doc,
        version,
        nodes: 0,
    }
    .spec(root)
}

fn decode(bytes: &[u8]) -> Result<Value, OpenApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| OpenApiError::Syntax {
        format: "JSON or YAML",
        message: format!("the file is not UTF-8 text ({e})"),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| OpenApiError::Syntax {
            format: "JSON",
            message: e.to_string(),
        });
    }
    let yaml_error = |e: serde_norway::Error| OpenApiError::Syntax {
        format: "YAML",
        message: e.to_string(),
    };
    let mut yaml: serde_norway::Value = serde_norway::from_str(text).map_err(yaml_error)?;
    yaml.apply_merge().map_err(yaml_error)?;
    yaml_to_json(yaml, 0)
}

/// A YAML value as JSON: keys written as text (YAML reads `200:` as a
/// number), tags dropped.
fn yaml_to_json(v: serde_norway::Value, depth: usize) -> Result<Value, OpenApiError> {
    use serde_norway::Value as Y;
    if depth > MAX_DEPTH {
        return Err(OpenApiError::TooLarge {
            at: "the YAML document".into(),
        });
    }
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(n.to_string()), Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|i| yaml_to_json(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut obj = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".into(),
                    _ => {
                        return Err(OpenApiError::Syntax {
                            format: "YAML",
                            message: "a mapping key is not a plain value".into(),
                        });
                    }
                };
                obj.insert(key, yaml_to_json(v, depth + 1)?);
            }
            Value::Object(obj)
        }
        Y::Tagged(t) => yaml_to_json(t.value, depth + 1)?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V30,
    V31,
}

fn version(root: &Map<String, Value>) -> Result<Version, OpenApiError> {
    let text = match root.get("openapi") {
        Some(Value::String(s)) => s.clone(),
        // `openapi: 3.1` unquoted in YAML is a number.
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(OpenApiError::NotOpenApi(
                "`openapi` is not a version string".into(),
            ));
        }
        None => {
            return Err(match root.get("swagger") {
                Some(v) => {
                    OpenApiError::Swagger(v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                }
                None => OpenApiError::NotOpenApi("it has no `openapi` field".into()),
            });
        }
    };
    let mut parts = text.split('.');
    match (parts.next(), parts.next()) {
        (Some("3"), Some("0")) => Ok(Version::V30),
        (Some("3"), Some("1")) => Ok(Version::V31),
        _ => Err(OpenApiError::UnsupportedVersion(text)),
    }
}

/// `%xx` escapes decoded, as a `$ref` is a URI.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The name a `$ref` gives its target: the last segment, unescaped.
fn ref_name(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    percent_decode(last).replace("~1", "/").replace("~0", "~")
}

fn bool_field(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key).and_then(Value::as_bool).unwrap_or(false)
}

struct Reader<'a> {
    doc: &'a Value,
    version: Version,
    nodes: usize,
}

/// The `$ref`s being expanded, each with the nesting depth it was met at.
type RefStack<'a> = Vec<(&'a str, usize)>;

impl<'a> Reader<'a> {
    fn lookup(&self, reference: &str, at: &str) -> Result<&'a Value, OpenApiError> {
        let unknown = || OpenApiError::UnknownRef {
            reference: reference.to_owned(),
            at: at.to_owned(),
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(OpenApiError::ExternalRef {
                reference: reference.to_owned(),
                at: at.to_owned(),
            });
        };
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(unknown());
        }
        self.doc
            .pointer(&percent_decode(pointer))
            .ok_or_else(unknown)
    }

    /// The mapping at `v`, following `$ref`s.
    fn deref(&self, v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, OpenApiError> {
        let mut current = v;
        let mut seen: Vec<&str> = Vec::new();
        loop {
            let Value::Object(obj) = current else {
                return Err(invalid(at, "expected a mapping"));
            };
            match obj.get("$ref") {
                None => return Ok(obj),
                Some(Value::String(r)) => {
                    if seen.contains(&r.as_str()) {
                        return Err(OpenApiError::RefCycle {
                            reference: r.clone(),
                            at: at.to_owned(),
                        });
                    }
                    seen.push(r);
                    current = self.lookup(r, at)?;
                }
                Some(_) => return Err(invalid(at, "`$ref` is not a string")),
            }
        }
    }

    fn spec(&mut self, root: &'a Map<String, Value>) -> Result<Spec, OpenApiError> {
        let global_security = match root.get("security") {
            Some(v) => Some(security(v, "security")?),
            None => None,
        };
        let mut spec = Spec::default();
        let paths = match root.get("paths") {
            // 3.1 allows a document of components or webhooks only.
            None => return Ok(spec),
            Some(Value::Object(paths)) => paths,
            Some(_) => return Err(invalid("paths", "expected a mapping of paths")),
        };
        for (path, item) in paths {
            if path.starts_with("x-") {
                continue;
            }
            let at = format!("paths.{path}");
            if !path.starts_with('/') {
                return Err(invalid(&at, "a path must start with /"));
            }
            let item = self.deref(item, &at)?;
            let shared = self.parameters(item.get("parameters"), &format!("{at}.parameters"))?;
            let mut ops = BTreeMap::new();
            for (key, op) in item {
                if let Some(method) = Method::from_key(key) {
                    let op_at = format!("{at}.{key}");
                    let op = self.operation(op, &op_at, &shared, global_security.as_deref())?;
                    ops.insert(method, op);
                }
            }
            spec.paths.insert(path.clone(), ops);
        }
        Ok(spec)
    }

    fn operation(
        &mut self,
        v: &'a Value,
        at: &str,
        shared: &[Parameter],
        global_security: Option<&[SecurityRequirement]>,
    ) -> Result<Operation, OpenApiError> {
        let Value::Object(op) = v else {
            return Err(invalid(at, "an operation must be a mapping"));
        };
        // The operation's own parameters override the path's of the same name and place.
        let own = self.parameters(op.get("parameters"), &format!("{at}.parameters"))?;
        let mut parameters: Vec<Parameter> = shared
            .iter()
            .filter(|s| {
                !own.iter()
                    .any(|o| o.name == s.name && o.location == s.location)
            })
            .cloned()
            .collect();
        parameters.extend(own);
        let request_body = match op.get("requestBody") {
            None => None,
            Some(v) => {
                let body_at = format!("{at}.requestBody");
                let body = self.deref(v, &body_at)?;
                Some(RequestBody {
                    required: bool_field(body, "required"),
                    content: self.content(body.get("content"), &body_at)?,
                })
            }
        };
        let mut responses = BTreeMap::new();
        match op.get("responses") {
            None => {}
            Some(Value::Object(all)) => {
                for (status, response) in all {
                    if status.starts_with("x-") {
                        continue;
                    }
                    let response_at = format!("{at}.responses.{status}");
                    let response = self.deref(response, &response_at)?;
                    let content = self.content(response.get("content"), &response_at)?;
                    responses.insert(status.clone(), Response { content });
                }
            }
            Some(_) => return Err(invalid(&format!("{at}.responses"), "expected a mapping")),
        }
        let security = match op.get("security") {
            Some(v) => security(v, &format!("{at}.security"))?,
            None => global_security.map(<[_]>::to_vec).unwrap_or_default(),
        };
        Ok(Operation {
            deprecated: bool_field(op, "deprecated"),
            parameters,
            request_body,
            responses,
            security,
        })
    }

    fn parameters(
        &mut self,
        v: Option<&'a Value>,
        at: &str,
    ) -> Result<Vec<Parameter>, OpenApiError> {
        let list = match v {
            None => return Ok(Vec::new()),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(invalid(at, "expected a list of parameters")),
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, p) in list.iter().enumerate() {
            let at = format!("{at}[{i}]");
            let p = self.deref(p, &at)?;
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(&at, "a parameter needs a `name`"))?;
            let location = p
                .get("in")
                .and_then(Value::as_str)
                .and_then(Location::from_key)
                .ok_or_else(|| {
                    invalid(
                        &at,
                        "a parameter's `in` must be path, query, header or cookie",
                    )
                })?;
            let schema = match (p.get("schema"), p.get("content")) {
                (Some(s), _) => Some(self.schema_root(s, &format!("{at}.schema"))?),
                (None, Some(_)) => self
                    .content(p.get("content"), &at)?
                    .into_values()
                    .next()
                    .flatten(),
                (None, None) => None,
            };
            out.push(Parameter {
                name: name.to_owned(),
                location,
                // Path parameters are always required, whatever the field says.
                required: location == Location::Path || bool_field(p, "required"),
                deprecated: bool_field(p, "deprecated"),
                schema,
            });
        }
        Ok(out)
    }

    /// A `content` map: schemas by media type.
    fn content(
        &mut self,
        v: Option<&'a Value>,
        at: &str,
    ) -> Result<BTreeMap<String, Option<Schema>>, OpenApiError> {
        let mut out = BTreeMap::new();
        let media = match v {
            None => return Ok(out),
            Some(Value::Object(media)) => media,
            Some(_) => return Err(invalid(&format!("{at}.content"), "expected a mapping")),
        };
        for (name, m) in media {
            let m_at = format!("{at}.content.{name}");
            let Value::Object(m) = m else {
                return Err(invalid(&m_at, "expected a mapping"));
            };
            let schema = match m.get("schema") {
                Some(s) => Some(self.schema_root(s, &format!("{m_at}.schema"))?),
                None => None,
            };
            out.insert(name.clone(), schema);
        }
        Ok(out)
    }

    fn schema_root(&mut self, v: &'a Value, at: &str) -> Result<Schema, OpenApiError> {
        self.schema(v, at, &mut Vec::new(), 0)
    }

    fn schema(
        &mut self,
        v: &'a Value,
        at: &str,
        stack: &mut RefStack<'a>,
        depth: usize,
    ) -> Result<Schema, OpenApiError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES || depth + stack.len() > MAX_DEPTH {
            return Err(OpenApiError::TooLarge { at: at.to_owned() });
        }
        let obj = match v {
            // 3.1 schemas may be `true` (anything) or `false` (nothing);
            // neither has structure to compare.
            Value::Bool(_) => return Ok(Schema::default()),
            Value::Object(obj) => obj,
            _ => return Err(invalid(at, "a schema must be a mapping")),
        };
        let Some(reference) = obj.get("$ref") else {
            return self.schema_fields(obj, at, stack, depth);
        };
        let reference = reference
            .as_str()
            .ok_or_else(|| invalid(at, "`$ref` is not a string"))?;
        let name = ref_name(reference);
        if let Some(&(_, met_at)) = stack.iter().find(|(r, _)| *r == reference) {
            // Back at a ref being expanded: legitimate recursion when some
            // property, item or alternative lies between, an endless loop
            // of refs when nothing does.
            if met_at == depth {
                return Err(OpenApiError::RefCycle {
                    reference: reference.to_owned(),
                    at: at.to_owned(),
                });
            }
            return Ok(Schema {
                name: Some(name.clone()),
                recursive: Some(name),
                ..Schema::default()
            });
        }
        let target = self.lookup(reference, at)?;
        stack.push((reference, depth));
        let resolved = self.schema(target, reference, stack, depth);
        stack.pop();
        let mut resolved = resolved?;
        resolved.name = Some(name);
        // In 3.1 a ref's siblings apply too; of those that matter here,
        // only these are met in practice.
        if self.version == Version::V31 {
            resolved.read_only |= bool_field(obj, "readOnly");
            resolved.write_only |= bool_field(obj, "writeOnly");
        }
        Ok(resolved)
    }

    fn schema_fields(
        &mut self,
        obj: &'a Map<String, Value>,
        at: &str,
        stack: &mut RefStack<'a>,
        depth: usize,
    ) -> Result<Schema, OpenApiError> {
        let mut s = Schema {
            format: obj.get("format").and_then(Value::as_str).map(str::to_owned),
            read_only: bool_field(obj, "readOnly"),
            write_only: bool_field(obj, "writeOnly"),
            ..Schema::default()
        };
        let add_type = |s: &mut Schema, t: &Value| match t.as_str() {
            Some("null") => {
                s.nullable = true;
                Ok(())
            }
            Some(name) => match Type::from_key(name) {
                Some(t) => {
                    s.types.insert(t);
                    Ok(())
                }
                None => Err(invalid(at, format!("unknown type `{name}`"))),
            },
            None => Err(invalid(at, "`type` must be a name or a list of names")),
        };
        match obj.get("type") {
            None => {}
            Some(Value::Array(types)) => {
                for t in types {
                    add_type(&mut s, t)?;
                }
            }
            Some(t) => add_type(&mut s, t)?,
        }
        // `nullable` is 3.0's; 3.1 writes `"null"` among the types instead.
        if self.version == Version::V30 && bool_field(obj, "nullable") {
            s.nullable = true;
        }
        let values = match (obj.get("const"), obj.get("enum")) {
            (Some(c), _) => Some(std::slice::from_ref(c)),
            (None, Some(Value::Array(values))) => Some(values.as_slice()),
            (None, Some(_)) => return Err(invalid(at, "`enum` must be a list")),
            (None, None) => None,
        };
        if let Some(values) = values {
            if values.iter().any(Value::is_null) {
                s.nullable = true;
            }
            s.enum_values = Some(
                values
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(Value::to_string)
                    .collect(),
            );
        }
        if let Some(Value::Array(required)) = obj.get("required") {
            s.required = required
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect::<BTreeSet<_>>();
        }
        match obj.get("properties") {
            None => {}
            Some(Value::Object(props)) => {
                for (name, p) in props {
                    let p_at = format!("{at}.properties.{name}");
                    let p = self.schema(p, &p_at, stack, depth + 1)?;
                    s.properties.insert(name.clone(), p);
                }
            }
            Some(_) => return Err(invalid(at, "`properties` must be a mapping")),
        }
        // Older drafts' tuple form (`items: [...]`) has no single item schema.
        if let Some(items @ (Value::Object(_) | Value::Bool(_))) = obj.get("items") {
            let items = self.schema(items, &format!("{at}.items"), stack, depth + 1)?;
            s.items = Some(Box::new(items));
        }
        let explicit_null = s.nullable;
        let (one_of, null_one) = self.alternatives(obj, "oneOf", at, stack, depth)?;
        let (any_of, null_any) = self.alternatives(obj, "anyOf", at, stack, depth)?;
        s.one_of = one_of;
        s.any_of = any_of;
        if null_one || null_any {
            s.nullable = true;
            // `oneOf: [X, {type: "null"}]` is X made nullable.
            let only = match (s.one_of.len(), s.any_of.len()) {
                (1, 0) => s.one_of.pop(),
                (0, 1) => s.any_of.pop(),
                _ => None,
            };
            if let Some(only) = only {
                let name = only.name.clone();
                let rest = std::mem::take(&mut s);
                s = Schema::merge_all_of(vec![rest, only]);
                s.name = name;
                s.nullable = true;
            }
        }
        if let Some(all) = obj.get("allOf") {
            let Value::Array(parts) = all else {
                return Err(invalid(at, "`allOf` must be a list"));
            };
            let mut merged = vec![s];
            for (i, part) in parts.iter().enumerate() {
                merged.push(self.schema(part, &format!("{at}.allOf[{i}]"), stack, depth)?);
            }
            s = Schema::merge_all_of(merged);
            // 3.0's `nullable: true` beside an `allOf` of a ref is the usual
            // way to make a referenced schema nullable; honour it.
            s.nullable |= explicit_null;
        }
        Ok(s)
    }

    /// The alternatives of a `oneOf` or `anyOf` but a `null` one, and
    /// whether there was one.
    fn alternatives(
        &mut self,
        obj: &'a Map<String, Value>,
        keyword: &str,
        at: &str,
        stack: &mut RefStack<'a>,
        depth: usize,
    ) -> Result<(Vec<Schema>, bool), OpenApiError> {
        let Some(list) = obj.get(keyword) else {
            return Ok((Vec::new(), false));
        };
        let Value::Array(list) = list else {
            return Err(invalid(at, format!("`{keyword}` must be a list")));
        };
        let mut out = Vec::with_capacity(list.len());
        let mut null = false;
        for (i, alt) in list.iter().enumerate() {
            let alt = self.schema(alt, &format!("{at}.{keyword}[{i}]"), stack, depth + 1)?;
            let only_null = alt.nullable
                && alt.types.is_empty()
                && alt.properties.is_empty()
                && alt.items.is_none()
                && alt.one_of.is_empty()
                && alt.any_of.is_empty()
                && alt.enum_values.as_ref().is_none_or(Vec::is_empty);
            if only_null {
                null = true;
            } else {
                out.push(alt);
            }
        }
        Ok((out, null))
    }
}

/// A list of security requirements: schemes with their scopes.
fn security(v: &Value, at: &str) -> Result<Vec<SecurityRequirement>, OpenApiError> {
    let Value::Array(list) = v else {
        return Err(invalid(at, "expected a list of security requirements"));
    };
    list.iter()
        .enumerate()
        .map(|(i, req)| {
            let Value::Object(req) = req else {
                return Err(invalid(&format!("{at}[{i}]"), "expected a mapping"));
            };
            Ok(req
                .iter()
                .map(|(scheme, scopes)| {
                    let scopes: BTreeSet<String> = scopes
                        .as_array()
                        .map(|s| {
                            s.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    (scheme.clone(), scopes)
                })
                .collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use liveops_core::docs::api_diff::{Level, diff};

    use super::*;

    const PETSTORE_30: &str = r##"
openapi: 3.0.3
info: {title: Petstore, version: 1.0.0}
security:
  - api_key: []
paths:
  /pets/{petId}:
    parameters:
      - $ref: '#/components/parameters/PetId'
    get:
      parameters:
        - name: fields
          in: query
          schema: {type: string}
      responses:
        200:
          $ref: '#/components/responses/OnePet'
        default:
          description: error
  /pets:
    post:
      security: []
      requestBody:
        $ref: '#/components/requestBodies/NewPet'
      responses:
        '201': {description: created}
components:
  parameters:
    PetId: {name: petId, in: path, required: true, schema: {type: integer, format: int64}}
  requestBodies:
    NewPet:
      required: true
      content:
        application/json:
          schema:
            allOf:
              - $ref: '#/components/schemas/PetBase'
              - type: object
                required: [name]
                properties:
                  name: {type: string}
  responses:
    OnePet:
      description: a pet
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Pet'}
  schemas:
    PetBase:
      type: object
      properties:
        tag: {type: string, nullable: true}
        status: {type: string, enum: [available, pending, sold]}
    Pet:
      allOf:
        - $ref: '#/components/schemas/PetBase'
        - type: object
          required: [id]
          properties:
            id: {type: integer}
            parent: {$ref: '#/components/schemas/Pet'}
"##;

    fn parsed(text: &str) -> Spec {
        parse(text.as_bytes()).expect("a valid spec")
    }

    fn err(text: &str) -> OpenApiError {
        parse(text.as_bytes()).expect_err("an error")
    }

    #[test]
    fn reads_a_3_0_yaml_spec_with_refs() {
        let spec = parsed(PETSTORE_30);
        let get = &spec.paths["/pets/{petId}"][&Method::Get];
        assert_eq!(get.parameters.len(), 2);
        assert_eq!(get.parameters[0].name, "petId");
        assert!(get.parameters[0].required);
        assert_eq!(get.security.len(), 1, "inherits the document's security");
        let pet = get.responses["200"].content["application/json"]
            .as_ref()
            .expect("a schema");
        assert_eq!(pet.name.as_deref(), Some("Pet"));
        assert!(pet.required.contains("id"));
        assert!(pet.properties["tag"].nullable);
        assert_eq!(
            pet.properties["status"].enum_values.as_deref(),
            Some(
                &[
                    "\"available\"".to_owned(),
                    "\"pending\"".into(),
                    "\"sold\"".into()
                ][..]
            )
        );
        assert_eq!(pet.properties["parent"].recursive.as_deref(), Some("Pet"));
        assert!(get.responses.contains_key("default"));
        let post = &spec.paths["/pets"][&Method::Post];
        assert!(post.security.is_empty(), "`security: []` opts out");
        let body = post.request_body.as_ref().expect("a body");
        assert!(body.required);
        let new_pet = body.content["application/json"].as_ref().expect("a schema");
        assert_eq!(new_pet.properties.len(), 3);
        assert!(new_pet.required.contains("name"));
    }

    #[test]
    fn reads_3_1_type_lists_and_const() {
        let spec = parsed(
            r##"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
                "paths": {"/a": {"get": {"responses": {"200": {"description": "ok",
                  "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "tag": {"type": ["string", "null"]},
                    "kind": {"const": "cat"},
                    "legacy": {"type": "string", "nullable": true},
                    "maybe": {"oneOf": [{"$ref": "#/components/schemas/Id"}, {"type": "null"}]}
                  }}}}}}}}},
                "components": {"schemas": {"Id": {"type": "integer"}}},
                "webhooks": {"ping": {"post": {"responses": {"200": {"description": "ok"}}}}}}"##,
        );
        let schema = spec.paths["/a"][&Method::Get].responses["200"].content["application/json"]
            .clone()
            .expect("a schema");
        let tag = &schema.properties["tag"];
        assert!(tag.nullable);
        assert_eq!(tag.types, BTreeSet::from([Type::String]));
        assert_eq!(
            schema.properties["kind"].enum_values,
            Some(vec!["\"cat\"".to_owned()])
        );
        assert!(
            !schema.properties["legacy"].nullable,
            "`nullable` is 3.0 only"
        );
        let maybe = &schema.properties["maybe"];
        assert!(maybe.nullable && maybe.one_of.is_empty());
        assert_eq!(maybe.types, BTreeSet::from([Type::Integer]));
    }

    #[test]
    fn type_lists_with_null_read_as_became_nullable() {
        let spec = |tag_type: &str| {
            parsed(
                &r#"{"openapi": "3.1.0", "paths": {"/a": {"get": {"responses": {"200": {
                  "content": {"application/json": {"schema": {"type": "object",
                    "properties": {"tag": {"type": TAG_TYPE}}}}}}}}}}}"#
                    .replace("TAG_TYPE", tag_type),
            )
        };
        let changes = diff(&spec(r#""string""#), &spec(r#"["string", "null"]"#));
        assert_eq!(
            changes.iter().map(|c| (c.id, c.level)).collect::<Vec<_>>(),
            [("response-property-became-nullable", Level::Err)]
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(
            err("{\"openapi\": "),
            OpenApiError::Syntax { format: "JSON", .. }
        ));
        assert!(matches!(
            err("openapi: [unclosed"),
            OpenApiError::Syntax { format: "YAML", .. }
        ));
        assert!(matches!(err(""), OpenApiError::NotOpenApi(_)));
        assert!(matches!(err("- a\n- b\n"), OpenApiError::NotOpenApi(_)));
        assert!(matches!(err("title: x\n"), OpenApiError::NotOpenApi(_)));
        assert_eq!(err("swagger: '2.0'\n"), OpenApiError::Swagger("2.0".into()));
        assert_eq!(
            err("openapi: 4.0.0\n"),
            OpenApiError::UnsupportedVersion("4.0.0".into())
        );
        assert!(matches!(
            parse(&[0xff, 0xfe, 0x00]),
            Err(OpenApiError::Syntax { .. })
        ));
    }

    #[test]
    fn names_the_unknown_ref_and_where_it_was_used() {
        let e = err(&PETSTORE_30.replace(
            "schema: {$ref: '#/components/schemas/Pet'}",
            "schema: {$ref: '#/components/schemas/Pett'}",
        ));
        assert_eq!(
            e.to_string(),
            "unknown $ref `#/components/schemas/Pett` used at paths./pets/{petId}.get.responses.200.content.application/json.schema"
        );
        let e = err(&PETSTORE_30.replace(
            "$ref: '#/components/parameters/PetId'",
            "$ref: 'common.yaml#/PetId'",
        ));
        assert!(matches!(e, OpenApiError::ExternalRef { .. }), "{e}");
    }

    #[test]
    fn refs_that_only_point_at_each_other_are_a_cycle() {
        let e = err(r##"
openapi: 3.0.0
paths:
  /a:
    get:
      responses:
        '200':
          content:
            application/json:
              schema: {$ref: '#/components/schemas/A'}
components:
  schemas:
    A: {$ref: '#/components/schemas/B'}
    B: {allOf: [{$ref: '#/components/schemas/A'}]}
"##);
        assert!(matches!(e, OpenApiError::RefCycle { .. }), "{e}");
        let e = err(r##"
openapi: 3.0.0
paths:
  /a:
    get:
      responses:
        '200': {$ref: '#/components/responses/R'}
components:
  responses:
    R: {$ref: '#/components/responses/R'}
"##);
        assert!(matches!(e, OpenApiError::RefCycle { .. }), "{e}");
    }

    #[test]
    fn shared_refs_cannot_blow_up_the_tree() {
        // Each level refers to the one below twice: 2^40 nodes if expanded.
        let mut schemas = String::from("    L0: {type: string}\n");
        for i in 1..=40 {
            schemas.push_str(&format!(
                "    L{i}: {{type: object, properties: {{a: {{$ref: '#/components/schemas/L{p}'}}, b: {{$ref: '#/components/schemas/L{p}'}}}}}}\n",
                p = i - 1
            ));
        }
        let text = format!(
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/L40'}}\ncomponents:\n  schemas:\n{schemas}"
        );
        assert!(matches!(err(&text), OpenApiError::TooLarge { .. }));
    }

    #[test]
    fn never_panics_on_odd_shapes() {
        for text in [
            "openapi: 3.0.0\npaths: 3\n",
            "openapi: 3.0.0\npaths:\n  /a: 7\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get: []\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: [{name: x}]\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: [{in: query}]\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses: {'200': {content: {a/b: {schema: {type: 5}}}}}\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses: {'200': {content: {a/b: {schema: {type: wat}}}}}\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses: {'200': {$ref: 5}}\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      security: {a: b}\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses: {'200': {content: {a/b: {schema: {$ref: '#/x%zz'}}}}}\n",
            "openapi: 3.0.0\n? [a, b]\n: c\n",
            "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses: {'200': {content: {a/b: {schema: {items: [1], enum: 3}}}}}\n",
        ] {
            assert!(parse(text.as_bytes()).is_err(), "{text}");
        }
        // Odd but readable: no paths, extensions among them, boolean
        // schemas, a ref to the whole document.
        assert!(
            parse(
                b"openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses: {'200': {$ref: '#'}}\n"
            )
            .is_ok()
        );
        assert!(parse(b"openapi: 3.1.0\n").is_ok());
        assert!(
            parse(b"openapi: 3.1.0\npaths:\n  x-internal: true\n  /a:\n    get:\n      responses: {'200': {content: {a/b: {schema: true}}}}\n").is_ok()
        );
    }
}

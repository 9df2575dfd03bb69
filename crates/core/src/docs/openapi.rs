//! The model of an OpenAPI description that the change checks read: what they
//! need rather than the whole document, with `$ref`s resolved, `allOf` merged
//! ([`Schema::merge_all_of`]), each operation's effective security, and a
//! schema that contains itself cut short with a [`Schema::recursive`] marker.
//! It knows no wire format; the wire adapter builds it from JSON or YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// An HTTP method that an OpenAPI path item can hold an operation for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
    Trace,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
        Method::Trace,
    ];

    /// The method a path item key names (`get`, `post`, …); keys are lower case.
    pub fn from_key(key: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.key() == key)
    }

    /// The path item key: lower case.
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
            Method::Trace => "trace",
        }
    }

    /// The method as HTTP writes it: upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

impl Location {
    /// The location an `in` field names.
    pub fn from_key(key: &str) -> Option<Location> {
        match key {
            "path" => Some(Location::Path),
            "query" => Some(Location::Query),
            "header" => Some(Location::Header),
            "cookie" => Some(Location::Cookie),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        }
    }
}

/// An API description: operations by path template and method.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    pub paths: BTreeMap<String, BTreeMap<Method, Operation>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Operation {
    pub deprecated: bool,
    /// The path item's parameters merged with the operation's own.
    pub parameters: Vec<Parameter>,
    pub request_body: Option<RequestBody>,
    /// Responses by status code (`200`, `4XX`, `default`).
    pub responses: BTreeMap<String, Response>,
    /// The alternatives a client may satisfy, any one of them; empty when
    /// the operation needs no authentication.
    pub security: Vec<SecurityRequirement>,
}

/// The schemes a client must satisfy together, each with the scopes it needs.
pub type SecurityRequirement = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub deprecated: bool,
    pub schema: Option<Schema>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestBody {
    pub required: bool,
    /// Schemas by media type; `None` where the media type gives none.
    pub content: BTreeMap<String, Option<Schema>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// Schemas by media type; `None` where the media type gives none.
    pub content: BTreeMap<String, Option<Schema>>,
}

/// A JSON Schema type other than `null`, which [`Schema::nullable`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Type {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
}

impl Type {
    /// The type a `type` keyword names; `None` for `null` and unknown names.
    pub fn from_key(key: &str) -> Option<Type> {
        match key {
            "string" => Some(Type::String),
            "number" => Some(Type::Number),
            "integer" => Some(Type::Integer),
            "boolean" => Some(Type::Boolean),
            "array" => Some(Type::Array),
            "object" => Some(Type::Object),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Number => "number",
            Type::Integer => "integer",
            Type::Boolean => "boolean",
            Type::Array => "array",
            Type::Object => "object",
        }
    }
}

/// A schema with its `$ref`s resolved and its `allOf` merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// The component the schema came from through a `$ref`, if any; used to
    /// match `oneOf`/`anyOf` alternatives between versions.
    pub name: Option<String>,
    /// The types allowed; empty allows any.
    pub types: BTreeSet<Type>,
    /// Whether `null` is allowed too (3.0 `nullable`, 3.1 `"null"` in `type`).
    pub nullable: bool,
    pub format: Option<String>,
    /// The allowed values (`enum`, or 3.1 `const`), each written as JSON.
    pub enum_values: Option<Vec<String>>,
    pub properties: BTreeMap<String, Schema>,
    pub required: BTreeSet<String>,
    pub items: Option<Box<Schema>>,
    pub one_of: Vec<Schema>,
    pub any_of: Vec<Schema>,
    pub read_only: bool,
    pub write_only: bool,
    /// Set, with the component's name, where a schema contains itself: the
    /// schema here is the one enclosing it, compared where it first appears.
    pub recursive: Option<String>,
}

impl Schema {
    /// Whether `null` passes: a schema that names no type allows it.
    pub fn allows_null(&self) -> bool {
        self.nullable || self.types.is_empty()
    }

    /// A schema of one type.
    pub fn of(t: Type) -> Schema {
        Schema {
            types: BTreeSet::from([t]),
            ..Schema::default()
        }
    }

    /// What a value must be to match every one of `parts` (`allOf`), as
    /// one schema: properties and required names add up, types, formats
    /// and allowed values narrow, `null` stays allowed only if all allow it.
    pub fn merge_all_of(parts: Vec<Schema>) -> Schema {
        let mut parts = parts.into_iter();
        let Some(first) = parts.next() else {
            return Schema::default();
        };
        parts.fold(first, Schema::merge)
    }

    fn merge(self, other: Schema) -> Schema {
        let nullable =
            (self.nullable || other.nullable) && self.allows_null() && other.allows_null();
        let types = if self.types.is_empty() {
            other.types.clone()
        } else if other.types.is_empty() {
            self.types.clone()
        } else {
            // Both sides must accept the value: integer is a number too.
            self.types
                .iter()
                .filter(|t| accepts(&other.types, **t))
                .chain(other.types.iter().filter(|t| accepts(&self.types, **t)))
                .copied()
                .collect()
        };
        let enum_values = match (self.enum_values, other.enum_values) {
            (Some(a), Some(b)) => Some(a.into_iter().filter(|v| b.contains(v)).collect()),
            (a, b) => a.or(b),
        };
        let mut properties = self.properties;
        for (name, schema) in other.properties {
            let merged = match properties.remove(&name) {
                Some(mine) => mine.merge(schema),
                None => schema,
            };
            properties.insert(name, merged);
        }
        let items = match (self.items, other.items) {
            (Some(a), Some(b)) => Some(Box::new(a.merge(*b))),
            (a, b) => a.or(b),
        };
        let mut required = self.required;
        required.extend(other.required);
        let mut one_of = self.one_of;
        one_of.extend(other.one_of);
        let mut any_of = self.any_of;
        any_of.extend(other.any_of);
        Schema {
            // A merged schema is no longer the component it started from.
            name: None,
            types,
            nullable,
            format: self.format.or(other.format),
            enum_values,
            properties,
            required,
            items,
            one_of,
            any_of,
            read_only: self.read_only || other.read_only,
            write_only: self.write_only || other.write_only,
            recursive: self.recursive.or(other.recursive),
        }
    }

    /// The type and format as people read them: `string/date-time`,
    /// `integer`, `any`.
    pub(crate) fn type_text(&self) -> String {
        let types = if self.types.is_empty() {
            "any".to_owned()
        } else {
            self.types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join("|")
        };
        match &self.format {
            Some(f) => format!("{types}/{f}"),
            None => types,
        }
    }
}

/// Whether a value of type `t` is allowed by `types`.
pub(crate) fn accepts(types: &BTreeSet<Type>, t: Type) -> bool {
    types.is_empty() || types.contains(&t) || (t == Type::Integer && types.contains(&Type::Number))
}

//! Reading OTLP's JSON encoding, which spells fields in camelCase or
//! snake_case and numbers as strings or numbers.

use super::*;

/// A field by its lowerCamelCase name or, as some senders write it, snake_case.
pub(super) fn field<'a>(o: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    o.get(camel).or_else(|| o.get(snake))
}

pub(super) fn array<'a>(o: &'a Map<String, Value>, camel: &str, snake: &str) -> &'a [Value] {
    field(o, camel, snake)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A 64-bit integer sent as a number or a decimal string.
pub(super) fn uint(v: Option<&Value>) -> Result<u64, String> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| format!("{n} is not a time")),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| format!("`{s}` is not a time")),
        Some(other) => Err(format!("{other} is not a time")),
    }
}

/// An id in hex (the OTLP JSON rule) or base64 (what some exporters send).
pub(super) fn id(v: Option<&Value>, len: usize) -> Result<Vec<u8>, String> {
    let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    if s.len() == len * 2 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok((0..len)
            .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
            .collect());
    }
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        if let Ok(b) = base64::Engine::decode(engine, s)
            && b.len() == len
        {
            return Ok(b);
        }
    }
    Err(format!("`{s}` is not a {len}-byte id in hex or base64"))
}

/// An enum sent as a number or by its name (`SPAN_KIND_SERVER`).
pub(super) fn enumeration(v: Option<&Value>, names: &[&str]) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s
            .parse()
            .ok()
            .or_else(|| {
                names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(s))
                    .map(|i| i as i64)
            })
            .unwrap_or(0),
        _ => 0,
    }
}

pub(super) const KINDS: &[&str] = &[
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];

pub(super) const STATUS: &[&str] = &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

pub(super) fn value_json(v: &Value) -> Option<Attr> {
    let o = v.as_object()?;
    let (k, inner) = o.iter().next()?;
    Some(match k.as_str() {
        "stringValue" | "string_value" => Attr::Str(inner.as_str()?.to_owned()),
        "boolValue" | "bool_value" => Attr::Bool(inner.as_bool()?),
        "intValue" | "int_value" => Attr::Int(match inner {
            Value::String(s) => s.trim().parse().ok()?,
            Value::Number(n) => n.as_i64()?,
            _ => return None,
        }),
        "doubleValue" | "double_value" => Attr::Double(match inner {
            Value::String(s) => s.trim().parse().ok()?,
            Value::Number(n) => n.as_f64()?,
            _ => return None,
        }),
        "bytesValue" | "bytes_value" => Attr::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(inner.as_str()?)
                .ok()?,
        ),
        "arrayValue" | "array_value" => Attr::Array(
            inner
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(value_json).collect())
                .unwrap_or_default(),
        ),
        "kvlistValue" | "kvlist_value" => Attr::Map(attrs_json(inner.get("values"))),
        _ => return None,
    })
}

pub(super) fn attrs_json(v: Option<&Value>) -> Vec<(String, Attr)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|kv| {
                    let key = kv.get("key")?.as_str()?.to_owned();
                    Some((key, value_json(kv.get("value")?)?))
                })
                .collect()
        })
        .unwrap_or_default()
}

//! A span as liveops keeps it: the OpenTelemetry fields performance work
//! needs, with HTTP and database attributes already read from either the
//! current or the older semantic-convention names.

/// OpenTelemetry's span kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// From OTLP's enum number; unknown numbers read as unspecified.
    pub fn from_otlp(n: i64) -> SpanKind {
        match n {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    pub fn parse(s: &str) -> Option<SpanKind> {
        [
            SpanKind::Unspecified,
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What an HTTP span says about its request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCall {
    pub method: Option<String>,
    /// The route template (`http.route`), like `/users/{id}`.
    pub route: Option<String>,
    /// The request path without the query (`url.path`, or `http.target`).
    pub path: Option<String>,
    pub status: Option<u16>,
    pub request_bytes: Option<u64>,
    pub response_bytes: Option<u64>,
}

/// What a database client span says about its call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbCall {
    /// `db.system.name` (or `db.system`), like `postgresql`.
    pub system: String,
    /// `db.query.text` (or `db.statement`).
    pub statement: Option<String>,
    /// `db.operation.name` (or `db.operation`), like `SELECT`.
    pub operation: Option<String>,
    /// `db.namespace` (or `db.name`).
    pub namespace: Option<String>,
    /// `db.collection.name` (or `db.sql.table`).
    pub table: Option<String>,
}

/// One span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    pub parent_id: Option<String>,
    /// `service.name` of the resource.
    pub service: String,
    /// `service.version` of the resource: the release.
    pub version: Option<String>,
    /// `host.name` of the resource.
    pub host: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    pub start_ns: i64,
    pub duration_ns: i64,
    /// The span's status is ERROR.
    pub status_error: bool,
    pub http: Option<HttpCall>,
    pub db: Option<DbCall>,
    /// The attributes not read into the fields above, as the wire layer
    /// wrote them down (JSON text).
    pub attributes: String,
}

impl Span {
    /// A request the service served: a SERVER span, or a CONSUMER span that
    /// started a trace.
    pub fn is_request(&self) -> bool {
        self.kind == SpanKind::Server
            || (self.kind == SpanKind::Consumer && self.parent_id.is_none())
    }

    /// A failed request: a 5xx answer, or an ERROR status. (A 4xx is the
    /// caller's mistake, not the server's, per the HTTP conventions.)
    pub fn is_error(&self) -> bool {
        self.status_error
            || self
                .http
                .as_ref()
                .and_then(|h| h.status)
                .is_some_and(|s| s >= 500)
    }

    pub fn duration_ms(&self) -> f64 {
        self.duration_ns as f64 / 1e6
    }

    /// The route a request is grouped under: `http.route` with its method,
    /// else the method and the path with its ids replaced, else the span's name.
    pub fn route(&self) -> String {
        let Some(h) = &self.http else {
            return self.name.clone();
        };
        http_route(h.method.as_deref(), h.route.as_deref(), h.path.as_deref())
            .unwrap_or_else(|| self.name.clone())
    }
}

/// The route an HTTP request is grouped under, as [`Span::route`] names
/// it: the route template with its method, else the method and the path
/// with its ids replaced; `None` with neither.
pub fn http_route(method: Option<&str>, route: Option<&str>, path: Option<&str>) -> Option<String> {
    let method = method.unwrap_or("");
    let join = |r: &str| {
        if method.is_empty() {
            r.to_owned()
        } else {
            format!("{method} {r}")
        }
    };
    match (route, path) {
        (Some(r), _) if !r.is_empty() => Some(join(r)),
        (_, Some(p)) if !p.is_empty() => Some(join(&normalise_path(p))),
        _ => None,
    }
}

/// A path with its query dropped and each segment that looks like an id
/// (digits, a UUID, a long hex string, or mixed letters and digits of 16 or
/// more characters) replaced by `{id}`.
pub fn normalise_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| if looks_like_id(s) { "{id}" } else { s })
        .collect();
    let out = segments.join("/");
    if out.is_empty() { "/".into() } else { out }
}

fn looks_like_id(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if digits == s.len() {
        return true;
    }
    let hexish = s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if hexish && s.len() >= 16 && digits > 0 {
        return true;
    }
    s.len() >= 16
        && digits > 0
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(route: Option<&str>, path: Option<&str>, status: Option<u16>) -> Span {
        Span {
            trace_id: "0".repeat(32),
            span_id: "1".repeat(16),
            parent_id: None,
            service: "shop".into(),
            version: None,
            host: None,
            name: "GET".into(),
            kind: SpanKind::Server,
            start_ns: 0,
            duration_ns: 2_500_000,
            status_error: false,
            http: Some(HttpCall {
                method: Some("GET".into()),
                route: route.map(str::to_owned),
                path: path.map(str::to_owned),
                status,
                ..HttpCall::default()
            }),
            db: None,
            attributes: "{}".into(),
        }
    }

    #[test]
    fn routes_prefer_the_template_then_a_normalised_path() {
        assert_eq!(
            server(Some("/users/{id}"), Some("/users/7"), None).route(),
            "GET /users/{id}"
        );
        assert_eq!(
            server(None, Some("/users/42/orders?page=2"), None).route(),
            "GET /users/{id}/orders"
        );
        assert_eq!(
            server(None, Some("/o/3fa85f64-5717-4562-b3fc-2c963f66afa6"), None).route(),
            "GET /o/{id}"
        );
        assert_eq!(
            server(None, Some("/docs/getting-started"), None).route(),
            "GET /docs/getting-started"
        );
        let mut bare = server(None, None, None);
        bare.http = None;
        assert_eq!(bare.route(), "GET");
        assert_eq!(normalise_path(""), "/");
    }

    #[test]
    fn errors_are_5xx_or_an_error_status() {
        assert!(server(None, None, Some(503)).is_error());
        assert!(!server(None, None, Some(404)).is_error());
        let mut s = server(None, None, Some(200));
        s.status_error = true;
        assert!(s.is_error());
        assert_eq!(s.duration_ms(), 2.5);
        assert!(s.is_request());
    }
}

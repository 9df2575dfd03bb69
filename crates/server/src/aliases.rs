//! The API paths from before every project route was named for its area
//! (`/projects/{p}/incidents` before `/projects/{p}/support/incidents`),
//! still answered: a request on an old path is rewritten to the new one
//! before routing, so both reach the same handler with the same checks.
//! The OpenAPI document names only the new paths.

use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;

/// The project API's collections that moved under their area, with the area.
const MOVED: &[(&str, &str)] = &[
    ("incidents", "support"),
    ("tickets", "support"),
    ("maintenances", "support"),
    ("oncall", "support"),
    ("schedules", "support"),
    ("policies", "support"),
    ("integrations", "support"),
    ("components", "support"),
    ("backlog", "feedback"),
    ("deployments", "releases"),
    ("trains", "releases"),
    ("hotfixes", "releases"),
    ("adrs", "docs"),
    ("dora", "improvement"),
    ("reports", "improvement"),
    ("capacity", "scaling"),
    ("tiers", "scaling"),
    ("postmortems", "reviews"),
];

const PROJECTS: &str = "/api/v1/projects/";

/// The area-named path for an old one, or `None` when the path is current.
pub fn current_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix(PROJECTS)?;
    let (project, tail) = rest.split_once('/')?;
    let first = tail.split('/').next().unwrap_or(tail);
    let (_, area) = MOVED.iter().find(|(old, _)| *old == first)?;
    Some(format!("{PROJECTS}{project}/{area}/{tail}"))
}

/// Middleware, outside the router: rewrites an old path to its new one.
pub async fn rewrite(mut req: Request, next: Next) -> Response {
    if let Some(path) = current_path(req.uri().path()) {
        let with_query = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(pq) = with_query.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_paths_move_under_their_area() {
        assert_eq!(
            current_path("/api/v1/projects/shop/incidents/4/ack").as_deref(),
            Some("/api/v1/projects/shop/support/incidents/4/ack")
        );
        assert_eq!(
            current_path("/api/v1/projects/shop/backlog").as_deref(),
            Some("/api/v1/projects/shop/feedback/backlog")
        );
        assert_eq!(
            current_path("/api/v1/projects/shop/postmortems/2").as_deref(),
            Some("/api/v1/projects/shop/reviews/postmortems/2")
        );
    }

    #[test]
    fn current_and_unrelated_paths_stay() {
        for p in [
            "/api/v1/projects/shop/support/incidents",
            "/api/v1/projects/shop/analytics/trends",
            "/api/v1/projects/shop",
            "/api/v1/projects/incidents",
            "/api/v1/users",
            "/p/shop/incidents",
        ] {
            assert_eq!(current_path(p), None, "{p}");
        }
    }
}

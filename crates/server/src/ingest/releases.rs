//! Release intake from Git hosts and CI: GitHub webhooks (checked by
//! `X-Hub-Signature-256`), GitLab webhooks (by `X-Gitlab-Token`) and a
//! generic CI call (by `X-Liveops-Signature`), each for the project its
//! path names. A delivery that fails its check is refused with 401 before
//! anything in it is read.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use crate::contract::releases::DeploymentBody;
use crate::error::{ApiError, ApiResult};
use crate::releases::hooks::{self, Proof, Provider, Taken};
use crate::signing::SIGNATURE_HEADER;
use crate::state::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A GitHub webhook: `push`, `pull_request`, `deployment_status`, `release`
/// (and `ping`, answered and ignored).
pub async fn github(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Taken>> {
    let proof = header(&headers, "x-hub-signature-256").map_or(Proof::None, Proof::Hmac);
    let project_id = hooks::verify(&state, &project, Provider::GitHub, proof, &body).await?;
    let event = header(&headers, "x-github-event")
        .ok_or_else(|| ApiError::bad_request("the X-GitHub-Event header is missing"))?;
    let read = liveops_wire::githooks::github(event, &body)
        .map_err(|e| ApiError::bad_request(format!("the {event} payload: {e}")))?;
    let delivery = header(&headers, "x-github-delivery");
    Ok(Json(
        hooks::take(&state, &project_id, Provider::GitHub, delivery, read).await?,
    ))
}

/// A GitLab webhook: Push, Merge Request, Deployment and Release hooks.
pub async fn gitlab(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Taken>> {
    let proof = header(&headers, "x-gitlab-token").map_or(Proof::None, Proof::Token);
    let project_id = hooks::verify(&state, &project, Provider::GitLab, proof, &body).await?;
    let event = header(&headers, "x-gitlab-event")
        .ok_or_else(|| ApiError::bad_request("the X-Gitlab-Event header is missing"))?;
    let read = liveops_wire::githooks::gitlab(event, &body)
        .map_err(|e| ApiError::bad_request(format!("the {event} payload: {e}")))?;
    let delivery =
        header(&headers, "x-gitlab-event-uuid").or_else(|| header(&headers, "idempotency-key"));
    Ok(Json(
        hooks::take(&state, &project_id, Provider::GitLab, delivery, read).await?,
    ))
}

/// A deployment from any CI system: the API's deployment body, signed
/// `sha256=<hex HMAC-SHA256 of the body>` in `X-Liveops-Signature`, with an
/// optional `X-Liveops-Delivery` id that makes a retry record nothing twice.
pub async fn ci(
    State(state): State<AppState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Taken>> {
    let proof = header(&headers, SIGNATURE_HEADER).map_or(Proof::None, Proof::Hmac);
    let project_id = hooks::verify(&state, &project, Provider::Ci, proof, &body).await?;
    let read: DeploymentBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the deployment is not valid: {e}")))?;
    let deployment = read.parse().map_err(ApiError::unprocessable)?;
    let delivery = header(&headers, "x-liveops-delivery");
    Ok(Json(
        hooks::take_ci(&state, &project_id, delivery, &deployment).await?,
    ))
}

//! Slack's interactivity requests: a button pressed on a message arrives
//! as `application/x-www-form-urlencoded` with one `payload` field holding
//! the `block_actions` JSON, signed `X-Slack-Signature: v0=<hex>` over
//! `v0:{X-Slack-Request-Timestamp}:{body}` with the app's signing secret.

use serde_json::Value;

/// A button press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAction {
    pub action_id: String,
    /// The button's value.
    pub value: String,
    /// Who pressed it: their Slack user name, or their id.
    pub user: String,
}

/// Why an interactivity request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    #[error("the body has no `payload` field")]
    NoPayload,
    #[error("`payload` is not JSON: {0}")]
    Json(String),
    #[error("the payload is a `{0}`, not a `block_actions`")]
    NotAnAction(String),
    #[error("the payload has no action with a value")]
    NoAction,
}

/// What Slack signs: `v0:{timestamp}:{body}`.
pub fn signed_text(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("v0:{timestamp}:").into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads the first action of a `block_actions` request.
pub fn block_action(body: &[u8]) -> Result<BlockAction, SlackError> {
    let payload = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or(SlackError::NoPayload)?;
    let v: Value = serde_json::from_str(&payload).map_err(|e| SlackError::Json(e.to_string()))?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != "block_actions" {
        return Err(SlackError::NotAnAction(kind.chars().take(40).collect()));
    }
    let action = v
        .get("actions")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .ok_or(SlackError::NoAction)?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let user = v.get("user").cloned().unwrap_or(Value::Null);
    Ok(BlockAction {
        action_id: text(action, "action_id").unwrap_or_default(),
        value: text(action, "value").ok_or(SlackError::NoAction)?,
        user: text(&user, "username")
            .or_else(|| text(&user, "name"))
            .or_else(|| text(&user, "id"))
            .unwrap_or_else(|| "someone on Slack".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(payload: &str) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", payload)
            .finish()
            .into_bytes()
    }

    #[test]
    fn a_button_press_reads_its_value_and_user() {
        let body = form(
            r#"{"type":"block_actions","user":{"id":"U1","username":"ann","name":"ann"},
               "actions":[{"action_id":"acknowledge","block_id":"b","value":"tok.sig","type":"button"}],
               "response_url":"https://hooks.slack.com/actions/x"}"#,
        );
        assert_eq!(
            block_action(&body),
            Ok(BlockAction {
                action_id: "acknowledge".into(),
                value: "tok.sig".into(),
                user: "ann".into()
            })
        );
        assert_eq!(
            signed_text("1531420618", b"a=b"),
            b"v0:1531420618:a=b".to_vec()
        );
    }

    #[test]
    fn other_requests_say_what_is_wrong() {
        assert_eq!(block_action(b"x=1"), Err(SlackError::NoPayload));
        assert!(matches!(block_action(&form("{")), Err(SlackError::Json(_))));
        assert_eq!(
            block_action(&form(r#"{"type":"view_submission"}"#)),
            Err(SlackError::NotAnAction("view_submission".into()))
        );
        assert_eq!(
            block_action(&form(r#"{"type":"block_actions","actions":[]}"#)),
            Err(SlackError::NoAction)
        );
    }
}

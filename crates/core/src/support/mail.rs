//! Ticket e-mail both ways: the reply-to address that carries a ticket's
//! token (`support+t-<token>@example.com`), the message ids of `In-Reply-To`
//! and `References`, and a customer's answer with its quoted history and
//! signature trimmed.

/// The plus-tag a ticket's reply-to address carries before its token.
const TAG: &str = "+t-";

/// The bare address of `Name <local@domain>` or `local@domain`.
pub fn bare_address(s: &str) -> &str {
    let s = s.trim();
    match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].trim(),
        _ => s,
    }
}

/// The reply-to address of a ticket: `from`'s local part tagged with the
/// ticket's token. `None` when `from` has no `@`.
pub fn reply_address(from: &str, token: &str) -> Option<String> {
    let (local, domain) = bare_address(from).rsplit_once('@')?;
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    Some(format!("{local}{TAG}{token}@{domain}"))
}

/// The ticket token an address (or a list of them, as in `To`) carries.
pub fn token_in(addresses: &str) -> Option<String> {
    addresses.split(',').find_map(|a| {
        let local = bare_address(a).rsplit_once('@')?.0;
        let token = &local[local.find(TAG)? + TAG.len()..];
        (!token.is_empty() && token.chars().all(|c| c.is_ascii_alphanumeric()))
            .then(|| token.to_owned())
    })
}

/// The message ids of an `In-Reply-To` or `References` header, without
/// their angle brackets, in order.
pub fn message_ids(header: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let id = rest[start + 1..start + len].trim();
        if !id.is_empty() && !id.contains(char::is_whitespace) {
            out.push(id.to_owned());
        }
        rest = &rest[start + len + 1..];
    }
    if out.is_empty() {
        out.extend(
            header
                .split_whitespace()
                .filter(|t| t.contains('@'))
                .map(str::to_owned),
        );
    }
    out
}

/// Whether a line starts the quoted history mail clients append below an
/// answer.
fn starts_history(line: &str, next: Option<&str>) -> bool {
    let t = line.trim();
    let lower = t.to_ascii_lowercase();
    (lower.starts_with("on ")
        && (lower.ends_with("wrote:")
            || next.is_some_and(|n| n.trim().to_ascii_lowercase().ends_with("wrote:"))))
        || (lower.starts_with("le ") && lower.ends_with("a écrit :"))
        || (lower.starts_with("am ") && lower.ends_with("schrieb:"))
        || lower.starts_with("-----original message-----")
        || (t.len() >= 8 && t.chars().all(|c| c == '_'))
        || (lower.starts_with("from:")
            && next.is_some_and(|n| {
                let n = n.trim().to_ascii_lowercase();
                n.starts_with("sent:") || n.starts_with("date:") || n.starts_with("to:")
            }))
}

/// Whether a line starts a signature.
fn starts_signature(line: &str) -> bool {
    let t = line.trim_end();
    let lower = t.trim().to_ascii_lowercase();
    t == "-- "
        || t == "--"
        || lower.starts_with("sent from my ")
        || lower.starts_with("get outlook for ")
}

/// A customer's answer without the history their client quoted below it
/// or the signature under it. When nothing would be left, the text as it
/// came (trimmed), so nothing a customer wrote is lost.
pub fn strip_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if starts_history(line, lines.get(i + 1).copied()) || starts_signature(line) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push(line);
    }
    let out = kept.join("\n").trim().to_owned();
    if out.is_empty() {
        text.trim().to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_address_carries_the_token_and_reads_back() {
        let a = reply_address("Shop support <support@shop.example>", "k3y9").expect("address");
        assert_eq!(a, "support+t-k3y9@shop.example");
        assert_eq!(token_in(&a).as_deref(), Some("k3y9"));
        assert_eq!(
            reply_address("help+old@shop.example", "x1").as_deref(),
            Some("help+t-x1@shop.example")
        );
        assert_eq!(
            token_in("Ann <ann@x.example>, \"Support\" <support+t-Ab12@shop.example>").as_deref(),
            Some("Ab12")
        );
        assert_eq!(token_in("support@shop.example"), None);
        assert_eq!(token_in("support+t-@shop.example"), None);
        assert_eq!(token_in("support+t-a.b@shop.example"), None);
        assert_eq!(reply_address("nobody", "x"), None);
    }

    #[test]
    fn message_ids_come_out_of_their_brackets() {
        assert_eq!(
            message_ids("<a1@x.example>\r\n <b2@y.example>"),
            vec!["a1@x.example", "b2@y.example"]
        );
        assert_eq!(message_ids("c3@z.example"), vec!["c3@z.example"]);
        assert!(message_ids("").is_empty());
        assert!(message_ids("<").is_empty());
    }

    #[test]
    fn quoted_history_and_signatures_are_trimmed() {
        let gmail = "It works now, thanks!\n\nOn Tue, 1 Dec 2026 at 10:00, Shop support <support+t-k@shop.example> wrote:\n> We changed the total.\n> Best";
        assert_eq!(strip_reply(gmail), "It works now, thanks!");
        let wrapped = "Still broken.\n\nOn Tue, 1 Dec 2026 at 10:00, Shop support\n<support@shop.example> wrote:\n> Try again";
        assert_eq!(strip_reply(wrapped), "Still broken.");
        let outlook =
            "Yes please.\r\n\r\n-----Original Message-----\r\nFrom: Support\r\nSent: Tuesday";
        assert_eq!(strip_reply(outlook), "Yes please.");
        let outlook_new =
            "Yes.\n________________________________\nFrom: Support <s@x>\nSent: Tuesday";
        assert_eq!(strip_reply(outlook_new), "Yes.");
        let signed = "Thanks.\n-- \nAnn Example\nCEO, Example Ltd";
        assert_eq!(strip_reply(signed), "Thanks.");
        assert_eq!(strip_reply("Ok\n\nSent from my iPhone"), "Ok");
        let inline = "> you asked\nmy answer\n> more\nand more";
        assert_eq!(strip_reply(inline), "my answer\nand more");
        // Only quotes: keep what came rather than store nothing.
        assert_eq!(strip_reply("> only a quote"), "> only a quote");
        // "On" in the middle of an answer is not history.
        assert_eq!(
            strip_reply("On Monday it failed twice."),
            "On Monday it failed twice."
        );
    }
}

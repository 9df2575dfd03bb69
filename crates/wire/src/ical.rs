//! iCalendar (RFC 5545) feeds of on-call shifts.

use jiff::Timestamp;

/// One event in a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    pub description: Option<String>,
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes TEXT values: backslash, semicolon, comma and newlines.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes a content line, folded at 75 octets as RFC 5545 asks.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// A whole calendar named `name`, stamped `now`.
pub fn calendar(name: &str, events: &[Event], now: Timestamp) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//liveops//on-call//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", escape(&e.uid)));
        line(&mut out, &format!("DTSTAMP:{}", utc(now)));
        line(&mut out, &format!("DTSTART:{}", utc(e.start)));
        line(&mut out, &format!("DTEND:{}", utc(e.end)));
        line(&mut out, &format!("SUMMARY:{}", escape(&e.summary)));
        if let Some(d) = &e.description {
            line(&mut out, &format!("DESCRIPTION:{}", escape(d)));
        }
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_events_with_escapes_and_folding() {
        let t = |s| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH);
        let long = "x".repeat(100);
        let cal = calendar(
            "Primary; L1",
            &[Event {
                uid: "a@liveops".into(),
                start: t(1_700_000_000),
                end: t(1_700_086_400),
                summary: "On call: ann, L1".into(),
                description: Some(long.clone()),
            }],
            t(1_700_000_000),
        );
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(cal.contains("X-WR-CALNAME:Primary\\; L1\r\n"));
        assert!(cal.contains("DTSTART:20231114T221320Z\r\n"));
        assert!(cal.contains("SUMMARY:On call: ann\\, L1\r\n"));
        assert!(cal.lines().all(|l| l.len() <= 75), "lines are folded");
        let unfolded = cal.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("DESCRIPTION:{long}")));
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
    }
}

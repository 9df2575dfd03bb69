//! Charts drawn as SVG by our own code: no JavaScript, readable without CSS.

use maud::{Markup, PreEscaped, html};

/// Fill colour for a status-page component state.
fn status_colour(status: &str) -> &'static str {
    match status {
        "major_outage" => "#b3261e",
        "partial_outage" => "#e8710a",
        "degraded_performance" => "#f2c94c",
        "under_maintenance" => "#4a7fd4",
        _ => "#2e9d57",
    }
}

/// One bar per day, coloured by the worst state that day, each with a tooltip.
pub fn uptime_bars(days: &[(String, f64, &str)]) -> Markup {
    let bar = 6.0;
    let gap = 2.0;
    let height = 34.0;
    let width = days.len() as f64 * (bar + gap);
    html! {
        svg.uptime xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox={"0 0 " (width) " " (height)} width=(width) height=(height)
            aria-label={"Daily uptime over the last " (days.len()) " days"} {
            @for (i, (date, uptime, worst)) in days.iter().enumerate() {
                rect x=(i as f64 * (bar + gap)) y="0" width=(bar) height=(height) rx="1"
                    fill=(status_colour(worst)) {
                    title { (date) ": " (format!("{:.2}", uptime * 100.0)) "% (" (worst.replace('_', " ")) ")" }
                }
            }
        }
    }
}

/// A plain horizontal bar chart: one labelled bar per value.
pub fn bars(values: &[(String, f64)], unit: &str) -> Markup {
    let max = values.iter().map(|v| v.1).fold(0.0_f64, f64::max).max(1e-9);
    let row = 22.0;
    let label_w = 120.0;
    let bar_w = 300.0;
    let height = values.len() as f64 * row + 4.0;
    html! {
        svg.bars xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox={"0 0 " (label_w + bar_w + 80.0) " " (height)} width=(label_w + bar_w + 80.0) height=(height) {
            @for (i, (label, v)) in values.iter().enumerate() {
                @let y = i as f64 * row + 2.0;
                text x="0" y=(y + 14.0) font-size="12" { (label) }
                rect x=(label_w) y=(y + 3.0) width=((v / max) * bar_w) height=(row - 8.0) fill="#1f5fbf" {}
                text x=(label_w + (v / max) * bar_w + 6.0) y=(y + 14.0) font-size="12" { (format!("{v:.0}")) (PreEscaped("&#8239;")) (unit) }
            }
        }
    }
}

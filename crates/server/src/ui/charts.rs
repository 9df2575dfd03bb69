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

const PALETTE: [&str; 6] = [
    "#1f5fbf", "#e8710a", "#2e9d57", "#8e44ad", "#b3261e", "#5f6b7a",
];

/// Lines over shared x labels, one per series, with a legend, axis ticks
/// and a tooltip on every point.
pub fn lines(x_labels: &[String], series: &[(String, Vec<f64>)]) -> Markup {
    let (w, h) = (640.0, 220.0);
    let (left, right, top, bottom) = (48.0, 28.0, 12.0, 36.0);
    let n = x_labels.len().max(1);
    let max = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let x = |i: usize| left + (w - left - right) * (i as f64) / ((n - 1).max(1) as f64);
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let ticks = [0.0, 0.5, 1.0];
    let every = n.div_ceil(6).max(1);
    html! {
        figure.chart {
            svg.lines xmlns="http://www.w3.org/2000/svg" role="img" viewBox={"0 0 " (w) " " (h)}
                width=(w) height=(h) aria-label="Line chart" {
                @for t in ticks {
                    line x1=(left) x2=(w - right) y1=(y(max * t)) y2=(y(max * t)) stroke="#dde" {}
                    text x=(left - 6.0) y=(y(max * t) + 4.0) font-size="11" text-anchor="end" { (num(max * t)) }
                }
                @for (i, label) in x_labels.iter().enumerate() {
                    @if i % every == 0 || i + 1 == n {
                        text x=(x(i)) y=(h - bottom + 16.0) font-size="11" text-anchor="middle" { (label) }
                    }
                }
                @for (k, (name, values)) in series.iter().enumerate() {
                    @let colour = PALETTE[k % PALETTE.len()];
                    @let points = values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect::<Vec<_>>().join(" ");
                    polyline points=(points) fill="none" stroke=(colour) stroke-width="2" {}
                    @for (i, v) in values.iter().enumerate() {
                        circle cx=(x(i)) cy=(y(*v)) r="2.5" fill=(colour) {
                            title { (name) " · " (x_labels.get(i).map_or("", |s| s.as_str())) ": " (num(*v)) }
                        }
                    }
                }
            }
            figcaption.legend {
                @for (k, (name, _)) in series.iter().enumerate() {
                    span { svg width="12" height="12" { rect width="12" height="12" fill=(PALETTE[k % PALETTE.len()]) {} } " " (name) " " }
                }
            }
        }
    }
}

/// A number for an axis or a tooltip: whole above 100, else with as many
/// decimals as small values need to differ.
fn num(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A cell background whose strength follows `share` (0 to 1).
pub fn heat(share: f64) -> String {
    let a = (share.clamp(0.0, 1.0) * 0.85 + 0.05).min(0.9);
    format!(
        "background: rgba(31, 95, 191, {a:.2}); color: {}",
        if a > 0.5 { "#fff" } else { "#111" }
    )
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn small_values_keep_their_decimals() {
        assert_eq!(num(0.5), "0.50");
        assert_eq!(num(2.25), "2.2");
        assert_eq!(num(7.0), "7");
        assert_eq!(num(1234.6), "1235");
    }
}

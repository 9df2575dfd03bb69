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
/// and a tooltip on every point. A value that is not finite (a formula's
/// division by zero) is a gap in its line; the axis goes below zero when
/// a value does.
pub fn lines(x_labels: &[String], series: &[(String, Vec<f64>)]) -> Markup {
    let (w, h) = (640.0, 220.0);
    let (left, right, top, bottom) = (48.0, 28.0, 12.0, 36.0);
    let n = x_labels.len().max(1);
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.1.iter().copied())
            .filter(|v| v.is_finite())
    };
    let min = finite().fold(0.0_f64, f64::min);
    let max = finite().fold(0.0_f64, f64::max).max(min + 1.0);
    let x = |i: usize| left + (w - left - right) * (i as f64) / ((n - 1).max(1) as f64);
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - min) / (max - min));
    let ticks = [0.0, 0.5, 1.0].map(|t| min + (max - min) * t);
    let every = n.div_ceil(6).max(1);
    html! {
        figure.chart {
            svg.lines xmlns="http://www.w3.org/2000/svg" role="img" viewBox={"0 0 " (w) " " (h)}
                width=(w) height=(h) aria-label="Line chart" {
                @for t in ticks {
                    line x1=(left) x2=(w - right) y1=(y(t)) y2=(y(t)) stroke="#dde" {}
                    text x=(left - 6.0) y=(y(t) + 4.0) font-size="11" text-anchor="end" { (num(t)) }
                }
                @for (i, label) in x_labels.iter().enumerate() {
                    @if i % every == 0 || i + 1 == n {
                        text x=(x(i)) y=(h - bottom + 16.0) font-size="11" text-anchor="middle" { (label) }
                    }
                }
                @for (k, (name, values)) in series.iter().enumerate() {
                    @let colour = PALETTE[k % PALETTE.len()];
                    @for run in runs(values) {
                        @let points = run.map(|i| format!("{:.1},{:.1}", x(i), y(values[i]))).collect::<Vec<_>>().join(" ");
                        polyline points=(points) fill="none" stroke=(colour) stroke-width="2" {}
                    }
                    @for (i, v) in values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
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

/// The index ranges of `values` that hold finite numbers, each as long
/// as it can be.
fn runs(values: &[f64]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, v) in values.iter().enumerate() {
        match (v.is_finite(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..values.len());
    }
    out
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

/// A number to three significant digits (whole from 100 up, in scientific
/// notation below a millionth), for values whose scale is unknown in
/// advance, like a request rate per second.
pub(crate) fn significant(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    if v.abs() < 1e-6 {
        return format!("{v:.2e}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = usize::try_from(2 - magnitude).unwrap_or(0).min(12);
    format!("{v:.decimals$}")
}

/// The class of a cell whose background strength follows `share` (0 to
/// 1), in eleven steps (`heat-0` to `heat-10`, see the stylesheet).
pub fn heat(share: f64) -> String {
    // A class, not a `style` attribute: the pages' CSP (`style-src 'self'`)
    // drops inline styles, so the shades live in the stylesheet.
    let step = (share.clamp(0.0, 1.0) * 10.0).round() as u8;
    format!("heat-{step}")
}

/// One forecast step for [`forecast`]: the point forecast and its 80 % and
/// 95 % intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub at_ms: i64,
    pub value: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

/// At most this many points of a line are drawn; longer ones are thinned.
const MAX_DRAWN: usize = 400;

/// Every `k`-th item so that at most [`MAX_DRAWN`] remain, always with the last.
fn thinned<T: Copy>(items: &[T]) -> Vec<T> {
    let every = items.len().div_ceil(MAX_DRAWN).max(1);
    let mut out: Vec<T> = items.iter().step_by(every).copied().collect();
    if let Some(&last) = items.last()
        && !(items.len() - 1).is_multiple_of(every)
    {
        out.push(last);
    }
    out
}

/// History as a solid line, the forecast after it as a dashed one inside
/// its shaded 95 % and 80 % bands, and a capacity as a horizontal line, over
/// a time axis of dates. `label` names the chart for screen readers.
pub fn forecast(
    label: &str,
    history: &[(i64, f64)],
    bands: &[Band],
    capacity: Option<f64>,
) -> Markup {
    let (w, h) = (720.0, 240.0);
    let (left, right, top, bottom) = (72.0, 16.0, 12.0, 36.0);
    let first = history
        .first()
        .map(|p| p.0)
        .or(bands.first().map(|b| b.at_ms))
        .unwrap_or(0);
    let last = bands
        .last()
        .map(|b| b.at_ms)
        .or(history.last().map(|p| p.0))
        .unwrap_or(first);
    let span = (last - first).max(1) as f64;
    let values = history
        .iter()
        .map(|p| p.1)
        .chain(bands.iter().flat_map(|b| [b.lo95, b.hi95]))
        .chain(capacity);
    let (lo, hi) = values.fold((0.0_f64, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi > lo { hi * 1.05 } else { lo + 1.0 };
    let x = |at: i64| left + (w - left - right) * ((at - first) as f64 / span);
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    let pts = |items: &mut dyn Iterator<Item = (i64, f64)>| {
        items
            .map(|(at, v)| format!("{:.1},{:.1}", x(at), y(v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let drawn = thinned(bands);
    let area = |upper: fn(&Band) -> f64, lower: fn(&Band) -> f64| {
        let mut ring: Vec<(i64, f64)> = drawn.iter().map(|b| (b.at_ms, upper(b))).collect();
        ring.extend(drawn.iter().rev().map(|b| (b.at_ms, lower(b))));
        pts(&mut ring.into_iter())
    };
    let past = thinned(history);
    // The forecast line starts at the last observation, so the two join.
    let ahead: Vec<(i64, f64)> = history
        .last()
        .copied()
        .into_iter()
        .chain(drawn.iter().map(|b| (b.at_ms, b.value)))
        .collect();
    let ticks = [0.0, 0.25, 0.5, 0.75, 1.0];
    let date = |at: i64| {
        jiff::Timestamp::from_millisecond(at)
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let now = bands.first().map(|b| b.at_ms);
    html! {
        figure.chart.forecast {
            svg.forecast xmlns="http://www.w3.org/2000/svg" role="img" viewBox={"0 0 " (w) " " (h)}
                width=(w) height=(h) aria-label=(label) {
                title { (label) }
                @for t in [0.0, 0.5, 1.0] {
                    @let v = lo + (hi - lo) * t;
                    line x1=(left) x2=(w - right) y1=(y(v)) y2=(y(v)) stroke="#dde" {}
                    text x=(left - 6.0) y=(y(v) + 4.0) font-size="11" text-anchor="end" { (significant(v)) }
                }
                @for t in ticks {
                    @let at = first + (span * t) as i64;
                    @let anchor = if t == 0.0 { "start" } else if t == 1.0 { "end" } else { "middle" };
                    text x=(x(at)) y=(h - bottom + 16.0) font-size="11" text-anchor=(anchor) { (date(at)) }
                }
                @if !drawn.is_empty() {
                    polygon.band95 points=(area(|b| b.hi95, |b| b.lo95)) fill="#1f5fbf" fill-opacity="0.12" stroke="none" {
                        title { "95 % prediction interval" }
                    }
                    polygon.band80 points=(area(|b| b.hi80, |b| b.lo80)) fill="#1f5fbf" fill-opacity="0.22" stroke="none" {
                        title { "80 % prediction interval" }
                    }
                }
                @if let Some(at) = now {
                    line x1=(x(at)) x2=(x(at)) y1=(top) y2=(h - bottom) stroke="#5f6b7a" stroke-dasharray="2 3" {}
                }
                polyline.history points=(pts(&mut past.into_iter())) fill="none" stroke="#1d232b" stroke-width="1.5" {}
                polyline.predicted points=(pts(&mut ahead.into_iter())) fill="none" stroke="#1f5fbf" stroke-width="2" stroke-dasharray="6 3" {}
                @if let Some(c) = capacity {
                    line.capacity x1=(left) x2=(w - right) y1=(y(c)) y2=(y(c)) stroke="#b3261e" stroke-width="1.5" stroke-dasharray="8 4" {}
                    text x=(left + 4.0) y=(y(c) - 4.0) font-size="11" fill="#b3261e" { "capacity " (significant(c)) }
                }
            }
            figcaption.legend {
                span { svg width="16" height="12" { line x1="0" x2="16" y1="6" y2="6" stroke="#1d232b" stroke-width="2" {} } " history " }
                span { svg width="16" height="12" { line x1="0" x2="16" y1="6" y2="6" stroke="#1f5fbf" stroke-width="2" stroke-dasharray="4 2" {} } " forecast " }
                span { svg width="12" height="12" { rect width="12" height="12" fill="#1f5fbf" fill-opacity="0.22" {} } " 80 % / 95 % interval " }
                @if capacity.is_some() {
                    span { svg width="16" height="12" { line x1="0" x2="16" y1="6" y2="6" stroke="#b3261e" stroke-width="2" stroke-dasharray="4 2" {} } " capacity" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn heat_steps_are_classes_the_stylesheet_defines() {
        assert_eq!(super::heat(0.0), "heat-0");
        assert_eq!(super::heat(0.44), "heat-4");
        assert_eq!(super::heat(1.7), "heat-10");
        assert_eq!(super::heat(f64::NAN), "heat-0");
        for k in 0..=10 {
            assert!(
                crate::ui::style::CSS.contains(&format!(".heat-{k} {{")),
                "{k}"
            );
        }
    }

    #[test]
    fn significant_digits_follow_the_magnitude() {
        assert_eq!(super::significant(0.000_798_6), "0.000799");
        assert_eq!(super::significant(3.0845), "3.08");
        assert_eq!(super::significant(-12.34), "-12.3");
        assert_eq!(super::significant(1234.4), "1234");
        assert_eq!(super::significant(0.0), "0");
        assert_eq!(super::significant(4.3e-19), "4.30e-19");
    }

    #[test]
    fn gaps_split_a_line_and_negatives_lower_the_axis() {
        assert_eq!(
            super::runs(&[1.0, f64::NAN, 2.0, 3.0, f64::NAN]),
            vec![0..1, 2..4]
        );
        assert!(super::runs(&[f64::NAN]).is_empty());
        let svg = super::lines(
            &["a".into(), "b".into(), "c".into()],
            &[("A - B".into(), vec![-4.0, f64::NAN, 2.0])],
        )
        .into_string();
        assert!(!svg.contains("NaN"), "{svg}");
        assert!(svg.contains(">-4<"), "the axis starts below zero: {svg}");
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
    }

    #[test]
    fn long_lines_are_thinned_to_their_ends() {
        let items: Vec<usize> = (0..1000).collect();
        let t = super::thinned(&items);
        assert!(t.len() <= super::MAX_DRAWN + 1, "{}", t.len());
        assert_eq!((t.first(), t.last()), (Some(&0), Some(&999)));
        assert_eq!(super::thinned(&[1, 2, 3]), vec![1, 2, 3]);
    }

    #[test]
    fn small_values_keep_their_decimals() {
        assert_eq!(num(0.5), "0.50");
        assert_eq!(num(2.25), "2.2");
        assert_eq!(num(7.0), "7");
        assert_eq!(num(1234.6), "1235");
    }
}

//! The one stylesheet, ours, served with the pages.

use axum::http::header;
use axum::response::IntoResponse;

pub(crate) const CSS: &str = r#"
:root { --fg: #1d232b; --muted: #5b6673; --line: #d8dde3; --bg: #f6f7f9; --accent: #1f5fbf; --bad: #b3261e; --ok: #1e7b3a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
header.top { display: flex; align-items: center; gap: 1rem; padding: .5rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
.spacer { flex: 1; }
.who { color: var(--muted); }
form.inline { display: inline; margin: 0; }
details.switcher { position: relative; }
details.switcher summary { cursor: pointer; list-style: none; padding: .25rem .5rem; border: 1px solid var(--line); border-radius: 4px; }
details.switcher ul { position: absolute; z-index: 2; background: #fff; border: 1px solid var(--line); list-style: none; margin: .25rem 0 0; padding: .25rem 0; min-width: 14rem; }
details.switcher li { padding: .25rem .75rem; }
.shell { display: flex; min-height: calc(100vh - 3rem); }
nav.areas { width: 14rem; flex: none; background: #fff; border-right: 1px solid var(--line); }
nav.areas ul { list-style: none; margin: 0; padding: .5rem 0; }
nav.areas a { display: block; padding: .3rem 1rem; text-decoration: none; color: var(--fg); }
nav.areas a[aria-current="page"] { background: var(--bg); font-weight: 600; border-left: 3px solid var(--accent); }
nav.areas li.sep { border-top: 1px solid var(--line); margin-top: .5rem; padding-top: .5rem; }
main { flex: 1; padding: 1rem 2rem; max-width: 72rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
.lede, .meta { color: var(--muted); }
.empty { padding: 1.5rem; background: #fff; border: 1px dashed var(--line); border-radius: 6px; }
ul.cards { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 1rem; }
li.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; }
li.card h2 { font-size: 1.05rem; margin: 0 0 .25rem; }
li.card p { margin: 0; color: var(--muted); }
section.glance { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 1rem; margin: 1rem 0 1.5rem; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; }
.tile h2 { font-size: 1rem; margin: 0 0 .25rem; }
.heat-0 { background: rgba(31, 95, 191, 0.05); color: #111; }
.heat-1 { background: rgba(31, 95, 191, 0.14); color: #111; }
.heat-2 { background: rgba(31, 95, 191, 0.22); color: #111; }
.heat-3 { background: rgba(31, 95, 191, 0.30); color: #111; }
.heat-4 { background: rgba(31, 95, 191, 0.39); color: #111; }
.heat-5 { background: rgba(31, 95, 191, 0.47); color: #111; }
.heat-6 { background: rgba(31, 95, 191, 0.56); color: #fff; }
.heat-7 { background: rgba(31, 95, 191, 0.65); color: #fff; }
.heat-8 { background: rgba(31, 95, 191, 0.73); color: #fff; }
.heat-9 { background: rgba(31, 95, 191, 0.82); color: #fff; }
.heat-10 { background: rgba(31, 95, 191, 0.90); color: #fff; }
.dashboard-grid { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 1rem; margin-bottom: 1rem; }
.dashboard-grid > section { margin-bottom: 0; min-width: 0; overflow-x: auto; }
.dashboard-grid svg { max-width: 100%; height: auto; }
.span-1 { grid-column: span 1; } .span-2 { grid-column: span 2; } .span-3 { grid-column: span 3; }
.goal-met, .alert-quiet { color: var(--ok); } .goal-missed { color: #a15c00; } .alert-firing { color: var(--bad); }
.tile p, .tile ul { margin: .25rem 0 0; }
.tile ul { padding-left: 1.1rem; }
.tile .figure { font-size: 1.6rem; font-weight: 600; margin: 0; }
.tile .ok { color: var(--ok); }
.field-error { display: block; color: var(--bad); font-size: .9rem; margin: -.25rem 0 .5rem; }
section.snippet pre { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: .5rem .75rem; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 1rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
section { margin-bottom: 2rem; }
form.stack { display: grid; gap: .4rem; max-width: 24rem; }
form.settings-form { max-width: 40rem; }
form.settings-form .field { display: flex; flex-direction: column; gap: .2rem; margin-bottom: .5rem; }
form.settings-form .field textarea { width: 100%; }
form.settings-form .field.invalid input, form.settings-form .field.invalid textarea { border-color: var(--bad); }
form.settings-form .field-error { margin: 0; }
form.wide { max-width: 60rem; }
#yaml { width: 100%; font-family: monospace; }
fieldset { border: 1px solid var(--line); border-radius: 4px; }
input, select, button { font: inherit; padding: .35rem .5rem; }
button { cursor: pointer; background: var(--accent); color: #fff; border: 0; border-radius: 4px; }
.error { color: var(--bad); font-weight: 600; }
.notice { background: #eef5ff; border: 1px solid #c5dbff; padding: .75rem 1rem; border-radius: 6px; }
code.secret { user-select: all; word-break: break-all; }
section.login { max-width: 22rem; margin: 4rem auto; background: #fff; padding: 1.5rem 2rem; border: 1px solid var(--line); border-radius: 8px; }
section.login form { display: grid; gap: .5rem; }
ol.timeline { list-style: none; padding: 0; border-left: 2px solid var(--line); }
ol.timeline li { padding: .25rem .75rem; }
ol.timeline time { color: var(--muted); font-variant-numeric: tabular-nums; }
tr[data-state="triggered"] td:nth-child(3), .meta[data-state="triggered"] .state { color: var(--bad); font-weight: 600; }
tr[data-state="acknowledged"] td:nth-child(3) { color: #a15c00; }
section.statuspage { max-width: 48rem; margin: 2rem auto; }
p.overall { padding: 1rem; border-radius: 6px; background: #e6f4ea; font-weight: 600; }
p.overall[data-indicator="minor"] { background: #fff4d6; }
p.overall[data-indicator="major"], p.overall[data-indicator="critical"] { background: #fde7e4; }
div.component { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; margin-bottom: .75rem; }
div.component h3 { font-size: 1rem; margin: .25rem 0; display: flex; justify-content: space-between; }
svg.uptime { max-width: 100%; height: auto; }
p.uptime { color: var(--muted); margin: .25rem 0; }
body.feedback-form main { max-width: 26rem; margin: 0 auto; padding: 1rem; }
body.feedback-form form, form.grid { display: grid; gap: .6rem; }
body.feedback-form label, form.grid label { display: grid; gap: .2rem; }
textarea { font: inherit; padding: .35rem .5rem; }
div.hp { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
section.changelog { max-width: 48rem; margin: 2rem auto; }
section.changelog article { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1.25rem; margin-bottom: 1rem; }
.warning { background: #fff4d6; border: 1px solid #f0d48a; padding: .5rem 1rem; border-radius: 6px; }
span.votes { font-variant-numeric: tabular-nums; font-weight: 600; }
section.pm-section textarea { width: 100%; }
p.prose { white-space: pre-wrap; }
tr.starred td { background: #fff8e1; }
tr.hidden td { color: var(--muted); text-decoration: line-through; }
strong.overdue { color: var(--bad); }
div.workflow { display: flex; gap: .5rem; flex-wrap: wrap; margin: .5rem 0 1rem; }
@media print {
  header.top, nav.areas, .no-print, form button, form.stack { display: none !important; }
  div.shell { display: block; }
  main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  section { break-inside: avoid-page; }
}
"#;

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

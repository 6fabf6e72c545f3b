// The dashboard's only static files: one stylesheet and one small script, no
// build step. Served from /dashboard/static/ so the Content-Security-Policy can
// forbid inline script and style.

export const DASHBOARD_CSS = `
:root {
  --bg: #f5f6f8; --panel: #fff; --text: #1b1f24; --muted: #57606a; --border: #d0d7de;
  --accent: #0b5cad; --good: #1a7f37; --bad: #c62828; --warn: #9a6700; --info: #0b5cad;
  --completed: #2e8540; --failed: #d03a2f; --created: #0b5cad;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible, [tabindex]:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
.skip { position: absolute; left: -9999px; top: 0; background: #fff; padding: 0.5rem 1rem; z-index: 10; }
.skip:focus { left: 0.5rem; top: 0.5rem; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.muted { color: var(--muted); }
.small { font-size: 0.8rem; font-weight: 400; }

header.top { background: #16202c; color: #fff; }
header.top .inner { max-width: 1240px; margin: 0 auto; padding: 0.6rem 1rem; display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.25rem; }
.brand { font-weight: 700; font-size: 1.1rem; letter-spacing: 0.01em; color: #fff; text-decoration: none; }
.brand span { font-weight: 400; color: #9fb3c8; }
header.top nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.25rem; }
header.top nav a { color: #dbe5ef; text-decoration: none; padding: 0.35rem 0.65rem; border-radius: 6px; display: inline-block; }
header.top nav a:hover { background: #22303f; color: #fff; }
header.top nav a[aria-current="page"] { background: #2b3d52; color: #fff; font-weight: 600; }
header.top form { margin-left: auto; }
header.top .logout { background: transparent; color: #dbe5ef; border: 1px solid #4a5a6c; }

main { max-width: 1240px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: 0.3rem 0 0.6rem; }
h2 { font-size: 1.05rem; margin: 0 0 0.5rem; }
h3 { font-size: 0.95rem; margin: 0.6rem 0 0.3rem; }
.page-head { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 0.5rem 1rem; }
.meta { color: var(--muted); margin: 0 0 0.75rem; min-height: 1.45em; }
footer { max-width: 1240px; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: 0.85rem; }

.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 0.9rem 1rem; margin-bottom: 1rem; min-width: 0; }
.grid { display: grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); grid-template-rows: 11.75rem 16.5rem 19rem; gap: 1rem; margin-bottom: 1rem;
  grid-template-areas: "chart latency" "chart stuck" "webhooks failures"; }
.grid > .panel { margin: 0; overflow: auto; }
.panel-chart { grid-area: chart; } .panel-latency { grid-area: latency; } .panel-stuck { grid-area: stuck; }
.panel-webhooks { grid-area: webhooks; } .panel-failures { grid-area: failures; }
.summary { margin: 0 0 0.6rem; min-height: 1.45em; }
.empty { color: var(--muted); margin: 0.5rem 0; }
.big { font-size: 1.5rem; font-weight: 700; margin-right: 0.25rem; }
.good { color: var(--good); } .bad { color: var(--bad); }

.tiles { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 0.75rem; }
.tile { border: 1px solid var(--border); border-left-width: 5px; border-radius: 6px; height: 6.2rem; }
.tile-link { display: flex; flex-direction: column; height: 100%; padding: 0.5rem 0.75rem; color: inherit; text-decoration: none; }
.tile-link:hover { background: #f6f8fa; }
.tile-label { font-weight: 600; }
.tile-scope { font-weight: 400; color: var(--muted); font-size: 0.85rem; }
.tile-value { font-size: 1.8rem; font-weight: 700; font-variant-numeric: tabular-nums; line-height: 1.2; }
.tile-sub { color: var(--muted); font-size: 0.85rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile-pending { border-left-color: #8c959f; } .tile-processing { border-left-color: var(--info); }
.tile-completed { border-left-color: var(--completed); } .tile-failed { border-left-color: var(--failed); } .tile-cancelled { border-left-color: var(--warn); }

.chart { margin: 0; }
.chart svg { width: 100%; height: auto; display: block; }
.chart-wide .chart svg { aspect-ratio: 720 / 240; } .chart-narrow .chart svg { aspect-ratio: 360 / 220; }
.chart-narrow { display: none; }
.chart .gridline { stroke: #e6e9ed; stroke-width: 1; }
.chart .baseline { stroke: #8c959f; stroke-width: 1; }
.chart .axis { fill: var(--muted); font-size: 12px; font-family: inherit; }
.chart .bar-completed { fill: var(--completed); }
.chart .bar-failed { fill: var(--failed); }
.chart .line-created { fill: none; stroke: var(--created); stroke-width: 2; }
.chart .dot-created { fill: var(--created); }
.legend { list-style: none; padding: 0; margin: 0.4rem 0 0.6rem; display: flex; flex-wrap: wrap; gap: 0.4rem 1rem; font-size: 0.9rem; }
.key { display: inline-block; width: 0.85rem; height: 0.85rem; border-radius: 2px; margin-right: 0.35rem; vertical-align: -0.1rem; }
.key-completed { background: var(--completed); } .key-failed { background: var(--failed); }
.key-created { background: var(--created); height: 0.2rem; vertical-align: 0.2rem; }

table.data { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
table.data th, table.data td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
table.data thead th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); border-bottom: 1px solid var(--border); position: sticky; top: 0; background: var(--panel); }
table.data tbody th { font-weight: 600; }
table.data .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.clip { max-width: 22rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.data td.fill { max-width: 0; width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.compact th, table.compact td { padding-left: 0.35rem; padding-right: 0.35rem; }
.scroll { overflow: auto; max-height: 14rem; }
.scroll-short { max-height: 12rem; }
.table-wrap { overflow-x: auto; }

.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.8rem; font-weight: 600; border: 1px solid transparent; white-space: nowrap; }
.badge-pending { background: #eef1f4; color: #3d4752; border-color: #c9d1d9; }
.badge-processing { background: #e6f0fb; color: #0b4f94; border-color: #b6d3f2; }
.badge-completed { background: #e8f5ec; color: #1a6b32; border-color: #b4dfc0; }
.badge-failed { background: #fdecea; color: #a4221a; border-color: #f3b8b2; }
.badge-cancelled { background: #fcf3dd; color: #7a5300; border-color: #ecd49a; }
.badge-delivered { background: #e8f5ec; color: #1a6b32; } .badge-retrying { background: #fcf3dd; color: #7a5300; }
.badge-revoked { background: #fdecea; color: #a4221a; } .badge-active { background: #e8f5ec; color: #1a6b32; }

form.filters { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 0.6rem 0.9rem; align-items: end; }
label { display: block; font-weight: 600; font-size: 0.88rem; margin-bottom: 0.2rem; }
input[type=text], input[type=password], select { width: 100%; padding: 0.45rem 0.55rem; border: 1px solid #8c959f; border-radius: 6px; font: inherit; background: #fff; color: inherit; }
.hint { color: var(--muted); font-size: 0.8rem; font-weight: 400; }
button, .button { font: inherit; padding: 0.45rem 0.9rem; border-radius: 6px; border: 1px solid #1f5fa0; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.5rem 0; }
.actions form { margin: 0; }
.pager { display: flex; gap: 0.75rem; align-items: center; margin-top: 0.75rem; }

.flash { padding: 0.6rem 0.9rem; border-radius: 6px; margin-bottom: 1rem; border: 1px solid; }
.flash-ok { background: #e8f5ec; border-color: #b4dfc0; }
.flash-error { background: #fdecea; border-color: #f3b8b2; }
.newkey { font-size: 1rem; word-break: break-all; background: #fff; border: 1px dashed #1a7f37; padding: 0.5rem; display: block; margin: 0.4rem 0; }

dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
pre { background: #f6f8fa; border: 1px solid #eaeef2; border-radius: 6px; padding: 0.6rem; overflow: auto; max-height: 20rem; font-size: 0.85rem; }
.two { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0 1rem; }
ol.timeline { list-style: none; margin: 0; padding: 0; border-left: 2px solid var(--border); }
ol.timeline li { margin: 0 0 0.6rem 0; padding-left: 0.9rem; position: relative; }
ol.timeline li::before { content: ""; position: absolute; left: -6px; top: 0.45rem; width: 10px; height: 10px; border-radius: 50%; background: #8c959f; }

.login { max-width: 26rem; margin: 3rem auto; }
.login .panel { padding: 1.25rem; }
.login input { margin-bottom: 0.8rem; }

@media (max-width: 900px) {
  .two { grid-template-columns: minmax(0, 1fr); }
  .grid { grid-template-columns: minmax(0, 1fr); grid-template-rows: auto 11.75rem 16.5rem 19rem 19rem;
    grid-template-areas: "chart" "latency" "stuck" "webhooks" "failures"; }
  .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .wide-only { display: none; }
}
@media (max-width: 600px) {
  main { padding: 0.6rem; }
  .chart-wide { display: none; } .chart-narrow { display: block; }
  .grid { grid-template-rows: auto auto 16.5rem 19rem 19rem; }
  .tile { height: 5.8rem; }
  .tile-value { font-size: 1.5rem; }
  header.top form { margin-left: 0; }
  table.data th, table.data td { padding: 0.3rem 0.35rem; }
  table.data thead th { letter-spacing: 0; }
  .panel-stuck .mono { font-size: 0.75rem; }
  .hide-narrow { display: none; }
}
@media (prefers-reduced-motion: no-preference) { html { scroll-behavior: smooth; } }
`;

// Auto-refresh of the overview: fetch the fragment, swap it in place (panels
// are fixed-size, so nothing moves), keep open <details>, scroll positions and
// focus; stop while the tab is hidden or the user paused it. Confirmation
// prompts for destructive buttons (data-confirm).
export const DASHBOARD_JS = `
(function () {
  'use strict';
  document.addEventListener('submit', function (e) {
    var form = e.target;
    var message = form && form.getAttribute && form.getAttribute('data-confirm');
    if (message && !window.confirm(message)) e.preventDefault();
  });

  var root = document.getElementById('overview');
  if (!root) return;
  var seconds = Number(document.body.getAttribute('data-refresh-seconds')) || 10;
  var paused = false;
  var busy = false;
  var toggle = document.getElementById('refresh-toggle');
  var state = document.getElementById('refresh-state');
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener('click', function () {
      paused = !paused;
      toggle.setAttribute('aria-pressed', String(paused));
      toggle.textContent = paused ? 'Resume auto-refresh' : 'Pause auto-refresh';
      if (!paused) refresh();
    });
  }
  function say(text) { if (state) state.textContent = text; }

  function refresh() {
    if (paused || busy || document.hidden) return;
    busy = true;
    fetch('/dashboard/overview/fragment', { credentials: 'same-origin', headers: { accept: 'text/html' }, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { window.location.reload(); return null; }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.text();
      })
      .then(function (text) {
        if (text === null) return;
        var current = document.getElementById('overview');
        var tpl = document.createElement('template');
        tpl.innerHTML = text;
        var next = tpl.content.firstElementChild;
        if (!current || !next) return;
        say('');
        if (next.getAttribute('data-generated-at') === current.getAttribute('data-generated-at')) return;
        current.querySelectorAll('details[open]').forEach(function (d) {
          var twin = d.id && next.querySelector('#' + CSS.escape(d.id));
          if (twin) twin.open = true;
        });
        var scrolls = Array.prototype.map.call(current.querySelectorAll('.scroll'), function (s) { return s.scrollTop; });
        var active = document.activeElement;
        var focusKey = active && current.contains(active) ? (active.id ? '#' + CSS.escape(active.id) : active.getAttribute('href') ? '[href="' + CSS.escape(active.getAttribute('href')) + '"]' : null) : null;
        current.replaceWith(next);
        next.querySelectorAll('.scroll').forEach(function (s, i) { if (scrolls[i]) s.scrollTop = scrolls[i]; });
        if (focusKey) { var el = next.querySelector(focusKey); if (el) el.focus({ preventScroll: true }); }
      })
      .catch(function () { say('Refresh failed; trying again in ' + seconds + ' s.'); })
      .then(function () { busy = false; });
  }
  setInterval(refresh, seconds * 1000);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(); });
})();
`;

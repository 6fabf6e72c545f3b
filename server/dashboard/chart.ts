// Throughput per hour as an inline SVG built on the server: stacked bars for
// completed and failed, a line for created. Fixed viewBox, so the chart keeps
// its size whatever the data (no layout shift on refresh).
import { html, raw, type Html } from './html.js';

export interface HourPoint {
  hour: Date;
  created: number;
  completed: number;
  failed: number;
}

const M = { left: 40, right: 10, top: 14, bottom: 30 };

function niceMax(v: number): number {
  if (v <= 4) return 4;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) {
    const max = step * mag;
    if (max >= v) return max;
  }
  return 10 * mag;
}

const hourLabel = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
const f = (n: number) => (Math.round(n * 10) / 10).toString();

/** `width` is the viewBox width (720 for wide screens, 360 for phones: same text size, fewer labels); `id` keeps element ids unique. */
export function throughputChart(points: HourPoint[], opts: { width: number; id: string }): Html {
  const W = opts.width;
  const H = W >= 600 ? 240 : 220;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const n = Math.max(points.length, 1);
  const max = niceMax(Math.max(0, ...points.map((p) => Math.max(p.created, p.completed + p.failed))));
  const y = (v: number) => M.top + plotH - (v / max) * plotH;
  const slot = plotW / n;
  const barW = Math.max(2, slot * 0.62);

  const parts: string[] = [];
  // grid and y labels
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    const yy = f(y(v));
    parts.push(`<line class="gridline" x1="${M.left}" x2="${W - M.right}" y1="${yy}" y2="${yy}"/>`);
    parts.push(`<text class="axis" x="${M.left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${Number.isInteger(v) ? v : v.toFixed(1)}</text>`);
  }
  // bars
  points.forEach((p, i) => {
    const x = f(M.left + i * slot + (slot - barW) / 2);
    if (p.completed > 0) parts.push(`<rect class="bar-completed" x="${x}" y="${f(y(p.completed))}" width="${f(barW)}" height="${f(y(0) - y(p.completed))}"/>`);
    if (p.failed > 0) parts.push(`<rect class="bar-failed" x="${x}" y="${f(y(p.completed + p.failed))}" width="${f(barW)}" height="${f(y(p.completed) - y(p.completed + p.failed))}"/>`);
  });
  // created line
  const coords = points.map((p, i) => `${f(M.left + i * slot + slot / 2)},${f(y(p.created))}`);
  if (coords.length > 1) parts.push(`<polyline class="line-created" points="${coords.join(' ')}"/>`);
  for (const c of coords) {
    const [cx, cy] = c.split(',');
    parts.push(`<circle class="dot-created" cx="${cx}" cy="${cy}" r="${W >= 600 ? 2.6 : 2}"/>`);
  }
  // x labels: about six, on whole hours
  const every = Math.max(1, Math.ceil(n / (W >= 600 ? 6 : 4)));
  points.forEach((p, i) => {
    if ((points.length - 1 - i) % every !== 0) return;
    parts.push(`<text class="axis" x="${f(M.left + i * slot + slot / 2)}" y="${H - 10}" text-anchor="middle">${hourLabel(p.hour)}</text>`);
  });
  parts.push(`<line class="baseline" x1="${M.left}" x2="${W - M.right}" y1="${f(y(0))}" y2="${f(y(0))}"/>`);

  const total = points.reduce((a, p) => ({ created: a.created + p.created, completed: a.completed + p.completed, failed: a.failed + p.failed }), { created: 0, completed: 0, failed: 0 });
  const peak = points.reduce<HourPoint | undefined>((best, p) => (!best || p.created > best.created ? p : best), undefined);
  const desc = `Hourly bars of completed and failed jobs with a line of jobs created, ${points.length} hours. Totals: ${total.created} created, ${total.completed} completed, ${total.failed} failed.${peak && peak.created > 0 ? ` Busiest hour ${hourLabel(peak.hour)} UTC with ${peak.created} created.` : ''}`;

  return html`<figure class="chart">
    <svg viewBox="0 0 ${String(W)} ${String(H)}" role="img" aria-labelledby="${opts.id}-title ${opts.id}-desc" focusable="false">
      <title id="${opts.id}-title">Throughput per hour (UTC)</title>
      <desc id="${opts.id}-desc">${desc}</desc>
      ${raw(parts.join(''))}
    </svg>
    <figcaption><ul class="legend" role="list">
      <li><span class="key key-completed" aria-hidden="true"></span>completed</li>
      <li><span class="key key-failed" aria-hidden="true"></span>failed</li>
      <li><span class="key key-created" aria-hidden="true"></span>created</li>
      <li class="muted">hours in UTC; the first and last are partial</li>
    </ul></figcaption>
  </figure>`;
}

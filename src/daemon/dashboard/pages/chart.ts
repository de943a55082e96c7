// A tiny inline SVG bar chart of refreshes (succeeded / failed) per hour or day: no library, no
// external asset, no inline style (the CSP forbids it; colours come from the stylesheet's classes).
// Its caption states the span the bars really cover, in UTC like the axis labels.
import { escapeHtml } from '../../pages/index.ts';
import type { AuditView } from '../audit-view.ts';

const WIDTH = 640;
const HEIGHT = 160;
const TOP = 10;
const BOTTOM = 22;
const LEFT = 28;

export function renderRefreshChart(chart: AuditView['chart']): string {
  const { buckets, unit } = chart;
  const max = Math.max(1, ...buckets.map((b) => b.success + b.failure));
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = (WIDTH - LEFT) / Math.max(1, buckets.length);
  const barWidth = Math.min(40, Math.max(2, slot * 0.7));
  const y = (value: number) => (value / max) * plotHeight;
  const label = (iso: string) => (unit === 'hour' ? `${iso.slice(11, 13)}:00` : iso.slice(5, 10));
  const utc = (iso: string) => iso.slice(0, 16).replace('T', ' ');
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  const bars = buckets.map((bucket, i) => {
    const x = LEFT + i * slot + (slot - barWidth) / 2;
    const ok = y(bucket.success);
    const bad = y(bucket.failure);
    const base = HEIGHT - BOTTOM;
    const tip = `${label(bucket.start)}${unit === 'hour' ? ' UTC' : ''}: ${bucket.success} refreshed, ${bucket.failure} failed`;
    return [
      `<g><title>${escapeHtml(tip)}</title>`,
      bucket.success ? `<rect class="ok-bar" x="${x.toFixed(1)}" y="${(base - ok).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${ok.toFixed(1)}"></rect>` : '',
      bucket.failure ? `<rect class="bad-bar" x="${x.toFixed(1)}" y="${(base - ok - bad).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${bad.toFixed(1)}"></rect>` : '',
      i % every === 0 ? `<text x="${(x + barWidth / 2).toFixed(1)}" y="${HEIGHT - 6}" text-anchor="middle">${escapeHtml(label(bucket.start))}</text>` : '',
      '</g>',
    ].join('');
  });
  // The span is what the bars cover: from the first bar's start to the last bar's end (not its
  // start, which would leave the newest hour or day out of the stated range).
  const span = `${utc(chart.from)} to ${utc(chart.to)} UTC`;
  const summary = `${chart.success} refreshes succeeded and ${chart.failure} failed, per ${unit}, from ${span}.`;
  return [
    '<figure class="chart">',
    `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" focusable="false">`,
    `<title id="chart-title">Refreshes per ${unit}</title><desc id="chart-desc">${escapeHtml(summary)}</desc>`,
    `<line class="axis" x1="${LEFT}" y1="${HEIGHT - BOTTOM}" x2="${WIDTH}" y2="${HEIGHT - BOTTOM}"></line>`,
    `<text x="${LEFT - 4}" y="${TOP + 8}" text-anchor="end">${max}</text><text x="${LEFT - 4}" y="${HEIGHT - BOTTOM}" text-anchor="end">0</text>`,
    ...bars,
    '</svg>',
    `<figcaption><p id="chart-range" class="fine">Per ${unit} (UTC), <time datetime="${escapeHtml(chart.from)}">${escapeHtml(utc(chart.from))}</time> to <time datetime="${escapeHtml(chart.to)}">${escapeHtml(utc(chart.to))}</time> UTC</p><span class="legend"><span><span class="swatch ok-bar" aria-hidden="true"></span>Refreshed: ${chart.success}</span>` +
      `<span><span class="swatch bad-bar" aria-hidden="true"></span>Failed: ${chart.failure}</span></span></figcaption>`,
    '</figure>',
  ].join('\n');
}

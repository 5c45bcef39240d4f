/** The results: a Markdown table, and a hand-written SVG chart of latency distributions. */
import { stats } from './measure.ts';

export interface Row {
  readonly measurement: string;
  readonly median: string;
  readonly p95: string;
  readonly ratio: string;
  readonly target: string;
  /** `yes`, `no`, or `` when there is no target. */
  readonly met: '' | 'yes' | 'no';
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value < 0.1) return `${(value * 1000).toFixed(1)} µs`;
  return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}

export function ratio(value: number, of: string): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}× ${of}` : 'n/a';
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function met(ok: boolean): 'yes' | 'no' {
  return ok ? 'yes' : 'no';
}

export function markdownTable(rows: readonly Row[]): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  const lines = ['| measurement | median | p95 | ratio | target | met? |', '|---|---|---|---|---|---|'];
  for (const row of rows) lines.push(`| ${[row.measurement, row.median, row.p95, row.ratio, row.target, row.met].map(escape).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// SVG

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  /** ms */
  readonly samples: readonly number[];
}

export interface ChartPanel {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly ChartSeries[];
  /** A logarithmic axis over every sample (for series whose scales differ tenfold). */
  readonly log?: boolean;
  /** Vertical target lines, in the panel's unit (e.g. 2 × the floor's median). */
  readonly targets?: ReadonlyArray<{ readonly value: number; readonly label: string }>;
}

// The plot on the left, its legend to the right of it (outside the plot area).
const PLOT_WIDTH = 640;
const LEGEND_WIDTH = 420;
const MARGIN = { left: 70, right: 20, top: 34, bottom: 58 };
const LEGEND_GAP = 20;
const WIDTH = MARGIN.left + PLOT_WIDTH + LEGEND_GAP + LEGEND_WIDTH + MARGIN.right;
const PANEL_HEIGHT = 270;
const BINS = 48;
const TARGET_COLOR = '#b00020';
const LEGEND_X = MARGIN.left + PLOT_WIDTH + LEGEND_GAP;

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About eight round ticks between lo and hi. */
function linearTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 8;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  const step = (scaled < 1.5 ? 1 : scaled < 3.5 ? 2 : scaled < 7.5 ? 5 : 10) * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(t);
  return ticks;
}

/** 1, 2, 5 × powers of ten between 10^lo and 10^hi. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let power = Math.floor(lo); power <= Math.ceil(hi); power++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** power;
      if (Math.log10(t) >= lo - 1e-9 && Math.log10(t) <= hi + 1e-9) ticks.push(t);
    }
  }
  return ticks;
}

/**
 * Overlaid histograms (as outlines with a light fill) on one axis, each
 * series with its median (solid) and p95 (dashed) marked. A linear axis ends
 * at 1.25 × the largest p95 of the series, the few samples beyond falling in
 * the last bin (the legend says how many); a logarithmic one covers all.
 */
function panel(p: ChartPanel, top: number, number: number): string {
  const all = p.series.flatMap((s) => s.samples);
  const log = p.log === true;
  // Axis coordinates: the value itself, or its log10 on a logarithmic axis.
  const axis = (v: number): number => (log ? Math.log10(Math.max(v, 1e-6)) : v);
  // The axis spans the targets too, so a target beyond every sample (either side) is drawn on it.
  const targetValues = (p.targets ?? []).map((t) => t.value).filter((v) => Number.isFinite(v) && v > 0);
  const lo = log ? axis(Math.min(...all, ...targetValues)) : Math.max(0, Math.min(...all, ...targetValues));
  const hi = Math.max(log ? axis(Math.max(...all, ...targetValues)) : 1.1 * Math.max(1.25 * Math.max(...p.series.map((s) => stats(s.samples).p95)), ...targetValues), lo + 1e-6);
  const binWidth = (hi - lo) / BINS;
  const plotW = PLOT_WIDTH;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const xAt = (a: number): number => MARGIN.left + ((Math.min(a, hi) - lo) / (hi - lo)) * plotW;
  const x = (v: number): number => xAt(axis(v));
  const histograms = p.series.map((s) => {
    const counts = new Array<number>(BINS).fill(0);
    for (const v of s.samples) {
      const bin = Math.min(BINS - 1, Math.max(0, Math.floor((axis(v) - lo) / binWidth)));
      counts[bin] = (counts[bin] ?? 0) + 1;
    }
    return counts.map((c) => c / Math.max(1, s.samples.length));
  });
  const maxFraction = Math.max(...histograms.flat(), 1e-9);
  const y = (f: number): number => top + MARGIN.top + plotH - (f / maxFraction) * plotH;
  const out: string[] = [];
  out.push(`<text x="${MARGIN.left}" y="${top + 20}" font-size="14" font-weight="bold">${xml(`${number}. ${p.title}`)}</text>`);
  // Axes and ticks.
  const baseY = top + MARGIN.top + plotH;
  out.push(`<line x1="${MARGIN.left}" y1="${baseY}" x2="${MARGIN.left + plotW}" y2="${baseY}" stroke="#333"/>`);
  out.push(`<line x1="${MARGIN.left}" y1="${top + MARGIN.top}" x2="${MARGIN.left}" y2="${baseY}" stroke="#333"/>`);
  for (const t of log ? logTicks(lo, hi) : linearTicks(lo, hi)) {
    const tx = x(t).toFixed(1);
    out.push(`<line x1="${tx}" y1="${baseY}" x2="${tx}" y2="${baseY + 4}" stroke="#333"/>`);
    out.push(`<text x="${tx}" y="${baseY + 16}" font-size="11" text-anchor="middle">${Number(t.toPrecision(6))}</text>`);
  }
  const axisNote = log ? 'logarithmic axis' : 'last bin: everything beyond the axis';
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${baseY + 32}" font-size="12" text-anchor="middle">${xml(p.unit)} (${axisNote})</text>`);
  out.push(`<text x="14" y="${top + MARGIN.top + plotH / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${top + MARGIN.top + plotH / 2})">share of runs per bin</text>`);
  // The y scale: share of each series' runs in one bin.
  for (const f of [0, maxFraction / 2, maxFraction]) {
    const ty = y(f).toFixed(1);
    out.push(`<line x1="${MARGIN.left - 4}" y1="${ty}" x2="${MARGIN.left}" y2="${ty}" stroke="#333"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${(Number(ty) + 4).toFixed(1)}" font-size="11" text-anchor="end">${(100 * f).toFixed(f === 0 ? 0 : 1)} %</text>`);
  }
  // Histograms.
  p.series.forEach((s, i) => {
    const counts = histograms[i] as number[];
    let path = `M ${xAt(lo).toFixed(1)} ${baseY}`;
    counts.forEach((f, b) => {
      const x0 = xAt(lo + b * binWidth).toFixed(1);
      const x1 = xAt(lo + (b + 1) * binWidth).toFixed(1);
      path += ` L ${x0} ${y(f).toFixed(1)} L ${x1} ${y(f).toFixed(1)}`;
    });
    path += ` L ${xAt(hi).toFixed(1)} ${baseY} Z`;
    out.push(`<path d="${path}" fill="${s.color}" fill-opacity="0.18" stroke="${s.color}" stroke-width="1.5"/>`);
    const summary = stats(s.samples);
    for (const [value, dash] of [[summary.median, ''], [summary.p95, ' stroke-dasharray="5 3"']] as const) {
      const vx = x(value).toFixed(1);
      out.push(`<line x1="${vx}" y1="${top + MARGIN.top}" x2="${vx}" y2="${baseY}" stroke="${s.color}" stroke-width="1.5"${dash}/>`);
    }
    const beyond = s.samples.filter((v) => axis(v) > hi).length;
    const ly = top + MARGIN.top + 4 + i * 16;
    out.push(`<rect x="${LEGEND_X}" y="${ly}" width="10" height="10" fill="${s.color}"/>`);
    out.push(
      `<text x="${LEGEND_X + 15}" y="${ly + 9}" font-size="11">${xml(`${s.label}: median ${summary.median.toPrecision(3)}, p95 ${summary.p95.toPrecision(3)} (n=${summary.n}${beyond > 0 ? `, ${beyond} beyond axis` : ''})`)}</text>`,
    );
  });
  // Target lines, labelled in the legend.
  (p.targets ?? []).forEach((t, i) => {
    if (!Number.isFinite(t.value) || t.value <= 0) return;
    const tx = x(t.value).toFixed(1);
    out.push(`<line x1="${tx}" y1="${top + MARGIN.top - 6}" x2="${tx}" y2="${baseY}" stroke="${TARGET_COLOR}" stroke-width="2" stroke-dasharray="2 2"/>`);
    out.push(`<text x="${tx}" y="${top + MARGIN.top - 8}" font-size="10" fill="${TARGET_COLOR}" text-anchor="middle">T${i + 1}</text>`);
    const ly = top + MARGIN.top + 4 + (p.series.length + i) * 16;
    out.push(`<line x1="${LEGEND_X}" y1="${ly + 5}" x2="${LEGEND_X + 10}" y2="${ly + 5}" stroke="${TARGET_COLOR}" stroke-width="2" stroke-dasharray="2 2"/>`);
    out.push(`<text x="${LEGEND_X + 15}" y="${ly + 9}" font-size="11" fill="${TARGET_COLOR}">${xml(`T${i + 1} target: ${t.label} (${t.value.toPrecision(3)})`)}</text>`);
  });
  return out.join('\n');
}

export function svgChart(title: string, subtitle: string, panels: readonly ChartPanel[]): string {
  const height = 50 + panels.length * PANEL_HEIGHT;
  // Panels are numbered in the order they appear, whatever sections ran.
  const body = panels.map((p, i) => panel(p, 50 + i * PANEL_HEIGHT, i + 1)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${MARGIN.left}" y="22" font-size="16" font-weight="bold">${xml(title)}</text>
<text x="${MARGIN.left}" y="40" font-size="11" fill="#555">${xml(subtitle)} — solid line: median, dashed: p95, red dotted: target</text>
${body}
</svg>
`;
}

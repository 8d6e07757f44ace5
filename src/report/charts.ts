/**
 * Inline SVG charts for HTML reports, with no dependency: box plots of distributions and panels of
 * horizontal bars. Output is a standalone <svg> element (text escaped, sizes in user units).
 */

export interface BoxSeries {
  readonly label: string;
  readonly values: readonly number[];
  /** Colour index into the palette (series of one model share a tone). */
  readonly tone?: number;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly tone?: number;
}

export interface BarPanel {
  readonly title: string;
  readonly bars: readonly Bar[];
  readonly format?: (value: number) => string;
}

const PALETTE = ['#2563eb', '#9ca3af', '#f59e0b', '#10b981', '#ef4444'];
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';
const ROW = 28;
const LABEL_WIDTH = 190;
const PLOT_WIDTH = 460;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const color = (tone = 0) => PALETTE[tone % PALETTE.length]!;
const num = (v: number) => (Number.isFinite(v) ? Number(v.toFixed(2)) : 0);

/** Horizontal box plots on one axis: whiskers p1–p99 (a stray slow run does not squash the boxes), box p25–p75, a bar at the median. */
export function boxPlot(series: readonly BoxSeries[], title: string, unit: string): string {
  const stats = series.map((s) => fiveNumbers(s.values));
  const hi = Math.max(...stats.map((s) => s.high).filter(Number.isFinite), 0);
  const ticks = niceTicks(0, hi > 0 ? hi : 1);
  const top = ticks[ticks.length - 1]!;
  const x = (v: number) => LABEL_WIDTH + (v / top) * PLOT_WIDTH;
  const height = 40 + series.length * ROW + 30;
  const parts = [header(LABEL_WIDTH + PLOT_WIDTH + 20, height, title), axis(ticks, x, 30 + series.length * ROW, unit)];
  series.forEach((s, i) => {
    const st = stats[i]!;
    const y = 34 + i * ROW;
    const mid = y + ROW / 2 - 4;
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${mid + 4}" text-anchor="end" ${FONT}>${escapeXml(s.label)}</text>`);
    if (!Number.isFinite(st.median)) return;
    const c = color(s.tone);
    parts.push(
      `<g class="box"><title>${escapeXml(`${s.label}: median ${st.median.toPrecision(4)} ${unit}, p25–p75 ${st.q1.toPrecision(4)}–${st.q3.toPrecision(4)}, p1–p99 ${st.low.toPrecision(4)}–${st.high.toPrecision(4)}`)}</title>`,
      `<line x1="${num(x(st.low))}" x2="${num(x(st.high))}" y1="${mid}" y2="${mid}" stroke="${c}"/>`,
      `<rect x="${num(x(st.q1))}" y="${mid - 8}" width="${num(Math.max(1, x(st.q3) - x(st.q1)))}" height="16" fill="${c}" fill-opacity="0.35" stroke="${c}"/>`,
      `<line x1="${num(x(st.median))}" x2="${num(x(st.median))}" y1="${mid - 8}" y2="${mid + 8}" stroke="${c}" stroke-width="2.5"/></g>`,
    );
  });
  return `${parts.join('\n')}\n</svg>`;
}

/** Panels in a grid (three to a line), one bar per entry, each panel on its own scale from zero. */
export function barPanels(panels: readonly BarPanel[], title: string): string {
  const panelWidth = 300;
  const labelWidth = 110;
  const perLine = Math.min(3, Math.max(1, panels.length));
  const rows = Math.max(1, ...panels.map((p) => p.bars.length));
  const panelHeight = 30 + rows * ROW;
  const height = 36 + Math.ceil(panels.length / perLine) * panelHeight;
  const parts = [header(perLine * panelWidth + 10, height, title)];
  panels.forEach((p, k) => {
    const left = 10 + (k % perLine) * panelWidth;
    const top = 36 + Math.floor(k / perLine) * panelHeight;
    const max = Math.max(...p.bars.map((b) => b.value).filter(Number.isFinite), 0) || 1;
    const width = panelWidth - labelWidth - 80;
    parts.push(`<g class="panel"><text x="${left}" y="${top + 12}" font-weight="bold" ${FONT}>${escapeXml(p.title)}</text>`);
    p.bars.forEach((b, i) => {
      const y = top + 20 + i * ROW;
      const w = Number.isFinite(b.value) ? Math.max(1, (b.value / max) * width) : 0;
      const shown = p.format ? p.format(b.value) : b.value.toPrecision(4);
      parts.push(
        `<text x="${left + labelWidth - 6}" y="${y + 15}" text-anchor="end" ${FONT}>${escapeXml(b.label)}</text>`,
        `<rect x="${left + labelWidth}" y="${y + 3}" width="${num(w)}" height="16" fill="${color(b.tone)}"><title>${escapeXml(`${b.label}: ${shown}`)}</title></rect>`,
        `<text x="${num(left + labelWidth + w + 4)}" y="${y + 15}" ${FONT}>${escapeXml(shown)}</text>`,
      );
    });
    parts.push('</g>');
  });
  return `${parts.join('\n')}\n</svg>`;
}

function header(width: number, height: number, title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<text x="10" y="20" font-weight="bold" font-family="system-ui, sans-serif" font-size="14">${escapeXml(title)}</text>`,
  ].join('\n');
}

function axis(ticks: readonly number[], x: (v: number) => number, y: number, unit: string): string {
  const lines = ticks.map((t) => [
    `<line x1="${num(x(t))}" x2="${num(x(t))}" y1="30" y2="${y}" stroke="#e5e7eb"/>`,
    `<text x="${num(x(t))}" y="${y + 16}" text-anchor="middle" ${FONT} fill="#4b5563">${escapeXml(String(t))}</text>`,
  ].join(''));
  lines.push(`<text x="${num(x(ticks[ticks.length - 1]!))}" y="${y + 30}" text-anchor="end" ${FONT} fill="#4b5563">${escapeXml(unit)}</text>`);
  return lines.join('\n');
}

interface FiveNumbers { readonly low: number; readonly q1: number; readonly median: number; readonly q3: number; readonly high: number }

function fiveNumbers(values: readonly number[]): FiveNumbers {
  const s = Float64Array.from(values).sort();
  const q = (p: number) => {
    if (!s.length) return NaN;
    const at = p * (s.length - 1);
    const lo = Math.floor(at);
    return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (at - lo);
  };
  return { low: q(0.01), q1: q(0.25), median: q(0.5), q3: q(0.75), high: q(0.99) };
}

/** Round tick values from lo to at least hi: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; ticks.length === 0 || ticks[ticks.length - 1]! < hi; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

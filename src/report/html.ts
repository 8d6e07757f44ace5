/**
 * HTML rendering of a report: one self-contained page (inline CSS, inline SVG figures, no script and
 * nothing fetched), figures first, then the sections and warnings.
 */
import type { Cell, Report } from './report.js';
import { escapeXml } from './charts.js';

export interface Figure {
  readonly title: string;
  /** A complete <svg> element. */
  readonly svg: string;
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #111827; padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e5e7eb; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5rem 0; } svg { max-width: 100%; height: auto; } figcaption { color: #4b5563; font-size: 0.9rem; }
.warning { color: #b45309; }`;

export function renderHtml(report: Report, figures: readonly Figure[] = []): string {
  const body: string[] = [`<h1>${escapeXml(report.title)}</h1>`];
  for (const f of figures) body.push(`<figure>\n${f.svg}\n<figcaption>${escapeXml(f.title)}</figcaption>\n</figure>`);
  for (const s of report.sections) {
    body.push(`<section>\n<h2>${escapeXml(s.title)}</h2>`);
    if (s.lines?.length) body.push(`<ul>${s.lines.map((l) => `<li>${escapeXml(l)}</li>`).join('')}</ul>`);
    if (s.table) {
      const numeric = s.table.columns.map((_, i) => s.table!.align?.[i] === 'right' || s.table!.rows.every((r) => typeof r[i] === 'number' || r[i] === null));
      body.push('<table>', `<tr>${s.table.columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>`);
      for (const r of s.table.rows) body.push(`<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${escapeXml(show(c))}</td>`).join('')}</tr>`);
      body.push('</table>');
    }
    body.push('</section>');
  }
  if (report.warnings.length) body.push('<h2>Warnings</h2>', `<ul>${report.warnings.map((w) => `<li class="warning">${escapeXml(w)}</li>`).join('')}</ul>`);
  return [
    '<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">', `<title>${escapeXml(report.title)}</title>`,
    `<style>${STYLE}\n</style>`, '</head>', '<body>', ...body, '</body>', '</html>', '',
  ].join('\n');
}

function show(c: Cell): string {
  if (c === null) return '–';
  if (typeof c === 'boolean') return c ? 'yes' : 'no';
  return String(c);
}

/** Markdown rendering (CI summaries, docs). */
import type { Cell, Report } from './report.js';

export function renderMarkdown(report: Report): string {
  const out: string[] = [`# ${report.title}`, ''];
  for (const s of report.sections) {
    out.push(`## ${s.title}`, '');
    for (const l of s.lines ?? []) out.push(`- ${l}`);
    if (s.lines?.length) out.push('');
    if (s.table) {
      out.push(`| ${s.table.columns.join(' | ')} |`, `|${s.table.columns.map(() => '---').join('|')}|`);
      for (const r of s.table.rows) out.push(`| ${r.map(cell).join(' | ')} |`);
      out.push('');
    }
  }
  if (report.warnings.length) out.push('## Warnings', '', ...report.warnings.map((w) => `- ${w}`), '');
  return out.join('\n');
}

function cell(c: Cell): string {
  if (c === null) return '–';
  return String(c).replace(/\|/g, '\\|');
}

/** Terminal rendering: aligned tables with box-drawing rules, warnings last. */
import type { Cell, Report, Table } from './report.js';

export function renderText(report: Report): string {
  const out: string[] = [report.title, ''];
  for (const s of report.sections) {
    out.push(s.title);
    for (const l of s.lines ?? []) out.push(`  ${l}`);
    if (s.table) out.push(...renderTable(s.table).map((l) => `  ${l}`));
    out.push('');
  }
  for (const w of report.warnings) out.push(`warning: ${w}`);
  return out.join('\n').replace(/\n+$/, '\n');
}

export function renderTable(table: Table): string[] {
  const cells = table.rows.map((r) => r.map(show));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const alignOf = (i: number) => table.align?.[i] ?? (table.rows.every((r) => typeof r[i] === 'number' || r[i] === null) ? 'right' : 'left');
  const pad = (s: string, i: number) => (alignOf(i) === 'right' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (r: readonly string[]) => r.map((c, i) => pad(c, i)).join('  ').trimEnd();
  return [line(table.columns), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)];
}

function show(c: Cell): string {
  if (c === null) return '–';
  if (typeof c === 'boolean') return c ? 'yes' : 'no';
  return String(c);
}

/**
 * One report model for every command: sections of tables and lines, warnings, and a machine-readable
 * payload. Rendered to the terminal, Markdown or JSON by the renderers beside this file.
 */
export type Cell = string | number | boolean | null;

export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  /** Per column; numbers default to right alignment. */
  readonly align?: readonly ('left' | 'right')[];
}

export interface Section {
  readonly title: string;
  readonly lines?: readonly string[];
  readonly table?: Table;
}

export interface Report {
  readonly title: string;
  readonly sections: readonly Section[];
  readonly warnings: readonly string[];
  /** The `--json` payload (stable, documented field names per command). */
  readonly data: unknown;
}

/** Human formats: 1.2 MB, 3.15 M, 12.3 ms. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 10 ? 0 : 1)} ms`;
}

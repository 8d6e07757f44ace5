/** Runs one benchmark operation in a fresh Node process and returns what it reported. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildReport } from './child.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.js');

export function runChild(operation: string, input: string, output = ''): ChildReport {
  const r = spawnSync(process.execPath, [CHILD, operation, input, output], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`'${operation}' failed (exit ${r.status ?? r.signal}): ${r.stderr.trim()}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ChildReport;
}

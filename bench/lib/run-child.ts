/** Runs a benchmark child script in a fresh Node process and returns the JSON line it printed last. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildReport } from './child.js';

/** `what` names the work in the error when the child fails. */
export function spawnReport<T>(script: string, args: readonly string[], what: string): T {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as T;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.js');

/** Runs one I/O benchmark operation in a fresh Node process. */
export function runChild(operation: string, input: string, output = ''): ChildReport {
  return spawnReport<ChildReport>(CHILD, [operation, input, output], `'${operation}'`);
}

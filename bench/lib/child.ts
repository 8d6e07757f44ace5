/**
 * Child process of the I/O benchmark: runs one operation and prints one JSON line with its time, bytes
 * and memory. Usage: node dist/bench/lib/child.js <operation> <input> [output]
 */
import { OPERATIONS } from './operations.js';
import { memoryFigures } from './peak-memory.js';
import { runMain } from './run-main.js';

export interface ChildReport {
  readonly operation: string;
  readonly ms: number;
  readonly bytes: number;
  readonly peakRss: number;
  readonly rss: number;
  readonly phases: Readonly<Record<string, number>>;
  readonly memory: Readonly<Record<string, number>>;
}

async function main(): Promise<void> {
  const [operation = '', input = '', output = ''] = process.argv.slice(2);
  const run = OPERATIONS[operation];
  if (!run) throw new Error(`unknown operation '${operation}'`);
  const t0 = performance.now();
  const result = await run({ input, output });
  const ms = performance.now() - t0;
  const report: ChildReport = { operation, ms, bytes: result.bytes, ...memoryFigures(), phases: result.phases ?? {}, memory: result.memory ?? {} };
  result.check?.();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

runMain(main);

/**
 * Child process of the quantization benchmark: loads a model with external data, runs one quantization
 * pass, saves the result with external data, and prints one JSON line with times and peak memory.
 * Usage: node dist/bench/quantize/child.js <mode> <input> <output>
 */
import { loadModel } from '../../src/io/load.js';
import { saveModel } from '../../src/io/save.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { getPass } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';
import { memoryFigures } from '../lib/peak-memory.js';
import { MODES } from './modes.js';

export interface QuantizeChildReport {
  readonly mode: string;
  readonly loadMs: number;
  readonly passMs: number;
  readonly saveMs: number;
  readonly outputBytes: number;
  readonly peakRss: number;
}

async function main(): Promise<void> {
  const [mode = '', input = '', output = ''] = process.argv.slice(2);
  const spec = MODES[mode];
  if (!spec) throw new Error(`unknown mode '${mode}'`);
  const t0 = performance.now();
  const model = loadModel(input);
  const t1 = performance.now();
  const pass = getPass(spec.pass);
  await runSteps(model, [{ pass, options: pass.options.parse(spec.options) }], quietContext());
  const t2 = performance.now();
  const saved = saveModel(model, output, { externalData: 'external' });
  const t3 = performance.now();
  const outputBytes = saved.bytes + saved.dataFiles.reduce((n, f) => n + f.bytes, 0);
  const report: QuantizeChildReport = { mode, loadMs: t1 - t0, passMs: t2 - t1, saveMs: t3 - t2, outputBytes, peakRss: memoryFigures().peakRss };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

/**
 * Child process of the quantization benchmark: loads a model with external data, runs one quantization
 * pass, saves the result with external data, and prints one JSON line with times and peak memory.
 * Usage: node dist/bench/quantize/child.js <mode> <input> <output>
 */
import { runPassOnFile, type PassRunFigures } from '../lib/pass-child.js';
import { runMain } from '../lib/run-main.js';
import { MODES } from './modes.js';

export interface QuantizeChildReport extends Omit<PassRunFigures, 'peakRssAfterPass'> {
  readonly mode: string;
}

runMain(async () => {
  const [mode = '', input = '', output = ''] = process.argv.slice(2);
  const spec = MODES[mode];
  if (!spec) throw new Error(`unknown mode '${mode}'`);
  const run = await runPassOnFile(input, output, spec.pass, spec.options);
  const report: QuantizeChildReport = { mode, loadMs: run.loadMs, passMs: run.passMs, saveMs: run.saveMs, outputBytes: run.outputBytes, peakRss: run.peakRss };
  process.stdout.write(`${JSON.stringify(report)}\n`);
});

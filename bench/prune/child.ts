/**
 * Child process of the pruning benchmark: loads a model with external data, runs magnitude pruning, saves
 * the result with external data, and prints one JSON line with times, peak memory and what was pruned.
 * Usage: node dist/bench/prune/child.js <sparsity> <input> <output>
 */
import { loadModel } from '../../src/io/load.js';
import { saveModel } from '../../src/io/save.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { getPass } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';
import { memoryFigures } from '../lib/peak-memory.js';

export interface PruneChildReport {
  readonly sparsity: number;
  readonly loadMs: number;
  readonly passMs: number;
  readonly saveMs: number;
  readonly outputBytes: number;
  readonly paramsInLayers: number;
  readonly paramsPruned: number;
  readonly peakRss: number;
  /** Peak resident memory once the pass had run, before saving. */
  readonly peakRssAfterPass: number;
}

async function main(): Promise<void> {
  const [rawSparsity = '', input = '', output = ''] = process.argv.slice(2);
  const sparsity = Number(rawSparsity);
  const t0 = performance.now();
  const model = loadModel(input);
  const t1 = performance.now();
  const pass = getPass('prune-magnitude');
  const [step] = await runSteps(model, [{ pass, options: pass.options.parse({ sparsity }) }], quietContext({ verify: false }));
  const t2 = performance.now();
  const peakRssAfterPass = memoryFigures().peakRss;
  const saved = saveModel(model, output, { externalData: 'external' });
  const t3 = performance.now();
  const report: PruneChildReport = {
    sparsity, loadMs: t1 - t0, passMs: t2 - t1, saveMs: t3 - t2,
    outputBytes: saved.bytes + saved.dataFiles.reduce((n, f) => n + f.bytes, 0),
    paramsInLayers: step?.stats.paramsInLayers ?? 0, paramsPruned: step?.stats.paramsPruned ?? 0,
    peakRss: memoryFigures().peakRss, peakRssAfterPass,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

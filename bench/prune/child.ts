/**
 * Child process of the pruning benchmark: loads a model with external data, runs magnitude pruning, saves
 * the result with external data, and prints one JSON line with times, peak memory and what was pruned.
 * Usage: node dist/bench/prune/child.js <sparsity> <input> <output>
 */
import { runPassOnFile } from '../lib/pass-child.js';
import { runMain } from '../lib/run-main.js';

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

runMain(async () => {
  const [rawSparsity = '', input = '', output = ''] = process.argv.slice(2);
  const sparsity = Number(rawSparsity);
  const { step, ...run } = await runPassOnFile(input, output, 'prune-magnitude', { sparsity }, false);
  const report: PruneChildReport = {
    sparsity, loadMs: run.loadMs, passMs: run.passMs, saveMs: run.saveMs, outputBytes: run.outputBytes,
    paramsInLayers: step?.stats.paramsInLayers ?? 0, paramsPruned: step?.stats.paramsPruned ?? 0,
    peakRss: run.peakRss, peakRssAfterPass: run.peakRssAfterPass,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
});

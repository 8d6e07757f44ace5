/**
 * Child process of the pruning benchmark: loads a model with external data, runs magnitude pruning, saves
 * the result with external data, and prints one JSON line with times, peak memory and what was pruned.
 * Usage: node dist/bench/prune/child.js <sparsity> <input> <output>
 */
import { runPassOnFile, type PassRunFigures } from '../lib/pass-child.js';
import { runMain } from '../lib/run-main.js';

export interface PruneChildReport extends PassRunFigures {
  readonly sparsity: number;
  readonly paramsInLayers: number;
  readonly paramsPruned: number;
}

runMain(async () => {
  const [rawSparsity = '', input = '', output = ''] = process.argv.slice(2);
  const sparsity = Number(rawSparsity);
  const { step, ...run } = await runPassOnFile(input, output, 'prune-magnitude', { sparsity }, false);
  const report: PruneChildReport = {
    sparsity, ...run, paramsInLayers: step?.stats.paramsInLayers ?? 0, paramsPruned: step?.stats.paramsPruned ?? 0,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
});

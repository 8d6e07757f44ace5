/**
 * What a benchmark child process does around one pass: load a model with external data, run the pass,
 * save with external data, and measure each phase and the process's peak memory.
 */
import { loadModel } from '../../src/io/load.js';
import { saveModel } from '../../src/io/save.js';
import { runSteps, type StepReport } from '../../src/pipeline/manager.js';
import { getPass } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';
import { memoryFigures } from './peak-memory.js';

/** Times, output size and peak memory of one load-pass-save run: what a child process reports. */
export interface PassRunFigures {
  readonly loadMs: number;
  readonly passMs: number;
  readonly saveMs: number;
  /** The output file and its data files. */
  readonly outputBytes: number;
  readonly peakRss: number;
  /** Peak resident memory once the pass had run, before saving. */
  readonly peakRssAfterPass: number;
}

export interface PassRun extends PassRunFigures {
  readonly step: StepReport | undefined;
}

export async function runPassOnFile(input: string, output: string, passName: string, options: unknown, verify = true): Promise<PassRun> {
  const t0 = performance.now();
  const model = loadModel(input);
  const t1 = performance.now();
  const pass = getPass(passName);
  const [step] = await runSteps(model, [{ pass, options: pass.options.parse(options) }], quietContext({ verify }));
  const t2 = performance.now();
  const peakRssAfterPass = memoryFigures().peakRss;
  const saved = saveModel(model, output, { externalData: 'external' });
  const t3 = performance.now();
  return {
    loadMs: t1 - t0, passMs: t2 - t1, saveMs: t3 - t2,
    outputBytes: saved.bytes + saved.dataFiles.reduce((n, f) => n + f.bytes, 0),
    peakRss: memoryFigures().peakRss, peakRssAfterPass, step,
  };
}

/** Runs resolved steps in order: requirements, timing, error wrapping and optional verification. */
import type { Model } from '../ir/model.js';
import { sortTopologically } from '../ir/sort.js';
import { verifyModel } from '../ir/verify.js';
import type { Pass, PassContext, PassResult } from './pass.js';
import { ConfigError, PassError } from '../errors.js';

export interface ResolvedStep {
  readonly pass: Pass;
  readonly options: unknown;
}

export interface StepReport extends PassResult {
  readonly pass: string;
  readonly ms: number;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
}

export async function runSteps(model: Model, steps: readonly ResolvedStep[], ctx: PassContext): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  for (const [i, { pass, options }] of steps.entries()) {
    const before = steps.slice(0, i).map((s) => s.pass.name);
    const nodesBefore = countNodes(model);
    const t0 = performance.now();
    let result: PassResult;
    const requires = typeof pass.requires === 'function' ? pass.requires(options) : pass.requires ?? [];
    if (requires.includes('calibration') && !ctx.calibration) throw new ConfigError(`pass '${pass.name}' needs calibration data (--calib) with these options`);
    try {
      if (requires.includes('topo-sorted')) sortTopologically(model.graph);
      ctx.progress(`${pass.name} (${i + 1}/${steps.length})`);
      result = await pass.run(model, options, ctx);
      if (ctx.verify) verifyModel(model, pass.name);
    } catch (cause) {
      throw new PassError(pass.name, before, { cause });
    }
    reports.push({ pass: pass.name, ms: performance.now() - t0, nodesBefore, nodesAfter: countNodes(model), ...result });
  }
  return reports;
}

export function countNodes(model: Model): number {
  let n = 0;
  for (const _ of model.graph.allNodes()) n++;
  return n;
}

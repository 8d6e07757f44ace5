/**
 * Narrowing the kept blocks (fewer MLP channels, fewer attention heads) is structured pruning: distill hands
 * it to the registered structured pruning pass, on the student with its blocks already removed, so that the
 * refit afterwards aims the narrowed blocks at the teacher.
 */
import type { Model } from '../ir/model.js';
import type { Dataset } from '../data/dataset.js';
import { listPasses } from '../pipeline/registry.js';
import { quietContext } from '../pipeline/pass.js';
import { verifyModel } from '../ir/verify.js';
import { ConfigError } from '../errors.js';

export interface Narrowing {
  /** Fraction of each MLP's channels the student keeps, in (0, 1). */
  readonly ffnKeep?: number;
  /** Attention heads removed per block (the caller turns "heads kept" into this). */
  readonly headsRemoved?: number;
}

const PASS = 'prune-structured';

/** The structured pruning pass, or a config error saying there is none. */
export function structuredPass(): NonNullable<ReturnType<typeof listPasses>[number]> {
  const pass = listPasses().find((p) => p.name === PASS);
  if (!pass) throw new ConfigError(`--ffn-ratio and --heads need the structured pruning pass '${PASS}', which this build does not have; distill removes whole blocks only`);
  return pass;
}

export async function narrowStudent(
  student: Model, n: Narrowing, context: { calibration?: Dataset; calibrationRows?: number; progress?: (m: string) => void; warn?: (m: string) => void },
): Promise<Readonly<Record<string, number>>> {
  const pass = structuredPass();
  const parsed = pass.options.safeParse({
    ffnRatio: n.ffnKeep === undefined ? 0 : 1 - n.ffnKeep,
    heads: n.headsRemoved ?? 0,
    ...(context.calibrationRows ? { calibrationRows: context.calibrationRows } : {}),
  });
  if (!parsed.success) throw new ConfigError(`--ffn-ratio/--heads: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  context.progress?.('narrowing the kept blocks');
  const ctx = quietContext({ calibration: context.calibration, progress: context.progress ?? (() => {}), warn: context.warn ?? (() => {}) });
  const result = await pass.run(student, parsed.data, ctx);
  verifyModel(student, PASS);
  return result.stats;
}

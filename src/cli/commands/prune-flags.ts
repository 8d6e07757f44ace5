/**
 * `llmopt prune` flags and how they become the options of the method's pass. Every check happens before the
 * model is read, so a bad command line costs nothing and writes nothing. A flag whose option the method's
 * pass does not declare is refused, so a method with other knobs (structured pruning) plugs in as a table
 * entry in workflows/prune.ts.
 */
import { ConfigError } from '../../errors.js';
import { cliFlagName, parseOptionsJson, passOptionShape, refuseUnknownOptions, splitExclude } from './pass-flags.js';
import { parsePattern, patternSparsity, type NmPattern } from '../../math/sparsity.js';
import { PRUNE_METHODS, type PruneMethodName, type PruneRequest } from '../../workflows/prune.js';

export interface PruneFlags {
  readonly output: string;
  readonly method: string;
  readonly sparsity?: number;
  readonly scope?: string;
  readonly pattern?: string;
  readonly schedule?: number;
  readonly calib?: string;
  readonly calibRows?: number;
  readonly reconstruct?: boolean;
  readonly exclude?: string;
  readonly includeHead?: boolean;
  readonly embeddings?: boolean;
  readonly eval?: string;
  readonly labels?: string;
  readonly evalRows?: number;
  readonly options?: string;
  readonly verify: boolean;
  readonly externalData?: boolean;
}

/** flag -> pass option. */
const FLAG_OPTIONS: readonly [keyof PruneFlags, string][] = [
  ['sparsity', 'sparsity'],
  ['scope', 'scope'],
  ['pattern', 'pattern'],
  ['schedule', 'schedule'],
  ['reconstruct', 'reconstruct'],
  ['includeHead', 'includeHead'],
  ['embeddings', 'includeEmbeddings'],
];

export function parseMethod(raw: string): PruneMethodName {
  if (!Object.hasOwn(PRUNE_METHODS, raw)) throw new ConfigError(`--method must be one of ${Object.keys(PRUNE_METHODS).join(', ')}, got '${raw}'`);
  return raw as PruneMethodName;
}

export function parsePatternFlag(raw: string | undefined): NmPattern | undefined {
  if (raw === undefined) return undefined;
  try {
    return parsePattern(raw);
  } catch (err) {
    throw new ConfigError(`--pattern: ${(err as Error).message}`);
  }
}

/** The method's pass and its options; throws ConfigError on anything inconsistent. */
export function pruneRequest(flags: PruneFlags): PruneRequest {
  const method = parseMethod(flags.method);
  const { pass, needsCalibration, takesSparsity } = PRUNE_METHODS[method];
  const pattern = parsePatternFlag(flags.pattern);
  if (takesSparsity) checkSparsity(flags.sparsity, pattern);
  if (flags.scope !== undefined && flags.scope !== 'layer' && flags.scope !== 'global') throw new ConfigError(`--scope must be layer or global, got '${flags.scope}'`);
  if (pattern && flags.scope === 'global') throw new ConfigError('--pattern fixes the sparsity of every group: --scope global does not apply');
  if (flags.schedule !== undefined && !(Number.isInteger(flags.schedule) && flags.schedule >= 1)) throw new ConfigError(`--schedule expects a whole number of steps ≥ 1, got ${flags.schedule}`);
  if (needsCalibration && !flags.calib) throw new ConfigError(`--method ${method} needs calibration data: --calib DATA (token ids .npy, .npz or .jsonl)`);
  if (flags.reconstruct === true && !flags.calib) throw new ConfigError('--reconstruct refits layers on calibration data: give --calib DATA');
  const shape = passOptionShape(pass);
  const options: Record<string, unknown> = {};
  for (const [flag, option] of FLAG_OPTIONS) {
    const value = flags[flag];
    if (value === undefined) continue;
    if (shape && !(option in shape)) throw new ConfigError(`${cliFlagName(flag)} does not apply to --method ${method}`);
    options[option] = value;
  }
  if (pattern) options.sparsity = patternSparsity(pattern);
  const exclude = splitExclude(flags.exclude);
  if (exclude.length) options.exclude = exclude;
  if (flags.options) Object.assign(options, parseOptionsJson(flags.options));
  return { method, pass, options: refuseUnknownOptions(pass, options) };
}

function checkSparsity(sparsity: number | undefined, pattern: NmPattern | undefined): void {
  if (sparsity === undefined) {
    if (!pattern) throw new ConfigError('give --sparsity S (a fraction in [0, 1)) or --pattern N:M');
    return;
  }
  if (!(sparsity >= 0 && sparsity < 1)) throw new ConfigError(`--sparsity must be in [0, 1), got ${sparsity}`);
  if (pattern && Math.abs(sparsity - patternSparsity(pattern)) > 1e-9) {
    throw new ConfigError(`--pattern ${pattern.n}:${pattern.m} prunes ${patternSparsity(pattern)} of the weights; --sparsity ${sparsity} contradicts it (leave it out)`);
  }
}

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
  readonly heads?: number;
  readonly ffnRatio?: number;
  readonly layers?: string;
  readonly importance?: string;
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
  ['heads', 'heads'],
  ['ffnRatio', 'ffnRatio'],
  ['importance', 'importance'],
];

const IMPORTANCE = ['auto', 'norm', 'activation'];
/** The options of structured pruning that say what to remove. */
const SHRINK_OPTIONS = ['heads', 'ffnRatio', 'layers'];

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
  else checkShrinkFlags(flags, method);
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
  const layers = parseLayers(flags.layers);
  if (layers) {
    if (shape && !('layers' in shape)) throw new ConfigError(`--layers does not apply to --method ${method}`);
    options.layers = layers;
  }
  if (!takesSparsity && flags.calibRows !== undefined && shape && 'calibrationRows' in shape) options.calibrationRows = Math.max(1, flags.calibRows);
  if (pattern) options.sparsity = patternSparsity(pattern);
  const exclude = splitExclude(flags.exclude);
  if (exclude.length && shape && !('exclude' in shape)) throw new ConfigError(`--exclude does not apply to --method ${method}`);
  if (exclude.length) options.exclude = exclude;
  if (flags.options) Object.assign(options, parseOptionsJson(flags.options));
  if (!takesSparsity && !SHRINK_OPTIONS.some((o) => options[o] !== undefined)) {
    throw new ConfigError(`--method ${method} needs what to remove: --heads H, --ffn-ratio R and/or --layers I,J`);
  }
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

/** Structured pruning removes whole units (heads, FFN channels, blocks): no sparsity or pattern. */
function checkShrinkFlags(flags: PruneFlags, method: PruneMethodName): void {
  const given = flags.sparsity !== undefined ? '--sparsity' : flags.pattern !== undefined ? '--pattern' : undefined;
  if (given) throw new ConfigError(`${given} does not apply to --method ${method}: it removes whole heads, FFN channels or blocks (--heads, --ffn-ratio, --layers)`);
  if (flags.heads !== undefined && !(flags.heads > 0)) throw new ConfigError(`--heads expects a count ≥ 1 or a fraction in (0, 1), got ${flags.heads}`);
  if (flags.ffnRatio !== undefined && !(flags.ffnRatio > 0 && flags.ffnRatio < 1)) throw new ConfigError(`--ffn-ratio must be in (0, 1), got ${flags.ffnRatio}`);
  if (flags.importance !== undefined && !IMPORTANCE.includes(flags.importance)) throw new ConfigError(`--importance must be one of ${IMPORTANCE.join(', ')}, got '${flags.importance}'`);
  if (flags.importance === 'activation' && !flags.calib) throw new ConfigError('--importance activation ranks by calibration activations: give --calib DATA');
}

/** `--layers 1,3` -> [1, 3]: block indices, counted from 0. */
export function parseLayers(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const out = parts.map(Number);
  if (!parts.length || out.some((n) => !Number.isInteger(n) || n < 0)) throw new ConfigError(`--layers expects block indices counted from 0, like 1,3; got '${raw}'`);
  return [...new Set(out)].sort((a, b) => a - b);
}

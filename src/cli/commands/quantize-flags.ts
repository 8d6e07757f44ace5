/** `llmopt quantize` flags and how they map onto the options of each mode's pass. */
import { ConfigError } from '../../errors.js';
import { cliFlagName, parseOptionsJson, refuseUnknownOptions } from './pass-flags.js';

export { splitExclude } from './pass-flags.js';

export const MODES = ['dynamic', 'static', 'weight-only', 'fp16', 'bf16'] as const;
export type Mode = (typeof MODES)[number];

export const PASS_OF_MODE: Readonly<Record<Mode, string>> = {
  dynamic: 'quantize-dynamic',
  static: 'quantize-static',
  'weight-only': 'quantize-weight-only',
  fp16: 'convert-float16',
  bf16: 'convert-float16',
};

export interface QuantizeFlags {
  readonly output: string;
  readonly mode: string;
  readonly target?: string;
  readonly format?: string;
  readonly perChannel?: boolean;
  readonly weightType?: string;
  readonly embeddings?: boolean;
  readonly calib?: string;
  readonly calibMethod?: string;
  readonly percentile?: number;
  readonly calibRows?: number;
  readonly smoothAlpha?: number;
  readonly symmetricActivations?: boolean;
  readonly bits?: number;
  readonly blockSize?: number;
  readonly algo?: string;
  readonly asymmetric?: boolean;
  readonly accuracyLevel?: number;
  readonly keepHead8bit?: boolean;
  readonly exclude?: string;
  readonly eval?: string;
  readonly labels?: string;
  readonly evalRows?: number;
  readonly report?: boolean;
  readonly maxDrop?: number;
  readonly options?: string;
  readonly verify: boolean;
  readonly externalData?: boolean;
}

/** flag -> [pass option name, modes it applies to, value transform]. */
const FLAG_OPTIONS: readonly [keyof QuantizeFlags, string, readonly Mode[], ((v: unknown) => unknown)?][] = [
  ['format', 'format', ['dynamic', 'static', 'weight-only']],
  ['perChannel', 'perChannel', ['dynamic', 'static']],
  ['weightType', 'weightType', ['dynamic', 'static']],
  ['embeddings', 'embeddings', ['dynamic']],
  ['calibMethod', 'method', ['static']],
  ['percentile', 'percentile', ['static']],
  ['smoothAlpha', 'smoothAlpha', ['static']],
  ['symmetricActivations', 'activationSymmetric', ['static']],
  ['bits', 'bits', ['weight-only']],
  ['blockSize', 'blockSize', ['weight-only']],
  ['algo', 'algo', ['weight-only']],
  ['asymmetric', 'symmetric', ['weight-only'], (v) => !v],
  ['accuracyLevel', 'accuracyLevel', ['weight-only']],
  ['keepHead8bit', 'keepHead8bit', ['weight-only']],
];

export function parseMode(raw: string): Mode {
  if (!(MODES as readonly string[]).includes(raw)) throw new ConfigError(`--mode must be one of ${MODES.join(', ')}, got '${raw}'`);
  return raw as Mode;
}

/** The pass options for a mode from the flags; a flag that does not apply to the mode is an error. */
export function passOptions(mode: Mode, flags: QuantizeFlags, exclude: readonly string[]): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [flag, option, modes, transform] of FLAG_OPTIONS) {
    const value = flags[flag];
    if (value === undefined) continue;
    const cli = cliFlagName(flag);
    if (!modes.includes(mode)) throw new ConfigError(`${cli} applies to --mode ${modes.join(' or ')}, not ${mode}`);
    options[option] = transform ? transform(value) : value;
  }
  if (exclude.length) options.exclude = [...exclude];
  if (mode === 'fp16' || mode === 'bf16') options.dtype = mode === 'fp16' ? 'float16' : 'bfloat16';
  if (flags.options) Object.assign(options, parseOptionsJson(flags.options));
  return refuseUnknownOptions(PASS_OF_MODE[mode], options);
}

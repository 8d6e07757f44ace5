/**
 * Steps of a run config: pass names, `preset:NAME`, `{ pass, options }`, and the pseudo-pass `quantize`
 * whose options are `llmopt quantize`'s (mode plus flag names in camelCase), mapped onto the mode's pass
 * the same way the command maps its flags.
 */
import { z } from 'zod';
import { MODES, PASS_OF_MODE, passOptions, type QuantizeFlags } from '../cli/commands/quantize-flags.js';
import { resolveSteps, type StepSpec } from '../pipeline/registry.js';
import type { ResolvedStep } from '../pipeline/manager.js';
import { ConfigError } from '../errors.js';
import { describeIssue } from './config.js';

/** The options of `{ "pass": "quantize" }`. */
export const QuantizeStepOptions = z.object({
  mode: z.enum(MODES),
  format: z.string().optional(),
  perChannel: z.boolean().optional(),
  weightType: z.string().optional(),
  embeddings: z.boolean().optional(),
  calibMethod: z.string().optional(),
  percentile: z.number().optional(),
  smoothAlpha: z.number().optional(),
  symmetricActivations: z.boolean().optional(),
  bits: z.number().optional(),
  blockSize: z.number().optional(),
  algo: z.string().optional(),
  asymmetric: z.boolean().optional(),
  accuracyLevel: z.number().optional(),
  keepHead8bit: z.boolean().optional(),
  exclude: z.union([z.string(), z.array(z.string())]).optional(),
  /** Any other option of the mode's pass, by the pass's own names. */
  options: z.record(z.string(), z.unknown()).optional(),
}).strict();

export const QUANTIZE_STEP = 'quantize';

/** Replaces every `quantize` pseudo-step with the mode's pass and its options. */
export function expandSteps(specs: readonly StepSpec[]): StepSpec[] {
  return specs.map((spec, i) => {
    const name = typeof spec === 'string' ? spec : spec.pass;
    if (name !== QUANTIZE_STEP) return spec;
    return quantizeStep(typeof spec === 'string' ? {} : spec.options ?? {}, i);
  });
}

function quantizeStep(raw: Readonly<Record<string, unknown>>, index: number): StepSpec {
  const at = `steps[${index}]`;
  const parsed = QuantizeStepOptions.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssue(parsed.error, ['steps', index, 'options']));
  const { mode, exclude, options, ...flags } = parsed.data;
  const list = typeof exclude === 'string' ? exclude.split(',').map((s) => s.trim()).filter(Boolean) : exclude ?? [];
  const asFlags: QuantizeFlags = { ...flags, output: '', mode, verify: true, ...(options ? { options: JSON.stringify(options) } : {}) };
  try {
    return { pass: PASS_OF_MODE[mode], options: passOptions(mode, asFlags, list) };
  } catch (err) {
    // The mapping speaks of command-line flags; here they are option keys.
    const message = (err as Error).message.replace(/--([a-z-]+)/g, (_, f: string) => f.replace(/-([a-z0-9])/g, (__, c: string) => c.toUpperCase()));
    throw new ConfigError(`${at} (quantize): ${message}`);
  }
}

/** Expanded and validated steps, presets included; errors name the step (`steps[2] (fuse-gelu): ...`). */
export function resolveRunSteps(specs: readonly StepSpec[]): ResolvedStep[] {
  return resolveSteps(expandSteps(specs));
}

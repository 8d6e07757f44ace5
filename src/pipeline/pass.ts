/** The pass contract: a named, documented graph transformation with zod-validated options. */
import type { z } from 'zod';
import type { Model } from '../ir/model.js';
import type { Dataset } from '../data/dataset.js';

export type Target = 'cpu' | 'cuda' | 'tensorrt' | 'openvino';
export const TARGETS: readonly Target[] = ['cpu', 'cuda', 'tensorrt', 'openvino'];

export interface PassResult {
  readonly modified: boolean;
  /** Counters for the summary table: { fused: 12, nodesRemoved: 84 }. */
  readonly stats: Readonly<Record<string, number>>;
}

export interface PassContext {
  readonly target: Target;
  readonly seed: number;
  /** Verify IR invariants after each pass. */
  readonly verify: boolean;
  /** Calibration data for passes that observe activations (static quantization, GPTQ, pruning). */
  readonly calibration?: Dataset;
  /** Progress line for long passes (a spinner in the terminal, nothing in --quiet/--json). */
  progress(message: string): void;
  /** Records why a rewrite fired or a candidate was rejected (shown by --explain). */
  explain(pass: string, message: string): void;
  warn(message: string): void;
}

export type PassRequirement = 'topo-sorted' | 'calibration';

export interface Pass<O extends z.ZodType = z.ZodType> {
  /** kebab-case, verb first; equals the file name. */
  readonly name: string;
  /** One line, shown by `llmopt passes`. */
  readonly description: string;
  /** Every field has a default, so `{}` is always valid. */
  readonly options: O;
  /** What the pass needs before it runs; a function when it depends on the options (calibration for some algorithms). */
  readonly requires?: readonly PassRequirement[] | ((options: z.output<O>) => readonly PassRequirement[]);
  run(model: Model, options: z.output<O>, ctx: PassContext): PassResult | Promise<PassResult>;
}

export const definePass = <O extends z.ZodType>(pass: Pass<O>): Pass<O> => pass;

/** A context that drops progress and explanations (tests, library use). */
export function quietContext(overrides: Partial<PassContext> = {}): PassContext {
  return {
    target: 'cpu',
    seed: 0,
    verify: true,
    progress: () => {},
    explain: () => {},
    warn: () => {},
    ...overrides,
  };
}

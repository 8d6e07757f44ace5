/**
 * The `llmopt run` config file: model, output, target, steps, data and gates in one JSON document.
 * Validated with zod; every error names the key it is about (`gates.maxAccuracyDrop: ...`). Relative
 * paths are relative to the config file, so a config checked into a repository works from any folder.
 */
import path from 'node:path';
import { z } from 'zod';
import { TARGETS, type Target } from '../pipeline/pass.js';
import { ConfigError } from '../errors.js';
import { readJsonConfig } from '../pipeline/config.js';

const Step = z.union([
  z.string().min(1),
  z.object({ pass: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) }).strict(),
], { error: 'a step is a pass name, "preset:NAME", or { "pass": NAME, "options": {...} }' });

export const RunGates = z.object({
  maxAccuracyDrop: z.number().min(0).optional().describe('largest relative quality loss (perplexity increase or accuracy loss over the original)'),
  minSpeedup: z.number().positive().optional().describe('smallest median latency ratio original / output'),
  maxSizeRatio: z.number().positive().optional().describe('largest on-disk size ratio output / original (external data included)'),
  maxLatencyMs: z.number().positive().optional().describe('largest median latency of the output, milliseconds'),
}).strict();
export type RunGates = z.infer<typeof RunGates>;
export type GateName = keyof RunGates;

const whole = (min: number) => z.number().int().min(min);

export const RunBench = z.object({
  runs: whole(1).default(20),
  warmup: whole(0).default(3),
  seq: whole(1).default(128),
  batch: whole(1).default(1),
  threads: whole(1).optional(),
  ep: z.enum(TARGETS as [Target, ...Target[]]).optional(),
}).strict();
export type RunBench = z.infer<typeof RunBench>;

export const RunConfigSchema = z.object({
  model: z.string().min(1),
  output: z.string().min(1),
  target: z.enum(TARGETS as [Target, ...Target[]]).default('cpu'),
  steps: z.array(Step).min(1),
  data: z.string().min(1).optional(),
  labels: z.string().min(1).optional(),
  calib: z.string().min(1).optional(),
  evalRows: whole(1).optional(),
  calibRows: whole(1).optional(),
  gates: RunGates.default({}),
  bench: z.union([z.literal(false), RunBench]).default(RunBench.parse({})),
  externalData: z.enum(['keep', 'external', 'inline']).default('keep'),
  verify: z.boolean().default(true),
  seed: whole(0).default(0),
}).strict();
export type RunConfigInput = z.input<typeof RunConfigSchema>;

/** A validated config with absolute paths. */
export interface RunConfig extends Omit<z.output<typeof RunConfigSchema>, 'bench'> {
  readonly bench: RunBench | false;
  /** The config file, absolute. */
  readonly file: string;
}

/** Reads, validates and resolves a config file; every problem is a ConfigError (exit 2). */
export function loadRunConfig(file: string): RunConfig {
  return parseRunConfig(readJsonConfig(file), file);
}

/** Validates a parsed document; `file` locates relative paths and prefixes messages. */
export function parseRunConfig(raw: unknown, file: string): RunConfig {
  const parsed = RunConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${file}: ${describeIssue(parsed.error)}`);
  const c = parsed.data;
  const dir = path.dirname(path.resolve(file));
  const rel = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
  const config: RunConfig = {
    ...c, file: path.resolve(file),
    model: rel(c.model)!, output: rel(c.output)!, data: rel(c.data), labels: rel(c.labels), calib: rel(c.calib),
  };
  checkConsistency(config, file);
  return config;
}

/** Keys that only make sense together. */
function checkConsistency(c: RunConfig, file: string): void {
  const fail = (key: string, message: string) => { throw new ConfigError(`${file}: ${key}: ${message}`); };
  if (c.gates.maxAccuracyDrop !== undefined && !c.data) fail('gates.maxAccuracyDrop', 'needs "data" to measure the quality of both models');
  if (c.labels && !c.data) fail('labels', 'needs "data" (the masked-LM inputs the labels belong to)');
  if (c.evalRows !== undefined && !c.data) fail('evalRows', 'needs "data"');
  if (c.calibRows !== undefined && !c.calib) fail('calibRows', 'needs "calib"');
  if (c.bench === false) {
    if (c.gates.minSpeedup !== undefined) fail('gates.minSpeedup', 'needs the benchmark ("bench" is false)');
    if (c.gates.maxLatencyMs !== undefined) fail('gates.maxLatencyMs', 'needs the benchmark ("bench" is false)');
  }
  if (path.resolve(c.model) === path.resolve(c.output)) fail('output', 'would overwrite the input model; choose another path');
}

/** `steps[1].options.bits: Invalid input` : the path of the first problem, then its message. */
export function describeIssue(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid config';
  const parts = [...prefix, ...issue.path];
  const key = parts.length ? keyPath(parts) : '(top level)';
  const extra = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
  return `${key}: ${issue.message}${extra}`;
}

export function keyPath(parts: readonly PropertyKey[]): string {
  return parts.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '');
}

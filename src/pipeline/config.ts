/** The pipeline config file (llmopt.config.json): zod-validated, errors name the bad key. */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TARGETS } from './pass.js';
import { ConfigError } from '../errors.js';

const Step = z.union([
  z.string(),
  z.object({ pass: z.string(), options: z.record(z.string(), z.unknown()).default({}) }).strict(),
]);

export const Gates = z.object({
  maxAccuracyDrop: z.number().min(0).optional(),
  minSpeedup: z.number().positive().optional(),
  maxSizeRatio: z.number().positive().optional(),
  maxLatencyMs: z.number().positive().optional(),
}).strict();

export const PipelineConfig = z.object({
  model: z.string().min(1),
  output: z.string().min(1),
  target: z.enum(TARGETS as [string, ...string[]]).default('cpu'),
  steps: z.array(Step).default(['preset:default']),
  data: z.string().optional(),
  labels: z.string().optional(),
  gates: Gates.default({}),
  externalData: z.enum(['keep', 'external', 'inline']).default('keep'),
  verify: z.boolean().default(true),
  seed: z.number().int().default(0),
}).strict();
export type PipelineConfig = z.infer<typeof PipelineConfig>;

/** Reads and validates a config file; relative paths inside it are relative to the file. */
export function loadConfig(file: string): PipelineConfig {
  const raw = readJsonConfig(file);
  const parsed = PipelineConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.length ? issue.path.join('.') : '(top level)';
    const extra = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
    throw new ConfigError(`${file}: ${key}: ${issue.message}${extra}`);
  }
  const dir = path.dirname(path.resolve(file));
  const rel = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
  return { ...parsed.data, model: rel(parsed.data.model)!, output: rel(parsed.data.output)!, data: rel(parsed.data.data), labels: rel(parsed.data.labels) };
}

/** The parsed JSON of a config file; an unreadable file or bad JSON is a ConfigError naming the file. */
export function readJsonConfig(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${file}: cannot read the config file`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * The sidecar `OUT.llmopt.json` written next to an output model `OUT.onnx`: what the model is for (target,
 * provider and session options, input shape ranges for shape-profiled engines), how it was made (the
 * pipeline steps, the tool version) and what `llmopt check` found. Read back with a zod schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Model } from './ir/model.js';
import { TARGETS, type Target } from './pipeline/pass.js';
import { profileFor } from './targets/index.js';
import { runtimeOptions } from './targets/provider-options.js';
import { inputRanges, type DimRange } from './targets/shape-ranges.js';
import { checkModel, countFindings } from './targets/check.js';
import { ConfigError, FileError } from './errors.js';

const OptionValue = z.union([z.string(), z.number(), z.boolean()]);
const Dim = z.union([z.number(), z.string(), z.null()]);

export const SidecarStep = z.object({
  pass: z.string(),
  options: z.record(z.string(), z.unknown()).optional(),
  modified: z.boolean().optional(),
  stats: z.record(z.string(), z.number()).optional(),
}).strict();
export type SidecarStep = z.infer<typeof SidecarStep>;

export const Sidecar = z.object({
  format: z.literal('llmopt-sidecar'),
  version: z.literal(1),
  tool: z.object({ name: z.string(), version: z.string() }).strict(),
  model: z.string(),
  target: z.enum(TARGETS as [Target, ...Target[]]),
  provider: z.object({ name: z.string(), options: z.record(z.string(), OptionValue) }).strict(),
  session: z.object({
    graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']),
    config: z.record(z.string(), z.string()),
  }).strict(),
  inputs: z.array(z.object({
    name: z.string(), dtype: z.string(), shape: z.array(Dim),
    min: z.array(z.number().int()), opt: z.array(z.number().int()), max: z.array(z.number().int()),
  }).strict()),
  steps: z.array(SidecarStep),
  findings: z.object({ errors: z.number().int(), warnings: z.number().int() }).strict(),
}).strict();
export type Sidecar = z.infer<typeof Sidecar>;

export interface SidecarRequest {
  readonly target: Target;
  readonly steps: readonly SidecarStep[];
  readonly toolVersion: string;
  /** Ranges for symbolic dims by name; others come from their names (shape-ranges.ts). */
  readonly dims?: Readonly<Record<string, DimRange>>;
}

/** `out.onnx` -> `out.llmopt.json` (the extension replaced; other names get the suffix appended). */
export function sidecarPath(modelPath: string): string {
  const ext = path.extname(modelPath);
  return ext === '.onnx' ? `${modelPath.slice(0, -ext.length)}.llmopt.json` : `${modelPath}.llmopt.json`;
}

export function buildSidecar(model: Model, modelPath: string, request: SidecarRequest): Sidecar {
  const profile = profileFor(request.target);
  const ranges = inputRanges(model, request.dims);
  const runtime = runtimeOptions(model, profile, ranges);
  return {
    format: 'llmopt-sidecar', version: 1,
    tool: { name: 'llmopt', version: request.toolVersion },
    model: path.basename(modelPath),
    target: request.target,
    provider: { name: runtime.provider, options: { ...runtime.providerOptions } },
    session: { graphOptimizationLevel: runtime.graphOptimizationLevel, config: { ...runtime.sessionConfig } },
    inputs: ranges.map((r) => ({ ...r, shape: [...r.shape], min: [...r.min], opt: [...r.opt], max: [...r.max] })),
    steps: request.steps.map((s) => ({ ...s })),
    findings: countFindings(checkModel(model, profile)),
  };
}

/** Builds and writes the sidecar of a saved model; returns its path. */
export function writeSidecar(model: Model, modelPath: string, request: SidecarRequest): string {
  const file = sidecarPath(modelPath);
  const text = `${JSON.stringify(buildSidecar(model, modelPath, request), null, 2)}\n`;
  try {
    fs.writeFileSync(file, text);
  } catch (err) {
    throw new FileError(`${file}: cannot write the sidecar (${(err as Error).message})`, { cause: err });
  }
  return file;
}

/** Reads and validates a sidecar (the .llmopt.json itself or the model it belongs to). */
export function readSidecar(file: string): Sidecar {
  const at = file.endsWith('.llmopt.json') ? file : sidecarPath(file);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(at, 'utf8'));
  } catch (err) {
    throw new FileError(`${at}: cannot read the sidecar (${(err as Error).message})`, { cause: err });
  }
  const parsed = Sidecar.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${at}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return parsed.data;
}

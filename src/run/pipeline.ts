/**
 * `llmopt run`'s work, without the command line: load, run the steps (with calibration data), check the
 * result for the target, write it (atomically) with its sidecar, evaluate original and output on the
 * data, time them against each other, judge the gates, and write the manifest.
 */
import path from 'node:path';
import { loadModel, sourceFilesOf } from '../io/load.js';
import { saveModel } from '../io/save.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import { runSteps, type ResolvedStep, type StepReport } from '../pipeline/manager.js';
import type { PassContext } from '../pipeline/pass.js';
import { readDataset, type Dataset } from '../data/dataset.js';
import { readNpy } from '../runtime/npy.js';
import type { HostTensor } from '../runtime/tensors.js';
import { evaluateQuality, relativeDrop, type Quality } from '../eval/evaluate.js';
import { checkModel, countFindings, groupFindings, type FindingCounts, type FindingGroup } from '../targets/check.js';
import { writeSidecar } from '../sidecar.js';
import { ConfigError } from '../errors.js';
import type { RunConfig } from './config.js';
import { resolveRunSteps } from './steps.js';
import { benchPair, type RunLatency } from './bench.js';
import { judgeGates, type GateResult, type RunFigures } from './gates.js';
import { digestFiles, manifestPath, relativePath, writeJsonAtomic, type FileDigest } from './manifest.js';

export interface RunHooks {
  readonly toolVersion: string;
  progress(message: string): void;
  warn(message: string): void;
}

export interface RunQuality {
  readonly rows: number;
  readonly original: Quality;
  readonly output: Quality;
}

export interface RunResult {
  readonly startedAt: string;
  readonly seconds: number;
  readonly config: RunConfig;
  readonly steps: readonly { readonly pass: string; readonly options: unknown }[];
  readonly reports: readonly StepReport[];
  readonly input: readonly FileDigest[];
  readonly output: readonly FileDigest[];
  readonly findings: FindingCounts & { readonly groups: readonly FindingGroup[] };
  readonly quality: RunQuality | null;
  readonly latency: RunLatency | null;
  readonly figures: RunFigures;
  readonly gates: readonly GateResult[];
  readonly manifest: string;
  readonly sidecar: string;
}

export async function runPipeline(config: RunConfig, hooks: RunHooks): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const steps = resolveStepsOf(config);
  hooks.progress(`reading ${config.model}`);
  const original = loadModel(config.model);
  const calibration = config.calib ? limitRows(readDataset(config.calib, original), config.calibRows) : undefined;
  const evalData = config.data ? readEvalData(config, original) : undefined;

  const model = cloneModel(original);
  const ctx: PassContext = {
    target: config.target, seed: config.seed, verify: config.verify, calibration,
    progress: hooks.progress, explain: () => {}, warn: hooks.warn,
  };
  const reports = await runSteps(model, steps, ctx);
  const findings = checkModel(model, config.target);

  hooks.progress(`writing ${config.output}`);
  const saved = saveModel(model, config.output, { externalData: config.externalData });
  const sidecar = writeSidecar(model, config.output, {
    target: config.target, toolVersion: hooks.toolVersion,
    steps: reports.map((r, i) => ({ pass: r.pass, options: asRecord(steps[i]?.options), modified: r.modified, stats: { ...r.stats } })),
  });

  const quality = evalData ? await evaluatePair(original, model, evalData, hooks) : null;
  const latency = config.bench === false ? null
    : await benchPair(config.model, config.output, config.bench, config.target, config.seed, (m) => hooks.progress(`bench: ${m}`));

  const base = path.dirname(path.resolve(config.output));
  const input = digestFiles(sourceFilesOf.get(original) ?? [config.model], base);
  const output = digestFiles([saved.file, ...saved.dataFiles.map((d) => d.file)], base);
  const figures = figuresOf(input, output, quality, latency);
  const gates = judgeGates(config.gates, figures);
  const result: RunResult = {
    startedAt, seconds: 0, config, steps: steps.map((s) => ({ pass: s.pass.name, options: s.options })), reports,
    input, output, findings: { ...countFindings(findings), groups: groupFindings(findings) },
    quality, latency, figures, gates, manifest: manifestPath(config.output), sidecar,
  };
  const done = { ...result, seconds: (performance.now() - t0) / 1000 };
  writeJsonAtomic(done.manifest, manifestOf(done, hooks.toolVersion));
  return done;
}

/** Steps are checked before any model is read, so a typo fails in milliseconds (exit 2). */
function resolveStepsOf(config: RunConfig): ResolvedStep[] {
  try {
    return resolveRunSteps(config.steps);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${config.file}: ${err.message}`, { cause: err });
    throw err;
  }
}

interface EvalData {
  readonly ids: HostTensor;
  readonly labels?: HostTensor;
  readonly rows: number;
}

function readEvalData(config: RunConfig, model: Model): EvalData {
  const data = readDataset(config.data!, model);
  const ids = [...data.arrays.values()][0]!;
  const labels = config.labels ? readNpy(config.labels) : undefined;
  return { ids, labels, rows: Math.min(data.rows, config.evalRows ?? data.rows) };
}

async function evaluatePair(original: Model, output: Model, data: EvalData, hooks: RunHooks): Promise<RunQuality> {
  hooks.progress(`evaluating the original on ${data.rows} rows`);
  const before = await evaluateQuality(original, data.ids, data.labels, { limit: data.rows });
  hooks.progress(`evaluating the output on ${data.rows} rows`);
  const after = await evaluateQuality(output, data.ids, data.labels, { limit: data.rows });
  return { rows: data.rows, original: before, output: after };
}

function limitRows(data: Dataset, rows: number | undefined): Dataset {
  return rows === undefined ? data : { ...data, rows: Math.min(data.rows, rows) };
}

function figuresOf(input: readonly FileDigest[], output: readonly FileDigest[], quality: RunQuality | null, latency: RunLatency | null): RunFigures {
  const bytes = (files: readonly FileDigest[]) => files.reduce((n, f) => n + f.bytes, 0);
  return {
    ...(quality ? { accuracyDrop: relativeDrop(quality.original, quality.output) } : {}),
    ...(latency ? { speedup: latency.speedup.value, latencyMs: latency.output.p50 } : {}),
    sizeRatio: bytes(output) / bytes(input),
  };
}

function asRecord(options: unknown): Record<string, unknown> | undefined {
  return options !== null && typeof options === 'object' && !Array.isArray(options) ? { ...(options as Record<string, unknown>) } : undefined;
}

/** The manifest document: stable field names, documented in docs/commands/run.md. */
export function manifestOf(r: RunResult, toolVersion: string): Record<string, unknown> {
  const base = path.dirname(path.resolve(r.config.output));
  const rel = (p: string | undefined) => (p === undefined ? undefined : relativePath(base, p));
  const { file, ...config } = r.config;
  return {
    format: 'llmopt-run-manifest',
    version: 1,
    tool: { name: 'llmopt', version: toolVersion },
    startedAt: r.startedAt,
    seconds: r.seconds,
    input: r.input,
    output: r.output,
    config: {
      ...config, file: rel(file), model: rel(config.model), output: rel(config.output),
      data: rel(config.data), labels: rel(config.labels), calib: rel(config.calib),
      resolvedSteps: r.steps,
    },
    steps: r.reports.map((s) => ({ pass: s.pass, modified: s.modified, stats: s.stats, ms: s.ms, nodesBefore: s.nodesBefore, nodesAfter: s.nodesAfter })),
    findings: { errors: r.findings.errors, warnings: r.findings.warnings },
    quality: r.quality,
    latency: r.latency,
    figures: r.figures,
    gates: r.gates,
    passed: r.gates.every((g) => g.passed),
  };
}

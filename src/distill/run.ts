/**
 * The distill workflow behind `llmopt distill`: read and check everything first, build the student (blocks
 * removed, optional refit), compare it with the teacher on held-out data, then write the outputs, each one
 * atomically (temporary name, renamed when whole): soft labels and their manifest, the student, the loss
 * graph. An error before the writing starts leaves no file behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Model } from '../ir/model.js';
import { loadModel, sourceFilesOf } from '../io/load.js';
import { saveModel } from '../io/save.js';
import { readDataset, type Dataset } from '../data/dataset.js';
import { readNpy } from '../runtime/npy.js';
import type { HostTensor } from '../runtime/tensors.js';
import { countParameters } from '../analysis/parameters.js';
import { buildStudent, type KeepSpec, type StudentResult } from './student.js';
import { compareToTeacher, type Comparison } from './compare.js';
import { spanEnds } from './fit.js';
import { writeSoftLabels, type SoftLabelResult } from './soft-labels.js';
import { buildLossModel } from './loss-graph.js';
import { digestFiles, digestOf, writeJsonAtomic, type SoftLabelManifest } from './manifest.js';
import { mapBlocks } from './boundaries.js';
import type { Narrowing } from './narrow.js';
import { ConfigError } from '../errors.js';

export interface SoftLabelJob {
  readonly data: string;
  readonly rows?: number;
  readonly labels?: string;
  readonly file: string;
  readonly format: 'npz' | 'safetensors';
  readonly temperature: number;
  readonly topK?: number;
  readonly indexType: 'int32' | 'int64';
  readonly hiddenStates: readonly number[];
}

export interface LossJob {
  readonly file: string;
  readonly alpha: number;
  readonly temperature: number;
  readonly topK?: number;
  readonly indexType: 'int32' | 'int64';
}

export interface DistillJob {
  readonly teacher: string;
  readonly output: string;
  readonly keep: KeepSpec;
  readonly fit: boolean;
  readonly ridge: number;
  readonly calib?: string;
  readonly calibRows?: number;
  readonly eval?: { readonly file: string; readonly labels?: string; readonly rows?: number };
  readonly softLabels?: SoftLabelJob;
  readonly loss?: LossJob;
  /** Narrower kept blocks: the fraction of MLP channels and the number of attention heads kept. */
  readonly narrow?: { readonly ffnKeep?: number; readonly headsKept?: number };
  readonly externalData: boolean;
  readonly version: string;
  readonly progress: (message: string) => void;
  readonly warn: (message: string) => void;
}

export interface DistillOutcome {
  readonly teacher: Model;
  readonly built: StudentResult;
  readonly spans: readonly { readonly block: number; readonly from: number; readonly to: number }[];
  readonly parameters: { readonly teacher: number; readonly student: number };
  readonly comparison: Comparison | undefined;
  readonly evalRows: number | undefined;
  readonly softLabels: { readonly result: SoftLabelResult; readonly manifest: string } | undefined;
  readonly studentBytes: number;
  readonly ms: number;
}

export async function runDistill(job: DistillJob): Promise<DistillOutcome> {
  const t0 = performance.now();
  const teacher = loadModel(job.teacher);
  const inputs = readInputs(job, teacher);
  job.progress('building the student');
  const built = await buildStudent(teacher, {
    keep: job.keep, fit: job.fit, ridge: job.ridge, calibration: inputs.calib, calibrationRows: job.calibRows,
    narrow: inputs.narrow, progress: job.progress, warn: job.warn,
  });
  let comparison: Comparison | undefined;
  if (inputs.evalData) {
    job.progress('comparing with the teacher on the evaluation data');
    const models = job.fit ? [built.plain, built.student] : [built.plain];
    comparison = await compareToTeacher(teacher, models, { ...inputs.evalData, rows: job.eval?.rows });
  }
  const softLabels = job.softLabels && inputs.softData ? await writeLabels(teacher, job, job.softLabels, inputs.softData, inputs.softLabels) : undefined;
  job.progress(`writing ${job.output}`);
  const saved = saveModel(built.student, job.output, { externalData: job.externalData ? 'external' : 'keep' });
  if (job.loss) {
    const vocab = vocabOf(teacher);
    saveModel(buildLossModel({ ...job.loss, vocab }), job.loss.file, { externalData: 'inline' });
  }
  const ends = spanEnds(built.keep, built.map.blocks.length);
  return {
    teacher, built,
    spans: built.keep.map((block, j) => ({ block, from: j === 0 ? 0 : block, to: ends[j]! })),
    parameters: { teacher: countParameters(teacher).total, student: countParameters(built.student).total },
    comparison, evalRows: comparison ? Math.min(inputs.evalData!.data.rows, job.eval?.rows ?? Infinity) : undefined,
    softLabels, studentBytes: saved.bytes + saved.dataFiles.reduce((n, d) => n + d.bytes, 0),
    ms: performance.now() - t0,
  };
}

interface Inputs {
  readonly narrow: Narrowing | undefined;
  readonly calib: Dataset | undefined;
  readonly evalData: { data: Dataset; ids: HostTensor; labels?: HostTensor } | undefined;
  readonly softData: Dataset | undefined;
  readonly softLabels: HostTensor | undefined;
}

/** Every file and flag that can be checked before the work starts. */
function readInputs(job: DistillJob, teacher: Model): Inputs {
  const calib = job.calib ? readDataset(job.calib, teacher) : undefined;
  let evalData: Inputs['evalData'];
  if (job.eval) {
    const data = readDataset(job.eval.file, teacher);
    const ids = idsOf(data);
    evalData = { data, ids, labels: job.eval.labels ? readLabels(job.eval.labels, ids) : undefined };
  }
  const s = job.softLabels;
  const softData = s ? readDataset(s.data, teacher) : undefined;
  const softLabels = s?.labels && softData ? readLabels(s.labels, idsOf(softData)) : undefined;
  const vocab = vocabOf(teacher);
  for (const k of [s?.topK, job.loss?.topK]) {
    if (k !== undefined && vocab !== undefined && k > vocab) throw new ConfigError(`--top-k ${k} is larger than the teacher's vocabulary (${vocab})`);
  }
  if (s?.hiddenStates.length) {
    const count = mapBlocks(teacher).blocks.length;
    const bad = s.hiddenStates.find((i) => i >= count);
    if (bad !== undefined) throw new ConfigError(`--hidden-states: ${bad} is not a block of the teacher (it has ${count}: 0..${count - 1})`);
  }
  return { narrow: job.narrow && narrowingOf(teacher, job.narrow), calib, evalData, softData, softLabels };
}

/** Heads kept -> heads removed, checked against the teacher's head count. */
function narrowingOf(teacher: Model, n: NonNullable<DistillJob['narrow']>): Narrowing {
  if (n.headsKept === undefined) return { ffnKeep: n.ffnKeep };
  const heads = mapBlocks(teacher).structure.blocks[0]?.attention[0]?.heads;
  if (heads === undefined) throw new ConfigError('--heads: the teacher\'s head count is unknown');
  if (n.headsKept >= heads) throw new ConfigError(`--heads ${n.headsKept} keeps every head or more (the teacher has ${heads} per block)`);
  return { ffnKeep: n.ffnKeep, headsRemoved: heads - n.headsKept };
}

function idsOf(data: Dataset): HostTensor {
  const entries = [...data.arrays.entries()];
  return (entries.find(([n]) => /ids|tokens/i.test(n)) ?? entries[0]!)[1];
}

function readLabels(file: string, ids: HostTensor): HostTensor {
  const labels = readNpy(file);
  if (labels.dims.join() !== ids.dims.join()) throw new ConfigError(`${file}: labels are [${labels.dims}], the data is [${ids.dims}]`);
  return labels;
}

/** The last dim of the first output, when the model declares it. */
function vocabOf(model: Model): number | undefined {
  const last = model.graph.outputs[0]?.type?.shape?.at(-1);
  return typeof last === 'number' ? last : undefined;
}

async function writeLabels(teacher: Model, job: DistillJob, s: SoftLabelJob, data: Dataset, labels: HostTensor | undefined) {
  const map = mapBlocks(teacher);
  const hidden = new Map(s.hiddenStates.map((i) => [i, map.blocks[i]!.output]));
  const nextToken = !labels && map.structure.architecture.kind === 'decoder';
  job.progress(`writing teacher soft labels to ${s.file}`);
  const result = await writeSoftLabels(teacher, {
    file: s.file, format: s.format, data, rows: s.rows, temperature: s.temperature, topK: s.topK, indexType: s.indexType,
    hidden, nextTokenLabels: nextToken, labels,
    metadata: { producer: `llmopt ${job.version}`, temperature: String(s.temperature), top_k: String(s.topK ?? 'all') },
    onBatch: (done, total) => job.progress(`writing teacher soft labels: ${done}/${total} rows`),
  });
  const manifest: SoftLabelManifest = {
    format: 'llmopt-soft-labels', formatVersion: 1,
    tool: { name: 'llmopt', version: job.version },
    teacher: await digestFiles(sourceFilesOf.get(teacher) ?? [job.teacher]),
    data: { source: path.basename(s.data), rows: result.rows },
    labelsFile: { ...digestOf(result.written), format: s.format },
    temperature: s.temperature, topK: s.topK ?? null, indexType: s.topK === undefined ? null : s.indexType,
    hiddenStates: [...s.hiddenStates],
    labels: labels ? 'masked-lm' : nextToken ? 'next-token' : null,
    vocabulary: result.vocab,
    arrays: result.arrays,
  };
  const manifestFile = manifestPath(s.file);
  writeJsonAtomic(manifestFile, manifest);
  return { result, manifest: manifestFile };
}

/** `x.npz` -> `x.npz.json`. */
export function manifestPath(file: string): string {
  return `${file}.json`;
}

/** Refuses outputs that would overwrite one another or an input. */
export function checkOutputs(job: Pick<DistillJob, 'teacher' | 'output' | 'softLabels' | 'loss' | 'calib' | 'eval'>): void {
  const outputs = [job.output, job.softLabels?.file, job.softLabels && manifestPath(job.softLabels.file), job.loss?.file].filter((f): f is string => !!f);
  const inputs = [job.teacher, job.calib, job.eval?.file, job.eval?.labels, job.softLabels?.data, job.softLabels?.labels].filter((f): f is string => !!f);
  const seen = new Set<string>();
  for (const o of outputs) {
    const full = path.resolve(o);
    if (seen.has(full)) throw new ConfigError(`${o}: two outputs would share this path`);
    seen.add(full);
    if (inputs.some((i) => sameFile(i, o))) throw new ConfigError(`${o}: the output would overwrite an input; choose another path`);
    const dir = path.dirname(full);
    if (!fs.existsSync(dir)) throw new ConfigError(`${o}: folder '${dir}' does not exist`);
  }
}

function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  const x = fs.statSync(a, { throwIfNoEntry: false });
  const y = fs.statSync(b, { throwIfNoEntry: false });
  return !!x && !!y && x.dev === y.dev && x.ino === y.ino;
}

/**
 * Closed-form layer-wise refit of a student made by dropping blocks. Kept block j (teacher block k_j) stands
 * for the teacher blocks up to the next kept one: its target is the teacher's stream after block
 * e_j = k_{j+1} − 1 (the last block for the last kept one). Block by block, sublayer by sublayer, on
 * calibration data run through the student as refit so far:
 *
 *   X = input of the sublayer's output projection (o_proj, down)    E = target sum − student sum
 *   W ← W + ΔW,  ΔW = argmin ‖X·ΔW − E‖² + λ‖ΔW‖²                   (ridge.ts, products.ts)
 *
 * The attention sublayer aims at the teacher's stream after the attention of block e_j, the MLP at the
 * stream after block e_j; stream-target.ts turns that stream into the target sum (the teacher's direction at
 * the student's scale, or through a post norm, which first takes the γ and β of block e_j's norm). Tokens are
 * weighted by 1 / rms of their target: every reader of the stream normalizes it first.
 */
import type { Model } from '../ir/model.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/dataset.js';
import { CaptureSession } from '../runtime/capture.js';
import type { BlockBoundary, SublayerBoundary } from './boundaries.js';
import { CrossProducts } from './products.js';
import { solveRidge } from './ridge.js';
import { streamCorrection, type PostNorm } from './stream-target.js';
import { TeacherTargets } from './teacher-targets.js';
import { addCorrection, copyAffine, projectionWeight, readAffine, type ProjectionWeight } from './weights.js';

/** λ / mean diagonal of XᵀX: strong shrinkage, measured best on the shared tiny models (docs/commands/distill.md). */
export const DEFAULT_RIDGE = 3;

export interface FitOptions {
  /** λ as a fraction of the mean diagonal of XᵀX. */
  readonly ridge: number;
  readonly rows?: number;
  readonly batchSize?: number;
  readonly progress?: (message: string) => void;
  readonly warn?: (message: string) => void;
}

export interface FitStep {
  /** Teacher index of the student block, and of the teacher block whose stream it is fit to. */
  readonly block: number;
  readonly target: number;
  readonly sublayer: 'attention' | 'mlp';
  /** Output value of the refit projection. */
  readonly projection: string;
  /** ‖E‖ / ‖target‖ (token-weighted) on the calibration rows before the refit, and as least squares predicts after it. */
  readonly errorBefore: number;
  readonly errorAfter: number;
}

/** Span ends: kept block j is fit to the teacher's stream after block spanEnds[j]. */
export function spanEnds(keep: readonly number[], blockCount: number): number[] {
  return keep.map((_, j) => (keep[j + 1] ?? blockCount) - 1);
}

export async function fitStudent(
  teacher: Model, student: Model, blocks: readonly BlockBoundary[], keep: readonly number[], data: Dataset, options: FitOptions,
): Promise<FitStep[]> {
  const ends = spanEnds(keep, blocks.length);
  const names = keep.flatMap((_, j) => blocks[ends[j]!]!.sublayers.map((s) => s.output));
  const rows = Math.min(data.rows, options.rows ?? data.rows);
  const targets = await TeacherTargets.create(teacher, names, data, rows);
  const steps: FitStep[] = [];
  try {
    for (const [j, k] of keep.entries()) {
      const e = ends[j]!;
      for (const [s, mine] of blocks[k]!.sublayers.entries()) {
        const theirs = blocks[e]!.sublayers[s];
        if (!theirs || theirs.kind !== mine.kind) { options.warn?.(`block ${k}: its sublayers differ from block ${e}'s; not refit`); break; }
        options.progress?.(`refitting block ${k} ${mine.kind} to the teacher's block ${e}`);
        const step = await fitSublayer({ teacher, student, targets, mine, theirs, data, rows, batch: options.batchSize ?? 8 }, options.ridge);
        if (typeof step === 'string') options.warn?.(`block ${k} ${mine.kind}: ${step}; not refit`);
        else steps.push({ block: k, target: e, sublayer: mine.kind, ...step });
      }
    }
  } finally {
    await targets.release();
  }
  return steps;
}

interface StepInput {
  readonly teacher: Model;
  readonly student: Model;
  readonly targets: TeacherTargets;
  readonly mine: SublayerBoundary;
  readonly theirs: SublayerBoundary;
  readonly data: Dataset;
  readonly rows: number;
  readonly batch: number;
}

async function fitSublayer(input: StepInput, ridge: number): Promise<Pick<FitStep, 'projection' | 'errorBefore' | 'errorAfter'> | string> {
  const { teacher, student, mine, theirs } = input;
  if (!mine.projection) return 'its branch does not end in a product';
  const weight = projectionWeight(student, mine.projection);
  if (typeof weight === 'string') return weight;
  let norm: PostNorm | undefined;
  if (mine.postNorm) {
    const own = theirs.postNorm && readAffine(teacher, theirs.postNorm);
    if (!own || (mine.output !== theirs.output && !copyAffine(student, mine.postNorm, own))) return 'its post norm\'s scale and shift are unreadable or shared';
    norm = own;
  }
  const sums = await accumulate(input, weight, norm);
  const { delta, lambda } = solveRidge(sums.gram, sums.cross, weight.k, weight.n, ridge);
  addCorrection(student, weight, delta);
  const after = residual(sums, delta, lambda);
  const scale = Math.max(sums.target, 1e-30);
  return { projection: mine.projection.output, errorBefore: Math.sqrt(sums.error / scale), errorAfter: Math.sqrt(Math.max(after, 0) / scale) };
}

interface Sums {
  /** Token-weighted XᵀX [K×K], XᵀE [K×N], ‖E‖², ‖target‖². */
  readonly gram: Float64Array;
  readonly cross: Float64Array;
  readonly error: number;
  readonly target: number;
}

/** One pass over the calibration rows: student X and stream, teacher target, their products. */
async function accumulate(input: StepInput, weight: ProjectionWeight, norm: PostNorm | undefined): Promise<Sums> {
  const { k, n } = weight;
  const { mine, theirs } = input;
  const x = mine.projection!.input;
  const studentRun = await CaptureSession.create(input.student, [x, mine.sum]);
  const products = await CrossProducts.create(k, n);
  let error = 0;
  let target = 0;
  try {
    for (let start = 0; start < input.rows; start += input.batch) {
      const count = Math.min(input.batch, input.rows - start);
      const got = await studentRun.run(batchFeeds(input.data, input.student, start, count));
      const t = (await input.targets.batch(start, count))[theirs.output]!.data as Float32Array;
      const z = got[mine.sum]!.data as Float32Array;
      const e = streamCorrection(z, t, n, norm);
      const w = tokenWeights(z, e, n);
      for (let i = 0; i < e.length; i++) target += ((z[i]! + e[i]!) * w[Math.floor(i / n)]!) ** 2;
      const xs = Float32Array.from(got[x]!.data as Float32Array);
      scaleRows(xs, w, k);
      scaleRows(e, w, n);
      for (let i = 0; i < e.length; i++) error += e[i]! * e[i]!;
      await products.add(xs, e, xs.length / k);
    }
    return { gram: products.gram, cross: products.cross, error, target };
  } finally {
    await studentRun.release();
    await products.release();
  }
}

/**
 * ‖X·ΔW − E‖² = ‖E‖² − 2⟨ΔW, XᵀE⟩ + ⟨ΔW, XᵀX·ΔW⟩, and XᵀX·ΔW = XᵀE − λ·ΔW at the ridge solution, so
 * = ‖E‖² − ⟨ΔW, XᵀE⟩ − λ‖ΔW‖²: no K×K product needed.
 */
function residual(s: Sums, delta: Float64Array, lambda: number): number {
  let total = s.error;
  for (let i = 0; i < delta.length; i++) total -= delta[i]! * (s.cross[i]! + lambda * delta[i]!);
  return total;
}

/** 1 / rms of each token's target stream z + e. */
function tokenWeights(z: Float32Array, e: Float32Array, width: number): Float32Array {
  const rows = z.length / width;
  const w = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let c = r * width; c < (r + 1) * width; c++) { const v = z[c]! + e[c]!; sq += v * v; }
    const rms = Math.sqrt(sq / width);
    w[r] = rms > 0 ? 1 / rms : 0;
  }
  return w;
}

function scaleRows(x: Float32Array, w: Float32Array, width: number): void {
  for (let i = 0; i < x.length; i++) x[i]! *= w[Math.floor(i / width)]!;
}

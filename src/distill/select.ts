/**
 * Which teacher blocks the student keeps: a list, N evenly spaced (block i·L/N for i < N, so each kept block
 * starts a span of equal length), or the N most important on calibration data, where the importance of a
 * block is how much it turns the residual stream: 1 − mean over tokens of cos(block input, block output).
 */
import type { Model } from '../ir/model.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/dataset.js';
import { CaptureSession } from '../runtime/capture.js';
import type { BlockBoundary } from './boundaries.js';
import { ConfigError } from '../errors.js';

/** `0,2,3` -> [0, 2, 3]: sorted, distinct, each in [0, count). */
export function parseKeepList(raw: string, count: number): number[] {
  const parts = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new ConfigError('--keep-layers expects a comma-separated list of block indices, e.g. 0,2');
  const out = new Set<number>();
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n >= count) {
      throw new ConfigError(`--keep-layers: '${p}' is not a block index of the teacher (it has ${count} blocks: 0..${count - 1})`);
    }
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

export function checkLayerCount(n: number, count: number): void {
  if (!Number.isInteger(n) || n < 1 || n > count) throw new ConfigError(`--layers must be a whole number from 1 to ${count} (the teacher's blocks), got ${n}`);
}

export function evenlySpaced(n: number, count: number): number[] {
  checkLayerCount(n, count);
  return Array.from({ length: n }, (_, i) => Math.floor((i * count) / n));
}

export interface ImportanceOptions {
  readonly rows?: number;
  readonly batchSize?: number;
  readonly onBatch?: (done: number, total: number) => void;
}

/** 1 − mean cos(input, output) per block, over every token of the first `rows` rows. */
export async function blockImportance(model: Model, blocks: readonly BlockBoundary[], data: Dataset, options: ImportanceOptions = {}): Promise<number[]> {
  const names = [...new Set(blocks.flatMap((b) => [b.input, b.output]))];
  const session = await CaptureSession.create(model, names);
  const total = Math.min(data.rows, options.rows ?? data.rows);
  const batch = options.batchSize ?? 8;
  const sums = new Float64Array(blocks.length);
  let tokens = 0;
  try {
    for (let start = 0; start < total; start += batch) {
      const count = Math.min(batch, total - start);
      const out = await session.run(batchFeeds(data, model, start, count));
      blocks.forEach((b, i) => {
        const x = out[b.input]!;
        sums[i]! += cosineSum(x.data as Float32Array, out[b.output]!.data as Float32Array, x.dims.at(-1)!);
      });
      const first = out[blocks[0]!.input]!;
      tokens += (first.data as Float32Array).length / first.dims.at(-1)!;
      options.onBatch?.(start + count, total);
    }
  } finally {
    await session.release();
  }
  return Array.from(sums, (s) => 1 - s / Math.max(1, tokens));
}

function cosineSum(x: Float32Array, y: Float32Array, width: number): number {
  let sum = 0;
  for (let at = 0; at < x.length; at += width) {
    let xy = 0, xx = 0, yy = 0;
    for (let i = at; i < at + width; i++) { xy += x[i]! * y[i]!; xx += x[i]! * x[i]!; yy += y[i]! * y[i]!; }
    sum += xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 1;
  }
  return sum;
}

/** The `n` highest scores' indices, in block order (ties to the earlier block). */
export function mostImportant(scores: readonly number[], n: number): number[] {
  checkLayerCount(n, scores.length);
  const ranked = scores.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i);
  return ranked.slice(0, n).map((r) => r.i).sort((a, b) => a - b);
}

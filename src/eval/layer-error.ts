/**
 * Per-layer quantization error: the same values captured in the float and the quantized model on the same
 * data, reduced to SQNR (signal-to-quantization-noise ratio, dB) and relative error. Streams batches:
 * only running sums are kept.
 */
import type { Model } from '../ir/model.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/dataset.js';
import { CaptureSession } from '../runtime/capture.js';

export interface LayerError {
  /** The value compared (a layer's output). */
  readonly value: string;
  readonly sqnrDb: number;
  /** ‖q − f‖ / ‖f‖ */
  readonly relativeError: number;
}

export async function measureLayerErrors(original: Model, quantized: Model, data: Dataset, values: readonly string[], rows = 8): Promise<LayerError[]> {
  const names = values.filter((v) => original.graph.lookup(v) && quantized.graph.lookup(v));
  if (!names.length) return [];
  const a = await CaptureSession.create(original, names);
  const b = await CaptureSession.create(quantized, names);
  const signal = new Float64Array(names.length);
  const noise = new Float64Array(names.length);
  try {
    const total = Math.min(rows, data.rows);
    for (let start = 0; start < total; start += 4) {
      const feeds = batchFeeds(data, original, start, Math.min(4, total - start));
      const fa = await a.run(feeds);
      const fb = await b.run(feeds);
      names.forEach((name, i) => {
        const x = fa[name]!.data as Float32Array;
        const y = fb[name]!.data as Float32Array;
        for (let j = 0; j < x.length; j++) {
          signal[i]! += x[j]! * x[j]!;
          noise[i]! += (x[j]! - y[j]!) ** 2;
        }
      });
    }
  } finally {
    await a.release();
    await b.release();
  }
  return names.map((value, i) => ({
    value,
    sqnrDb: noise[i] === 0 ? Infinity : 10 * Math.log10(signal[i]! / noise[i]!),
    relativeError: Math.sqrt(noise[i]! / Math.max(signal[i]!, 1e-30)),
  }));
}

/** Layers worth keeping in float: well below the typical SQNR of the model. */
export function suggestExclusions(errors: readonly LayerError[]): LayerError[] {
  const finite = errors.map((e) => e.sqnrDb).filter(Number.isFinite).sort((x, y) => x - y);
  if (!finite.length) return [];
  const median = finite[Math.floor(finite.length / 2)]!;
  const limit = Math.max(15, median - 10);
  return errors.filter((e) => e.sqnrDb < limit).sort((x, y) => x.sqnrDb - y.sqnrDb);
}

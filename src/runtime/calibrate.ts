/**
 * The calibration service: runs data through the model in batches and feeds chosen intermediate values to
 * streaming collectors. One capture session serves every collector of a run; graph optimizations are off
 * while capturing so exposing a value never changes what is computed.
 */
import type { Model } from '../ir/model.js';
import type { Collector } from '../math/collectors.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/dataset.js';
import { CaptureSession } from './capture.js';
import { DType, dtypeName } from '../ir/dtype.js';
import { RuntimeError } from '../errors.js';

export interface CalibrationRequest {
  /** Name of a float value in the main graph. */
  readonly value: string;
  readonly collector: Collector;
}

export interface CalibrationOptions {
  readonly batchSize?: number;
  /** Use at most this many rows. */
  readonly limit?: number;
  readonly threads?: number;
  readonly onBatch?: (done: number, total: number) => void;
}

export async function calibrate(model: Model, data: Dataset, requests: readonly CalibrationRequest[], options: CalibrationOptions = {}): Promise<void> {
  const names = [...new Set(requests.map((r) => r.value))];
  if (!names.length) return;
  const session = await CaptureSession.create(model, names, options.threads);
  const total = Math.min(data.rows, options.limit ?? data.rows);
  const batchSize = options.batchSize ?? 8;
  try {
    for (let start = 0; start < total; start += batchSize) {
      const count = Math.min(batchSize, total - start);
      const captured = await session.run(batchFeeds(data, model, start, count));
      for (const r of requests) {
        const t = captured[r.value]!;
        if (t.dtype !== DType.FLOAT) throw new RuntimeError(`cannot calibrate '${r.value}': it is ${dtypeName(t.dtype)}, not float`);
        r.collector.observe(t.data as Float32Array, t.dims);
      }
      options.onBatch?.(start + count, total);
    }
  } finally {
    await session.release();
  }
}

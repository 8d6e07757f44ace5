/**
 * Range check for float16: runs data through the float32 model, records the largest finite magnitude of
 * each float value, and names the values float16 cannot hold: above 65504 x margin (overflow to Inf), or
 * with every value below the smallest normal float16 (underflow: all precision lost). bfloat16 has the
 * range of float32 and needs no such check.
 *
 * Constants are judged from their bytes, for underflow only: a nonzero value that float16 flushes to zero
 * (an epsilon of 1e-8) changes what the model computes. A constant beyond the range is a sentinel (the
 * -3.4e38 of attention masks) and is narrowed with saturation instead; what it produces is still checked.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Value } from '../../../src/ir/value.js';
import type { Collector } from '../../../src/math/collectors.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { calibrate } from '../../../src/runtime/calibrate.js';
import { randomFeeds } from '../../../src/runtime/feeds.js';
import { FLOAT16_MAX, FLOAT16_MIN_NORMAL, FLOAT16_MIN_SUBNORMAL } from '../../../src/math/half.js';
import { constantFloats } from './constants.js';

/** Largest finite |x| seen (Inf is representable in float16, and NaN has no range). */
export class FiniteAbsMaxCollector implements Collector {
  absMax = 0;
  observe(data: Float32Array): void {
    let m = this.absMax;
    for (let i = 0; i < data.length; i++) {
      const a = Math.abs(data[i]!);
      if (a > m && a !== Infinity) m = a;
    }
    this.absMax = m;
  }
}

export interface RangeOptions {
  readonly margin: number;
  readonly rows: number;
  readonly seed: number;
}

export interface RangeFindings {
  /** Values float16 cannot hold, with their largest finite magnitude. */
  readonly outOfRange: Map<Value, number>;
  readonly source: 'calibration' | 'synthetic';
}

/** Constants this small are checked from their bytes; larger ones are weights. */
const CONSTANT_CHECK_LIMIT = 4096;

export async function findOutOfRange(model: Model, values: readonly Value[], data: Dataset | undefined, options: RangeOptions): Promise<RangeFindings> {
  const outOfRange = new Map<Value, number>();
  const judge = (v: Value, absMax: number) => {
    if (absMax > FLOAT16_MAX * options.margin || (absMax > 0 && absMax < FLOAT16_MIN_NORMAL)) outOfRange.set(v, absMax);
  };
  const run: Value[] = [];
  for (const v of values) {
    const c = v.initializer || v.producer?.opType === 'Constant' ? constantFloats(v) : undefined;
    if (c) { if (c.length <= CONSTANT_CHECK_LIMIT && flushesToZero(c)) outOfRange.set(v, 0); continue; }
    if (!v.initializer) run.push(v);
  }
  const dataset = data ?? syntheticDataset(model, options.seed);
  const collectors = run.map((v) => ({ value: v.name, collector: new FiniteAbsMaxCollector() }));
  await calibrate(model, dataset, collectors, { limit: options.rows, batchSize: 2 });
  collectors.forEach((c, i) => judge(run[i]!, c.collector.absMax));
  return { outOfRange, source: data ? 'calibration' : 'synthetic' };
}

/** Some nonzero value becomes zero in float16 (below half the smallest subnormal). */
function flushesToZero(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i++) { const a = Math.abs(data[i]!); if (a > 0 && a <= FLOAT16_MIN_SUBNORMAL / 2) return true; }
  return false;
}

/** One seeded batch shaped like the inputs (unnamed dims 16): token ids bounded by their embedding, masks of ones. */
function syntheticDataset(model: Model, seed: number): Dataset {
  const feeds = randomFeeds(model, { seed, defaultDim: 16 });
  const arrays = new Map(Object.entries(feeds));
  const rows = [...arrays.values()][0]?.dims[0] ?? 1;
  return { arrays, rows, source: 'synthetic inputs' };
}

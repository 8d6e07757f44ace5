/**
 * The calibration runs of static quantization, each one streaming pass over the data in fixed memory:
 * per-channel max |x| (SmoothQuant, before smoothing), then min/max or a histogram of the values the
 * quantizers will see.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { calibrate } from '../../../src/runtime/calibrate.js';
import { ChannelAbsMaxCollector, MinMaxCollector, SymmetricHistogramCollector } from '../../../src/math/collectors.js';
import { entropyRange, minMaxRange, percentileRange, type Range } from '../../../src/math/calibration-range.js';

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';

export interface RangeOptions {
  readonly method: CalibrationMethod;
  readonly percentile: number;
  readonly symmetric: boolean;
  readonly bins: number;
}

type Progress = (message: string) => void;

const onBatch = (what: string, progress: Progress) => (done: number, total: number) => progress(`quantize-static: ${what} ${done}/${total} rows`);

/** max |x| per channel (last axis) of each value. */
export async function channelMaxima(model: Model, data: Dataset, names: readonly string[], progress: Progress): Promise<Map<string, Float32Array>> {
  const collectors = names.map((value) => ({ value, collector: new ChannelAbsMaxCollector() }));
  await calibrate(model, data, collectors, { onBatch: onBatch('channel maxima', progress) });
  return new Map(collectors.map((c) => [c.value, c.collector.values ?? new Float32Array()]));
}

/**
 * The range of each value by the chosen method, in one pass (min/max alone, or a histogram that also keeps
 * min/max). A value whose min/max is not finite (infinities, or only NaN) gets no range: it cannot be
 * quantized.
 */
export async function activationRanges(model: Model, data: Dataset, names: readonly string[], o: RangeOptions, progress: Progress): Promise<Map<string, Range>> {
  const finite = (c: { min: number; max: number }) => Number.isFinite(c.min) && Number.isFinite(c.max);
  if (o.method === 'minmax') {
    const extremes = names.map((value) => ({ value, collector: new MinMaxCollector() }));
    await calibrate(model, data, extremes, { onBatch: onBatch('min/max', progress) });
    return new Map(extremes.filter((e) => finite(e.collector)).map((e) => [e.value, minMaxRange(e.collector.min, e.collector.max)]));
  }
  const histograms = names.map((value) => ({ value, collector: new SymmetricHistogramCollector(o.bins) }));
  await calibrate(model, data, histograms, { onBatch: onBatch('histograms', progress) });
  return new Map(histograms.filter((h) => finite(h.collector)).map(({ value, collector: h }) => [
    value,
    o.method === 'percentile' ? percentileRange(h, o.percentile, o.symmetric) : entropyRange(h, o.symmetric),
  ]));
}

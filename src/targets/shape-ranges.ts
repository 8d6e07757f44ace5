/**
 * Input shape ranges for engines that build per shape profile (TensorRT's trt_profile_min/opt/max_shapes):
 * every symbolic dim gets {min, opt, max} from the options, else from its name (batch-like, sequence-like),
 * else a small default. Fixed dims stay as they are.
 */
import type { Model } from '../ir/model.js';
import { dtypeName } from '../ir/dtype.js';

export interface DimRange {
  readonly min: number;
  readonly opt: number;
  readonly max: number;
}

export interface InputRange {
  readonly name: string;
  readonly dtype: string;
  /** Declared shape: numbers, symbolic names, or null for unknown dims. */
  readonly shape: readonly (number | string | null)[];
  readonly min: readonly number[];
  readonly opt: readonly number[];
  readonly max: readonly number[];
}

/** Defaults by dim name; the first pattern that matches wins. */
export const DEFAULT_DIM_RANGES: readonly [RegExp, DimRange][] = [
  [/past|cache/i, { min: 0, opt: 128, max: 2048 }],
  [/batch/i, { min: 1, opt: 1, max: 8 }],
  [/seq|len|token|position|step/i, { min: 1, opt: 128, max: 2048 }],
];
export const FALLBACK_DIM: DimRange = { min: 1, opt: 1, max: 64 };

export function dimRange(name: string, overrides: Readonly<Record<string, DimRange>> = {}): DimRange {
  return overrides[name] ?? DEFAULT_DIM_RANGES.find(([re]) => re.test(name))?.[1] ?? FALLBACK_DIM;
}

export function inputRanges(model: Model, overrides: Readonly<Record<string, DimRange>> = {}): InputRange[] {
  return model.graph.inputs.filter((v) => !v.initializer).map((v) => {
    const shape = [...(v.type?.shape ?? [])];
    const pick = (which: keyof DimRange, i: number) => {
      const d = shape[i];
      return typeof d === 'number' ? d : dimRange(d ?? `${v.name}_${i}`, overrides)[which];
    };
    return {
      name: v.name, dtype: dtypeName(v.type?.elemType ?? 0), shape,
      min: shape.map((_, i) => pick('min', i)), opt: shape.map((_, i) => pick('opt', i)), max: shape.map((_, i) => pick('max', i)),
    };
  });
}

/** "input_ids:1x1,attention_mask:1x1" */
export function trtShapeList(ranges: readonly InputRange[], which: 'min' | 'opt' | 'max'): string {
  return ranges.map((r) => `${r.name}:${r[which].join('x')}`).join(',');
}

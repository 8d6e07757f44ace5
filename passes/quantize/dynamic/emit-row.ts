/**
 * Per-row (per-token) dynamic activations: each row of X gets its own scale, so one token's outliers do not
 * coarsen the steps of every other token in the batch (DynamicQuantizeMatMul has one scale per tensor).
 *
 *   X ─ Abs ─ ReduceMax(last axis) ─ Max(tiny) ─ Div(127) ─────────────────────┐ s [..., 1]
 *   X ─ Div(s) ─ Round ─ Add(128) ─ Clip(0, 255) ─ Cast(uint8) ─ Xq ─┐           │
 *   Y = MatMulIntegerToFloat(Xq, Wq, s, w_scale, 128, w_zp) (+ bias) ◀┴───────────┘
 *
 * Symmetric codes around the fixed zero point 128 (u8 A is the only type of the CPU kernel). The kernel
 * scales its output by a non-scalar A scale after adding its bias input, so the bias is added afterwards.
 */
import type { LinearLayer } from '../linear-layers.js';
import { replaceLayer } from '../emit-weight-only.js';
import { addBiasAfter, constantBias, type Int8Constants } from './emit-linear.js';
import type { Model } from '../../../src/ir/model.js';
import type { AttributeValue, Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { upgradeOpset } from '../../legalize/upgrade-opset.js';

/** Largest code magnitude of a row: codes are 128 ± 127. */
export const ROW_LIMIT = 127;
/** Scale floor, so that an all-zero row divides by a positive number. */
export const ROW_TINY = 1e-30;

interface RowActivation { readonly codes: Value; readonly scale: Value }

/** Emits the per-row form; quantizes each activation once however many layers read it. */
export class RowQuantizer {
  private readonly done = new Map<Value, RowActivation>();
  private constants: Record<'tiny' | 'limit' | 'offset' | 'lo' | 'hi' | 'zeroPoint', Value> | undefined;
  private axes: Value | undefined;

  constructor(private readonly model: Model) {}

  emit(layer: LinearLayer, w: Int8Constants): void {
    const g = this.model.graph;
    const x = layer.node.input(0);
    let act = this.done.get(x);
    if (!act) { act = this.quantizeRows(x, layer.node); this.done.set(x, act); }
    const c = this.constants!;
    const node = g.addNode({
      opType: 'MatMulIntegerToFloat', domain: 'com.microsoft', name: this.model.freshNodeName(`${layer.node.name || layer.weight.name}_dynamic`),
      inputs: [act.codes, w.codes, act.scale, w.scale, c.zeroPoint, w.zeroPoint ?? null], before: layer.node,
    });
    this.model.requireOpset('com.microsoft', 1);
    let out = node.output(0);
    if (layer.bias) {
      const folded = constantBias(this.model, layer);
      out = addBiasAfter(this.model, layer, folded ?? layer.bias, out, folded !== undefined);
    }
    replaceLayer(this.model, layer, out);
  }

  private quantizeRows(x: Value, before: Node): RowActivation {
    upgradeOpset(this.model, 11); // Round, Clip with bounds as inputs
    const c = this.constants ??= this.addConstants();
    const op = (opType: string, inputs: Value[], attributes: Record<string, AttributeValue> = {}) =>
      this.model.graph.addNode({ opType, name: this.model.freshNodeName(`${x.name}_${opType}`), inputs, attributes, before }).output(0);
    const peak = this.reduceMaxLastAxis(op('Abs', [x]), before);
    const scale = op('Div', [op('Max', [peak, c.tiny]), c.limit]);
    const shifted = op('Add', [op('Round', [op('Div', [x, scale])]), c.offset]);
    const codes = op('Cast', [op('Clip', [shifted, c.lo, c.hi])], { to: { type: 'int', value: DType.UINT8 } });
    return { codes, scale };
  }

  /** ReduceMax over the last axis, keeping it: axes became an input at opset 18. */
  private reduceMaxLastAxis(v: Value, before: Node): Value {
    const g = this.model.graph;
    const name = this.model.freshNodeName(`${v.name}_ReduceMax`);
    const keep = { keepdims: { type: 'int' as const, value: 1 } };
    if ((this.model.opsetVersion('') ?? 1) < 18) {
      return g.addNode({ opType: 'ReduceMax', name, inputs: [v], before, attributes: { ...keep, axes: { type: 'ints', value: [-1] } } }).output(0);
    }
    const axes = this.axes ??= this.scalar('row_quant_axes', DType.INT64, [1], BigInt64Array.of(-1n));
    return g.addNode({ opType: 'ReduceMax', name, inputs: [v, axes], before, attributes: keep }).output(0);
  }

  private addConstants(): Record<'tiny' | 'limit' | 'offset' | 'lo' | 'hi' | 'zeroPoint', Value> {
    const f = (hint: string, v: number) => this.scalar(hint, DType.FLOAT, [], Float32Array.of(v));
    return {
      tiny: f('row_quant_tiny', ROW_TINY), limit: f('row_quant_limit', ROW_LIMIT), offset: f('row_quant_offset', 128),
      lo: f('row_quant_min', 0), hi: f('row_quant_max', 255),
      zeroPoint: this.scalar('row_quant_zero_point', DType.UINT8, [], Uint8Array.of(128)),
    };
  }

  private scalar(hint: string, dtype: number, dims: number[], data: Float32Array | Uint8Array | BigInt64Array): Value {
    const name = this.model.freshName(hint);
    return this.model.graph.addConstant(name, Tensor.fromTyped(name, dtype, dims, data));
  }
}

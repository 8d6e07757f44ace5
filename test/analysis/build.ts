/**
 * Small transformer graphs in the forms exporters and optimizers write, for analysis tests: decomposed or
 * fused attention, decomposed or fused norms, SwiGLU or GELU MLPs, float or quantized linear layers.
 * The graphs are structurally faithful (ops, wiring, attributes); weights are zeros.
 */
import { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { DType, byteLength } from '../../src/ir/dtype.js';
import type { AttributeValue } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';

export type AttentionForm = 'decomposed' | 'ms-attention' | 'ms-mha' | 'ms-gqa' | 'onnx-attention';
export type NormForm = 'rms' | 'layernorm' | 'layernorm-decomposed' | 'simplified' | 'rmsnormalization' | 'skip-simplified';
export type MlpForm = 'swiglu' | 'gelu-tanh' | 'gelu-erf';
export type WeightForm = 'float' | 'matmulnbits' | 'qdq';

export interface TransformerOptions {
  readonly blocks: number;
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffn: number;
  readonly vocab: number;
  readonly attention: AttentionForm;
  readonly norm: NormForm;
  readonly mlp: MlpForm;
  readonly weights: WeightForm;
  readonly rope: boolean;
  /** Causal mask (decoder) or a padding mask from an attention_mask input (encoder). */
  readonly causal: boolean;
  /** One product for Q, K and V and one for gate and up, cut apart by Slice (Phi-3 style). */
  readonly fused: boolean;
}

export const DEFAULTS: TransformerOptions = {
  blocks: 2, hidden: 64, heads: 4, kvHeads: 4, ffn: 128, vocab: 32, attention: 'decomposed', norm: 'rms',
  mlp: 'swiglu', weights: 'float', rope: true, causal: true, fused: false,
};

export const int = (value: number): AttributeValue => ({ type: 'int', value });
export const ints = (value: readonly number[]): AttributeValue => ({ type: 'ints', value });

/** Node-adding helpers over one model. */
export class Builder {
  readonly model: Model;

  constructor(readonly o: TransformerOptions, opset: number) {
    this.model = new Model('built');
    this.model.irVersion = opset >= 23 ? 11 : 8;
    this.model.opsetImports = [{ domain: '', version: opset }, { domain: 'com.microsoft', version: 1 }];
    this.model.producerName = 'llmopt-tests';
  }

  get headDim(): number { return this.o.hidden / this.o.heads; }

  op(opType: string, inputs: readonly (Value | null)[], attributes: Record<string, AttributeValue> = {}, outputs = 1, domain = ''): Value[] {
    const node = this.model.graph.addNode({ opType, domain, inputs, attributes, outputs });
    return node.outputs.map((v) => v!);
  }

  one(opType: string, inputs: readonly (Value | null)[], attributes: Record<string, AttributeValue> = {}, domain = ''): Value {
    return this.op(opType, inputs, attributes, 1, domain)[0]!;
  }

  floats(dims: readonly number[], fill = 0): Value {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.model.graph.addConstant('w', Tensor.fromTyped('w', DType.FLOAT, dims, new Float32Array(n).fill(fill)));
  }

  scalar(v: number): Value {
    return this.model.graph.addConstant('c', Tensor.fromTyped('c', DType.FLOAT, [], Float32Array.of(v)));
  }

  int64s(values: readonly number[]): Value {
    return this.model.graph.addConstant('i', Tensor.fromTyped('i', DType.INT64, [values.length], BigInt64Array.from(values, BigInt)));
  }

  bytes(dtype: number, dims: readonly number[]): Value {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.model.graph.addConstant('q', Tensor.fromBytes('q', dtype, dims, new Uint8Array(byteLength(dtype, n))));
  }

  /** x[.., k] · W[k, n] in the chosen weight form. */
  linear(x: Value, k: number, n: number): Value {
    if (this.o.weights === 'matmulnbits') {
      const blocks = Math.ceil(k / 32);
      return this.one('MatMulNBits', [x, this.bytes(DType.UINT8, [n, blocks, 16]), this.floats([n * blocks])],
        { K: int(k), N: int(n), bits: int(4), block_size: int(32) }, 'com.microsoft');
    }
    if (this.o.weights === 'qdq') {
      const w = this.one('DequantizeLinear', [this.bytes(DType.INT4, [k, n]), this.floats([Math.ceil(k / 32), n], 0.01)], { axis: int(0), block_size: int(32) });
      return this.one('MatMul', [x, w]);
    }
    return this.one('MatMul', [x, this.floats([k, n])]);
  }

  /** Columns [from, to) of the last axis. */
  part(x: Value, from: number, to: number): Value {
    return this.one('Slice', [x, this.int64s([from]), this.int64s([to]), this.int64s([-1])]);
  }

  /** Products of x with several weights: separate, or one wide product cut by Slice when `fused`. */
  linears(x: Value, k: number, widths: readonly number[]): Value[] {
    if (!this.o.fused) return widths.map((n) => this.linear(x, k, n));
    const all = this.linear(x, k, widths.reduce((a, b) => a + b, 0));
    let at = 0;
    return widths.map((n) => this.part(all, at, (at += n)));
  }

  reduceMean(x: Value): Value {
    const opset = this.model.opsetVersion('') ?? 17;
    return opset >= 18 ? this.one('ReduceMean', [x, this.int64s([-1])]) : this.one('ReduceMean', [x], { axes: ints([-1]) });
  }

  /** One normalization of x (not the Skip form, which the block assembles). */
  norm(x: Value): Value {
    const h = this.o.hidden;
    switch (this.o.norm) {
      case 'rms': {
        const r = this.one('Div', [this.scalar(1), this.one('Sqrt', [this.one('Add', [this.reduceMean(this.one('Pow', [x, this.scalar(2)])), this.scalar(1e-6)])])]);
        return this.one('Mul', [this.floats([h], 1), this.one('Mul', [x, r])]);
      }
      case 'layernorm-decomposed': {
        const d = this.one('Sub', [x, this.reduceMean(x)]);
        const s = this.one('Sqrt', [this.one('Add', [this.reduceMean(this.one('Pow', [d, this.scalar(2)])), this.scalar(1e-5)])]);
        return this.one('Add', [this.one('Mul', [this.one('Div', [d, s]), this.floats([h], 1)]), this.floats([h])]);
      }
      case 'layernorm': return this.one('LayerNormalization', [x, this.floats([h], 1), this.floats([h])], { axis: int(-1) });
      case 'rmsnormalization': return this.one('RMSNormalization', [x, this.floats([h], 1)], { axis: int(-1) });
      default: return this.one('SimplifiedLayerNormalization', [x, this.floats([h], 1)], { axis: int(-1) });
    }
  }

  mlp(x: Value): Value {
    const { hidden: h, ffn: f } = this.o;
    if (this.o.mlp === 'swiglu') {
      const [g, u] = this.linears(x, h, [f, f]) as [Value, Value];
      const act = this.one('Mul', [g, this.one('Sigmoid', [g])]);
      return this.linear(this.one('Mul', [act, u]), f, h);
    }
    const u = this.linear(x, h, f);
    if (this.o.mlp === 'gelu-erf') {
      const e = this.one('Add', [this.one('Erf', [this.one('Div', [u, this.scalar(Math.SQRT2)])]), this.scalar(1)]);
      return this.linear(this.one('Mul', [this.one('Mul', [u, e]), this.scalar(0.5)]), f, h);
    }
    const cube = this.one('Mul', [this.one('Pow', [u, this.scalar(3)]), this.scalar(0.044715)]);
    const t = this.one('Tanh', [this.one('Mul', [this.one('Add', [u, cube]), this.scalar(0.7978845608)])]);
    const gelu = this.one('Mul', [this.one('Mul', [u, this.scalar(0.5)]), this.one('Add', [t, this.scalar(1)])]);
    return this.linear(gelu, f, h);
  }
}

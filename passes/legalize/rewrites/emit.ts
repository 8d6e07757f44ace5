/**
 * A small builder for rewrites: nodes inserted before the node being replaced, named after it, and
 * constants typed like the values they combine with (float32 or float16).
 */
import type { Model } from '../../../src/ir/model.js';
import type { AttributeValue, Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { float32ToFloat16, float32ToBfloat16 } from '../../../src/math/half.js';

export const int = (value: number): AttributeValue => ({ type: 'int', value });
export const float = (value: number): AttributeValue => ({ type: 'float', value });
export const ints = (value: readonly number[]): AttributeValue => ({ type: 'ints', value });

export class Emitter {
  readonly model: Model;

  /** `root`: the node being replaced (new nodes go before it); `floatType`: dtype of float constants. */
  constructor(readonly root: Node, readonly floatType: number = DType.FLOAT) {
    this.model = root.graph.model;
  }

  node(opType: string, inputs: readonly (Value | null)[], attributes: Record<string, AttributeValue> = {}, outputs = 1, domain = ''): Node {
    const trimmed = [...inputs];
    while (trimmed.length && trimmed[trimmed.length - 1] === null) trimmed.pop();
    const name = this.model.freshNodeName(`${this.root.name || this.root.opType}_${opType}`);
    return this.root.graph.addNode({ opType, domain, name, inputs: trimmed, attributes, outputs, before: this.root });
  }

  op(opType: string, inputs: readonly (Value | null)[], attributes: Record<string, AttributeValue> = {}): Value {
    return this.node(opType, inputs, attributes).output(0);
  }

  i64(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): Value {
    return this.constant(hint, Tensor.fromTyped(hint, DType.INT64, dims, BigInt64Array.from(values, (v) => BigInt(v))));
  }

  i32(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): Value {
    return this.constant(hint, Tensor.fromTyped(hint, DType.INT32, dims, Int32Array.from(values)));
  }

  /** A float constant in the emitter's float type (rank 0 by default). */
  f(hint: string, values: readonly number[] | Float32Array, dims: readonly number[] = values.length === 1 ? [] : [values.length]): Value {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    if (this.floatType === DType.FLOAT16) return this.constant(hint, Tensor.fromTyped(hint, DType.FLOAT16, dims, float32ToFloat16(data, { saturate: true })));
    if (this.floatType === DType.BFLOAT16) return this.constant(hint, Tensor.fromTyped(hint, DType.BFLOAT16, dims, float32ToBfloat16(data, { saturate: true })));
    return this.constant(hint, Tensor.fromTyped(hint, DType.FLOAT, dims, data));
  }

  constant(hint: string, tensor: Tensor): Value {
    const base = `${this.root.name || this.root.opType}_${hint}`;
    return this.root.graph.addConstant(base, tensor);
  }
}

/** Points every reader of the root's outputs at the replacements (null: must be unused) and removes it. */
export function replaceNode(root: Node, replacements: readonly (Value | null | undefined)[]): void {
  root.outputs.forEach((out, i) => {
    if (!out) return;
    const next = replacements[i];
    if (next) out.replaceAllUsesWith(next);
  });
  root.graph.removeNode(root);
}

/** True when output `i` of `node` is read by something. */
export const isUsed = (node: Node, i: number): boolean => !!node.outputs[i] && !node.outputs[i]!.isUnused;

/**
 * What is statically known about each value of a graph: element type, symbolic shape, and for small tensors
 * (shape arithmetic) the elements themselves, symbolic where they come from dynamic dimensions. One forward
 * walk in node order; unknown operators give unknown outputs. Read-only: passes use it to match and fold.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';
import { Sym, type Dim } from './sym.js';
import { shapeRules } from './infer-shape.js';
import { elementwiseRules } from './infer-elementwise.js';

export interface Facts {
  readonly dtype?: number;
  /** undefined: rank unknown. */
  readonly shape?: readonly Dim[];
  /** Row-major elements, only for small tensors with a fully numeric shape. */
  readonly value?: readonly Dim[];
}

export interface RuleContext {
  readonly node: Node;
  readonly ins: readonly Facts[];
  /** ai.onnx opset of the model. */
  readonly opset: number;
  /** A new symbol for a dimension nothing names. */
  fresh(): Sym;
}

export type Rule = (ctx: RuleContext) => readonly Facts[];

/** Largest tensor whose elements are tracked. */
export const MAX_TRACKED = 64;

const rules: ReadonlyMap<string, Rule> = new Map([...elementwiseRules, ...shapeRules]);

export class FactTable {
  private readonly table = new Map<Value, Facts>();
  private counter = 0;

  constructor(readonly graph: Graph) {
    for (const v of [...graph.inputs, ...graph.initializers]) this.table.set(v, this.declared(v));
    const opset = graph.model.opsetVersion('') ?? 1;
    for (const node of graph.nodes) this.infer(node, opset);
  }

  get(v: Value | null | undefined): Facts {
    if (!v) return {};
    return this.table.get(v) ?? (v.initializer ? this.declared(v) : {});
  }

  shape(v: Value | null | undefined): readonly Dim[] | undefined { return this.get(v).shape; }
  rank(v: Value | null | undefined): number | undefined { return this.get(v).shape?.length; }
  dtype(v: Value | null | undefined): number | undefined { return this.get(v).dtype; }

  /** The elements, when every one is a known number. */
  numbers(v: Value | null | undefined): number[] | undefined {
    const value = this.get(v).value;
    if (!value) return undefined;
    const out: number[] = [];
    for (const d of value) {
      const n = d?.value;
      if (n === undefined) return undefined;
      out.push(n);
    }
    return out;
  }

  /** A single known number (a scalar or a one-element tensor). */
  scalar(v: Value | null | undefined): number | undefined {
    const n = this.numbers(v);
    return n && n.length === 1 ? n[0] : undefined;
  }

  fresh(): Sym { return Sym.named(`?${++this.counter}`); }

  private infer(node: Node, opset: number): void {
    const rule = node.domain === '' || node.domain === 'ai.onnx' || node.domain === 'com.microsoft' ? rules.get(ruleKey(node)) : undefined;
    let outs: readonly Facts[] = [];
    if (rule) {
      try {
        outs = rule({ node, ins: node.inputs.map((v) => this.get(v)), opset, fresh: () => this.fresh() });
      } catch {
        outs = [];   // a malformed node: nothing is known about its outputs
      }
    }
    node.outputs.forEach((v, i) => { if (v) this.table.set(v, withDeclared(outs[i] ?? {}, v, this)); });
  }

  private declared(v: Value): Facts {
    if (v.initializer) return tensorFacts(v.initializer);
    const t = v.type;
    if (!t) return {};
    const shape = t.shape?.map((d) => (typeof d === 'number' ? Sym.num(d) : typeof d === 'string' && d ? Sym.named(d) : this.fresh()));
    return { dtype: t.elemType, ...(shape ? { shape } : {}) };
  }
}

function ruleKey(node: Node): string {
  return node.domain === 'com.microsoft' ? `com.microsoft.${node.opType}` : node.opType;
}

/** Fills gaps from a value's declared type (value_info, graph outputs). */
function withDeclared(f: Facts, v: Value, table: FactTable): Facts {
  const t = v.type;
  if (!t || (f.dtype !== undefined && f.shape)) return f;
  const shape = f.shape ?? t.shape?.map((d) => (typeof d === 'number' ? Sym.num(d) : typeof d === 'string' && d ? Sym.named(d) : table.fresh()));
  return { ...f, dtype: f.dtype ?? t.elemType, ...(shape ? { shape } : {}) };
}

/** Facts of a constant tensor: its elements when small and numeric. */
export function tensorFacts(t: Tensor): Facts {
  const shape = t.dims.map((d) => Sym.num(d));
  if (t.elementCount > MAX_TRACKED || !t.hasBytes || t.dtype === DType.STRING) return { dtype: t.dtype, shape };
  try {
    const nums = t.dtype === DType.FLOAT16 || t.dtype === DType.BFLOAT16 ? undefined : t.toNumbers();
    return nums ? { dtype: t.dtype, shape, value: nums.map((n) => Sym.num(n)) } : { dtype: t.dtype, shape };
  } catch {
    return { dtype: t.dtype, shape };
  }
}

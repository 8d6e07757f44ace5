/**
 * Builds run-time values for symbolic dimensions from the shapes of graph inputs: 'batch' becomes
 * Gather(Shape(input_ids), 0). Rewritten shape arithmetic then reads graph inputs only, never the
 * activations inside a pattern that is about to be fused.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { DType } from '../ir/dtype.js';
import { Sym, type Dim } from './sym.js';
import { int64 } from './rewrite.js';

interface Source { readonly input: Value; readonly axis: number }

export class DimBuilder {
  private readonly sources = new Map<string, Source>();
  private readonly shapes = new Map<Value, Value>();
  private readonly built = new Map<string, Value>();
  /** New nodes go before this one, in creation order: after the Shape(graph input) block, before everything else. */
  private readonly anchor: Node | undefined;

  constructor(private readonly graph: Graph) {
    this.anchor = graph.nodes.find((n) => !isInputShape(n));
    for (const input of graph.inputs) {
      if (input.initializer) continue;
      input.type?.shape?.forEach((d, axis) => {
        if (typeof d === 'string' && d && !this.sources.has(d)) this.sources.set(d, { input, axis });
      });
    }
  }

  /** Every element is a number or a polynomial in dimensions some graph input carries. */
  canBuild(elements: readonly Dim[]): elements is Sym[] {
    return elements.every((e) => e !== undefined && e.symbols().every((s) => this.sources.has(s)));
  }

  /** A 1-D int64 value holding `elements`, computed near the top of the graph (usable anywhere). */
  vector(elements: readonly Sym[], hint: string): Value {
    const key = `v:${elements.join(',')}`;
    const known = this.built.get(key);
    if (known) return known;
    const v = this.buildVector(elements, hint);
    this.built.set(key, v);
    return v;
  }

  private buildVector(elements: readonly Sym[], hint: string): Value {
    const pieces: Value[] = [];
    let consts: number[] = [];
    let gather: { shape: Value; axes: number[] } | undefined;
    const flush = () => {
      if (consts.length) pieces.push(int64(this.graph, `${hint}_const`, consts));
      if (gather) pieces.push(this.node('Gather', [gather.shape, int64(this.graph, `${hint}_axes`, gather.axes)], hint));
      consts = [];
      gather = undefined;
    };
    for (const e of elements) {
      const n = e.value;
      const src = n === undefined ? this.single(e) : undefined;
      if (n !== undefined) {
        if (gather) flush();
        consts.push(n);
      } else if (src) {
        const shape = this.shapeOf(src.input);
        if (consts.length || (gather && gather.shape !== shape)) flush();
        gather ??= { shape, axes: [] };
        gather.axes.push(src.axis);
      } else {
        flush();
        pieces.push(this.node('Unsqueeze', [this.scalar(e, hint), int64(this.graph, `${hint}_axes`, [0])], hint));
      }
    }
    flush();
    return pieces.length === 1 ? pieces[0]! : this.node('Concat', pieces, hint, { axis: 0 });
  }

  /** A 0-D int64 value holding `e`. */
  scalar(e: Sym, hint: string): Value {
    const key = `s:${e.toString()}`;
    const known = this.built.get(key);
    if (known) return known;
    const v = this.buildScalar(e, hint);
    this.built.set(key, v);
    return v;
  }

  private buildScalar(e: Sym, hint: string): Value {
    const n = e.value;
    if (n !== undefined) return int64(this.graph, `${hint}_const`, [n], []);
    const src = this.single(e);
    if (src) return this.node('Gather', [this.shapeOf(src.input), int64(this.graph, `${hint}_axis`, [src.axis], [])], hint);
    // a polynomial: sum of coefficient * product of dimensions
    let sum: Value | undefined;
    for (const [syms, coeff] of e.termList()) {
      let term: Value | undefined = coeff === 1 && syms.length ? undefined : int64(this.graph, `${hint}_coeff`, [coeff], []);
      for (const s of syms) {
        const dim = this.scalar(Sym.named(s), hint);
        term = term ? this.node('Mul', [term, dim], hint) : dim;
      }
      sum = sum ? this.node('Add', [sum, term!], hint) : term!;
    }
    return sum!;
  }

  /** `v` (int64) converted to `dtype` when that is not int64. */
  cast(v: Value, dtype: number, hint: string): Value {
    if (dtype === DType.INT64) return v;
    const key = `c:${v.name}:${dtype}`;
    const known = this.built.get(key) ?? this.node('Cast', [v], hint, { to: dtype });
    this.built.set(key, known);
    return known;
  }

  /** Shape(input), shared: an existing one before `before` when there is one, else a new one at the top. */
  shapeOf(input: Value): Value {
    const known = this.shapes.get(input);
    if (known) return known;
    // reuse a Shape(input) from the block of such nodes at the top of the graph (usable from anywhere)
    const top = this.graph.nodes.findIndex((n) => !isInputShape(n));
    const existing = this.graph.nodes.slice(0, top < 0 ? undefined : top).find((n) => n.inputs[0] === input);
    const shape = existing?.output(0) ?? this.graph.addNode({ opType: 'Shape', inputs: [input], before: this.graph.nodes[0], name: this.graph.model.freshNodeName(`${input.name}_shape`) }).output(0);
    this.shapes.set(input, shape);
    return shape;
  }

  private single(e: Sym): Source | undefined {
    const terms = e.termList();
    if (terms.length !== 1 || terms[0]![1] !== 1 || terms[0]![0].length !== 1) return undefined;
    return this.sources.get(terms[0]![0][0]!);
  }

  private node(opType: string, inputs: Value[], hint: string, ints: Record<string, number> = {}): Value {
    const attributes = Object.fromEntries(Object.entries(ints).map(([k, v]) => [k, { type: 'int' as const, value: v }]));
    const name = this.graph.model.freshNodeName(`${hint}_${opType}`);
    return this.graph.addNode({ opType, inputs, attributes, name, ...(this.anchor ? { before: this.anchor } : {}) }).output(0);
  }
}

function isInputShape(n: Node): boolean {
  return n.opType === 'Shape' && n.domain === '' && n.attributes.size === 0 && !!n.inputs[0]?.isGraphInput;
}

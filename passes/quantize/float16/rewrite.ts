/**
 * Applies a precision plan to the main graph:
 *
 *   x:f32 -> [low node]          x -> Cast(to=low) -> [low node]     one Cast per (value, type), shared
 *   [low node] -> y -> [f32 node] y -> Cast(to=f32) -> [f32 node]
 *   Cast(to=f32) kept for a f32 reader; its 16-bit readers read its 16-bit input (no Cast pair)
 *   Cast(to=f32) in a low region  -> Cast(to=low), dropped when its input already is low
 *   constant read only in 16 bits -> stored in 16 bits; read in both -> a 16-bit copy beside it
 *   graph inputs/outputs           float32 with Casts at the boundary (keepIoTypes), else 16-bit
 *
 * Subgraphs are left float32: values they read from the main graph get a float32 Cast outside them.
 */
import type { Graph } from '../../../src/ir/graph.js';
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Use, Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import type { Plan } from './plan.js';
import { inputIsAnyType, outputFollowsLow } from './op-support.js';
import { constantNodeOf, isConstantValue, narrowConstantNode, narrowConstantOfShape, narrowConstantValue, narrowTensor } from './constants.js';

export interface RewriteStats {
  nodesConverted: number;
  castsInserted: number;
  castsRemoved: number;
  initializersConverted: number;
  constantsConverted: number;
  constantsDuplicated: number;
  paramsConverted: number;
  valuesSaturated: number;
}

export function applyPlan(model: Model, plan: Plan, keepIoTypes: boolean): RewriteStats {
  return new Rewriter(model, plan, keepIoTypes).run();
}

const SUFFIX: Readonly<Record<number, string>> = { [DType.FLOAT]: 'fp32', [DType.FLOAT16]: 'fp16', [DType.BFLOAT16]: 'bf16' };

class Rewriter {
  private readonly graph: Graph;
  /** Element type after the rewrite, for values whose type changed and for new values. */
  private readonly actual = new Map<Value, number>();
  private readonly casts = new Map<Value, Map<number, Value>>();
  private readonly stats: RewriteStats = {
    nodesConverted: 0, castsInserted: 0, castsRemoved: 0, initializersConverted: 0, constantsConverted: 0,
    constantsDuplicated: 0, paramsConverted: 0, valuesSaturated: 0,
  };

  constructor(private readonly model: Model, private readonly plan: Plan, private readonly keepIoTypes: boolean) {
    this.graph = model.graph;
  }

  run(): RewriteStats {
    const originalFloats = [...this.graph.ownValues()].filter((v) => this.plan.types.get(v) === DType.FLOAT);
    this.assignProducedTypes();
    this.retargetNodes();
    this.removeIdentityCasts();
    this.convertConstants(originalFloats);
    for (const v of originalFloats) if (this.graph.lookup(v.name) === v) this.fixUses(v);
    this.fixSubgraphOutputs();
    this.fixGraphOutputs();
    this.writeTypes();
    this.stats.nodesConverted = this.plan.lowNodes.size - this.stats.castsRemoved;
    return this.stats;
  }

  private typeOf(v: Value): number | undefined {
    return this.actual.get(v) ?? this.plan.types.get(v);
  }

  /** What a reader needs: the plan's type for main-graph nodes, float32 inside subgraphs, nothing for any-type inputs. */
  private required(use: Use): number | undefined {
    if (use.node.graph !== this.graph) return DType.FLOAT;
    if (inputIsAnyType(use.node, use.index)) return undefined;
    return this.plan.lowNodes.has(use.node) ? this.plan.low : DType.FLOAT;
  }

  private assignProducedTypes(): void {
    if (!this.keepIoTypes) {
      // An input with an initializer is an overridable parameter: its stored bytes stay float32.
      for (const v of this.graph.inputs) if (this.plan.types.get(v) === DType.FLOAT && !v.initializer) this.actual.set(v, this.plan.low);
    }
    for (const node of this.plan.lowNodes) {
      node.outputs.forEach((v, i) => {
        if (v && this.plan.types.get(v) === DType.FLOAT && outputFollowsLow(node, i)) this.actual.set(v, this.plan.low);
      });
    }
  }

  /** Attributes that name the output type. */
  private retargetNodes(): void {
    for (const node of this.plan.lowNodes) {
      if (node.opType === 'Cast') node.setAttribute('to', { type: 'int', value: this.plan.low });
      else if (node.opType === 'ConstantOfShape') this.stats.valuesSaturated += narrowConstantOfShape(node, this.plan.low);
    }
  }

  /** A converted Cast whose input already has the low type does nothing. */
  private removeIdentityCasts(): void {
    for (const node of [...this.plan.lowNodes]) {
      if (node.opType !== 'Cast') continue;
      const [x, y] = [node.inputs[0], node.outputs[0]];
      if (!x || !y || this.typeOf(x) !== this.plan.low || y.isGraphOutput) continue;
      y.replaceAllUsesWith(x);
      this.graph.removeNode(node);
      this.stats.castsRemoved++;
    }
  }

  /** Constants read only in 16 bits are narrowed in place; the others stay and get a copy on demand. */
  private convertConstants(values: readonly Value[]): void {
    for (const v of values) {
      if (!isConstantValue(v) || this.graph.lookup(v.name) !== v) continue;
      const needs = new Set(v.uses.map((u) => this.required(u)));
      if (v.isGraphOutput) needs.add(this.keepIoTypes ? DType.FLOAT : this.plan.low);
      if (!needs.has(this.plan.low) || needs.has(DType.FLOAT)) continue;
      const t = v.initializer;
      if (t) {
        const { tensor, saturated } = narrowTensor(t, this.plan.low);
        t.setBytes(tensor.bytes(), t.dims, this.plan.low);
        this.stats.initializersConverted++;
        this.stats.paramsConverted += t.elementCount;
        this.stats.valuesSaturated += saturated;
      } else {
        this.stats.valuesSaturated += narrowConstantNode(constantNodeOf(v)!, this.plan.low);
        this.stats.constantsConverted++;
      }
      this.actual.set(v, this.plan.low);
    }
  }

  private fixUses(v: Value): void {
    for (const use of [...v.uses]) {
      const want = this.required(use);
      if (want !== undefined && want !== this.typeOf(v)) use.node.setInput(use.index, this.castTo(v, want));
    }
  }

  /** `v` as type `t`: a shared Cast, the input of an exact widening Cast, or a narrowed copy of a constant. */
  private castTo(v: Value, t: number): Value {
    const cached = this.casts.get(v)?.get(t);
    if (cached) return cached;
    const made = this.narrowedConstant(v, t) ?? this.undoWidening(v, t) ?? this.insertCast(v, t);
    if (!this.casts.has(v)) this.casts.set(v, new Map());
    this.casts.get(v)!.set(t, made);
    return made;
  }

  private narrowedConstant(v: Value, t: number): Value | undefined {
    if (t !== this.plan.low || this.typeOf(v) !== DType.FLOAT || !isConstantValue(v)) return undefined;
    const name = this.model.freshName(`${v.name}_${SUFFIX[t]}`);
    let out: Value;
    if (v.initializer) {
      const { tensor, saturated } = narrowTensor(v.initializer, this.plan.low, name);
      out = this.graph.addInitializer(tensor, name);
      this.stats.valuesSaturated += saturated;
    } else {
      const source = constantNodeOf(v)!;
      const { tensor, saturated } = narrowConstantValue(source, this.plan.low);
      out = this.graph.addNode({
        opType: 'Constant', inputs: [], outputs: [name], before: this.nextNode(source),
        attributes: { value: { type: 'tensor', value: tensor } },
      }).output(0);
      this.stats.valuesSaturated += saturated;
    }
    out.type = { elemType: t, ...(v.type?.shape ? { shape: v.type.shape } : {}) };
    this.actual.set(out, t);
    this.stats.constantsDuplicated++;
    return out;
  }

  /** Cast(u: low -> float32) read back in low: `u` itself (widening is exact). */
  private undoWidening(v: Value, t: number): Value | undefined {
    const p = v.producer;
    const u = p?.opType === 'Cast' && p.domain === '' ? p.inputs[0] : undefined;
    if (!u || t !== this.plan.low || this.typeOf(v) !== DType.FLOAT || this.typeOf(u) !== t) return undefined;
    return u;
  }

  private insertCast(v: Value, t: number): Value {
    const suffix = SUFFIX[t] ?? `t${t}`;
    const node = this.graph.addNode({
      opType: 'Cast',
      name: this.model.freshNodeName(`${v.name}/Cast_${suffix}`),
      inputs: [v],
      outputs: [this.model.freshName(`${v.name}_${suffix}`)],
      attributes: { to: { type: 'int', value: t } },
      before: v.producer?.graph === this.graph ? this.nextNode(v.producer) : this.graph.nodes[0],
    });
    const out = node.output(0);
    out.type = { elemType: t, ...(v.type?.shape ? { shape: v.type.shape } : {}) };
    this.actual.set(out, t);
    this.stats.castsInserted++;
    return out;
  }

  private nextNode(node: Node): Node | undefined {
    return this.graph.nodes[this.graph.nodes.indexOf(node) + 1];
  }

  /** Subgraph outputs that name a main-graph value directly read it in float32. */
  private fixSubgraphOutputs(): void {
    for (const node of this.graph.nodes) {
      for (const sub of node.subgraphs()) {
        for (const g of sub.graphsDeep()) {
          g.outputs.forEach((o, i) => {
            if (o.graph === this.graph && this.plan.types.get(o) === DType.FLOAT && this.typeOf(o) !== DType.FLOAT) g.outputs[i] = this.castTo(o, DType.FLOAT);
          });
        }
      }
    }
  }

  /** Graph outputs keep their names; a Cast in front of one takes its name, the 16-bit value gets a new one. */
  private fixGraphOutputs(): void {
    const outputs = this.graph.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const v = outputs[i]!;
      if (this.plan.types.get(v) !== DType.FLOAT) continue;
      const want = this.keepIoTypes ? DType.FLOAT : this.plan.low;
      const have = this.typeOf(v)!;
      if (have === want) continue;
      let w = this.castTo(v, want);
      if (w.isGraphInput || w.isGraphOutput || w.initializer) w = this.insertCast(v, want);
      const declared = this.graph.declarations.output.get(v);
      const name = v.name;
      v.rename(this.model.freshName(`${name}_${SUFFIX[have]}`));
      w.rename(name);
      outputs[i] = w;
      if (declared !== undefined) { this.graph.declarations.output.delete(v); this.graph.declarations.output.set(w, declared); }
      w.type = { elemType: want, ...(v.type?.shape ? { shape: v.type.shape } : {}) };
    }
  }

  private writeTypes(): void {
    for (const [v, t] of this.actual) {
      if (v.type && v.type.elemType !== t) v.type = { ...v.type, elemType: t };
    }
  }
}

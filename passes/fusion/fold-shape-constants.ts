/**
 * Constant folding for exporter shape arithmetic, so that the computations around it become matchable:
 *
 *   Constant(value=t)                                   -> initializer t
 *   Gather(Shape(x), 3) with x: [batch, seq, 8, 32]     -> initializer 32       (known from static dims)
 *   Div(Gather(Shape(q), 3), 2)                         -> initializer 16
 *   Concat(Unsqueeze(batch), Unsqueeze(seq), -1, 32)    -> kept: symbolic parts stay computed at run time
 *   Cos(MatMul(c1, c2)) with c1, c2 initializers        -> initializer (computed once by onnxruntime)
 *   Cast(x, to=float) with x already float              -> x
 *
 * Small integer results come from symbolic shape inference (src/pattern/facts.ts); any other node whose
 * inputs are all constant is evaluated once in onnxruntime. Seen in torch.onnx (TorchScript) exports, which
 * rebuild every reshape target from Shape/Gather/Unsqueeze/Concat.
 */
import { z } from 'zod';
import { definePass, type PassContext } from '../../src/pipeline/pass.js';
import type { Graph } from '../../src/ir/graph.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import type { Model } from '../../src/ir/model.js';
import { Tensor } from '../../src/ir/tensor.js';
import { dtypeBits, elementCount } from '../../src/ir/dtype.js';
import { FactTable } from '../../src/pattern/facts.js';
import { numbers } from '../../src/pattern/sym.js';
import { evaluate } from '../../src/pattern/evaluate.js';
import { removeOrphans, tensorOf } from '../../src/pattern/rewrite.js';
import { rebuildDims } from './shapes/rebuild-dims.js';
import type { TypedArray } from '../../src/ir/tensor.js';

/** Operators that must not be folded: random, or with side information we cannot see. */
const NEVER = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'If', 'Loop', 'Scan']);
/** Operators that make their output larger than their inputs: folded only while small. */
const GROWING = new Set(['Expand', 'Tile', 'ConstantOfShape', 'Range', 'Pad', 'Resize', 'OneHot']);

const Options = z.object({
  maxBytes: z.number().int().min(0).default(16 << 20).describe('largest tensor (bytes) a folded node may produce'),
  maxGrowingBytes: z.number().int().min(0).default(64 << 10).describe('largest output of Expand/Tile/ConstantOfShape/Range kept as a constant'),
  rebuildDims: z.boolean().default(true).describe('recompute symbolic dimensions from the graph inputs\' shapes instead of from activations'),
}).strict();
type Options = z.output<typeof Options>;

interface Counts { casts: number; constants: number; shapeValues: number; rebuilt: number; evaluated: number; removed: number }

export default definePass({
  name: 'fold-shape-constants',
  description: 'fold Constant nodes, statically known shape arithmetic and all-constant subgraphs into initializers',
  options: Options,
  requires: ['topo-sorted'],
  async run(model, options, ctx) {
    const counts: Counts = { casts: 0, constants: 0, shapeValues: 0, rebuilt: 0, evaluated: 0, removed: 0 };
    const total = () => counts.casts + counts.constants + counts.shapeValues + counts.rebuilt + counts.evaluated;
    for (let round = 0; round < 4; round++) {
      const before = total();
      liftConstants(model.graph, counts);
      dropNoOpCasts(model.graph, counts);
      foldKnown(model.graph, counts, ctx);
      await foldConstantCones(model, options, counts, ctx);
      if (options.rebuildDims) {
        const [rebuilt, removed] = rebuildDims(model.graph, new FactTable(model.graph));
        counts.rebuilt += rebuilt;
        counts.removed += removed;
        if (rebuilt) ctx.explain('fold-shape-constants', `${rebuilt} symbolic shape values now read from the graph inputs' shapes`);
      }
      if (total() === before) break;
    }
    return {
      modified: total() > 0,
      stats: { constantNodes: counts.constants, noOpCasts: counts.casts, shapeValues: counts.shapeValues, dimsRebuilt: counts.rebuilt, evaluated: counts.evaluated, nodesRemoved: counts.removed },
    };
  },
});

/** Constant -> initializer (not when its output is a graph output: the interface keeps its producer). */
function liftConstants(graph: Graph, counts: Counts): void {
  for (const node of graph.nodesOfType('Constant')) {
    const out = node.outputs[0];
    if (!out || out.isGraphOutput) continue;
    const tensor = constantTensor(node, out.name);
    if (!tensor) continue;
    const init = graph.addConstant(out.name, tensor);
    out.replaceAllUsesWith(init);
    graph.removeNode(node);
    counts.constants++;
  }
}

function constantTensor(node: Node, name: string): Tensor | undefined {
  const a = [...node.attributes.values()][0];
  if (!a || node.attributes.size !== 1) return undefined;
  if (a.type === 'tensor') return a.value.hasBytes ? Tensor.fromBytes(name, a.value.dtype, a.value.dims, a.value.bytes()) : undefined;
  if (a.type === 'int') return tensorOf(name, 7, [], [a.value]);
  if (a.type === 'float') return tensorOf(name, 1, [], [a.value]);
  if (a.type === 'ints') return tensorOf(name, 7, [a.value.length], a.value);
  if (a.type === 'floats') return tensorOf(name, 1, [a.value.length], a.value);
  return undefined;
}

/** Cast to the type its input already has -> the input. */
function dropNoOpCasts(graph: Graph, counts: Counts): void {
  const facts = new FactTable(graph);
  for (const node of graph.nodesOfType('Cast')) {
    const x = node.inputs[0];
    const y = node.outputs[0];
    if (!x || !y || y.isGraphOutput || facts.dtype(x) === undefined || facts.dtype(x) !== node.getInt('to')) continue;
    y.replaceAllUsesWith(x);
    graph.removeNode(node);
    counts.casts++;
  }
}

/** Outputs whose elements symbolic inference knows as numbers -> initializers. */
function foldKnown(graph: Graph, counts: Counts, ctx: PassContext): void {
  const facts = new FactTable(graph);
  const folded: Node[] = [];
  for (const node of graph.nodes) {
    if (node.domain !== '' || NEVER.has(node.opType) || node.outputs.length === 0) continue;
    const outs = node.outputs.filter((v): v is Value => !!v && !v.isUnused);
    if (outs.length === 0 || outs.some((v) => v.isGraphOutput)) continue;
    const tensors = outs.map((v) => knownTensor(facts, v));
    if (tensors.some((t) => !t)) continue;
    outs.forEach((v, i) => v.replaceAllUsesWith(graph.addConstant(v.name, tensors[i]!)));
    folded.push(node);
    counts.shapeValues += outs.length;
  }
  counts.removed += removeOrphans(graph, folded);
  if (folded.length) ctx.explain('fold-shape-constants', `${folded.length} nodes with statically known results replaced by initializers`);
}

function knownTensor(facts: FactTable, v: Value): Tensor | undefined {
  const f = facts.get(v);
  const dims = numbers(f.shape);
  const values = facts.numbers(v);
  if (!dims || !values || f.dtype === undefined || values.length !== elementCount(dims)) return undefined;
  return tensorOf(v.name, f.dtype, dims, values);
}

/** Nodes whose inputs are all initializers (transitively): evaluated together in one onnxruntime run. */
async function foldConstantCones(model: Model, options: Options, counts: Counts, ctx: PassContext): Promise<void> {
  const graph = model.graph;
  const constant = new Set<Value>(graph.initializers);
  const cone: Node[] = [];
  for (const node of graph.nodes) {
    if (node.domain !== '' || NEVER.has(node.opType) || node.subgraphs().length) continue;
    if (node.inputs.some((v) => v && !constant.has(v))) continue;
    cone.push(node);
    for (const v of node.outputs) if (v) constant.add(v);
  }
  const facts = new FactTable(graph);
  const inCone = new Set(cone);
  const frontier = cone.flatMap((n) => n.outputs.filter((v): v is Value =>
    !!v && !v.isGraphOutput && v.uses.some((u) => !inCone.has(u.node)) && worthFolding(n, v, facts, options)));
  if (frontier.length === 0) return;
  let results;
  try {
    results = await evaluate(model, frontier);
  } catch (err) {
    ctx.warn(`fold-shape-constants: onnxruntime could not evaluate ${frontier.length} constant values (${(err as Error).message.split('\n')[0]})`);
    return;
  }
  const seeds: Node[] = [];
  for (const v of frontier) {
    const r = results[v.name];
    if (!r || Array.isArray(r.data)) continue;
    const data = r.data as TypedArray;
    const tensor = Tensor.fromBytes(v.name, r.dtype, r.dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    const producer = v.producer!;
    v.replaceAllUsesWith(graph.addConstant(v.name, tensor));
    seeds.push(producer);
    counts.evaluated++;
  }
  counts.removed += removeOrphans(graph, seeds);
}

function worthFolding(node: Node, v: Value, facts: FactTable, options: Options): boolean {
  const f = facts.get(v);
  const dims = numbers(f.shape);
  if (!dims || f.dtype === undefined) return false;
  const bytes = (elementCount(dims) * dtypeBits(f.dtype)) / 8;
  return bytes <= (GROWING.has(node.opType) ? options.maxGrowingBytes : options.maxBytes);
}

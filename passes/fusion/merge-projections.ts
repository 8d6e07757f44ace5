/**
 * Sibling projections of one activation -> one wider projection and a Split:
 *
 *        ┌─ MatMul(W1) ──────── y1                          ┌─ y1
 *   x ───┼─ MatMul(W2) ─ Add(b2) y2    ->   x ─ MatMul([W1|W2|W3]) ─ Add([0|b2|b3]) ─ Split ─┼─ y2
 *        └─ Gemm(W3ᵀ, b3) ───── y3                          └─ y3
 *
 * Seen as the gate and up projections of SwiGLU MLPs (LLaMA, both exporters) and as unpacked Q/K/V
 * projections (BERT, LLaMA before attention fusion). The weights must be constant, 2-D, of one element type
 * and read by nothing else (a shared weight would be stored twice).
 */
import { z } from 'zod';
import { definePass, type PassContext } from '../../src/pipeline/pass.js';
import type { Graph } from '../../src/ir/graph.js';
import type { Node } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { byteLength } from '../../src/ir/dtype.js';
import { FactTable } from '../../src/pattern/facts.js';
import { InvariantError } from '../../src/errors.js';
import { activationOf, projectionOf, type Projection } from './merge/members.js';
import { emitMerged, splitAxis } from './merge/emit.js';

const NAME = 'merge-projections';

const Options = z.object({
  minGroup: z.number().int().min(2).default(2).describe('fewest projections of one activation worth merging'),
  opTypes: z.array(z.enum(['MatMul', 'Gemm'])).min(1).default(['MatMul', 'Gemm']).describe('operators taken as projections'),
  maxBytes: z.number().int().positive().default(2 ** 30).describe('largest merged weight, in bytes; larger groups are left alone'),
}).strict();
type Options = z.output<typeof Options>;

interface Counts { groupsMerged: number; matmulsRemoved: number; biasesMerged: number }

/** Readers of each activation among the candidate operators, in graph order. */
function readersByActivation(graph: Graph, opTypes: readonly string[]): Map<Value, Node[]> {
  const readers = new Map<Value, Node[]>();
  for (const node of graph.nodes) {
    if (node.domain !== '' || !opTypes.includes(node.opType)) continue;
    const x = activationOf(node);
    if (x) readers.set(x, [...(readers.get(x) ?? []), node]);
  }
  return readers;
}

/** Splits projections into sets that can share one weight: same element type and K. */
function bySignature(projections: readonly Projection[]): Projection[][] {
  const sets = new Map<string, Projection[]>();
  for (const p of projections) {
    const key = `${p.weight.tensor.dtype}:${p.weight.k}`;
    sets.set(key, [...(sets.get(key) ?? []), p]);
  }
  return [...sets.values()];
}

/** Why a set of projections is left as it is, or undefined when it can be merged. */
function refusal(group: readonly Projection[], options: Options, axis: number | undefined): string | undefined {
  if (group.length < options.minGroup) return `${group.length} mergeable projection(s), fewer than minGroup ${options.minGroup}`;
  if (axis === undefined) return 'the output rank is unknown and opset < 11 needs a non-negative Split axis';
  const w = group[0]!.weight;
  const bytes = byteLength(w.tensor.dtype, w.k * group.reduce((s, p) => s + p.weight.n, 0));
  if (bytes > options.maxBytes) return `the merged weight would take ${bytes} bytes, more than maxBytes ${options.maxBytes}`;
  return undefined;
}

function mergeGraph(graph: Graph, options: Options, ctx: PassContext, counts: Counts): void {
  const facts = new FactTable(graph);
  const opset = graph.model.opsetVersion('') ?? 1;
  for (const [x, readers] of readersByActivation(graph, options.opTypes)) {
    if (readers.length < 2) continue;
    const projections: Projection[] = [];
    for (const node of readers) {
      const found = projectionOf(node, facts);
      if ('ok' in found) projections.push(found.ok);
      else ctx.explain(NAME, `'${x.name}': ${node.opType} ${node.name} left out: ${found.reason}`);
    }
    for (const group of bySignature(projections)) {
      const axis = splitAxis(opset, group.some((p) => p.node.opType === 'Gemm') ? 2 : facts.rank(x));
      const why = refusal(group, options, axis);
      const names = group.map((p) => p.node.name).join(', ');
      if (why) {
        ctx.explain(NAME, `'${x.name}': not merged (${names}): ${why}`);
        continue;
      }
      const removed = emitMerged(graph, group, axis!);
      ctx.explain(NAME, `'${x.name}': merged ${group.length} projections (${names}) into one MatMul and a Split`);
      counts.groupsMerged++;
      counts.matmulsRemoved += group.length - 1;
      counts.biasesMerged += group.filter((p) => p.bias).length;
      if (removed < group.length) throw new InvariantError(`${NAME} removed ${removed} of ${group.length} projections`);
    }
  }
}

export default definePass({
  name: NAME,
  description: 'merge MatMul/Gemm projections of the same activation (SwiGLU gate/up, unpacked Q/K/V) into one MatMul and a Split',
  options: Options,
  requires: ['topo-sorted'],
  run(model, options, ctx) {
    const counts: Counts = { groupsMerged: 0, matmulsRemoved: 0, biasesMerged: 0 };
    for (const graph of [...model.graph.graphsDeep()]) mergeGraph(graph, options, ctx, counts);
    return { modified: counts.groupsMerged > 0, stats: { ...counts } };
  },
});

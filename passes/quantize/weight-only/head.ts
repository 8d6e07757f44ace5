/**
 * The output head: the last linear layers before the model's outputs (the vocabulary projection of a
 * language model), and the embedding tables tied to it. Found by data flow, not by names:
 *   head   = a layer from whose output a graph output is reached without crossing another matrix product,
 *            and that no other such layer depends on (a hidden-state output next to the logits does not
 *            make the last block's projection a head);
 *   tied   = Gather(table, ids) along axis 0 where table[v][h] is the head's weight for output v, input h:
 *            the head's own initializer (Gemm transB=1), or an equal copy (exports fold the transpose).
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import type { LinearLayer } from '../linear-layers.js';

const PRODUCTS = new Set(['MatMul', 'Gemm', 'MatMulNBits', 'MatMulInteger', 'QLinearMatMul', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul']);

export function findHeadLayers(layers: readonly LinearLayer[]): Set<LinearLayer> {
  const reaching = layers.filter((l) => reachesOutput(l.node.output(0)));
  const downstream = new Map(reaching.map((l) => [l, forwardNodes([l.node.output(0)], () => true)]));
  return new Set(reaching.filter((l) => !reaching.some((other) => other !== l && downstream.get(l)!.has(other.node))));
}

function reachesOutput(start: Value): boolean {
  let reached = false;
  forwardNodes([start], (node) => !PRODUCTS.has(node.opType), (v) => { if (v.isGraphOutput) reached = true; });
  return reached || start.isGraphOutput;
}

/** Nodes reachable from `starts`, expanding only through nodes that `through` accepts. */
function forwardNodes(starts: readonly Value[], through: (node: Node) => boolean, onValue?: (v: Value) => void): Set<Node> {
  const seen = new Set<Node>();
  const stack = [...starts];
  while (stack.length) {
    const v = stack.pop()!;
    onValue?.(v);
    for (const node of v.consumers()) {
      if (seen.has(node)) continue;
      seen.add(node);
      if (!through(node)) continue;
      for (const out of node.outputs) if (out) stack.push(out);
    }
  }
  return seen;
}

/** Gather nodes whose table holds the head's weight, one row per output channel. */
export function tiedGathers(model: Model, head: LinearLayer): Node[] {
  const weight = head.weight.initializer!;
  let headRows: Float32Array | undefined;
  const out: Node[] = [];
  for (const node of model.graph.nodesOfType('Gather')) {
    const table = node.inputs[0];
    const t = table?.initializer;
    if (!table || !t || table.isGraphInput || t.dtype !== DType.FLOAT || t.dims.length !== 2 || node.getInt('axis', 0) !== 0) continue;
    if (t.dims[0] !== head.n || t.dims[1] !== head.k) continue;
    if (table === head.weight) { if (head.transposed) out.push(node); continue; }
    headRows ??= rowsOf(weight.toFloat32(), head);
    if (sameValues(t.toFloat32(), headRows)) out.push(node);
  }
  return out;
}

/** The head's weight as [N][K]. */
function rowsOf(w: Float32Array, head: LinearLayer): Float32Array {
  if (head.transposed) return w;
  const rows = new Float32Array(head.n * head.k);
  for (let i = 0; i < head.k; i++) for (let c = 0; c < head.n; c++) rows[c * head.k + i] = w[i * head.n + c]!;
  return rows;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

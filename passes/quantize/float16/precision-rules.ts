/**
 * Computations kept in float32 by default, because 16-bit floats get them wrong whatever the data:
 *
 *   Range, CumSum      index arithmetic: float16 holds integers exactly only up to 2048
 *   Sin, Cos           rotary angles grow with the position; the phase error of float16 grows with them
 *   norm statistics    x^2 -> ReduceMean -> +eps -> Sqrt -> 1/. : the square overflows float16 once |x| > 256
 *   index math         the cheap float math feeding a kept node that depends on no model input data
 *                      (positions x inverse frequencies, mask tables): computed once, kept exact
 */
import type { Graph } from '../../../src/ir/graph.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { nodeReads } from '../../../src/ir/sort.js';
import { constantScalar } from './constants.js';

export const DEFAULT_BLOCK_OPS: readonly string[] = ['Range', 'CumSum', 'Sin', 'Cos'];

const REDUCTIONS = new Set(['ReduceMean', 'ReduceSum']);
const SQUARE_REDUCTIONS = new Set(['ReduceSumSquare', 'ReduceL2']);
/** Cheap ops that carry a statistic on to its reciprocal square root. */
const STATISTIC_FOLLOWERS = new Set(['ReduceMean', 'ReduceSum', 'Add', 'Sub', 'Mul', 'Div', 'Sqrt', 'Reciprocal', 'Max', 'Min', 'Clip', 'Cast']);

/**
 * Values that depend on the model's input data, not only on constants and input shapes: everything but
 * weights, shape arithmetic and what is computed from them (positions, causal masks, rotary tables).
 */
export function activationValues(graph: Graph): Set<Value> {
  const out = new Set<Value>(graph.inputs.filter((v) => !v.initializer));
  for (const node of graph.nodes) {
    if (node.opType === 'Shape' || node.opType === 'Size') continue;
    if (nodeReads(node).some((v) => out.has(v))) for (const v of node.outputs) if (v) out.add(v);
  }
  return out;
}

/**
 * Norm statistics: a square (Pow(x, >=2), Mul(x, x), ReduceSumSquare, ReduceL2) reduced over an axis, and
 * the cheap ops after it whose other operands are constants, up to the op that applies it to activations.
 */
export function normStatistics(graph: Graph, isCandidate: (n: Node) => boolean, activations: ReadonlySet<Value>): Set<Node> {
  const chain = new Set<Node>();
  const frontier: Node[] = [];
  for (const node of graph.nodes) {
    if (!isCandidate(node)) continue;
    if (SQUARE_REDUCTIONS.has(node.opType)) { chain.add(node); frontier.push(node); continue; }
    if (!isSquare(node)) continue;
    const reductions = node.outputs[0]?.consumers().filter((c) => REDUCTIONS.has(c.opType) && isCandidate(c)) ?? [];
    if (!reductions.length) continue;
    chain.add(node);
    for (const r of reductions) { chain.add(r); frontier.push(r); }
  }
  while (frontier.length) {
    const node = frontier.pop()!;
    for (const out of node.outputs) {
      for (const c of out?.consumers() ?? []) {
        if (chain.has(c) || c.graph !== graph || !isCandidate(c) || !STATISTIC_FOLLOWERS.has(c.opType)) continue;
        const fromChain = (v: Value | null) => !v || (v.producer !== undefined && chain.has(v.producer)) || !activations.has(v);
        if (!c.inputs.every(fromChain)) continue;
        chain.add(c);
        frontier.push(c);
      }
    }
  }
  return chain;
}

function isSquare(node: Node): boolean {
  if (node.opType === 'Mul') return node.inputs[0] !== null && node.inputs[0] === node.inputs[1];
  if (node.opType !== 'Pow' || !node.inputs[1]) return false;
  const exponent = constantScalar(node.inputs[1]);
  return exponent !== undefined && exponent >= 2;
}

/**
 * Producers of kept nodes that depend on no input data (index math): kept too, transitively. They are cheap
 * (computed from shapes and constants), and converting them would only round what the kept node reads.
 */
export function indexMathFeeding(kept: Iterable<Node>, isLowCandidate: (n: Node) => boolean, activations: ReadonlySet<Value>): Set<Node> {
  const grown = new Set<Node>();
  const stack = [...kept];
  while (stack.length) {
    const node = stack.pop()!;
    for (const v of node.inputs) {
      const p = v?.producer;
      if (!v || !p || p.graph !== node.graph || grown.has(p) || activations.has(v) || !isLowCandidate(p)) continue;
      grown.add(p);
      stack.push(p);
    }
  }
  return grown;
}

/**
 * Shapes that depend on a pruned width. Between the producing projections (q/k/v, up/gate) and the consuming
 * one (o, down), exporters reshape the activations with targets that may spell the width out:
 *   Reshape(q, [b, s, H, D])   Reshape(ctx, [b, s, H·D])   Expand(k, [b, G, rep, s, D])   Split(qkv, [HD, GD, GD])
 * either as one constant or as a Concat of constant and run-time pieces (Shape → Gather → Unsqueeze).
 * We follow the data flow from the producers to the consumer and rewrite the constant pieces of those
 * targets; -1 and run-time pieces stay as they are, so the model keeps any batch and sequence length.
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { constantNumbers, constantTensor, isConstant } from '../../../src/analysis/constants.js';
import { dataInputs } from '../../../src/analysis/walk.js';

/** Nodes on data paths from any of `from` to `to`, inside `within`. */
export function regionBetween(from: readonly Value[], to: Value, within: ReadonlySet<Node>): Set<Node> {
  const ahead = new Set<Node>();
  const queue = [...from];
  while (queue.length) {
    for (const n of queue.shift()!.consumers()) {
      if (ahead.has(n) || !within.has(n)) continue;
      ahead.add(n);
      for (const o of n.outputs) if (o && o !== to) queue.push(o);
    }
  }
  const region = new Set<Node>();
  const stack = [to];
  while (stack.length) {
    const p = stack.pop()!.producer;
    if (!p || region.has(p) || !ahead.has(p)) continue;
    region.add(p);
    stack.push(...dataInputs(p));
  }
  return region;
}

/** Old → new value of a width or count that appears in shape targets. */
export type WidthMap = ReadonlyMap<number, number>;

export interface ShapeEdits {
  readonly targets: number;
  readonly splits: number;
}

/**
 * Rewrites the targets of Reshape and Expand nodes in `region` (`map`), and Split sizes (`splits`: the new
 * sizes of a Split's parts, given the old ones).
 */
export function rewriteShapes(region: ReadonlySet<Node>, map: WidthMap, splits?: (old: readonly number[]) => number[] | undefined): ShapeEdits {
  let targets = 0;
  let splitCount = 0;
  for (const node of region) {
    if (node.domain !== '') continue;
    if (node.opType === 'Reshape' && rewriteTarget(node, map, (e) => firstMatch(e, map))) targets++;
    // An Expand target holds 1s where it broadcasts: only the group axis [b, G, rep, s, D] is a count.
    if (node.opType === 'Expand' && rewriteTarget(node, map, (e) => (e.length === 5 && typeof e[1] === 'number' && map.has(e[1]) ? 1 : -1))) targets++;
    if (node.opType === 'Split' && splits && rewriteSplit(node, splits)) splitCount++;
  }
  return { targets, splits: splitCount };
}

/** The first element after the batch axis that is a mapped width (-1 when none). */
function firstMatch(elements: readonly (number | null)[], map: WidthMap): number {
  for (let i = 1; i < elements.length; i++) {
    const e = elements[i];
    if (typeof e === 'number' && e > 0 && map.has(e)) return i;
  }
  return -1;
}

/** Rewrites the element `pick` chooses in a node's shape operand (input 1); false when nothing changes. */
function rewriteTarget(node: Node, map: WidthMap, pick: (elements: readonly (number | null)[]) => number): boolean {
  const operand = node.inputs[1];
  if (!operand) return false;
  const whole = constantNumbers(operand, 16);
  if (whole) {
    const at = pick(whole);
    if (at < 0) return false;
    const next = [...whole];
    next[at] = map.get(whole[at]!)!;
    node.setInput(1, int64Constant(node, next));
    return true;
  }
  const concat = operand.producer;
  if (concat?.opType !== 'Concat' || concat.domain !== '') return false;
  const pieces = concat.inputs.map((v) => ({ v, known: constantNumbers(v, 16) }));
  const elements = pieces.flatMap((p) => p.known ?? [null]);
  const at = pick(elements);
  if (at < 0) return false;
  let offset = 0;
  const which = pieces.findIndex((p) => (offset += (p.known?.length ?? 1)) > at);
  const piece = pieces[which]!;
  const start = offset - (piece.known?.length ?? 1);
  const next = [...piece.known!];
  next[at - start] = map.get(elements[at]!)!;
  const fresh = int64Constant(node, next, constantTensor(piece.v)?.dims.length === 0);
  // A Concat read elsewhere (a shape shared between layers) is copied rather than edited.
  const target = operand.uses.length === 1 ? concat : copyConcat(concat, node);
  target.setInput(which, fresh);
  return true;
}

function copyConcat(concat: Node, reader: Node): Node {
  const copy = reader.graph.addNode({
    opType: 'Concat', inputs: [...concat.inputs], before: reader,
    attributes: { axis: { type: 'int', value: concat.getInt('axis', 0)! } },
  });
  reader.setInput(1, copy.output(0));
  return copy;
}

function rewriteSplit(node: Node, splits: (old: readonly number[]) => number[] | undefined): boolean {
  const fromInput = node.inputs[1] && isConstant(node.inputs[1]) ? constantNumbers(node.inputs[1]) : undefined;
  const old = fromInput ?? node.getInts('split');
  // Equal parts (num_outputs, or no sizes): they stay equal when every part shrinks alike.
  if (!old) return false;
  const next = splits(old);
  if (!next || next.every((x, i) => x === old[i])) return false;
  if (fromInput) node.setInput(1, int64Constant(node, next));
  else node.setAttribute('split', { type: 'ints', value: next });
  return true;
}

function int64Constant(node: Node, values: readonly number[], scalar = false): Value {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  const hint = `${node.name}_pruned_shape`;
  return node.graph.addConstant(hint, Tensor.fromTyped(hint, DType.INT64, scalar ? [] : [values.length], data));
}

/** Drops static shapes recorded on values that the edit may have resized (graph outputs excepted). */
export function forgetShapes(nodes: Iterable<Node>): void {
  for (const n of nodes) {
    for (const o of n.outputs) if (o && o.type?.shape && !o.isGraphOutput) o.type = { elemType: o.type.elemType };
  }
}

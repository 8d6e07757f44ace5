/**
 * The precision plan: which float32 nodes of the main graph compute in 16 bits and which stay float32, and
 * why. Nodes with no float32 input or output (shape arithmetic) are not part of it.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { DType } from '../../../src/ir/dtype.js';
import { inferElementTypes, type ElementTypes } from './element-types.js';
import { inputIsAnyType, unsupportedReason, type LowType } from './op-support.js';
import { activationValues, DEFAULT_BLOCK_OPS, indexMathFeeding, normStatistics } from './precision-rules.js';
import type { RangeFindings } from './range-check.js';

export type KeepReason = 'subgraph' | 'unsupported' | 'excluded' | 'blocked' | 'range' | 'statistics' | 'index-math' | 'cast';

export interface PlanOptions {
  readonly low: LowType;
  readonly blockOps: readonly string[];
  readonly precisionRules: boolean;
  /** Graph outputs stay float32 (a Cast(to=float) producing one is then kept as it is). */
  readonly keepIoTypes: boolean;
  readonly excluded: (node: Node) => boolean;
  readonly explain: (message: string) => void;
}

export interface Plan {
  readonly low: LowType;
  /** Element types before the rewrite. */
  readonly types: ElementTypes;
  readonly lowNodes: Set<Node>;
  readonly kept: Map<Node, KeepReason>;
}

/** A node takes part when it reads (through a typed input) or writes a float32 tensor. */
export function isFloatNode(node: Node, types: ElementTypes): boolean {
  return node.inputs.some((v, i) => v && types.get(v) === DType.FLOAT && !inputIsAnyType(node, i))
    || node.outputs.some((v) => v && types.get(v) === DType.FLOAT);
}

/** Float32 values a range check should observe: node outputs and inputs of the candidates. */
export function floatValuesOf(model: Model, types: ElementTypes): Value[] {
  const out = new Set<Value>();
  for (const node of model.graph.nodes) {
    if (!isFloatNode(node, types)) continue;
    for (const v of [...node.inputs, ...node.outputs]) if (v && types.get(v) === DType.FLOAT && v.graph === model.graph) out.add(v);
  }
  return [...out];
}

export function planPrecision(model: Model, options: PlanOptions, ranges?: RangeFindings, types = inferElementTypes(model.graph)): Plan {
  const graph = model.graph;
  const opset = model.opsetVersion('') ?? 1;
  // Constants follow their readers (narrowed, kept or both), so they are not planned themselves.
  const candidates = graph.nodes.filter((n) => n.opType !== 'Constant' && isFloatNode(n, types));
  const isCandidate = new Set(candidates);
  const kept = new Map<Node, KeepReason>();
  const blocked = new Set([...(options.precisionRules ? DEFAULT_BLOCK_OPS : []), ...options.blockOps]);
  const keep = (node: Node, reason: KeepReason, why: string) => {
    if (kept.has(node)) return;
    kept.set(node, reason);
    options.explain(`${node.describe()}: float32 (${why})`);
  };
  for (const node of candidates) {
    const unsupported = unsupportedReason(node, options.low, opset);
    if (node.subgraphs().length) keep(node, 'subgraph', 'holds subgraphs, which stay float32');
    else if (unsupported) keep(node, 'unsupported', unsupported);
    else if (options.excluded(node)) keep(node, 'excluded', 'excluded');
    else if (blocked.has(node.opType)) keep(node, 'blocked', `${node.opType} is on the block list`);
    else if (ranges && touchesOutOfRange(node, ranges)) keep(node, 'range', 'reads or writes values outside the float16 range');
  }
  if (options.precisionRules) {
    const activations = activationValues(graph);
    const open = (n: Node) => !kept.has(n) && isCandidate.has(n);
    for (const n of normStatistics(graph, (n) => isCandidate.has(n), activations)) keep(n, 'statistics', 'norm statistics');
    for (const n of indexMathFeeding(kept.keys(), open, activations)) keep(n, 'index-math', 'index math feeding a float32 node');
  }
  decideCasts(candidates, kept, types, options.keepIoTypes);
  const lowNodes = new Set(candidates.filter((n) => !kept.has(n)));
  return { low: options.low, types, lowNodes, kept };
}

function touchesOutOfRange(node: Node, ranges: RangeFindings): boolean {
  return [...node.inputs, ...node.outputs].some((v) => v && ranges.outOfRange.has(v));
}

/**
 * Cast(to=float) nodes are the conversion points: one stays float32 when a consumer needs float32 (it is
 * then the upcast, and 16-bit consumers read its input instead), and becomes Cast(to=low) otherwise.
 * Decided last to first, so that a Cast feeding a Cast sees its consumer's decision.
 */
function decideCasts(candidates: readonly Node[], kept: Map<Node, KeepReason>, types: ElementTypes, keepIoTypes: boolean): void {
  for (let i = candidates.length - 1; i >= 0; i--) {
    const node = candidates[i]!;
    if (node.opType !== 'Cast' || kept.has(node)) continue;
    const out = node.outputs[0];
    if (!out || types.get(out) !== DType.FLOAT) continue;
    const needsFloat = (keepIoTypes && out.isGraphOutput)
      || out.uses.some((u) => u.node.graph !== node.graph || (!inputIsAnyType(u.node, u.index) && kept.has(u.node)));
    if (needsFloat) kept.set(node, 'cast');
  }
}

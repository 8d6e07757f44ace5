/**
 * Activation-aware scaling of the selected layers, in float (quantization follows as round-to-nearest):
 *   1. one calibration run: XᵀX and mean |x| per channel of every layer input, and the last axis of the
 *      values above them that are only reshaped on the way;
 *   2. layers whose inputs carry the same data (one value, or Reshapes of it keeping the last axis) form a
 *      group with one scale vector s, searched jointly (their output errors add up);
 *   3. groups run from the last to the first, so that a 1/s folded into an earlier layer's output columns
 *      is already in that layer's weights when its own group is searched.
 * The float model computes the same function afterwards (up to rounding): weights ×s, activations ÷s.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import type { Dataset } from '../../../src/data/dataset.js';
import type { CalibrationRequest } from '../../../src/runtime/calibrate.js';
import { findLinearLayers, type LinearLayer } from '../linear-layers.js';
import { ChannelAbsMeanCollector, LastAxisCollector } from './collectors.js';
import { collectGrams } from './gram-probe.js';
import { QuadraticErrorEvaluator } from './error-evaluator.js';
import type { BlockwiseOptions } from '../../../src/math/blockwise.js';
import { awqGrid, awqScales, scaledQuantizationDiff, type AwqLayer } from '../../../src/math/awq.js';
import { applyFold, foldTarget, scaleLayerRows, weightColumns } from './awq-fold.js';

export interface AwqOptions {
  /** α = i / grid, i = 0 … grid − 1. */
  readonly grid: number;
  /** Quantizer settings per layer (the head may use 8 bits). */
  readonly quant: (layer: LinearLayer) => BlockwiseOptions;
  readonly progress: (message: string) => void;
}

export interface AwqStats {
  awqGroups: number;
  /** Groups where a nonzero α beat plain rounding. */
  awqScaled: number;
  /** Scaled groups whose 1/s went into a norm, a constant Mul or an earlier layer. */
  awqFolded: number;
  /** Scaled groups that needed an inserted Mul. */
  awqMulInserted: number;
}

export interface AwqScaling {
  readonly stats: AwqStats;
  /** XᵀX of each scaled layer's input as it is now (divided by s_i·s_j where scaled), for the clipping step. */
  readonly grams: ReadonlyMap<LinearLayer, Float64Array>;
}

/** Scales the layers' weights and folds the inverse upstream; layers with shared weights are left alone. */
export async function applyAwqScaling(model: Model, selected: readonly LinearLayer[], data: Dataset, o: AwqOptions): Promise<AwqScaling> {
  const layers = selected.filter((l) => l.weight.uses.length === 1);
  const stats: AwqStats = { awqGroups: 0, awqScaled: 0, awqFolded: 0, awqMulInserted: 0 };
  const layerGrams = new Map<LinearLayer, Float64Array>();
  if (!layers.length) return { stats, grams: layerGrams };
  const inputs = new Map(layers.map((l) => [l.node.input(0).name, l.k]));
  const absMeans = new Map([...inputs.keys()].map((name) => [name, new ChannelAbsMeanCollector()]));
  const lastAxes = new Map<string, LastAxisCollector>();
  for (const l of layers) for (const r of reshapesAbove(l.node.input(0))) lastAxes.set(r.input(0).name, new LastAxisCollector());
  const also: CalibrationRequest[] = [
    ...[...absMeans].map(([value, collector]) => ({ value, collector })),
    ...[...lastAxes].map(([value, collector]) => ({ value, collector })),
  ];
  const grams = await collectGrams(model, inputs, data, (done, total) => o.progress(`awq: calibration ${done}/${total} rows`), also);

  const groups = groupByRoot(layers, (v) => lastAxes.get(v.name)?.size);
  const linearByNode = new Map(findLinearLayers(model).layers.map((l) => [l.node, l]));
  const position = new Map(model.graph.nodes.map((n, i) => [n, i]));
  const order = [...groups.entries()].sort(([, a], [, b]) => firstIndex(b, position) - firstIndex(a, position));
  const evaluator = await QuadraticErrorEvaluator.create();
  try {
    for (const [root, members] of order) {
      const input = members[0]!.node.input(0).name;
      const gram = grams.get(input)!;
      const scales = await searchGroup(members, absMeans.get(input)!.means(), gram, evaluator, o);
      stats.awqGroups++;
      o.progress(`awq: ${stats.awqGroups}/${groups.size} groups`);
      const scaledGram = scales ? divideGram(gram, scales) : gram;
      for (const l of members) layerGrams.set(l, scaledGram);
      if (!scales) continue;
      const target = onlyReadByGroup(root, members) ? foldTarget(root, members[0]!.k, linearByNode) : { kind: 'mul' as const };
      for (const l of members) scaleLayerRows(l, scales);
      applyFold(model, target, scales, members);
      stats.awqScaled++;
      if (target.kind === 'mul') stats.awqMulInserted++;
      else stats.awqFolded++;
    }
  } finally {
    await evaluator.release();
  }
  return { stats, grams: layerGrams };
}

/** The Gram of X/s: G_ij / (s_i·s_j). */
function divideGram(gram: Float64Array, s: Float32Array): Float64Array {
  const k = s.length;
  return gram.map((v, at) => v / (s[Math.floor(at / k)]! * s[at % k]!));
}

/** The scales of the α with the least summed output error, or undefined when α = 0 (no scaling) wins. */
async function searchGroup(
  members: readonly LinearLayer[], absMean: Float64Array, gram: Float64Array, evaluator: QuadraticErrorEvaluator, o: AwqOptions,
): Promise<Float32Array | undefined> {
  const k = members[0]!.k;
  const candidates = awqGrid(o.grid).map((alpha) => awqScales(absMean, alpha));
  const errors = new Float64Array(candidates.length);
  const g = Float32Array.from(gram);
  for (const l of members) {
    // Plain max-abs block scales while searching α, as AWQ does; clipping is left to the final quantizer
    // (a clipping search inside would cost ten times more for a small gain).
    const layer: AwqLayer = { columns: weightColumns(l), n: l.n, quant: { ...o.quant(l), searchScale: false } };
    const diffs = new Float32Array(candidates.length * k * l.n);
    candidates.forEach((s, a) => scaledQuantizationDiff(layer, k, s, diffs.subarray(a * k * l.n, (a + 1) * k * l.n)));
    const e = await evaluator.layerErrors(g, diffs, candidates.length, k, l.n);
    for (let a = 0; a < e.length; a++) errors[a]! += e[a]!;
  }
  let best = 0;
  for (let a = 1; a < errors.length; a++) if (errors[a]! < errors[best]!) best = a;
  return best === 0 ? undefined : candidates[best];
}

/** Reshape nodes directly above x (data input), nearest first. */
function reshapesAbove(x: Value): Node[] {
  const out: Node[] = [];
  for (let v = x, p = v.producer; p && p.opType === 'Reshape' && p.domain === '' && !p.input(0).initializer && out.length < 4; v = p.input(0), p = v.producer) out.push(p);
  return out;
}

/** Layers keyed by the highest value their input is a last-axis-preserving reshape of. */
function groupByRoot(layers: readonly LinearLayer[], lastAxis: (v: Value) => number | undefined): Map<Value, LinearLayer[]> {
  const groups = new Map<Value, LinearLayer[]>();
  for (const l of layers) {
    let root = l.node.input(0);
    for (const r of reshapesAbove(root)) {
      if (lastAxis(r.input(0)) !== l.k) break;
      root = r.input(0);
    }
    const members = groups.get(root) ?? [];
    if (members.length && members[0]!.k !== l.k) continue;
    groups.set(root, [...members, l]);
  }
  return groups;
}

/** True when root reaches only the group's layers (as their data input), through Reshapes, or Shape. */
function onlyReadByGroup(root: Value, members: readonly LinearLayer[]): boolean {
  const nodes = new Set(members.map((l) => l.node));
  const stack = [root];
  while (stack.length) {
    const v = stack.pop()!;
    if (v.isGraphOutput) return false;
    for (const { node, index } of v.uses) {
      if (node.opType === 'Shape') continue;
      if (nodes.has(node) && index === 0) continue;
      if (node.opType === 'Reshape' && index === 0) { stack.push(node.output(0)); continue; }
      return false;
    }
  }
  return true;
}

function firstIndex(members: readonly LinearLayer[], position: ReadonlyMap<Node, number>): number {
  return Math.min(...members.map((l) => position.get(l.node) ?? 0));
}

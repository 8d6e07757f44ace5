/**
 * The order in which layers are pruned. Layers reading the same value form a group (q/k/v, gate/up): one set
 * of statistics serves them. Sequentially, a group's statistics are collected once every selected layer
 * upstream of its input is pruned, so each layer is fit to the inputs it will really see; groups that do not
 * depend on each other share a stage (one calibration run).
 */
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import type { PrunableLayer } from './layers.js';
import { upstreamNodes } from '../../../src/analysis/walk.js';

export interface LayerGroup {
  readonly input: Value;
  readonly layers: PrunableLayer[];
}

export function planStages(layers: readonly PrunableLayer[], sequential: boolean): LayerGroup[][] {
  const groups = new Map<Value, LayerGroup>();
  for (const l of layers) {
    const x = l.node.input(0);
    const g = groups.get(x) ?? { input: x, layers: [] };
    g.layers.push(l);
    groups.set(x, g);
  }
  if (!sequential) return groups.size ? [[...groups.values()]] : [];
  const groupOf = new Map<Node, LayerGroup>();
  for (const g of groups.values()) for (const l of g.layers) groupOf.set(l.node, g);
  const level = new Map<LayerGroup, number>();
  const pending = [...groups.values()];
  // Levels in dependency order: a group waits until every group upstream of its input has one.
  const upstream = new Map(pending.map((g) => [g, [...upstreamNodes([g.input])].flatMap((n) => groupOf.get(n) ?? [])]));
  while (pending.length) {
    const ready = pending.findIndex((g) => upstream.get(g)!.every((u) => level.has(u)));
    if (ready < 0) throw new RangeError('linear layers depend on each other in a cycle');
    const g = pending.splice(ready, 1)[0]!;
    level.set(g, Math.max(-1, ...upstream.get(g)!.map((u) => level.get(u)!)) + 1);
  }
  const stages: LayerGroup[][] = [];
  for (const [g, l] of level) (stages[l] ??= []).push(g);
  return stages.filter((s) => s.length);
}

/**
 * check(model, target): every finding of the rules in ./rules on the model, for one execution provider.
 * error = the node fails to load or falls back to another provider; warning = it runs, slowly or inexactly.
 */
import type { Model } from '../ir/model.js';
import type { Finding, Target, TargetProfile } from './types.js';
import { profileFor } from './index.js';
import { elementTypes } from './element-types.js';
import { findingSink, type ModelRule, type NodeRule } from './rules/context.js';
import { computeTypeRule, opOpsetRule, versionRule } from './rules/model.js';
import { domainRule } from './rules/ops.js';
import { qdqRule, qoperatorRule, s8SaturationRule } from './rules/quant.js';

const MODEL_RULES: readonly ModelRule[] = [versionRule, computeTypeRule];
const NODE_RULES: readonly NodeRule[] = [opOpsetRule, domainRule, qoperatorRule, qdqRule, s8SaturationRule];

export function checkModel(model: Model, target: Target | TargetProfile): Finding[] {
  const profile = typeof target === 'string' ? profileFor(target) : target;
  const findings: Finding[] = [];
  const ctx = findingSink(model, profile, elementTypes(model.graph), findings);
  for (const rule of MODEL_RULES) rule(ctx);
  for (const node of model.graph.allNodes()) for (const rule of NODE_RULES) rule(node, ctx);
  return findings;
}

export interface FindingCounts {
  readonly errors: number;
  readonly warnings: number;
}

export function countFindings(findings: readonly Finding[]): FindingCounts {
  const errors = findings.filter((f) => f.severity === 'error').length;
  return { errors, warnings: findings.length - errors };
}

/** Findings grouped by rule, op and message (a model repeats one problem per layer). */
export interface FindingGroup extends Omit<Finding, 'node'> {
  readonly nodes: readonly string[];
}

export function groupFindings(findings: readonly Finding[]): FindingGroup[] {
  const groups = new Map<string, { f: Finding; nodes: string[] }>();
  for (const f of findings) {
    const key = `${f.severity}\u0000${f.rule}\u0000${f.op}\u0000${f.message}`;
    const g = groups.get(key) ?? { f, nodes: [] };
    if (f.node !== null) g.nodes.push(f.node);
    groups.set(key, g);
  }
  return [...groups.values()]
    .map(({ f, nodes }) => ({ rule: f.rule, severity: f.severity, op: f.op, message: f.message, fix: f.fix, nodes }))
    .sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

/** What a rule sees: the model, the profile, element types, and a sink for findings. */
import type { Model } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import type { ElementTypes } from '../element-types.js';
import type { Finding, Severity, TargetProfile } from '../types.js';
import { fixFor } from '../fixes.js';
import { qualifiedName } from '../qdq.js';

export interface RuleContext {
  readonly model: Model;
  readonly profile: TargetProfile;
  readonly types: ElementTypes;
  /** Records a finding about `node` (null: the whole model); the fix is looked up from the rule and op. */
  report(rule: string, severity: Severity, node: Node | null, message: string, fix?: string | null): void;
}

export type NodeRule = (node: Node, ctx: RuleContext) => void;
export type ModelRule = (ctx: RuleContext) => void;

export function findingSink(model: Model, profile: TargetProfile, types: ElementTypes, out: Finding[]): RuleContext {
  return {
    model, profile, types,
    report(rule, severity, node, message, fix) {
      const op = node ? qualifiedName(node) : null;
      out.push({
        rule, severity, op, message,
        node: node ? node.name || `#${node.graph.nodes.indexOf(node)}` : null,
        fix: fix === undefined ? fixFor(profile.target, rule, op) : fix,
      });
    },
  };
}

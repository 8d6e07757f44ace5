/** What every rewrite sees: the model, the target profile, the pass options and counters for the stats. */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { PassContext } from '../../../src/pipeline/pass.js';
import type { TargetProfile } from '../../../src/targets/types.js';
import { elementTypes, type ElementTypes } from '../../../src/targets/element-types.js';
import { qualifiedName } from '../../../src/targets/qdq.js';
import type { LegalizeOptions } from './options.js';

export class RewriteContext {
  readonly stats: Record<string, number> = {};
  private cachedTypes: ElementTypes | undefined;

  constructor(readonly model: Model, readonly profile: TargetProfile, readonly options: LegalizeOptions, readonly pass: PassContext, readonly name: string) {}

  count(key: string, n = 1): void {
    this.stats[key] = (this.stats[key] ?? 0) + n;
  }

  /** Largest value seen for a figure (error growth). */
  max(key: string, value: number): void {
    this.stats[key] = Math.max(this.stats[key] ?? 0, value);
  }

  explain(node: Node | null, message: string): void {
    this.pass.explain(this.name, node ? `${node.describe()}: ${message}` : message);
  }

  /** Element types, recomputed after the graph changed (call `changed()` after each rewrite). */
  get types(): ElementTypes {
    return this.cachedTypes ??= elementTypes(this.model.graph);
  }

  changed(): void {
    this.cachedTypes = undefined;
  }

  /** Form for attention ops the target rejects: the option, else the profile's. */
  get attentionForm(): 'contrib' | 'opset23' | 'primitive' {
    return this.options.attention === 'auto' ? this.profile.forms.attention : this.options.attention;
  }

  /** Form for rotary embeddings the target rejects (follows the attention option when it is set). */
  get rotaryForm(): 'contrib' | 'opset23' | 'primitive' {
    return this.options.attention === 'auto' ? this.profile.forms.rotary : this.options.attention;
  }

  /** True when the target has no kernel for this com.microsoft op or restricts it. */
  rejectsOp(node: Node): boolean {
    const name = qualifiedName(node);
    if (this.profile.restrictedOps[name]) return true;
    return node.domain === 'com.microsoft' && !this.profile.contribOps?.[node.opType];
  }

  /** Nodes of the main graph with this op type in one of the given domains (a snapshot). */
  nodes(opType: string, domains: readonly string[] = ['']): Node[] {
    return this.model.graph.nodes.filter((n) => n.opType === opType && domains.includes(n.domain === 'ai.onnx' ? '' : n.domain));
  }
}

export interface Rewrite {
  /** Stats prefix and --explain label. */
  readonly name: string;
  /** Whether this target needs the rewrite at all. */
  applies(ctx: RewriteContext): boolean;
  run(ctx: RewriteContext): void | Promise<void>;
}

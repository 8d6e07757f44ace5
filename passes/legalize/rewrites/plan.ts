/**
 * The legalize pipeline, shared by every target: each step asks the target profile what to do, so the
 * four legalize-<target> passes differ only in their profile.
 *   opset floor -> restricted standard ops (GatherElements) -> integer matmuls (QOperator -> QDQ) ->
 *   quantization format -> blockwise form -> contrib norms/GELU/rotary/attention -> precision -> IR version,
 *   then a check of what is left.
 */
import type { Model } from '../../../src/ir/model.js';
import type { PassContext, PassResult } from '../../../src/pipeline/pass.js';
import type { TargetProfile } from '../../../src/targets/types.js';
import { checkModel, countFindings } from '../../../src/targets/check.js';
import { UPGRADE_RANGE } from '../upgrade-opset.js';
import { opsetSince } from '../../../src/targets/rules/model.js';
import { RewriteContext, type Rewrite } from './context.js';
import type { LegalizeOptions } from './options.js';
import { requireOpset, raiseIrVersion } from './opset.js';
import { integerMatMulRewrite } from './integer-matmul.js';
import { quantFormatRewrite } from './quant-format.js';
import { blockwiseRewrite } from './blockwise.js';
import { normRewrite } from './norms.js';
import { geluRewrite } from './gelu.js';
import { rotaryRewrite } from './rotary.js';
import { attentionRewrite } from './attention.js';
import { precisionRewrite } from './precision.js';
import { gatherElementsRewrite } from './gather-elements.js';

const opsetFloor: Rewrite = {
  name: 'opset',
  applies: () => true,
  run(ctx) {
    const opset = ctx.model.opsetVersion('') ?? 1;
    let floor = ctx.profile.minOpset.value;
    for (const node of ctx.model.graph.allNodes()) floor = Math.max(floor, opsetSince(node) ?? 0);
    if (opset >= floor) return;
    if (opset < UPGRADE_RANGE.from) { ctx.explain(null, `opset ${opset} is older than upgrade-opset reaches from (${UPGRADE_RANGE.from})`); return; }
    if (requireOpset(ctx.model, Math.max(floor, UPGRADE_RANGE.from))) ctx.count('opsetRaised');
  },
};

/** Attention before rotary: GroupQueryAttention's own rotary is emitted in the rotary step's form. */
export const STEPS: readonly Rewrite[] = [
  opsetFloor, gatherElementsRewrite, integerMatMulRewrite, quantFormatRewrite, blockwiseRewrite, normRewrite, geluRewrite, attentionRewrite, rotaryRewrite, precisionRewrite,
];

export async function legalize(model: Model, profile: TargetProfile, options: LegalizeOptions, pass: PassContext, name: string): Promise<PassResult> {
  const ctx = new RewriteContext(model, profile, options, pass, name);
  const opsetBefore = model.opsetVersion('') ?? 1;
  const irBefore = model.irVersion;
  for (const step of STEPS) {
    if (!step.applies(ctx)) continue;
    await step.run(ctx);
    ctx.changed();
  }
  raiseIrVersion(model);
  const modified = Object.values(ctx.stats).some((v) => v > 0) || model.irVersion !== irBefore || (model.opsetVersion('') ?? 1) !== opsetBefore;
  const left = countFindings(checkModel(model, profile));
  if (left.errors) pass.warn(`${name}: ${left.errors} error finding${left.errors === 1 ? '' : 's'} left for ${profile.target} (see \`llmopt check\`)`);
  return { modified, stats: { ...ctx.stats, opsetTo: model.opsetVersion('') ?? 1, errorsLeft: left.errors, warningsLeft: left.warnings } };
}

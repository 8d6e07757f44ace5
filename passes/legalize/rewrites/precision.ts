/**
 * Float types the target has no kernel for (GroupQueryAttention in float32 on CUDA): the model goes through
 * convert-float16, looked up in the pass registry, so that its safety rules (norm statistics, ranges) apply.
 */
import { DType } from '../../../src/ir/dtype.js';
import { computeType } from '../../../src/targets/element-types.js';
import type { Rewrite, RewriteContext } from './context.js';

/** com.microsoft nodes computing in float32 whose kernels take 16-bit floats only. */
function float32Only(ctx: RewriteContext): number {
  let n = 0;
  for (const node of ctx.model.graph.allNodes()) {
    const types = node.domain === 'com.microsoft' ? ctx.profile.contribOps?.[node.opType]?.types : undefined;
    if (types && !types.includes('float32') && types.includes('float16') && computeType(node, ctx.types) === DType.FLOAT) n++;
  }
  return n;
}

export const precisionRewrite: Rewrite = {
  name: 'precision',
  applies: (ctx) => ctx.options.precision && ctx.profile.computeTypes.includes('float16'),
  async run(ctx) {
    if (float32Only(ctx) === 0) return;
    // Imported when needed: the registry lists this pass, so a static import would be circular.
    const { getPass } = await import('../../../src/pipeline/registry.js');
    const pass = getPass('convert-float16');
    const result = await pass.run(ctx.model, pass.options.parse({}), ctx.pass);
    ctx.count('float16Converted', result.stats.nodesConverted ?? (result.modified ? 1 : 0));
    ctx.changed();
  },
};

/**
 * legalize-<target> for the target of the command (`--target`), when `llmopt check` finds something that
 * pass fixes; otherwise nothing. Pipelines that do not know their target in advance (the `fuse` preset, the
 * quantize workflow) end with it, so that their output has no findings left on the target it was made for.
 */
import { definePass } from '../../src/pipeline/pass.js';
import { profileFor } from '../../src/targets/index.js';
import { checkModel } from '../../src/targets/check.js';
import { legalizePass } from '../../src/targets/fixes.js';
import { LegalizeOptions } from './rewrites/options.js';
import { legalize } from './rewrites/plan.js';

export default definePass({
  name: 'legalize-for-target',
  description: 'run legalize-<target> for the command\'s --target when `llmopt check` finds something it fixes',
  options: LegalizeOptions,
  async run(model, options, ctx) {
    const name = legalizePass(ctx.target);
    const fixable = checkModel(model, ctx.target).filter((f) => f.fix === name).length;
    if (fixable === 0) return { modified: false, stats: { findingsFixable: 0 } };
    const result = await legalize(model, profileFor(ctx.target), options, ctx, name);
    return { modified: result.modified, stats: { findingsFixable: fixable, ...result.stats } };
  },
});

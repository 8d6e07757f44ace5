/** The legalize-<target> pass for one target: the shared plan run against that target's profile. */
import { definePass, type Pass, type Target } from '../../../src/pipeline/pass.js';
import { profileFor } from '../../../src/targets/index.js';
import { LegalizeOptions } from './options.js';
import { legalize } from './plan.js';

export function legalizePass(target: Target): Pass<typeof LegalizeOptions> {
  const profile = profileFor(target);
  const name = `legalize-${target}`;
  return definePass({
    name,
    description: `rewrite what ${profile.title} rejects or runs badly: contrib ops, QOperator, zero points, blockwise form, precision, opset`,
    options: LegalizeOptions,
    run: (model, options, ctx) => legalize(model, profile, options, ctx, name),
  });
}

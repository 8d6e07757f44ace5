/** Options shared by the pruning passes, and what they resolve to. */
import { z } from 'zod';
import { parsePattern, type NmPattern } from '../../../src/math/sparsity.js';

function validPattern(text: string): boolean {
  if (text === '') return true;
  try {
    parsePattern(text);
    return true;
  } catch {
    return false;
  }
}

export const commonPruneOptions = {
  sparsity: z.number().min(0).lt(1).default(0.5).describe('fraction of each selected layer\'s weights set to zero, in [0, 1) (ignored with a pattern)'),
  scope: z.enum(['layer', 'global']).default('layer').describe('layer: every layer gets the sparsity; global: one ranking over all selected layers decides how much of each is pruned'),
  pattern: z.string().default('').refine(validPattern, { message: "expected N:M with 1 ≤ N ≤ M ≤ 256, such as '2:4'" })
    .describe("N:M semi-structured sparsity: at most N non-zeros in every group of M consecutive input (K) weights of an output ('' = unstructured)"),
  schedule: z.number().int().min(1).max(64).default(1).describe('reach the sparsity in this many steps, each re-selecting among the remaining weights (refit between steps when calibrated)'),
  reconstruct: z.boolean().default(true).describe('with calibration data: refit the kept weights (and bias) of each pruned layer by ridge least squares so its output matches the dense one'),
  ridge: z.number().min(0).max(10).default(1).describe('damping added to XᵀX, as a fraction of its mean diagonal (reconstruction, error correction, SparseGPT); large because a few calibration rows estimate XᵀX poorly'),
  iterations: z.number().int().min(1).max(1000).default(20).describe('conjugate-gradient iterations of the reconstruction, at most (few: starting from the pruned weights, stopping early also regularises)'),
  correct: z.boolean().default(true).describe('sequential with XᵀX (reconstruction or SparseGPT): first refit each layer to the dense model\'s output from the inputs the pruned layers before it produce'),
  sequential: z.boolean().default(true).describe('collect each layer\'s calibration statistics on the model with the layers before it already pruned (off: one run on the dense model)'),
  includeHead: z.boolean().default(false).describe('also prune the output head (the last projection before the logits)'),
  includeEmbeddings: z.boolean().default(false).describe('also prune Gather embedding tables, by magnitude within each row'),
  exclude: z.array(z.string()).default([]).describe('node names, /regex/ or op types to leave dense'),
};

/** The check every pass's options get: N:M leaves nothing for a global ranking to decide. */
export const patternScopeOk = (o: { pattern: string; scope: string }): boolean => !(o.pattern && o.scope === 'global');
export const patternScopeIssue = { message: 'a pattern fixes the sparsity of every group: scope global does not apply', path: ['scope'] };

const PruneOptions = z.object(commonPruneOptions).strict();
/** The options the engine reads (each pass may add its own). */
export type PruneOptions = z.output<typeof PruneOptions>;

/** What to prune to: a fraction of weights, or N:M groups. */
export type SparsityTarget = { readonly kind: 'fraction'; readonly sparsity: number } | { readonly kind: 'pattern'; readonly pattern: NmPattern };

export function targetOf(o: { sparsity: number; pattern: string }): SparsityTarget {
  return o.pattern ? { kind: 'pattern', pattern: parsePattern(o.pattern) } : { kind: 'fraction', sparsity: o.sparsity };
}

/** The transformer fusion passes, and the order the `fuse` preset runs them in. */
import type { Pass } from '../../src/pipeline/pass.js';
import foldShapeConstants from './fold-shape-constants.js';
import fuseLayerNorm from './fuse-layer-norm.js';
import fuseRmsNorm from './fuse-rms-norm.js';
import fuseGelu from './fuse-gelu.js';
import fuseAttention from './fuse-attention.js';
import fuseSkipNorm from './fuse-skip-norm.js';
import mergeProjections from './merge-projections.js';

export const fusionPasses: readonly Pass[] = [foldShapeConstants, fuseLayerNorm, fuseRmsNorm, fuseGelu, fuseAttention, fuseSkipNorm, mergeProjections] as Pass[];

/**
 * Shape arithmetic is folded first so that the patterns are matchable; norms before the residual Add is
 * merged into them; the cleanup passes drop what the rewrites left unused.
 */
export const fuseSteps: readonly { readonly pass: string; readonly options?: Readonly<Record<string, unknown>> }[] = [
  { pass: 'fold-shape-constants' },
  { pass: 'fuse-layer-norm' },
  { pass: 'fuse-rms-norm' },
  { pass: 'fuse-gelu' },
  { pass: 'fuse-attention' },
  { pass: 'fuse-skip-norm' },
  { pass: 'legalize-for-target' },
  { pass: 'remove-identity' },
  { pass: 'remove-dead-nodes' },
  { pass: 'remove-unused-initializers' },
  { pass: 'dedupe-initializers' },
  { pass: 'sort-topologically' },
];

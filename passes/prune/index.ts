/** The pruning passes, in the order `llmopt passes` lists them. */
import type { Pass } from '../../src/pipeline/pass.js';
import pruneMagnitude from './prune-magnitude.js';
import pruneWanda from './prune-wanda.js';
import pruneSparseGpt from './prune-sparsegpt.js';

export const prunePasses: readonly Pass[] = [pruneMagnitude, pruneWanda, pruneSparseGpt] as Pass[];

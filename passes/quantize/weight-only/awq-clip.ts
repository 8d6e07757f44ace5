/**
 * Activation-aware clipping after AWQ scaling: each block of each output column keeps the clipping ratio
 * (of AWQ_CLIP_RATIOS, 1 = none) with the least output error, measured with the diagonal block G_bb of the
 * input's XᵀX (the block's own share of ‖X·D‖²; couplings between blocks are left out). The block's scale
 * and zero point then follow round-to-nearest's rule on the clipped range, so the codes pack as usual.
 */
import type { LinearLayer } from '../linear-layers.js';
import type { BlockwiseOptions, BlockwiseWeight } from '../../../src/math/blockwise.js';
import { AWQ_CLIP_RATIOS, clippedDiffs, quantizeClipped } from '../../../src/math/awq.js';
import { QuadraticErrorEvaluator } from './error-evaluator.js';
import { weightColumns } from './awq-fold.js';

export async function awqClipQuantize(
  grams: ReadonlyMap<LinearLayer, Float64Array>, quant: (layer: LinearLayer) => BlockwiseOptions, progress: (message: string) => void,
): Promise<Map<LinearLayer, BlockwiseWeight>> {
  const out = new Map<LinearLayer, BlockwiseWeight>();
  const evaluator = await QuadraticErrorEvaluator.create();
  const blockGrams = new Map<Float64Array, Float32Array>();
  try {
    for (const [layer, gram] of grams) {
      const o = quant(layer);
      const { k, n } = layer;
      const blocks = Math.ceil(k / o.blockSize);
      const padded = blocks * o.blockSize;
      let gb = blockGrams.get(gram);
      if (!gb) { gb = diagonalBlocks(gram, k, o.blockSize); blockGrams.set(gram, gb); }
      const columns = weightColumns(layer);
      const ratios = AWQ_CLIP_RATIOS;
      const diffs = new Float32Array(ratios.length * padded * n);
      clippedDiffs({ columns, n, quant: o }, k, ratios, diffs);
      const errors = await evaluator.blockErrors(gb, diffs, ratios.length, blocks, o.blockSize, n);
      const choice = new Uint8Array(n * blocks);
      for (let b = 0; b < blocks; b++) {
        for (let c = 0; c < n; c++) {
          let best = 0;
          for (let r = 1; r < ratios.length; r++) if (errors[(r * blocks + b) * n + c]! < errors[(best * blocks + b) * n + c]!) best = r;
          choice[c * blocks + b] = best;
        }
      }
      out.set(layer, quantizeClipped({ columns, n, quant: o }, k, ratios, choice));
      progress(`awq: clipping ${out.size}/${grams.size} layers`);
    }
  } finally {
    await evaluator.release();
  }
  return out;
}

/** G_bb for each block b along K, [blocks][size][size], zero past K. */
function diagonalBlocks(gram: Float64Array, k: number, size: number): Float32Array {
  const blocks = Math.ceil(k / size);
  const out = new Float32Array(blocks * size * size);
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < size && b * size + i < k; i++) {
      for (let j = 0; j < size && b * size + j < k; j++) out[(b * size + i) * size + j] = gram[(b * size + i) * k + b * size + j]!;
    }
  }
  return out;
}

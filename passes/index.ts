/** Every built-in pass, in the order `llmopt passes` lists them. */
import type { Pass } from '../src/pipeline/pass.js';
import removeIdentity from './cleanup/remove-identity.js';
import removeDeadNodes from './cleanup/remove-dead-nodes.js';
import removeUnusedInitializers from './cleanup/remove-unused-initializers.js';
import dedupeInitializers from './cleanup/dedupe-initializers.js';
import sortTopologicallyPass from './cleanup/sort-topologically.js';
import quantizeWeightOnly from './quantize/quantize-weight-only.js';
import quantizeDynamic from './quantize/quantize-dynamic.js';
import quantizeStatic from './quantize/quantize-static.js';
import convertFloat16 from './quantize/convert-float16.js';
import upgradeOpsetPass from './legalize/upgrade-opset.js';
import legalizeCpu from './legalize/legalize-cpu.js';
import legalizeCuda from './legalize/legalize-cuda.js';
import legalizeTensorrt from './legalize/legalize-tensorrt.js';
import legalizeOpenvino from './legalize/legalize-openvino.js';
import legalizeForTarget from './legalize/legalize-for-target.js';
import { fusionPasses } from './fusion/index.js';
import addKvCache from './cache/add-kv-cache.js';
import sparseAttention from './sparse/sparse-attention.js';
import { prunePasses } from './prune/index.js';
import pruneStructured from './prune/prune-structured.js';

export const builtinPasses: readonly Pass[] = [
  removeIdentity, removeDeadNodes, removeUnusedInitializers, dedupeInitializers, sortTopologicallyPass,
  quantizeWeightOnly, quantizeDynamic, quantizeStatic, convertFloat16, upgradeOpsetPass,
  legalizeCpu, legalizeCuda, legalizeTensorrt, legalizeOpenvino, legalizeForTarget,
  ...fusionPasses, addKvCache,
  sparseAttention,
  ...prunePasses, pruneStructured,
] as Pass[];

/**
 * GPTQ for the pass: one calibration run collects XᵀX of every selected layer's input (layers reading the
 * same value share it), then each layer is quantized against its input's Hessian. The Hessians come from
 * the float model (all layers in one run), not from inputs of already-quantized earlier layers.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import type { LinearLayer } from '../linear-layers.js';
import { columnReader, type BlockwiseOptions, type BlockwiseWeight } from '../../../src/math/blockwise.js';
import { gptqQuantize, prepareHessian, type GptqOptions, type PreparedHessian } from '../../../src/math/gptq.js';
import { collectGrams } from './gram-probe.js';

export type LayerQuantizer = (layer: LinearLayer, o: BlockwiseOptions) => BlockwiseWeight;

export interface GptqStats {
  /** Inputs whose damping had to be raised to factor the Hessian. */
  dampingRaised: number;
}

export async function gptqQuantizer(
  model: Model, layers: readonly LinearLayer[], data: Dataset, o: GptqOptions, progress: (message: string) => void,
): Promise<{ quantize: LayerQuantizer; stats: GptqStats }> {
  const inputs = new Map(layers.map((l) => [l.node.input(0).name, l.k]));
  const grams = await collectGrams(model, inputs, data, (done, total) => progress(`gptq: calibration ${done}/${total} rows`));
  const prepared = new Map<string, PreparedHessian>();
  const stats: GptqStats = { dampingRaised: 0 };
  const quantize: LayerQuantizer = (layer, quant) => {
    const input = layer.node.input(0).name;
    let h = prepared.get(input);
    if (!h) {
      h = prepareHessian(grams.get(input)!, layer.k, o);
      if (h.percdamp !== o.percdamp) stats.dampingRaised++;
      prepared.set(input, h);
      grams.delete(input);
    }
    const w = layer.weight.initializer!.toFloat32();
    return gptqQuantize(columnReader(w, layer.k, layer.n, layer.transposed), layer.k, layer.n, h, quant);
  };
  return { quantize, stats };
}

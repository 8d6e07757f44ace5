/**
 * An embedding table in 8 bits, blockwise along the hidden axis (the head's layout, one table row per token):
 *   Gather(table[V,H], ids)  ->  DequantizeLinear(Gather(codes[V,H], ids), Gather(scales[V,H/b], ids)
 *                                                 [, Gather(zero_points[V,H/b], ids)], axis=-1, block_size=b)
 * Only the gathered rows are dequantized; opset-21 blocked DequantizeLinear takes the gathered scales as a
 * runtime input of the same rank.
 */
import type { Model } from '../../../src/ir/model.js';
import type { Node } from '../../../src/ir/node.js';
import type { Value } from '../../../src/ir/value.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { columnReader, quantizeBlockwise, type BlockwiseOptions } from '../../../src/math/blockwise.js';
import { upgradeOpset } from '../../legalize/upgrade-opset.js';

export function quantizeEmbedding8bit(model: Model, gather: Node, o: Omit<BlockwiseOptions, 'bits'>): void {
  const g = model.graph;
  const table = gather.input(0);
  const t = table.initializer!;
  const [v, h] = [t.dims[0]!, t.dims[1]!];
  const q = quantizeBlockwise(columnReader(t.toFloat32(), h, v, true), h, v, { ...o, bits: 8 });
  const padded = q.blocks * q.blockSize;
  const codes = new Uint8Array(v * h);
  for (let r = 0; r < v; r++) {
    for (let i = 0; i < h; i++) codes[r * h + i] = q.symmetric ? q.codes[r * padded + i]! - 128 : q.codes[r * padded + i]!;
  }
  const base = table.name;
  const ids = gather.input(1);
  const take = (data: Value) => g.addNode({ opType: 'Gather', inputs: [data, ids], before: gather, attributes: { axis: { type: 'int', value: 0 } } }).output(0);
  const inputs = [
    take(g.addConstant(`${base}_q8`, Tensor.fromBytes(`${base}_q8`, q.symmetric ? DType.INT8 : DType.UINT8, [v, h], codes))),
    take(g.addConstant(`${base}_scale`, Tensor.fromTyped(`${base}_scale`, DType.FLOAT, [v, q.blocks], q.scales))),
  ];
  if (!q.symmetric) inputs.push(take(g.addConstant(`${base}_zero_point`, Tensor.fromBytes(`${base}_zero_point`, DType.UINT8, [v, q.blocks], q.zeroPoints))));
  const dq = g.addNode({
    opType: 'DequantizeLinear', inputs, before: gather,
    attributes: { axis: { type: 'int', value: -1 }, block_size: { type: 'int', value: q.blockSize } },
  });
  upgradeOpset(model, 21);
  const old = gather.output(0);
  const name = old.name;
  old.replaceAllUsesWith(dq.output(0));
  g.removeNode(gather);
  if (dq.output(0).name !== name && !g.lookup(name)) dq.output(0).rename(name);
  if (table.isUnused) g.removeInitializer(table);
}

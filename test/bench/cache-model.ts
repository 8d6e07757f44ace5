/**
 * A tiny causal model with a key/value cache, built by hand: each token's state is embed[id] + pos[position];
 * present = Concat(past, states); logits at a position read the running sum of all states up to it
 * (times attention_mask, which must be as long as the cache). With a correct cache loop (present fed
 * back as past, positions continuing, mask over past + new) greedy decoding gives exactly the tokens of
 * re-running the whole prefix.
 */
import { Tensor } from '../../src/ir/tensor.js';
import { DType } from '../../src/ir/dtype.js';
import type { Model } from '../../src/ir/model.js';
import type { Value } from '../../src/ir/value.js';
import { newModel, randomWeight } from '../helpers/tiny.js';

export const VOCAB = 16;
const HIDDEN = 8;
const POSITIONS = 64;

export function cacheModel(): Model {
  const model = newModel(17);
  const g = model.graph;
  const ints = (hint: string, values: readonly number[]) => g.addConstant(hint, Tensor.fromTyped(hint, DType.INT64, [values.length], BigInt64Array.from(values, BigInt)));
  const op = (opType: string, inputs: readonly Value[], attributes: Record<string, { type: 'int'; value: number }> = {}, outputs?: readonly string[]) =>
    g.addNode({ opType, inputs, attributes, outputs }).output(0);
  const ids = g.addInput('input_ids', { elemType: DType.INT64, shape: ['batch', 'sequence'] });
  const mask = g.addInput('attention_mask', { elemType: DType.INT64, shape: ['batch', 'total_sequence'] });
  const positions = g.addInput('position_ids', { elemType: DType.INT64, shape: ['batch', 'sequence'] });
  const past = g.addInput('past_key_values.0.key', { elemType: DType.FLOAT, shape: ['batch', 1, 'past_sequence', HIDDEN] });
  const h = op('Add', [op('Gather', [randomWeight(model, 'embed', [VOCAB, HIDDEN], 1), ids]), op('Gather', [randomWeight(model, 'pos', [POSITIONS, HIDDEN], 2), positions])]);
  const present = op('Concat', [past, op('Unsqueeze', [h, ints('axis1', [1])])], { axis: { type: 'int', value: 2 } }, ['present.0.key']);
  present.type = { elemType: DType.FLOAT, shape: ['batch', 1, 'total_sequence', HIDDEN] };
  // Sin keeps the running sums from settling on one token, so that the tokens test the loop.
  const running = op('Sin', [op('Mul', [op('CumSum', [present, ints('axis2', [2])]), g.addConstant('scale', Tensor.fromTyped('scale', DType.FLOAT, [HIDDEN], Float32Array.from({ length: HIDDEN }, (_, i) => 2 + 1.7 * i)))])]);
  // Reshape (not broadcast) the mask to [batch, 1, total, 1]: a mask of another length fails the run.
  const maskShape = op('Concat', [op('Shape', [present], { end: { type: 'int', value: 3 } }), ints('one', [1])], { axis: { type: 'int', value: 0 } });
  const maskF = op('Reshape', [op('Cast', [mask], { to: { type: 'int', value: DType.FLOAT } }), maskShape]);
  const masked = op('Mul', [running, maskF]);
  const newTokens = op('Neg', [op('Shape', [ids], { start: { type: 'int', value: 1 }, end: { type: 'int', value: 2 } })]);
  const last = op('Slice', [masked, newTokens, ints('end', [2 ** 40]), ints('axis2b', [2])]);
  const logits = op('MatMul', [op('Squeeze', [last, ints('axis1b', [1])]), randomWeight(model, 'head', [HIDDEN, VOCAB], 3)], {}, ['logits']);
  logits.type = { elemType: DType.FLOAT, shape: ['batch', 'sequence', VOCAB] };
  g.outputs.push(logits, present);
  return model;
}

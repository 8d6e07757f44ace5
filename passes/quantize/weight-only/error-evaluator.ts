/**
 * Output error of candidate weight changes, computed by onnxruntime: for a layer input's Gram matrix
 * G = XᵀX and differences D_a = W − Ŵ_a ([K, N] each), ‖X·D_a‖² = Σ D_a ⊙ (G·D_a), for all candidates in one
 * run. That is K²·N multiply-adds per candidate, covering every calibration token at once; in JavaScript the
 * 20-point scale search of llama-tiny took over two minutes even on a 128-row sample, here a few seconds.
 *
 *   whole layer:  gram [K,K],         diff [A,K,N]      -> MatMul -> Mul(diff) -> ReduceSum(1,2) -> [A]
 *   per block:    gram [B,b,b] (G_bb), diff [A,B,b,N]  -> MatMul -> Mul(diff) -> ReduceSum(2)   -> [A,B,N]
 */
import { scratchModel, type Model } from '../../../src/ir/model.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { DType } from '../../../src/ir/dtype.js';
import { Session } from '../../../src/runtime/session.js';

export class QuadraticErrorEvaluator {
  private constructor(private readonly whole: Session, private readonly blocked: Session) {}

  static async create(): Promise<QuadraticErrorEvaluator> {
    const whole = await Session.fromModel(errorModel(['k', 'k'], ['a', 'k', 'n'], [1, 2]));
    const blocked = await Session.fromModel(errorModel(['blocks', 'b', 'b'], ['a', 'blocks', 'b', 'n'], [2]));
    return new QuadraticErrorEvaluator(whole, blocked);
  }

  /** gram: K×K; diffs: `count` candidates of [K][N]. Returns the error of each candidate. */
  async layerErrors(gram: Float32Array, diffs: Float32Array, count: number, k: number, n: number): Promise<Float64Array> {
    const out = await this.whole.run({
      gram: { dtype: DType.FLOAT, dims: [k, k], data: gram },
      diff: { dtype: DType.FLOAT, dims: [count, k, n], data: diffs },
    });
    return Float64Array.from(out.error!.data as Float32Array);
  }

  /**
   * blockGrams: the diagonal blocks G_bb, [blocks][b][b]; diffs: `count` candidates of [blocks·b][N].
   * Returns [count][blocks][N]: each block's share of each column's output error.
   */
  async blockErrors(blockGrams: Float32Array, diffs: Float32Array, count: number, blocks: number, b: number, n: number): Promise<Float32Array> {
    const out = await this.blocked.run({
      gram: { dtype: DType.FLOAT, dims: [blocks, b, b], data: blockGrams },
      diff: { dtype: DType.FLOAT, dims: [count, blocks, b, n], data: diffs },
    });
    return out.error!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.whole.release();
    await this.blocked.release();
  }
}

function errorModel(gramShape: readonly string[], diffShape: readonly string[], axes: readonly number[]): Model {
  const model = scratchModel('quadratic-error');
  const g = model.graph;
  const gram = g.addInput('gram', { elemType: DType.FLOAT, shape: gramShape });
  const diff = g.addInput('diff', { elemType: DType.FLOAT, shape: diffShape });
  const gd = g.addNode({ opType: 'MatMul', inputs: [gram, diff] }).output(0);
  const product = g.addNode({ opType: 'Mul', inputs: [diff, gd] }).output(0);
  const axesValue = g.addConstant('axes', Tensor.fromTyped('axes', DType.INT64, [axes.length], BigInt64Array.from(axes, BigInt)));
  const error = g.addNode({ opType: 'ReduceSum', inputs: [product, axesValue], outputs: ['error'], attributes: { keepdims: { type: 'int', value: 0 } } }).output(0);
  error.type = { elemType: DType.FLOAT, shape: diffShape.filter((_, i) => !axes.includes(i)) };
  g.outputs.push(error);
  return model;
}

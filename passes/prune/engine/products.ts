/**
 * Products P·A of [rows × K] blocks with a fixed K×K matrix, for the refits (conjugate gradients, error
 * correction). Large layers use onnxruntime's GEMM (one small
 * MatMul model, both operands fed per call, one session for the whole pass): some 50× the speed of a
 * JavaScript loop here. Small products stay in JavaScript, where a session call would cost more.
 */
import { scratchModel, type Model } from '../../../src/ir/model.js';
import { DType } from '../../../src/ir/dtype.js';
import { Session } from '../../../src/runtime/session.js';
import { jsProduct, type MatrixProduct } from '../../../src/math/least-squares.js';

/** Multiply-adds per product below which JavaScript is used. */
const JS_LIMIT = 4e6;

export class ProductFactory {
  private session: Promise<Session> | undefined;

  /** A product with the K×K matrix `a` for blocks of `rows` rows. */
  create(a: Float64Array, k: number, rows: number): MatrixProduct {
    if (k * k * rows < JS_LIMIT) return jsProduct(a, k);
    const matrix = Float32Array.from(a);
    return {
      k,
      multiply: async (p, count) => {
        this.session ??= Session.fromModel(productModel(), { optimization: 'all' });
        const session = await this.session;
        const out = await session.run({
          p: { dtype: DType.FLOAT, dims: [count, k], data: p },
          a: { dtype: DType.FLOAT, dims: [k, k], data: matrix },
        });
        return out.y!.data as Float32Array;
      },
    };
  }

  async release(): Promise<void> {
    if (this.session) await (await this.session).release();
    this.session = undefined;
  }
}

/** y[R, K] = MatMul(p[R, K], a[K, K]). */
function productModel(): Model {
  const model = scratchModel('product');
  const g = model.graph;
  const p = g.addInput('p', { elemType: DType.FLOAT, shape: ['rows', 'k'] });
  const a = g.addInput('a', { elemType: DType.FLOAT, shape: ['k', 'k'] });
  const y = g.addNode({ opType: 'MatMul', inputs: [p, a], outputs: ['y'] }).output(0);
  y.type = { elemType: DType.FLOAT, shape: ['rows', 'k'] };
  g.outputs.push(y);
  return model;
}

/**
 * Running sums of XᵀX (K×K) and XᵀE (K×N) over batches of rows, for the refit's normal equations. The
 * products of one batch run in onnxruntime (two Gemm with transA, multi-threaded float32); the sums across
 * batches are kept in float64 here, so memory is fixed whatever the number of rows.
 */
import { scratchModel, type Model } from '../ir/model.js';
import { DType } from '../ir/dtype.js';
import { Session } from '../runtime/session.js';

export class CrossProducts {
  readonly gram: Float64Array;
  readonly cross: Float64Array;
  rows = 0;

  private constructor(private readonly session: Session, readonly k: number, readonly n: number) {
    this.gram = new Float64Array(k * k);
    this.cross = new Float64Array(k * n);
  }

  static async create(k: number, n: number): Promise<CrossProducts> {
    return new CrossProducts(await Session.fromModel(productModel(), { optimization: 'basic' }), k, n);
  }

  /** x: [rows, K], e: [rows, N], row-major. */
  async add(x: Float32Array, e: Float32Array, rows: number): Promise<void> {
    const out = await this.session.run({
      x: { dtype: DType.FLOAT, dims: [rows, this.k], data: x },
      e: { dtype: DType.FLOAT, dims: [rows, this.n], data: e },
    });
    accumulate(this.gram, out.xtx!.data as Float32Array);
    accumulate(this.cross, out.xte!.data as Float32Array);
    this.rows += rows;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function accumulate(sum: Float64Array, part: Float32Array): void {
  for (let i = 0; i < sum.length; i++) sum[i]! += part[i]!;
}

/** x[T, K], e[T, N] -> xtx = xᵀx, xte = xᵀe. */
function productModel(): Model {
  const model = scratchModel('cross_products');
  const g = model.graph;
  const x = g.addInput('x', { elemType: DType.FLOAT, shape: ['rows', 'k'] });
  const e = g.addInput('e', { elemType: DType.FLOAT, shape: ['rows', 'n'] });
  const transA = { type: 'int', value: 1 } as const;
  const xtx = g.addNode({ opType: 'Gemm', inputs: [x, x], outputs: ['xtx'], attributes: { transA } }).output(0);
  const xte = g.addNode({ opType: 'Gemm', inputs: [x, e], outputs: ['xte'], attributes: { transA } }).output(0);
  xtx.type = { elemType: DType.FLOAT, shape: ['k', 'k'] };
  xte.type = { elemType: DType.FLOAT, shape: ['k', 'n'] };
  g.outputs.push(xtx, xte);
  return model;
}

/**
 * The distillation loss as an ONNX graph (opset 17, default domain only), so a training loop in any framework
 * that runs ONNX, or a reimplementation checked against it, computes exactly this:
 *
 *   q_T = log_softmax(z / T)                    student log-probabilities at temperature T
 *   KL_i = Σ_v p_i,v · (log p_i,v − q_T,i,v)     per position i, with 0·log 0 = 0
 *   CE_i = −log_softmax(z)_i,y_i                  hard label y_i at temperature 1
 *   m_i = [y_i ≠ −100]                            valid positions; n = max(Σ m_i, 1)
 *   loss = α·T²·(Σ m_i·KL_i)/n + (1 − α)·(Σ m_i·CE_i)/n
 *
 * p is the teacher's temperature-T distribution: `teacher_probs` [B, S, V], or its top k as
 * `teacher_topk_values` [B, S, k] and `teacher_topk_indices` [B, S, k], renormalized over those k entries
 * (p = v / Σv) and compared with the student's log-probabilities at the same indices. Outputs: `loss`,
 * `kl` and `ce` (scalars). α and T are constants of the graph, and recorded in its metadata.
 */
import { scratchModel, type Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { Tensor } from '../ir/tensor.js';
import { DType } from '../ir/dtype.js';
import type { AttributeValue } from '../ir/node.js';

export interface LossGraphOptions {
  readonly alpha: number;
  readonly temperature: number;
  /** Top-k soft labels (values + indices) instead of full probabilities. */
  readonly topK?: number;
  readonly indexType: 'int32' | 'int64';
  /** Vocabulary size, when known (else a symbolic dim). */
  readonly vocab?: number;
}

/** Smallest probability taken to a log: keeps 0·log 0 at 0 without NaN. */
const TINY = 1e-30;

export function buildLossModel(o: LossGraphOptions): Model {
  const model = scratchModel('distillation_loss');
  model.metadata.set('llmopt.loss', 'alpha*T^2*KL(p_teacher||softmax(z/T)) + (1-alpha)*CE(z, labels), means over labels != -100');
  model.metadata.set('llmopt.alpha', String(o.alpha));
  model.metadata.set('llmopt.temperature', String(o.temperature));
  model.metadata.set('llmopt.teacher', o.topK === undefined ? 'probs' : `top-${o.topK}`);
  const g = new Ops(model);
  const vocab = o.vocab ?? 'vocab';
  const logits = model.graph.addInput('student_logits', { elemType: DType.FLOAT, shape: ['batch', 'sequence', vocab] });
  const studentLog = g.op('LogSoftmax', [g.op('Div', [logits, g.scalar('temperature', o.temperature)])], { axis: int(-1) });
  const kl = o.topK === undefined ? fullKl(model, g, studentLog, vocab) : topKl(model, g, studentLog, o);
  const labels = model.graph.addInput('labels', { elemType: DType.INT64, shape: ['batch', 'sequence'] });
  const valid = g.op('Not', [g.op('Equal', [labels, g.int64('ignore_index', -100)])]);
  const safe = g.op('Where', [valid, labels, g.int64('zero_label', 0)]);
  const picked = g.op('GatherElements', [g.op('LogSoftmax', [logits], { axis: int(-1) }), g.op('Unsqueeze', [safe, g.axes('last_axis', [-1])])], { axis: int(-1) });
  const nll = g.op('Neg', [g.op('Squeeze', [picked, g.axes('last_axis_squeeze', [-1])])]);
  const mask = g.op('Cast', [valid], { to: int(DType.FLOAT) });
  const count = g.op('Max', [g.op('ReduceSum', [mask], { keepdims: int(0) }), g.scalar('one', 1)]);
  const mean = (x: Value, name: string) => g.op('Div', [g.op('ReduceSum', [g.op('Mul', [x, mask])], { keepdims: int(0) }), count], {}, name);
  const klMean = mean(kl, 'kl');
  const ceMean = mean(nll, 'ce');
  const loss = g.op('Add', [
    g.op('Mul', [klMean, g.scalar('kl_weight', o.alpha * o.temperature * o.temperature)]),
    g.op('Mul', [ceMean, g.scalar('ce_weight', 1 - o.alpha)]),
  ], {}, 'loss');
  for (const v of [loss, klMean, ceMean]) {
    v.type = { elemType: DType.FLOAT, shape: [] };
    model.graph.outputs.push(v);
  }
  return model;
}

/** Σ_v p·(log p − q) over the last axis: [B, S]. */
function fullKl(model: Model, g: Ops, studentLog: Value, vocab: number | string): Value {
  const p = model.graph.addInput('teacher_probs', { elemType: DType.FLOAT, shape: ['batch', 'sequence', vocab] });
  return klOf(g, p, studentLog);
}

function topKl(model: Model, g: Ops, studentLog: Value, o: LossGraphOptions): Value {
  const shape = ['batch', 'sequence', o.topK!];
  const values = model.graph.addInput('teacher_topk_values', { elemType: DType.FLOAT, shape });
  const indices = model.graph.addInput('teacher_topk_indices', { elemType: o.indexType === 'int32' ? DType.INT32 : DType.INT64, shape });
  const total = g.op('Max', [g.op('ReduceSum', [values, g.axes('sum_axis', [-1])], { keepdims: int(1) }), g.scalar('tiny_sum', TINY)]);
  const p = g.op('Div', [values, total]);
  const q = g.op('GatherElements', [studentLog, indices], { axis: int(-1) });
  return klOf(g, p, q);
}

function klOf(g: Ops, p: Value, q: Value): Value {
  const logP = g.op('Log', [g.op('Max', [p, g.scalar('tiny', TINY)])]);
  return g.op('ReduceSum', [g.op('Mul', [p, g.op('Sub', [logP, q])]), g.axes('kl_axis', [-1])], { keepdims: int(0) });
}

const int = (value: number): AttributeValue => ({ type: 'int', value });

/** Node and constant helpers for a graph built from scratch. */
class Ops {
  private readonly constants = new Map<string, Value>();
  constructor(private readonly model: Model) {}

  op(opType: string, inputs: readonly Value[], attributes: Record<string, AttributeValue> = {}, output?: string): Value {
    return this.model.graph.addNode({ opType, inputs, attributes, outputs: output ? [output] : 1 }).output(0);
  }

  scalar(name: string, v: number): Value {
    return this.constant(name, () => Tensor.fromTyped(name, DType.FLOAT, [], Float32Array.of(v)));
  }

  int64(name: string, v: number): Value {
    return this.constant(name, () => Tensor.fromTyped(name, DType.INT64, [], BigInt64Array.of(BigInt(v))));
  }

  axes(name: string, axes: readonly number[]): Value {
    return this.constant(name, () => Tensor.fromTyped(name, DType.INT64, [axes.length], BigInt64Array.from(axes, (a) => BigInt(a))));
  }

  private constant(name: string, make: () => Tensor): Value {
    const hit = this.constants.get(name);
    if (hit) return hit;
    const v = this.model.graph.addInitializer(make(), name);
    this.constants.set(name, v);
    return v;
  }
}

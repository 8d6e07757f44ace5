/**
 * Attention cores, fused or written out:
 *   Q ─┐
 *      MatMul ─ [Mul/Div scale] ─ [Add/Where mask]* ─ Softmax ─ [Cast/Dropout] ─ MatMul ─ out
 *   K ─┘ (usually through Transpose)                                       V ─┘
 * and the fused ops of onnxruntime (Attention, MultiHeadAttention, GroupQueryAttention, …) and of
 * ai.onnx opset 23 (Attention). The core is what the projections feed; see attention-info.ts for heads.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { isConstant, scalarOf } from './constants.js';
import { qualifiedOp, weightOf } from './linear.js';
import { dataInputs, readers } from './walk.js';

export interface AttentionCore {
  readonly form: 'decomposed' | 'fused';
  /** The fused op, or `MatMul/Softmax/MatMul` for the written-out form. */
  readonly op: string;
  /** The Softmax, or the fused node. */
  readonly node: Node;
  readonly nodes: readonly Node[];
  readonly query: Value | undefined;
  readonly key: Value | undefined;
  readonly value: Value | undefined;
  readonly output: Value;
  /** From the fused op's attributes. */
  readonly heads: number | undefined;
  readonly kvHeads: number | undefined;
  /** The constant the scores are multiplied by (1/sqrt(head dim) as a rule). */
  readonly scale: number | undefined;
  /** The op itself says it is causal (GroupQueryAttention, unidirectional=1, is_causal=1). */
  readonly causal: boolean;
  /** The op applies rotary embeddings itself (do_rotary=1). */
  readonly rotary: boolean;
  /** The Q/K/V projection is inside the op (com.microsoft Attention takes the hidden state and weights). */
  readonly projectionInside: boolean;
  /** Inputs holding past keys/values, when wired. */
  readonly past: readonly Value[];
}

interface FusedSpec {
  readonly q: number;
  readonly k?: number;
  readonly v?: number;
  readonly heads: string;
  readonly kvHeads?: string;
  readonly causal: 'always' | string | undefined;
  readonly past: readonly number[];
  readonly projectionInside?: boolean;
}

const FUSED: Readonly<Record<string, FusedSpec>> = {
  'com.microsoft.Attention': { q: 0, heads: 'num_heads', causal: 'unidirectional', past: [4], projectionInside: true },
  'com.microsoft.QAttention': { q: 0, heads: 'num_heads', causal: 'unidirectional', past: [8], projectionInside: true },
  'com.microsoft.MultiHeadAttention': { q: 0, k: 1, v: 2, heads: 'num_heads', causal: 'unidirectional', past: [6, 7] },
  'com.microsoft.GroupQueryAttention': { q: 0, k: 1, v: 2, heads: 'num_heads', kvHeads: 'kv_num_heads', causal: 'always', past: [3, 4] },
  'com.microsoft.SparseAttention': { q: 0, k: 1, v: 2, heads: 'num_heads', kvHeads: 'kv_num_heads', causal: 'always', past: [3, 4] },
  'com.microsoft.PackedAttention': { q: 0, heads: 'num_heads', causal: undefined, past: [], projectionInside: true },
  'com.microsoft.PackedMultiHeadAttention': { q: 0, k: 1, v: 2, heads: 'num_heads', causal: undefined, past: [] },
  'com.microsoft.DecoderMaskedMultiHeadAttention': { q: 0, k: 1, v: 2, heads: 'num_heads', causal: 'always', past: [5, 6] },
  'com.microsoft.DecoderMaskedSelfAttention': { q: 0, heads: 'num_heads', causal: 'always', past: [4], projectionInside: true },
  Attention: { q: 0, k: 1, v: 2, heads: 'q_num_heads', kvHeads: 'kv_num_heads', causal: 'is_causal', past: [4, 5] },
};

export function findAttentionCores(graph: Graph): AttentionCore[] {
  const out: AttentionCore[] = [];
  for (const node of graph.nodes) {
    const core = node.opType === 'Softmax' && node.domain === '' ? decomposedCore(node) : fusedCore(node);
    if (core) out.push(core);
  }
  return out;
}

function fusedCore(node: Node): AttentionCore | undefined {
  const op = qualifiedOp(node);
  const spec = FUSED[op];
  const output = node.outputs[0];
  if (!spec || !output) return undefined;
  const at = (i: number | undefined) => (i === undefined ? undefined : node.inputs[i] ?? undefined);
  const scale = node.getFloat('scale');
  return {
    form: 'fused', op, node, nodes: [node], query: at(spec.q), key: at(spec.k), value: at(spec.v), output,
    heads: node.getInt(spec.heads), kvHeads: spec.kvHeads ? node.getInt(spec.kvHeads) : undefined,
    scale: scale || undefined,
    causal: spec.causal === 'always' || (spec.causal !== undefined && node.getInt(spec.causal, 0) === 1),
    rotary: node.getInt('do_rotary', 0) === 1,
    projectionInside: spec.projectionInside ?? false,
    past: spec.past.map((i) => node.inputs[i]).filter((v): v is Value => !!v),
  };
}

const MATMUL_LIKE = new Set(['MatMul', 'FusedMatMul', 'Einsum']);
/** Ops allowed between the scores product and Softmax: scale, mask, soft-capping, casts, reshapes. */
const SCORE_PATH = new Set(['Mul', 'Div', 'Add', 'Sub', 'Where', 'Cast', 'Reshape', 'Identity', 'Tanh', 'Min', 'Max', 'Clip', 'QuantizeLinear', 'DequantizeLinear']);
/** Ops allowed between Softmax and the product with V. */
const PROB_PATH = new Set(['Cast', 'Dropout', 'Where', 'Reshape', 'Identity', 'QuantizeLinear', 'DequantizeLinear']);

/** Both operands are activations (not a weight): a product of two computed tensors. */
function isActivationProduct(node: Node): boolean {
  if (!MATMUL_LIKE.has(node.opType)) return false;
  const [a, b] = node.inputs;
  return !!a && !!b && !isConstant(a) && !isConstant(b) && !weightOf(a) && !weightOf(b);
}

function decomposedCore(softmax: Node): AttentionCore | undefined {
  const path: Node[] = [];
  const qk = findScores(softmax.inputs[0], path, 0);
  if (!qk) return undefined;
  const probs = softmax.outputs[0];
  const pv = probs ? findValueProduct(probs, path) : undefined;
  const output = pv?.outputs[0];
  if (!pv || !output) return undefined;
  const scale = scoreScale(qk, path);
  return {
    form: 'decomposed', op: `${qk.opType}/Softmax/${pv.opType}`, node: softmax, nodes: [qk, ...path, softmax, pv],
    query: qk.inputs[0] ?? undefined, key: qk.inputs[1] ?? undefined, value: pv.inputs[1] ?? undefined,
    output, heads: undefined, kvHeads: undefined, scale, causal: false, rotary: false,
    projectionInside: false, past: [],
  };
}

function findScores(v: Value | null | undefined, path: Node[], depth: number): Node | undefined {
  const p = v?.producer;
  if (!p || depth > 8) return undefined;
  if (isActivationProduct(p)) return p;
  if (!SCORE_PATH.has(p.opType)) return undefined;
  for (const input of dataInputs(p)) {
    const found = findScores(input, path, depth + 1);
    if (found) { path.unshift(p); return found; }
  }
  return undefined;
}

function findValueProduct(v: Value, path: Node[]): Node | undefined {
  for (let depth = 0; depth < 4; depth++) {
    const users = readers(v);
    const pv = users.find((u) => isActivationProduct(u) && u.inputs[0] === v);
    if (pv) return pv;
    const next = users.find((u) => PROB_PATH.has(u.opType));
    const out = next?.outputs[0];
    if (users.length !== 1 || !next || !out) return undefined;
    path.push(next);
    v = out;
  }
  return undefined;
}

/** The scale on the scores: Mul by s, Div by c (1/c), or FusedMatMul's alpha. */
function scoreScale(qk: Node, path: readonly Node[]): number | undefined {
  if (qk.opType === 'FusedMatMul') return qk.getFloat('alpha');
  for (const n of path) {
    const c = scalarOf(n.inputs[1]) ?? scalarOf(n.inputs[0]);
    if (c === undefined || c === 0) continue;
    if (n.opType === 'Mul') return c;
    if (n.opType === 'Div' && n.inputs[1] && isConstant(n.inputs[1])) return 1 / c;
  }
  return undefined;
}

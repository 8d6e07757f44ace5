/**
 * The model of the speed benchmark: a LLaMA-shaped decoder (RMSNorm, grouped-query attention with RoPE,
 * SwiGLU) with random weights, wide enough that the matrix products dominate a 128-token forward pass, and a
 * small vocabulary so that the output head does not.
 */
import { buildLlama } from '../../fixtures/build/llama.js';
import type { Model } from '../../src/ir/model.js';

export interface LlamaShape {
  readonly hidden: number;
  readonly ffn: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocab: number;
}

export const BENCH_LLAMA: LlamaShape = { hidden: 1024, ffn: 4096, layers: 8, heads: 16, kvHeads: 4, vocab: 512 };

export function buildBenchLlama(shape: LlamaShape, maxPositions = 256): Model {
  return buildLlama({ ...shape, maxPositions, seed: 1 });
}

export function describeShape(s: LlamaShape): string {
  return `${s.layers} layers, hidden ${s.hidden}, FFN ${s.ffn}, ${s.heads} heads / ${s.kvHeads} key-value heads, vocabulary ${s.vocab}`;
}

/**
 * A guess at the architecture from what was found: decoder (causal attention, or a key/value cache) or
 * encoder (attention without either), and the family its parts resemble:
 *   llama-like: decoder, RMSNorm, RoPE or a gated (SwiGLU) MLP
 *   gpt2-like:  decoder, LayerNorm, plain GELU MLP, no RoPE
 *   bert-like:  encoder, LayerNorm
 */
import type { TransformerBlock } from './blocks.js';
import type { Embedding } from './embedding.js';

export interface Architecture {
  readonly kind: 'decoder' | 'encoder' | 'unknown';
  readonly family: 'llama-like' | 'gpt2-like' | 'bert-like' | 'other' | 'unknown';
  /** Why: the facts the guess rests on, one short phrase each. */
  readonly evidence: readonly string[];
}

export function guessArchitecture(blocks: readonly TransformerBlock[], embeddings: readonly Embedding[], causal: readonly string[]): Architecture {
  if (!blocks.length) return { kind: 'unknown', family: 'unknown', evidence: ['no transformer blocks found'] };
  const attention = blocks.flatMap((b) => b.attention);
  const decoderSigns = [...causal];
  const fusedCausal = attention.find((a) => a.core.causal);
  if (fusedCausal) decoderSigns.push(`causal attention op (${fusedCausal.core.op})`);
  if (attention.some((a) => a.kvCache)) decoderSigns.push('past key/value inputs');
  const kind = decoderSigns.length ? 'decoder' : attention.length ? 'encoder' : 'unknown';
  const evidence = kind === 'encoder' ? ['no causal mask'] : decoderSigns;

  const norms = blocks.flatMap((b) => b.norms);
  const rms = norms.filter((n) => n.kind === 'RMSNorm').length > norms.length / 2;
  const layer = norms.length > 0 && !rms;
  const rope = attention.some((a) => a.rope);
  const mlp = blocks.find((b) => b.mlp)?.mlp;
  const gated = !!mlp?.gated;
  const gelu = !!mlp?.activation?.startsWith('gelu');
  if (rms) evidence.push('RMSNorm');
  if (layer) evidence.push('LayerNorm');
  if (rope) evidence.push('RoPE');
  if (embeddings.some((e) => e.role === 'position')) evidence.push('learned position embedding');
  if (mlp) evidence.push(`${mlp.kind} MLP`);

  let family: Architecture['family'] = 'other';
  if (kind === 'decoder' && rms && (rope || gated)) family = 'llama-like';
  else if (kind === 'decoder' && layer && !rope && !gated && gelu) family = 'gpt2-like';
  else if (kind === 'encoder' && layer) family = 'bert-like';
  return { kind, family, evidence };
}

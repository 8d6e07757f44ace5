/**
 * Quality metrics computed from logits: next-token perplexity for decoders, masked-token accuracy and
 * cross-entropy for encoders. Accumulators take one batch at a time (bounded memory over any data size).
 */

/** log Σ exp over one row, stable. */
function logSumExp(row: Float32Array, start: number, width: number): number {
  let max = -Infinity;
  for (let i = 0; i < width; i++) max = Math.max(max, row[start + i]!);
  let sum = 0;
  for (let i = 0; i < width; i++) sum += Math.exp(row[start + i]! - max);
  return max + Math.log(sum);
}

/** Next-token negative log-likelihood: logits at position t score the token at t+1. */
export class PerplexityAccumulator {
  private nll = 0;
  private count = 0;

  /** logits [batch, seq, vocab], ids [batch, seq] (the same ids the model was fed). */
  add(logits: Float32Array, ids: ArrayLike<number | bigint>, batch: number, seq: number, vocab: number): void {
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t + 1 < seq; t++) {
        const at = (b * seq + t) * vocab;
        const target = Number(ids[b * seq + t + 1]);
        this.nll += logSumExp(logits, at, vocab) - logits[at + target]!;
        this.count++;
      }
    }
  }

  get tokens(): number { return this.count; }
  get meanNll(): number { return this.nll / this.count; }
  get perplexity(): number { return Math.exp(this.meanNll); }
}

/** Masked-LM scoring: positions with label -100 are not scored. */
export class MaskedAccuracyAccumulator {
  private correct = 0;
  private nll = 0;
  private count = 0;

  add(logits: Float32Array, labels: ArrayLike<number | bigint>, positions: number, vocab: number): void {
    for (let p = 0; p < positions; p++) {
      const label = Number(labels[p]);
      if (label === -100) continue;
      const at = p * vocab;
      let best = 0;
      for (let v = 1; v < vocab; v++) if (logits[at + v]! > logits[at + best]!) best = v;
      if (best === label) this.correct++;
      this.nll += logSumExp(logits, at, vocab) - logits[at + label]!;
      this.count++;
    }
  }

  get scored(): number { return this.count; }
  get accuracy(): number { return this.correct / this.count; }
  get loss(): number { return this.nll / this.count; }
}

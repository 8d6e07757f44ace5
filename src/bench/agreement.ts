/**
 * How closely two models' scores agree, position by position (a position is one row of `vocab` logits):
 * the largest absolute difference, the mean cosine similarity of the rows, and how often the top-1 token
 * is the same. Accumulates batch by batch.
 */
export interface LogitAgreement {
  readonly positions: number;
  readonly maxAbs: number;
  readonly meanCosine: number;
  readonly top1Agreement: number;
}

export class AgreementAccumulator {
  private positions = 0;
  private maxAbs = 0;
  private cosines = 0;
  private sameTop1 = 0;

  add(a: ArrayLike<number>, b: ArrayLike<number>, positions: number, vocab: number): void {
    for (let p = 0; p < positions; p++) {
      const at = p * vocab;
      let dot = 0, na = 0, nb = 0, bestA = at, bestB = at;
      for (let i = at; i < at + vocab; i++) {
        const x = a[i]!, y = b[i]!;
        const d = Math.abs(x - y);
        if (!(d <= this.maxAbs)) this.maxAbs = Number.isNaN(d) ? Infinity : d;
        dot += x * y; na += x * x; nb += y * y;
        if (x > a[bestA]!) bestA = i;
        if (y > b[bestB]!) bestB = i;
      }
      this.cosines += na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
      if (bestA === bestB) this.sameTop1++;
      this.positions++;
    }
  }

  result(): LogitAgreement {
    const n = this.positions;
    return { positions: n, maxAbs: this.maxAbs, meanCosine: n ? this.cosines / n : NaN, top1Agreement: n ? this.sameTop1 / n : NaN };
  }
}

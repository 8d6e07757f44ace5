/**
 * Symbolic integers for tensor dimensions and shape arithmetic: polynomials with numeric coefficients over
 * dimension names ('batch', 'sequence', or fresh '?3' for unnamed ones). Enough to prove that
 * Reshape(x, Concat(Shape(x)[0], Shape(x)[1], -1, 32)) gives [batch, sequence, 8, 32] without knowing batch.
 * Every symbol stands for a dimension, so it is a non-negative integer.
 */

/** Monomial key: symbol names sorted and joined by '*'; '' is the constant term. */
type Terms = ReadonlyMap<string, number>;

export class Sym {
  private constructor(private readonly terms: Terms) {}

  static num(n: number): Sym {
    return new Sym(n === 0 ? new Map() : new Map([['', n]]));
  }

  static named(name: string): Sym {
    return new Sym(new Map([[name, 1]]));
  }

  /** The number, when the expression has no symbols. */
  get value(): number | undefined {
    if (this.terms.size === 0) return 0;
    return this.terms.size === 1 && this.terms.has('') ? this.terms.get('')! : undefined;
  }

  get isConst(): boolean { return this.value !== undefined; }

  /** Provably >= 0: every coefficient is non-negative (symbols are dimensions). */
  get nonNegative(): boolean {
    for (const c of this.terms.values()) if (c < 0) return false;
    return true;
  }

  add(o: Sym): Sym { return this.combine(o, 1); }
  sub(o: Sym): Sym { return this.combine(o, -1); }
  neg(): Sym { return Sym.num(0).sub(this); }

  mul(o: Sym): Sym {
    const out = new Map<string, number>();
    for (const [ka, ca] of this.terms) {
      for (const [kb, cb] of o.terms) {
        const key = [...split(ka), ...split(kb)].sort().join('*');
        out.set(key, (out.get(key) ?? 0) + ca * cb);
      }
    }
    return Sym.clean(out);
  }

  /** this / o when o is a single term that divides every term exactly (integer coefficients); else undefined. */
  divExact(o: Sym): Sym | undefined {
    if (o.terms.size !== 1) return undefined;
    const [[kd, cd]] = [...o.terms] as [[string, number]];
    const dSyms = split(kd);
    const out = new Map<string, number>();
    for (const [k, c] of this.terms) {
      const syms = split(k);
      for (const s of dSyms) {
        const at = syms.indexOf(s);
        if (at < 0) return undefined;
        syms.splice(at, 1);
      }
      const q = c / cd;
      if (!Number.isInteger(q)) return undefined;
      out.set(syms.join('*'), q);
    }
    return Sym.clean(out);
  }

  /** [symbols, coefficient] per term, in a stable order. */
  termList(): [string[], number][] {
    return [...this.terms].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, c]) => [split(k), c]);
  }

  /** Every symbol the expression mentions. */
  symbols(): string[] {
    return [...new Set([...this.terms.keys()].flatMap(split))];
  }

  equals(o: Sym): boolean { return this.toString() === o.toString(); }

  toString(): string {
    if (this.terms.size === 0) return '0';
    return [...this.terms].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, c]) => (k === '' ? `${c}` : c === 1 ? k : `${c}*${k}`)).join(' + ');
  }

  private combine(o: Sym, sign: number): Sym {
    const out = new Map(this.terms);
    for (const [k, c] of o.terms) out.set(k, (out.get(k) ?? 0) + sign * c);
    return Sym.clean(out);
  }

  private static clean(terms: Map<string, number>): Sym {
    for (const [k, c] of terms) if (c === 0) terms.delete(k);
    return new Sym(terms);
  }
}

function split(key: string): string[] {
  return key === '' ? [] : key.split('*');
}

/** A dimension or element: a symbolic integer, or unknown. */
export type Dim = Sym | undefined;

export function dimEquals(a: Dim, b: Dim): boolean {
  return a !== undefined && b !== undefined && a.equals(b);
}

export function shapesEqual(a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((d, i) => dimEquals(d, b[i]));
}

/** Numbers of a fully known list, else undefined. */
export function numbers(dims: readonly Dim[] | undefined): number[] | undefined {
  if (!dims) return undefined;
  const out: number[] = [];
  for (const d of dims) {
    const v = d?.value;
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

export function product(dims: readonly Dim[]): Dim {
  let p: Dim = Sym.num(1);
  for (const d of dims) p = d && p ? p.mul(d) : undefined;
  return p;
}

export function describeShape(dims: readonly Dim[] | undefined): string {
  return dims ? `[${dims.map((d) => d?.toString() ?? '?').join(', ')}]` : '[?]';
}

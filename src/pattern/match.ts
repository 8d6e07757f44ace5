/**
 * Pattern matching over the IR by computation, never by names or node order. A Capture walks from a value
 * to its producers, looks through no-ops (Identity, a Cast to the type the value already has, a Reshape to
 * the shape it already has), tries both operand orders of commutative operators, and records the nodes it
 * matched so that the rewrite can check nothing outside reads their results before removing them.
 */
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { FactTable } from './facts.js';
import { shapesEqual } from './sym.js';
import { normAxis } from './infer-util.js';

const COMMUTATIVE = new Set(['Add', 'Mul', 'And', 'Or', 'Xor', 'Equal', 'Max', 'Min', 'Sum']);

/** Identity, Cast to the same type, Reshape to the same shape: they change nothing. */
export function isNoOp(node: Node, facts: FactTable): boolean {
  if (node.domain !== '') return false;
  const x = node.inputs[0];
  const y = node.outputs[0];
  if (!x || !y) return false;
  switch (node.opType) {
    case 'Identity': return true;
    case 'Cast': return facts.dtype(x) !== undefined && facts.dtype(x) === node.getInt('to');
    case 'Reshape': return shapesEqual(facts.shape(x), facts.shape(y));
    default: return false;
  }
}

export class Capture {
  /** Nodes the pattern consists of (removed by the rewrite). */
  readonly nodes = new Set<Node>();
  private reason = '';

  constructor(readonly facts: FactTable) {}

  /** The value `v` stands for, looking through no-ops (which are not recorded: the value is a leaf). */
  source(v: Value): Value {
    let cur = v;
    for (let p = cur.producer; p && isNoOp(p, this.facts); p = cur.producer) cur = p.inputs[0]!;
    return cur;
  }

  /** Two values are the same data (up to no-ops). */
  same(a: Value | null | undefined, b: Value | null | undefined): boolean {
    return !!a && !!b && this.source(a) === this.source(b);
  }

  /** The producer of `v` if it is one of `ops` (through no-ops, which are recorded); the node is recorded too. */
  op(v: Value | null | undefined, ops: string | readonly string[], domain = ''): Node | undefined {
    if (!v) return undefined;
    const wanted = typeof ops === 'string' ? [ops] : ops;
    const skipped: Node[] = [];
    let cur = v;
    for (let p = cur.producer; p && isNoOp(p, this.facts) && !wanted.includes(p.opType); p = cur.producer) {
      skipped.push(p);
      cur = p.inputs[0]!;
    }
    const p = cur.producer;
    if (!p || p.domain !== domain || !wanted.includes(p.opType)) return undefined;
    for (const s of skipped) this.nodes.add(s);
    this.nodes.add(p);
    return p;
  }

  /**
   * Tries `f` on the two operands of a binary node in both orders when the operator commutes; keeps the
   * first success and forgets what a failed attempt recorded.
   */
  either<T>(node: Node, f: (a: Value, b: Value) => T | undefined): T | undefined {
    const [a, b] = node.inputs;
    if (!a || !b) return undefined;
    const first = this.attempt(() => f(a, b));
    if (first !== undefined || !COMMUTATIVE.has(node.opType)) return first;
    return this.attempt(() => f(b, a));
  }

  /** Runs `f`; if it returns undefined, the nodes it recorded are forgotten. */
  attempt<T>(f: () => T | undefined): T | undefined {
    const saved = new Set(this.nodes);
    const r = f();
    if (r === undefined) {
      this.nodes.clear();
      for (const n of saved) this.nodes.add(n);
    }
    return r;
  }

  /** A constant with a single element (scalar or [1]), as a number. */
  scalar(v: Value | null | undefined): number | undefined {
    return v ? this.facts.scalar(v) : undefined;
  }

  /** Axis attribute (or default) of a node, normalised against the rank of its first input. */
  axis(node: Node, fallback: number): number | undefined {
    const rank = this.facts.rank(node.inputs[0]);
    return rank === undefined ? undefined : normAxis(node.getInt('axis', fallback), rank);
  }

  /** Records why the candidate failed; returns undefined for chaining: `return m.fail('...')`. */
  fail(reason: string): undefined {
    this.reason ||= reason;
    return undefined;
  }

  /** Why the candidate failed; empty when it never got past its first operator (not worth reporting). */
  get failure(): string { return this.reason; }
}

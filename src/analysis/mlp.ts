/**
 * The feed-forward part of a block: its activation (SiLU, GELU in its tanh or erf form, ReLU, or the fused
 * ops for them), whether it is gated (act(x·Wg) ⊙ (x·Wu), as in SwiGLU), its width and its projections.
 *   gated:   Mul(act(gate(x)), up(x)) -> down     (gate and up may be one fused product split in two)
 *   plain:   act(up(x)) -> down
 */
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { Linear } from './linear.js';
import { isConstant, scalarOf } from './constants.js';
import { dataInputs, readers, walkBack } from './walk.js';

export type Activation = 'silu' | 'gelu-tanh' | 'gelu-erf' | 'gelu-quick' | 'relu' | 'sigmoid' | 'other';
export type MlpKind = 'swiglu' | 'geglu' | 'reglu' | 'gated' | Activation;

export interface MlpInfo {
  readonly kind: MlpKind;
  readonly activation: Activation | undefined;
  /** Ops that compute the activation (`Sigmoid/Mul`, `Tanh`, `com.microsoft.FastGelu`). */
  readonly activationOps: string;
  readonly gated: boolean;
  /** Intermediate width: input features of the down projection. */
  readonly width: number | undefined;
  readonly gate: readonly Linear[];
  readonly up: readonly Linear[];
  readonly down: readonly Linear[];
}

/** The activation a node computes, if it is one (in the context of an MLP branch). */
export function activationOf(node: Node): Activation | undefined {
  const fused: Readonly<Record<string, Activation>> = {
    Gelu: node.getString('approximate') === 'tanh' ? 'gelu-tanh' : 'gelu-erf', BiasGelu: 'gelu-erf', FastGelu: 'gelu-tanh',
    QuickGelu: 'gelu-quick', Swish: 'silu', Relu: 'relu', Erf: 'gelu-erf', Tanh: 'gelu-tanh',
  };
  if (node.opType === 'Sigmoid') return sigmoidKind(node);
  return fused[node.opType];
}

/** x * Sigmoid(x) is SiLU; x * Sigmoid(1.702 x) is the quick GELU. */
function sigmoidKind(sigmoid: Node): Activation {
  const x = sigmoid.inputs[0];
  const out = sigmoid.outputs[0];
  const timesX = (v: Value | null | undefined) => !!out && readers(out).some((m) => m.opType === 'Mul' && m.inputs.includes(v ?? null));
  if (timesX(x)) return 'silu';
  const scaled = x?.producer;
  if (scaled?.opType === 'Mul' && scaled.inputs.some((i) => Math.abs((scalarOf(i) ?? 0) - 1.702) < 0.01)) {
    const base = scaled.inputs.find((i) => i && !isConstant(i));
    if (timesX(base)) return 'gelu-quick';
  }
  return 'sigmoid';
}

export function describeMlp(nodes: ReadonlySet<Node>, linears: ReadonlyMap<Node, Linear>, output: Value): MlpInfo {
  const inBranch = [...nodes];
  const acts = inBranch.filter((n) => activationOf(n) !== undefined);
  const activation = pickActivation(acts);
  const gate = findGate(inBranch, linears, nodes);
  const down = walkBack(output, { within: nodes, stop: (n) => linears.has(n) }).stops.map((n) => linears.get(n)!);
  const others = inBranch.filter((n) => linears.has(n) && !down.some((d) => d.node === n)).map((n) => linears.get(n)!);
  const gateLinears = gate ? others.filter((l) => gate.activated.has(l.node)) : [];
  const up = others.filter((l) => !gateLinears.includes(l));
  const kind: MlpKind = !gate ? activation ?? 'other'
    : activation === 'silu' ? 'swiglu' : activation?.startsWith('gelu') ? 'geglu' : activation === 'relu' ? 'reglu' : 'gated';
  const opsOf = acts.flatMap((n) => (n.opType === 'Sigmoid' ? ['Sigmoid', 'Mul'] : [n.domain ? `${n.domain}.${n.opType}` : n.opType]));
  return {
    kind, activation, activationOps: [...new Set(opsOf)].join('/'), gated: !!gate,
    width: down.length === 1 ? down[0]!.k : undefined, gate: gateLinears, up, down,
  };
}

/** GELU's tanh form also holds Pow/Mul; Erf marks the exact form. One kind wins: the first found. */
function pickActivation(acts: readonly Node[]): Activation | undefined {
  const kinds = acts.map(activationOf).filter((k): k is Activation => !!k);
  return kinds.find((k) => k !== 'sigmoid') ?? kinds[0];
}

interface Side {
  readonly roots: Set<Value>;
  readonly activated: boolean;
}

/** A Mul of two values made by different products (or different parts of one), one side activated. */
function findGate(nodes: readonly Node[], linears: ReadonlyMap<Node, Linear>, within: ReadonlySet<Node>): { activated: Set<Node> } | undefined {
  for (const mul of nodes) {
    if (mul.opType !== 'Mul') continue;
    const ins = dataInputs(mul);
    if (ins.length !== 2) continue;
    const memo = new Map<Value, Side | undefined>();
    const [a, b] = ins.map((v) => side(v, linears, within, 0, memo));
    if (!a || !b || !a.roots.size || !b.roots.size || [...a.roots].some((r) => b.roots.has(r))) continue;
    if (a.activated === b.activated) continue;
    const act = a.activated ? a : b;
    const activated = new Set<Node>();
    for (const r of act.roots) {
      const made = walkBack(r, { within, stop: (n) => linears.has(n) });
      for (const s of made.stops) activated.add(s);
      if (r.producer && linears.has(r.producer)) activated.add(r.producer);
    }
    return { activated };
  }
  return undefined;
}

/** Where a Mul operand comes from: the product outputs (or split parts) it is computed from. */
function side(v: Value, linears: ReadonlyMap<Node, Linear>, within: ReadonlySet<Node>, depth: number, memo: Map<Value, Side | undefined>): Side | undefined {
  if (memo.has(v)) return memo.get(v);
  const s = sideOf(v, linears, within, depth, memo);
  memo.set(v, s);
  return s;
}

function sideOf(v: Value, linears: ReadonlyMap<Node, Linear>, within: ReadonlySet<Node>, depth: number, memo: Map<Value, Side | undefined>): Side | undefined {
  const p = v.producer;
  if (!p || !within.has(p) || depth > 10) return undefined;
  if (linears.has(p) || p.opType === 'Split' || p.opType === 'Slice') return { roots: new Set([v]), activated: false };
  const roots = new Set<Value>();
  let activated = activationOf(p) !== undefined;
  for (const input of dataInputs(p)) {
    const s = side(input, linears, within, depth + 1, memo);
    if (!s) continue;
    for (const r of s.roots) roots.add(r);
    activated ||= s.activated;
  }
  return { roots, activated };
}

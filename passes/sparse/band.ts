/**
 * The locality band, computed in the graph from the run-time query and key lengths:
 *
 *   S = query length, T = key length (past + current); query row r sits at position T - S + r
 *   d[r, j]   = (T - S + r) - j                      (how far key j lies behind the query)
 *   sliding:  keep = d < window                     (symmetric: |d| < window)
 *   block:    keep = q/blockSize - j/blockSize < 2  (own block and the previous one; symmetric: |..| < 2)
 *   sinks:    keep = keep or j < sinks
 *
 * The band only bounds how far back a query reaches; the model's causal mask still bounds it ahead
 * (symmetric bands bound both sides, for attention without a causal mask).
 */
import type { Model } from '../../src/ir/model.js';
import type { Node, AttributeValue } from '../../src/ir/node.js';
import type { Value } from '../../src/ir/value.js';
import { DType } from '../../src/ir/dtype.js';
import { float32, int64 } from '../../src/pattern/rewrite.js';

export interface Locality {
  readonly mode: 'sliding' | 'block';
  readonly window: number;
  readonly blockSize: number;
  readonly sinks: number;
  /** Bound the keys after the query too (attention without a causal mask). */
  readonly symmetric: boolean;
}

/** Added to a score, this removes it from the softmax (finite, so sums with other masks stay finite). */
export const BAND_FILL = -1e30;

/** Prefix of every node the pass adds: a band already in place is recognised by it. */
export const NODE_PREFIX = 'sparse-attention/';

const int = (value: number): AttributeValue => ({ type: 'int', value });

/** Adds nodes in front of one attention. */
export class BandBuilder {
  constructor(private readonly model: Model, private readonly before: Node) {}

  op(opType: string, inputs: (Value | null)[], attributes: Record<string, AttributeValue> = {}): Value {
    const name = this.model.freshNodeName(`${NODE_PREFIX}${opType}`);
    return this.model.graph.addNode({ opType, inputs, attributes, before: this.before, name }).output(0);
  }

  /** x.shape[axis] as an int64 scalar (negative axes count from the end). */
  dim(x: Value, axis: number): Value {
    return this.op('Gather', [this.op('Shape', [x]), int64(this.model.graph, 'axis', [axis], [])], { axis: int(0) });
  }

  add(a: Value, b: Value): Value { return this.op('Add', [a, b]); }

  cast(x: Value, to: number): Value { return this.op('Cast', [x], { to: int(to) }); }

  /** Inserts axes of size 1 (opset 13 takes them as an input, earlier opsets as an attribute). */
  unsqueeze(x: Value, axes: readonly number[]): Value {
    if ((this.model.opsetVersion('') ?? 13) >= 13) return this.op('Unsqueeze', [x, int64(this.model.graph, 'unsqueeze_axes', axes)]);
    return this.op('Unsqueeze', [x], { axes: { type: 'ints', value: [...axes] } });
  }

  /** bool [S, T]: true where query row r may attend to key j. */
  keep(queryLength: Value, keyLength: Value, l: Locality): Value {
    const g = this.model.graph;
    const i64 = (hint: string, n: number): Value => int64(g, hint, [n], []);
    const zero = i64('zero', 0), one = i64('one', 1);
    const queries = this.op('Range', [this.op('Sub', [keyLength, queryLength]), keyLength, one]);
    const keys = this.op('Range', [zero, keyLength, one]);
    const column = this.unsqueeze(queries, [1]);
    const [q, k, limit] = l.mode === 'sliding'
      ? [column, keys, l.window]
      : [this.op('Div', [column, i64('block_size', l.blockSize)]), this.op('Div', [keys, i64('block_size', l.blockSize)]), 2];
    const behind = this.op('Sub', [q, k]);
    let keep = this.op('Less', [l.symmetric ? this.op('Abs', [behind]) : behind, i64('reach', limit)]);
    if (l.sinks > 0) keep = this.op('Or', [keep, this.op('Less', [keys, i64('sinks', l.sinks)])]);
    return keep;
  }

  /** float32 [1, 1, S, T]: 0 where kept, BAND_FILL elsewhere (an attention bias). */
  additive(keep: Value): Value {
    const g = this.model.graph;
    const bias = this.op('Where', [keep, float32(g, 'band_open', [0], []), float32(g, 'band_fill', [BAND_FILL], [])]);
    return this.unsqueeze(bias, [0, 1]);
  }

  /** int32 scalar -> int64 scalar (GroupQueryAttention's total_sequence_length). */
  int64Of(x: Value): Value { return this.cast(x, DType.INT64); }
}

/**
 * How many keys a query at `position` (0-based, of `length` tokens) attends to with the band: causal
 * attention for one-sided bands, all keys for symmetric ones. The FLOP estimate is counted from it.
 */
export function attendedKeys(l: Locality, position: number, length: number): number {
  let n = 0;
  for (let j = 0; j < (l.symmetric ? length : position + 1); j++) {
    const apart = l.mode === 'sliding' ? position - j : Math.floor(position / l.blockSize) - Math.floor(j / l.blockSize);
    if ((l.symmetric ? Math.abs(apart) : apart) < (l.mode === 'sliding' ? l.window : 2) || j < l.sinks) n++;
  }
  return n;
}

/** Query/key pairs scored over `length` tokens: [dense, with the band]. Score and value products scale with them. */
export function attendedPairs(l: Locality, length: number): [number, number] {
  let dense = 0, banded = 0;
  for (let p = 0; p < length; p++) {
    dense += l.symmetric ? length : p + 1;
    banded += attendedKeys(l, p, length);
  }
  return [dense, banded];
}

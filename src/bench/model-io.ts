/**
 * What a benchmark needs to know about a model's interface, as plain data (it crosses into the child
 * process of --isolate): the role of each input, the logits output, the token range, and the key/value
 * cache pairs (past_* inputs fed from present* outputs).
 */
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { DType, isFloat } from '../ir/dtype.js';
import { ConfigError } from '../errors.js';

export type InputRole = 'ids' | 'mask' | 'positions' | 'token-types' | 'past' | 'cache-branch' | 'other';
export type Dim = number | string | null;

export interface InputSpec {
  readonly name: string;
  readonly dtype: number;
  /** null when the model does not declare the rank. */
  readonly shape: readonly Dim[] | null;
  readonly role: InputRole;
}

export interface CachePair {
  readonly past: string;
  readonly present: string;
  /** The axis along which the cache grows (the sequence axis). */
  readonly axis: number;
}

export interface ModelIo {
  readonly inputs: readonly InputSpec[];
  /** Output holding [batch, sequence, vocabulary] scores, if there is one. */
  readonly logits: string | undefined;
  /** Token ids are drawn from [0, vocab). */
  readonly vocab: number;
  readonly cache: readonly CachePair[];
}

const INT_TYPES: readonly number[] = [DType.INT64, DType.INT32];

export function describeIo(model: Model): ModelIo {
  const values = model.graph.inputs.filter((v) => !v.initializer);
  const inputs = values.map((v) => ({ name: v.name, dtype: v.type?.elemType ?? DType.UNDEFINED, shape: v.type?.shape ? [...v.type.shape] : null, role: roleOf(v) }));
  if (!inputs.some((i) => i.role === 'ids')) {
    const first = inputs.findIndex((i) => i.role === 'other' && INT_TYPES.includes(i.dtype));
    if (first >= 0) inputs[first] = { ...inputs[first]!, role: 'ids' };
  }
  const outputs = model.graph.outputs;
  const logits = outputs.find((o) => /logits/i.test(o.name)) ?? outputs.find((o) => o.type?.shape?.length === 3 && isFloat(o.type.elemType));
  const ids = values.find((v) => v.name === inputs.find((i) => i.role === 'ids')?.name);
  return { inputs, logits: logits?.name, vocab: vocabOf(logits, ids), cache: cachePairs(inputs, outputs) };
}

function roleOf(v: Value): InputRole {
  const dtype = v.type?.elemType ?? DType.UNDEFINED;
  const name = v.name;
  if (/past/i.test(name) && isFloat(dtype)) return 'past';
  if (/use_cache/i.test(name) && dtype === DType.BOOL) return 'cache-branch';
  if (!INT_TYPES.includes(dtype)) return 'other';
  if (/mask/i.test(name)) return 'mask';
  if (/position/i.test(name)) return 'positions';
  if (/token_type|segment/i.test(name)) return 'token-types';
  if (/ids|tokens/i.test(name)) return 'ids';
  return 'other';
}

/** The smallest of the logits width and the rows of the tables the ids index (out-of-range ids fail). */
function vocabOf(logits: Value | undefined, ids: Value | undefined): number {
  const bounds: number[] = [];
  const width = logits?.type?.shape?.[2];
  if (typeof width === 'number') bounds.push(width);
  for (const use of ids?.uses ?? []) {
    const n = use.node;
    if (n.opType !== 'Gather' || use.index !== 1) continue;
    const table = n.inputs[0]?.initializer;
    const axis = n.getInt('axis', 0);
    const rows = table?.dims[axis < 0 ? table.dims.length + axis : axis];
    if (rows !== undefined) bounds.push(rows);
  }
  return bounds.length ? Math.min(...bounds) : 16;
}

/** past_key_values.0.key -> present.0.key (or pairs by position when names do not say). */
function cachePairs(inputs: readonly InputSpec[], outputs: readonly Value[]): CachePair[] {
  const past = inputs.filter((i) => i.role === 'past');
  if (!past.length) return [];
  const present = outputs.filter((o) => /present/i.test(o.name)).map((o) => o.name);
  const byName = past.map((p) => present.find((o) => o === p.name.replace(/past_key_values/i, 'present').replace(/past/i, 'present')));
  const named = byName.every((o) => o !== undefined);
  if (!named && present.length !== past.length) {
    throw new ConfigError(`cannot pair the model's ${past.length} past inputs with its ${present.length} present outputs`);
  }
  return past.map((p, i) => ({ past: p.name, present: named ? byName[i]! : present[i]!, axis: growthAxis(p) }));
}

/** The symbolic dim that names a length, else the second to last ([batch, heads, sequence, head size]). */
function growthAxis(p: InputSpec): number {
  const shape = p.shape ?? [];
  const named = shape.findIndex((d, i) => i > 0 && typeof d === 'string' && /past|seq|len|total/i.test(d));
  return named >= 0 ? named : Math.max(0, shape.length - 2);
}

/**
 * What a model is made of, without running it: IR version and producer, opset imports, inputs and
 * outputs, an operator histogram over all graphs, parameters per element type, and the external-data
 * files its tensors point to.
 */
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { dtypeName } from '../ir/dtype.js';
import { qualifiedOp } from './linear.js';
import { countParameters, type ParameterSummary } from './parameters.js';

export interface IoSummary {
  readonly name: string;
  /** `float32`, `int64`; `unknown` when the declaration has no tensor type. */
  readonly dtype: string;
  /** Dims by size or symbolic name, `?` where unknown; null when the rank is unknown. */
  readonly shape: readonly (number | string)[] | null;
}

export interface OpCount {
  /** Domain-qualified for non-default domains: `com.microsoft.MatMulNBits`. */
  readonly op: string;
  readonly count: number;
}

export interface ExternalDataSummary {
  /** Location as written in the model (relative to its folder). */
  readonly location: string;
  readonly tensors: number;
  /** Bytes the model's tensors read from the file. */
  readonly bytes: number;
}

export interface ModelSummary {
  readonly irVersion: number;
  readonly producer: { readonly name: string; readonly version: string };
  /** Domain → version; the default domain is written `ai.onnx`. */
  readonly opsets: Readonly<Record<string, number>>;
  readonly functions: number;
  readonly inputs: readonly IoSummary[];
  readonly outputs: readonly IoSummary[];
  /** Nodes in the main graph and all subgraphs (`inSubgraphs` of them in If/Loop/Scan bodies). */
  readonly nodes: { readonly total: number; readonly inSubgraphs: number; readonly subgraphs: number };
  /** By count, most frequent first (ties by name). */
  readonly ops: readonly OpCount[];
  readonly parameters: ParameterSummary;
  readonly externalData: readonly ExternalDataSummary[];
}

export function summarizeModel(model: Model): ModelSummary {
  const g = model.graph;
  const initialized = new Set(g.initializers);
  const counts = new Map<string, number>();
  let total = 0;
  for (const n of g.allNodes()) {
    const op = qualifiedOp(n);
    counts.set(op, (counts.get(op) ?? 0) + 1);
    total++;
  }
  const ops = [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
  return {
    irVersion: model.irVersion,
    producer: { name: model.producerName, version: model.producerVersion },
    opsets: Object.fromEntries(model.opsetImports.map((o) => [o.domain === '' ? 'ai.onnx' : o.domain, o.version])),
    functions: model.functions.length,
    inputs: g.inputs.filter((v) => !initialized.has(v)).map(ioOf),
    outputs: g.outputs.map(ioOf),
    nodes: { total, inSubgraphs: total - g.nodes.length, subgraphs: [...g.graphsDeep()].length - 1 },
    ops,
    parameters: countParameters(model),
    externalData: externalData(model),
  };
}

function ioOf(v: Value): IoSummary {
  const t = v.type;
  return {
    name: v.name,
    dtype: t ? dtypeName(t.elemType) : 'unknown',
    shape: t?.shape ? t.shape.map((d) => (d === null ? '?' : d)) : null,
  };
}

function externalData(model: Model): ExternalDataSummary[] {
  const files = new Map<string, { tensors: number; bytes: number }>();
  const seen = new Set<unknown>();
  for (const g of model.graph.graphsDeep()) {
    for (const v of g.initializers) {
      const ext = v.initializer?.byteSource?.external;
      if (!ext || seen.has(v.initializer)) continue;
      seen.add(v.initializer);
      const f = files.get(ext.location) ?? { tensors: 0, bytes: 0 };
      f.tensors++;
      f.bytes += ext.length;
      files.set(ext.location, f);
    }
  }
  return [...files].map(([location, f]) => ({ location, ...f })).sort((a, b) => a.location.localeCompare(b.location));
}

/** `[batch, seq, 256]`; `?` for an unknown rank. */
export function formatShape(shape: IoSummary['shape']): string {
  return shape ? `[${shape.join(', ')}]` : '?';
}

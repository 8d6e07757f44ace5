/**
 * One cell of the target matrix: a shared model, a target and a mode. `makeCell` produces the output the way
 * the commands do (the fuse preset through the pass pipeline, quantization through the quantize workflow,
 * both with the target in the pass context); `judgeCell` measures what the matrix asserts.
 */
import { createHash } from 'node:crypto';
import type { Model } from '../../src/ir/model.js';
import { DType } from '../../src/ir/dtype.js';
import { cloneModel } from '../../src/ir/clone.js';
import { verifyModel } from '../../src/ir/verify.js';
import { modelFromBytes } from '../../src/io/load.js';
import { modelToBytes } from '../../src/io/save.js';
import { quietContext, type Target } from '../../src/pipeline/pass.js';
import { resolveSteps } from '../../src/pipeline/registry.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { quantizeOnce, type QuantizeRequest } from '../../src/workflows/quantize.js';
import { evaluateQuality, relativeDrop, type Quality } from '../../src/eval/evaluate.js';
import { checkModel } from '../../src/targets/check.js';
import { profileFor } from '../../src/targets/index.js';
import { runtimeOptions } from '../../src/targets/provider-options.js';
import { inputRanges } from '../../src/targets/shape-ranges.js';
import type { Finding } from '../../src/targets/types.js';
import { runModel, type SessionOptions } from '../../src/runtime/session.js';
import { compareOutputs } from '../../src/runtime/compare.js';
import type { Outputs } from '../../src/runtime/tensors.js';
import type { SharedModel } from './shared-data.js';
import { SEMANTIC } from './harness.js';

export const MATRIX_MODES = ['fuse', 'dynamic', 'static', 'weight-only-4', 'fp16'] as const;
export type MatrixMode = (typeof MATRIX_MODES)[number];

/** The quantize pass and options of each quantization mode (what `llmopt quantize --mode ...` asks for). */
const REQUESTS: Readonly<Record<Exclude<MatrixMode, 'fuse'>, QuantizeRequest>> = {
  dynamic: { pass: 'quantize-dynamic', options: {}, exclude: [] },
  static: { pass: 'quantize-static', options: {}, exclude: [] },
  'weight-only-4': { pass: 'quantize-weight-only', options: { bits: 4, blockSize: 32 }, exclude: [] },
  fp16: { pass: 'convert-float16', options: { dtype: 'float16' }, exclude: [] },
};

/** How an output is judged against the float model: by its numbers (precision) and its form. */
export type Precision = 'float32' | 'float16' | 'int8' | 'int4';

export async function makeCell(source: SharedModel, target: Target, mode: MatrixMode): Promise<Model> {
  // Calibration data only where the command needs it (--calib): static int8.
  const ctx = quietContext({ target, ...(mode === 'static' ? { calibration: source.calibration } : {}) });
  if (mode === 'fuse') {
    const model = cloneModel(source.model);
    await runSteps(model, resolveSteps(['preset:fuse']), ctx);
    return model;
  }
  return (await quantizeOnce(source.model, REQUESTS[mode], [], ctx)).model;
}

/** The precision an output computes in: its mode, except a fused model that the target sent to float16. */
export function precisionOf(model: Model, mode: MatrixMode): Precision {
  if (mode === 'dynamic' || mode === 'static') return 'int8';
  if (mode === 'weight-only-4') return 'int4';
  if (mode === 'fp16') return 'float16';
  return model.graph.initializers.some((v) => v.initializer?.dtype === DType.FLOAT16) ? 'float16' : 'float32';
}

/**
 * onnxruntime-node CPU session settings for an output: the CPU target's own (what its sidecar says); for
 * the other targets graph optimizations off, so that the graph's meaning is measured rather than the CPU
 * provider's fusions (which would quantize the activations of int8/int4 weight-only layers).
 */
export function sessionFor(model: Model, target: Target): SessionOptions {
  if (target !== 'cpu') return SEMANTIC;
  const r = runtimeOptions(model, profileFor(target), inputRanges(model));
  return { optimization: r.graphOptimizationLevel, config: r.sessionConfig };
}

export interface CellFigures {
  readonly findings: readonly Finding[];
  readonly microsoftOps: readonly string[];
  readonly opset: number;
  readonly irVersion: number;
  readonly precision: Precision;
  /** Largest absolute difference of the logits from the float model's on the comparison rows. */
  readonly maxAbs: number;
  /** Smallest cosine similarity of an output with the float model's. */
  readonly cosine: number;
  /** Relative quality loss on the evaluation rows (perplexity up or accuracy down; negative: better). */
  readonly drop: number;
  readonly quality: number;
}

interface Measured {
  readonly maxAbs: number;
  readonly cosine: number;
  readonly quality: Quality;
}

/** Numeric figures by output bytes and session: several targets get the same model for a mode. */
const measured = new Map<string, Promise<Measured>>();
const references = new WeakMap<SharedModel, Promise<Outputs>>();

async function measure(source: SharedModel, bytes: Uint8Array, session: SessionOptions): Promise<Measured> {
  const key = `${source.name} ${createHash('sha1').update(bytes).digest('hex')} ${JSON.stringify(session)}`;
  let entry = measured.get(key);
  if (!entry) {
    entry = (async () => {
      // What a file holds: the figures are taken on the model read back from its bytes.
      const model = modelFromBytes(bytes);
      let reference = references.get(source);
      if (!reference) { reference = runModel(source.model, source.feeds, SEMANTIC); references.set(source, reference); }
      const outputs = await runModel(model, source.feeds, session);
      const diffs = compareOutputs(await reference, outputs);
      const maxAbs = Math.max(...diffs.map((d) => (d.sameShape ? d.maxAbs : Infinity)));
      const cosine = Math.min(...diffs.map((d) => (d.sameShape ? d.cosine : 0)));
      const { ids, labels, rows } = source.evalData;
      return { maxAbs, cosine, quality: await evaluateQuality(model, ids, labels, { ...session, limit: rows }) };
    })();
    measured.set(key, entry);
  }
  return entry;
}

export async function judgeCell(source: SharedModel, target: Target, mode: MatrixMode, output: Model): Promise<CellFigures> {
  verifyModel(output, `${mode} for ${target}`);
  const bytes = modelToBytes(output);
  const model = modelFromBytes(bytes);
  const { maxAbs, cosine, quality } = await measure(source, bytes, sessionFor(model, target));
  const microsoftOps = [...new Set([...model.graph.allNodes()].filter((n) => n.domain === 'com.microsoft').map((n) => n.opType))];
  return {
    findings: checkModel(model, target), microsoftOps, opset: model.opsetVersion('') ?? 1, irVersion: model.irVersion,
    precision: precisionOf(model, mode), maxAbs, cosine, drop: relativeDrop(source.reference, quality),
    quality: quality.kind === 'perplexity' ? quality.perplexity : quality.accuracy,
  };
}

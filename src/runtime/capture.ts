/**
 * Capture of intermediate values: the named values are exposed as extra graph outputs on a copy of the
 * serialized model (the IR is not touched) and the model runs with graph optimizations off, so that
 * exposing a value never blocks or changes a fusion.
 */
import ort from 'onnxruntime-node';
import type { Model } from '../ir/model.js';
import { modelToInlineProto } from '../io/save.js';
import { encodeMessage } from '../onnx/encode.js';
import { fromOrt, toOrt, type Feeds, type Outputs } from './tensors.js';
import { RuntimeError } from '../errors.js';

export class CaptureSession {
  private constructor(private readonly inner: ort.InferenceSession, readonly names: readonly string[]) {}

  static async create(model: Model, names: readonly string[], threads?: number): Promise<CaptureSession> {
    for (const name of names) {
      if (!model.graph.lookup(name)) throw new RuntimeError(`cannot capture '${name}': no such value in the main graph`);
    }
    const proto = modelToInlineProto(model);
    const outputs = [...(proto.graph!.output ?? [])];
    const present = new Set(outputs.map((o) => o.name));
    for (const name of names) if (!present.has(name)) outputs.push({ name });
    proto.graph!.output = outputs;
    const opts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 };
    if (threads) opts.intraOpNumThreads = threads;
    try {
      return new CaptureSession(await ort.InferenceSession.create(encodeMessage('ModelProto', proto), opts), names);
    } catch (err) {
      throw new RuntimeError(`onnxruntime could not load the model for capture: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }

  async run(feeds: Feeds): Promise<Outputs> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = toOrt(t, k);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.inner.run(ortFeeds, [...this.names]);
    } catch (err) {
      throw new RuntimeError(`onnxruntime failed while capturing: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    const out: Record<string, Outputs[string]> = {};
    for (const name of this.names) out[name] = fromOrt(result[name]!);
    return out;
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
}

/** One-shot capture of a few values for one set of feeds. */
export async function captureValues(model: Model, names: readonly string[], feeds: Feeds, threads?: number): Promise<Outputs> {
  const session = await CaptureSession.create(model, names, threads);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

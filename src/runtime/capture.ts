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

export async function captureValues(model: Model, names: readonly string[], feeds: Feeds, threads?: number): Promise<Outputs> {
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
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeMessage('ModelProto', proto), opts);
  } catch (err) {
    throw new RuntimeError(`onnxruntime could not load the model for capture: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = toOrt(t, k);
    const result = await session.run(ortFeeds, [...names]);
    const out: Record<string, Outputs[string]> = {};
    for (const name of names) out[name] = fromOrt(result[name]!);
    return out;
  } finally {
    await session.release();
  }
}

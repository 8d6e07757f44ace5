/**
 * Teacher soft labels on a data set, streamed to one file (.npz or safetensors) batch by batch: memory holds
 * one batch whatever the number of rows. Arrays, each [rows, sequence, …]:
 *   <input name>       the data's own arrays (input_ids, attention_mask …), so the file trains on its own
 *   labels             int64 hard labels: the next token (decoders, −100 at the last position) or the given
 *                      masked-LM labels (encoders); absent for an encoder without labels
 *   probs              softmax(logits / T), float32 [.., vocab]               (full)
 *   topk_values        the k largest of those probabilities, float32 [.., k]   (--top-k; not renormalized)
 *   topk_indices       their vocabulary ids, int32 or int64 [.., k], largest first
 *   hidden_<i>         the stream after teacher block i, float32 [.., hidden]  (--hidden-states)
 */
import type { Model } from '../ir/model.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/dataset.js';
import { DType, dtypeName } from '../ir/dtype.js';
import type { HostTensor, Outputs } from '../runtime/tensors.js';
import { CaptureSession } from '../runtime/capture.js';
import { ArrayFileWriter, type ArrayDtype, type ArraySpec, type WrittenFile } from './array-file.js';
import { npzContainer } from './npz-container.js';
import { safetensorsContainer } from './safetensors-container.js';
import { softmaxRows, topKRows } from './softmax.js';
import { ConfigError } from '../errors.js';

export interface SoftLabelRequest {
  readonly file: string;
  readonly format: 'npz' | 'safetensors';
  readonly data: Dataset;
  readonly rows?: number;
  readonly batchSize?: number;
  readonly temperature: number;
  readonly topK?: number;
  readonly indexType: 'int32' | 'int64';
  /** Hidden states to store: teacher block index -> the value name of its output stream. */
  readonly hidden: ReadonlyMap<number, string>;
  /** Shift the ids into next-token labels (decoders). */
  readonly nextTokenLabels: boolean;
  /** Masked-LM labels [rows, sequence] (encoders). */
  readonly labels?: HostTensor;
  /** String pairs stored in the file (safetensors `__metadata__`). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly onBatch?: (done: number, total: number) => void;
}

export interface SoftLabelResult {
  readonly written: WrittenFile;
  readonly arrays: readonly ArraySpec[];
  readonly vocab: number;
  readonly rows: number;
}

export async function writeSoftLabels(teacher: Model, request: SoftLabelRequest): Promise<SoftLabelResult> {
  const logitsName = teacher.graph.outputs[0]?.name;
  if (!logitsName) throw new ConfigError('the teacher has no output to take soft labels from');
  const ids = tokenArray(request.data);
  const rows = Math.min(request.data.rows, request.rows ?? request.data.rows);
  const batch = request.batchSize ?? 8;
  const session = await CaptureSession.create(teacher, [logitsName, ...request.hidden.values()]);
  let writer: ArrayFileWriter | undefined;
  try {
    let first: Outputs | undefined = await session.run(batchFeeds(request.data, teacher, 0, Math.min(batch, rows)));
    const layout = layoutOf(request, first, logitsName, ids, rows);
    const container = request.format === 'npz' ? npzContainer(layout.arrays) : safetensorsContainer(layout.arrays, request.metadata);
    writer = new ArrayFileWriter(request.file, container);
    for (let start = 0; start < rows; start += batch) {
      const count = Math.min(batch, rows - start);
      const out = first ?? (await session.run(batchFeeds(request.data, teacher, start, count)));
      first = undefined;
      appendBatch(writer, request, out, logitsName, layout.vocab, start, count, ids);
      request.onBatch?.(start + count, rows);
    }
    const written = await writer.finish();
    return { written, arrays: layout.arrays, vocab: layout.vocab, rows };
  } catch (err) {
    writer?.abort();
    throw err;
  } finally {
    await session.release();
  }
}

/** The token ids: the data's 2-D int64 array (the one fed to the ids input). */
function tokenArray(data: Dataset): { name: string; tensor: HostTensor } {
  const entries = [...data.arrays.entries()];
  const [name, tensor] = entries.find(([n]) => /ids|tokens/i.test(n)) ?? entries[0]!;
  if (tensor.dims.length !== 2 || tensor.dtype !== DType.INT64) {
    throw new ConfigError(`${data.source}: '${name}' must be int64 [rows, sequence] token ids, got ${dtypeName(tensor.dtype)} [${tensor.dims}]`);
  }
  return { name, tensor };
}

interface Layout {
  readonly arrays: ArraySpec[];
  readonly vocab: number;
}

function layoutOf(r: SoftLabelRequest, first: Outputs, logitsName: string, ids: { tensor: HostTensor }, rows: number): Layout {
  const seq = ids.tensor.dims[1]!;
  const logits = first[logitsName]!;
  const vocab = logits.dims.at(-1)!;
  if (logits.dims.length !== 3 || logits.dims[1] !== seq) throw new ConfigError(`the teacher's output '${logitsName}' is [${logits.dims}], not [batch, sequence, vocabulary] logits`);
  if (r.topK !== undefined && r.topK > vocab) throw new ConfigError(`--top-k ${r.topK} is larger than the vocabulary (${vocab})`);
  if (r.labels && r.labels.dims.join() !== ids.tensor.dims.join()) throw new ConfigError(`--labels shape [${r.labels.dims}] differs from the data's [${ids.tensor.dims}]`);
  const arrays: ArraySpec[] = [];
  for (const [name, a] of r.data.arrays) arrays.push({ name, dtype: arrayDtype(a, name), shape: [rows, ...a.dims.slice(1)] });
  if (r.labels || r.nextTokenLabels) arrays.push({ name: 'labels', dtype: 'int64', shape: [rows, seq] });
  if (r.topK === undefined) arrays.push({ name: 'probs', dtype: 'float32', shape: [rows, seq, vocab] });
  else {
    arrays.push({ name: 'topk_values', dtype: 'float32', shape: [rows, seq, r.topK] });
    arrays.push({ name: 'topk_indices', dtype: r.indexType, shape: [rows, seq, r.topK] });
  }
  for (const [block, value] of r.hidden) {
    const h = first[value]!;
    arrays.push({ name: `hidden_${block}`, dtype: 'float32', shape: [rows, seq, h.dims.at(-1)!] });
  }
  return { arrays, vocab };
}

function arrayDtype(a: HostTensor, name: string): ArrayDtype {
  if (a.dtype === DType.INT64) return 'int64';
  if (a.dtype === DType.INT32) return 'int32';
  if (a.dtype === DType.FLOAT) return 'float32';
  throw new ConfigError(`data array '${name}' is ${dtypeName(a.dtype)}; soft labels store int64, int32 or float32 arrays`);
}

function appendBatch(
  w: ArrayFileWriter, r: SoftLabelRequest, out: Outputs, logitsName: string, vocab: number, start: number, count: number,
  ids: { tensor: HostTensor },
): void {
  const seq = ids.tensor.dims[1]!;
  for (const [name, a] of r.data.arrays) w.append(name, rowBytes(a, start, count));
  if (r.labels) w.append('labels', bytesOf((r.labels.data as BigInt64Array).subarray(start * seq, (start + count) * seq)));
  else if (r.nextTokenLabels) w.append('labels', bytesOf(nextTokens((ids.tensor.data as BigInt64Array).subarray(start * seq, (start + count) * seq), seq)));
  const probs = softmaxRows(out[logitsName]!.data as Float32Array, vocab, r.temperature);
  if (r.topK === undefined) w.append('probs', bytesOf(probs));
  else {
    const top = topKRows(probs, vocab, r.topK);
    w.append('topk_values', bytesOf(top.values));
    w.append('topk_indices', bytesOf(r.indexType === 'int32' ? top.indices : BigInt64Array.from(top.indices, (v) => BigInt(v))));
  }
  for (const [block, value] of r.hidden) w.append(`hidden_${block}`, bytesOf(out[value]!.data as Float32Array));
}

/** labels[t] = ids[t + 1]; −100 at the last position (nothing to predict). */
function nextTokens(ids: BigInt64Array, seq: number): BigInt64Array {
  const out = new BigInt64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = (i + 1) % seq === 0 ? -100n : ids[i + 1]!;
  return out;
}

/** The raw bytes of rows [start, start + count) of a [rows, …] array. */
function rowBytes(a: HostTensor, start: number, count: number): Uint8Array {
  const typed = a.data as Float32Array | Int32Array | BigInt64Array;
  const per = (typed.byteLength / (a.dims[0] ?? 1));
  return new Uint8Array(typed.buffer, typed.byteOffset + start * per, count * per);
}

function bytesOf(a: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

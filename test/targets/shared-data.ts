/**
 * The three shared exporter models with their data, read once per process: the float model, a few
 * evaluation rows, calibration rows, feeds for output comparison, and the float reference quality.
 */
import { loadModel } from '../../src/io/load.js';
import type { Model } from '../../src/ir/model.js';
import { DType } from '../../src/ir/dtype.js';
import { readNpy } from '../../src/runtime/npy.js';
import { readDataset, type Dataset } from '../../src/data/dataset.js';
import type { EvalData } from '../../src/workflows/quantize.js';
import { evaluateQuality, type Quality } from '../../src/eval/evaluate.js';
import { SEMANTIC } from './harness.js';
import type { Feeds, HostTensor } from '../../src/runtime/tensors.js';
import { sharedFile } from '../helpers/shared.js';

export const SHARED_MODEL_NAMES = ['llama-tiny', 'gpt2-tiny', 'bert-tiny'] as const;
export type SharedModelName = (typeof SHARED_MODEL_NAMES)[number];

/** Evaluation rows (of 128 tokens) per quality figure; calibration rows for static int8. */
export const EVAL_ROWS = 4;
export const CALIBRATION_ROWS = 4;
/** Rows fed to both models when outputs are compared element by element. */
const COMPARE_ROWS = 2;

export interface SharedModel {
  readonly name: SharedModelName;
  readonly file: string;
  readonly model: Model;
  readonly evalData: EvalData;
  readonly calibration: Dataset;
  /** Evaluation rows as model inputs; an encoder gets a padding mask (the last 16 positions of row 2 off). */
  readonly feeds: Feeds;
  readonly reference: Quality;
}

const cache = new Map<SharedModelName, Promise<SharedModel>>();

export function sharedModel(name: SharedModelName): Promise<SharedModel> {
  let entry = cache.get(name);
  if (!entry) { entry = read(name); cache.set(name, entry); }
  return entry;
}

async function read(name: SharedModelName): Promise<SharedModel> {
  const file = sharedFile(`${name}.onnx`);
  const model = loadModel(file);
  const encoder = name === 'bert-tiny';
  const ids = readNpy(sharedFile(encoder ? 'mlm_eval_inputs.npy' : 'eval_ids.npy'));
  const labels = encoder ? readNpy(sharedFile('mlm_eval_labels.npy')) : undefined;
  const evalData: EvalData = { ids, labels, rows: EVAL_ROWS };
  const calibration = readDataset(sharedFile('calib_ids.npy'), model);
  return {
    name, file, model, evalData, feeds: feedsOf(model, ids),
    calibration: { ...calibration, rows: Math.min(calibration.rows, CALIBRATION_ROWS) },
    reference: await evaluateQuality(model, ids, labels, { ...SEMANTIC, limit: EVAL_ROWS }),
  };
}

function feedsOf(model: Model, ids: HostTensor): Feeds {
  const seq = ids.dims[1]!;
  const data = (ids.data as BigInt64Array).slice(0, COMPARE_ROWS * seq);
  const feeds: Record<string, HostTensor> = { input_ids: { dtype: DType.INT64, dims: [COMPARE_ROWS, seq], data } };
  if (model.graph.inputs.some((v) => v.name === 'attention_mask')) {
    const mask = new BigInt64Array(COMPARE_ROWS * seq).fill(1n);
    mask.fill(0n, COMPARE_ROWS * seq - 16);
    feeds.attention_mask = { dtype: DType.INT64, dims: [COMPARE_ROWS, seq], data: mask };
  }
  return feeds;
}

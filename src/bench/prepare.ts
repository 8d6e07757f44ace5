/** What is known about a model before it runs: files and sizes, parameters, interface, decoder or encoder. */
import fs from 'node:fs';
import { loadModel, sourceFilesOf } from '../io/load.js';
import type { Model } from '../ir/model.js';
import type { Session } from '../runtime/session.js';
import { countParameters } from '../analysis/parameters.js';
import { detectTransformer } from '../analysis/transformer.js';
import { describeIo, type ModelIo } from './model-io.js';
import type { ModelFacts, ModelKind, ModelRole } from './result.js';

export interface PreparedModel {
  readonly role: ModelRole;
  readonly file: string;
  readonly model: Model;
  readonly io: ModelIo;
  readonly kind: ModelKind;
  /** Facts that do not need a session. */
  readonly facts: Pick<ModelFacts, 'role' | 'path' | 'files' | 'bytes' | 'parameters' | 'kind' | 'kvCache' | 'inputs'>;
}

/** A prepared model with its open session and every fact measured so far. */
export interface OpenedModel extends PreparedModel {
  readonly session: Session;
  readonly facts: ModelFacts;
}

export function prepareModel(file: string, role: ModelRole): PreparedModel {
  const model = loadModel(file);
  const io = describeIo(model);
  const kind = kindOf(model, io);
  const files = (sourceFilesOf.get(model) ?? [file]).map((f) => ({ path: f, bytes: fs.statSync(f).size }));
  const p = countParameters(model);
  return {
    role, file, model, io, kind,
    facts: {
      role, path: file, files, bytes: files.reduce((n, f) => n + f.bytes, 0),
      parameters: { total: p.total, bytes: p.bytes, byDtype: p.byDtype },
      kind, kvCache: io.cache.length > 0, inputs: io.inputs.map((i) => i.name),
    },
  };
}

/** A key/value cache makes a decoder; otherwise the structure analysis decides (causal mask or not). */
function kindOf(model: Model, io: ModelIo): ModelKind {
  if (io.cache.length) return 'decoder';
  if (!io.logits) return 'unknown';
  try {
    return detectTransformer(model).architecture.kind;
  } catch {
    return 'unknown';
  }
}

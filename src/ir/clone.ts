/** Deep copy of a model: an independent graph that shares tensor bytes (copy-on-write via Tensor.setBytes). */
import type { Model } from './model.js';
import { modelFromProto } from './from-proto.js';
import { modelToProto, tensorOfProto } from './to-proto.js';

export function cloneModel(model: Model): Model {
  const proto = modelToProto(model);
  const copy = modelFromProto(proto, { baseDir: model.baseDir, linkedTensor: (tp) => tensorOfProto.get(tp) });
  return copy;
}

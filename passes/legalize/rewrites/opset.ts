/** Opset moves for rewrites: raise ai.onnx to what an emitted op needs (upgrade-opset raises the IR version with it). */
import type { Model } from '../../../src/ir/model.js';
import { upgradeOpset } from '../upgrade-opset.js';

export { raiseIrVersion } from '../upgrade-opset.js';

/** Raises the model to at least `version` (upgrade-opset rewrites old signatures); returns true if it moved. */
export function requireOpset(model: Model, version: number): boolean {
  const before = model.opsetVersion('') ?? 1;
  if (before >= version) return false;
  upgradeOpset(model, version);
  return true;
}

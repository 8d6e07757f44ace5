/** The real exporter models and data beside the project (../shared/models), when present. */
import fs from 'node:fs';
import path from 'node:path';
import { SHARED_MODELS } from './cli.js';

export const sharedModelsPresent = fs.existsSync(path.join(SHARED_MODELS, 'llama-tiny.onnx'));
/** Reason for node:test's `skip` option when the shared models are absent; false when present. */
export const skipWithoutShared: string | false = sharedModelsPresent ? false : `no shared models at ${SHARED_MODELS}`;

export function sharedFile(name: string): string {
  return path.join(SHARED_MODELS, name);
}

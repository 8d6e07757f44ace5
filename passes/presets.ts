/** Named ordered pipelines. A step is a pass name, optionally with options. */
import { fuseSteps } from './fusion/index.js';

export interface PresetStep {
  readonly pass: string;
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface Preset {
  readonly description: string;
  readonly steps: readonly PresetStep[];
}

const cleanup: Preset = {
  description: 'lossless graph cleanup: identities, dead nodes, unused and duplicate initializers, order',
  steps: [
    { pass: 'remove-identity' },
    { pass: 'remove-dead-nodes' },
    { pass: 'remove-unused-initializers' },
    { pass: 'dedupe-initializers' },
    { pass: 'sort-topologically' },
  ],
};

export const presets: Readonly<Record<string, Preset>> = {
  cleanup,
  default: { description: 'the safe default pipeline (currently: cleanup)', steps: cleanup.steps },
  fuse: { description: 'transformer fusions for onnxruntime: shape folding, LayerNorm/RMSNorm/GELU, attention (MHA/GQA + RoPE), skip norms, then cleanup', steps: fuseSteps },
};

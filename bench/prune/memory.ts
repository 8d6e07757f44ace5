/**
 * Memory and throughput of magnitude pruning on a generated decoder with external data, in a child process
 * so that the peak resident memory is the pruning's own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnReport } from '../lib/run-child.js';
import { fileURLToPath } from 'node:url';
import { shapeFor, writeSyntheticModel, type SyntheticShape } from '../lib/synthetic-model.js';
import type { PruneChildReport } from './child.js';

export interface MemorySettings {
  readonly params: number;
  readonly hidden: number;
  readonly vocab: number;
  readonly sparsity: number;
  /** Folder for the temporary files (removed at the end). */
  readonly dir: string;
}

export interface MemoryResult extends PruneChildReport {
  readonly shape: SyntheticShape;
  readonly inputBytes: number;
  /** Input bytes over load + pass + save time. */
  readonly mbPerS: number;
  /** Peak resident memory over the model's size. */
  readonly peakRatio: number;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.js');

function runChild(sparsity: number, input: string, output: string): PruneChildReport {
  return spawnReport<PruneChildReport>(CHILD, [String(sparsity), input, output], 'magnitude pruning');
}

/** The figures of one run against the input's size. */
export function memoryRatios(r: PruneChildReport, inputBytes: number): { mbPerS: number; peakRatio: number } {
  const seconds = (r.loadMs + r.passMs + r.saveMs) / 1000;
  return { mbPerS: inputBytes / 1e6 / seconds, peakRatio: r.peakRss / inputBytes };
}

export function measurePruneMemory(s: MemorySettings, say: (line: string) => void): MemoryResult {
  const root = fs.mkdtempSync(path.join(s.dir, 'llmopt-bench-prune-'));
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
  const onInterrupt = () => { cleanup(); process.exit(130); };
  process.once('SIGINT', onInterrupt);
  try {
    const inputDir = path.join(root, 'input');
    const outputDir = path.join(root, 'output');
    fs.mkdirSync(inputDir);
    fs.mkdirSync(outputDir);
    say(`generating a decoder of about ${(s.params / 1e9).toFixed(2)} B parameters ...`);
    const model = writeSyntheticModel(inputDir, shapeFor(s.params * 4, s.hidden, s.vocab));
    say(`  ${(model.bytes / 1e9).toFixed(2)} GB, ${model.shape.layers} layers, hidden ${s.hidden}; magnitude pruning at ${s.sparsity} ...`);
    const r = runChild(s.sparsity, model.file, path.join(outputDir, 'model.onnx'));
    return { ...r, shape: model.shape, inputBytes: model.bytes, ...memoryRatios(r, model.bytes) };
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    cleanup();
  }
}

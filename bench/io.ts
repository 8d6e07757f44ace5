/**
 * I/O benchmark: generates a decoder-shaped model with external data (default 1.2 GB) in a temporary
 * folder, then measures loading, saving in several layouts and creating an onnxruntime session, each in a
 * fresh child process so that its peak resident memory (VmHWM) is its own. Removes its files at the end.
 *
 *   npm run bench:io -- --gb 1.2 [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFlags, type IoBenchFlags } from './lib/flags.js';
import { runChild } from './lib/run-child.js';
import { shapeFor, writeSyntheticModel, type SyntheticModel } from './lib/synthetic-model.js';
import type { ChildReport } from './lib/child.js';

/** A single .onnx file must stay under protobuf's 2 GiB: the inline rows are skipped above this. */
const INLINE_MAX = 2 ** 31 - (64 << 20);

interface Row extends ChildReport {
  readonly mbPerS: number | null;
  /** Peak resident memory over the model's size. */
  readonly peakRatio: number;
  /** Peak resident memory above the baseline process, over the model's size. */
  readonly extraRatio: number;
}

function main(): void {
  const flags = parseFlags(process.argv.slice(2));
  const root = fs.mkdtempSync(path.join(flags.dir, 'llmopt-bench-io-'));
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { cleanup(); process.exit(130); });
  try {
    run(flags, root);
  } finally {
    cleanup();
  }
}

function run({ gb, hidden, vocab, json, repeat }: IoBenchFlags, root: string): void {
  const say = (line: string) => { if (!json) process.stderr.write(`${line}\n`); };
  const inputDir = path.join(root, 'input');
  fs.mkdirSync(inputDir);
  say(`generating a ${gb} GB model in ${root} ...`);
  const t0 = performance.now();
  const model = writeSyntheticModel(inputDir, shapeFor(gb * 1e9, hidden, vocab));
  const generateMs = performance.now() - t0;
  say(`  ${(model.bytes / 1e9).toFixed(2)} GB, ${model.tensors} tensors, ${model.shape.layers} layers, ${(generateMs / 1000).toFixed(1)} s`);

  const rows: Row[] = [];
  let baseline = 0;
  /**
   * Runs an operation `repeat` times (the disk of a virtual machine is often slow on the first large
   * write after another one): fastest time, highest peak memory.
   */
  const measure = (operation: string, input = model.file, output = '', after = () => {}) => {
    say(`  ${operation} ...`);
    let r: ChildReport | undefined;
    for (let i = 0; i < repeat; i++) {
      const next = runChild(operation, input, output);
      r = !r ? next : { ...(next.ms < r.ms ? next : r), peakRss: Math.max(r.peakRss, next.peakRss) };
      after();
    }
    if (!r) throw new Error('nothing was measured');
    if (operation === 'baseline') baseline = r.peakRss;
    rows.push({
      ...r,
      mbPerS: r.bytes > 0 && !operation.startsWith('onnxruntime') ? r.bytes / 1e6 / (r.ms / 1000) : null,
      peakRatio: r.peakRss / model.bytes,
      extraRatio: Math.max(0, r.peakRss - baseline) / model.bytes,
    });
  };
  const empty = (dir: string) => { for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { force: true }); };
  /** Measures a save into a fresh folder, emptied after each run unless the output is needed next. */
  const save = (operation: string, name: string, keep = false) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    const out = path.join(dir, 'model.onnx');
    measure(operation, model.file, out, () => { if (!keep) empty(dir); });
    return out;
  };

  measure('baseline');
  measure('load (stream)');
  measure('load (whole tensors)');
  save('save external, one file', 'external');
  save('save external, 256 MB files', 'split');
  if (model.bytes < INLINE_MAX) {
    const inline = save('save inline (one .onnx)', 'inline', true);
    measure('load inline + touch', inline);
    const resaved = path.join(root, 'resaved');
    fs.mkdirSync(resaved);
    measure('load inline + save inline', inline, path.join(resaved, 'model.onnx'), () => empty(resaved));
    empty(path.dirname(inline));
  }
  measure('onnxruntime session from path');
  measure('onnxruntime session, prepacking off');
  report(model, generateMs, rows, json);
}

function report(model: SyntheticModel, generateMs: number, rows: readonly Row[], json: boolean): void {
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memoryBytes: os.totalmem(), node: process.version };
  if (json) {
    process.stdout.write(`${JSON.stringify({ machine, model: { ...model, generateMs }, results: rows }, null, 2)}\n`);
    return;
  }
  const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const table: string[][] = [['operation', 'bytes', 'time', 'MB/s', 'peak RSS', 'peak/model', '(peak-base)/model']];
  for (const r of rows) {
    table.push([
      r.operation, r.bytes ? gb(r.bytes) : '-', `${(r.ms / 1000).toFixed(2)} s`, r.mbPerS === null ? '-' : r.mbPerS.toFixed(0),
      mb(r.peakRss), r.peakRatio.toFixed(3), r.operation === 'baseline' ? '-' : r.extraRatio.toFixed(3),
    ]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const out = [
    `model: ${gb(model.bytes)} (${model.tensors} float32 tensors, ${model.shape.layers} layers, hidden ${model.shape.hidden}, vocab ${model.shape.vocab}), generated in ${(generateMs / 1000).toFixed(1)} s`,
    `machine: ${machine.cpus} cores (${machine.cpuModel}), ${gb(machine.memoryBytes)} memory, Node ${machine.node}; page cache warm`,
    '',
    line(table[0]!),
    ...table.slice(1).map(line),
    '',
    ...rows.filter((r) => Object.keys(r.phases).length + Object.keys(r.memory).length > 0).map((r) => `${r.operation}: ${[
      ...Object.entries(r.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`),
      ...Object.entries(r.memory).map(([k, v]) => `${k} ${mb(v)} (${(v / model.bytes).toFixed(3)} of the model)`),
    ].join(', ')}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench:io: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

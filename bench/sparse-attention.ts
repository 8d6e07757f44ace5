/**
 * What local attention costs in quality, and what a banded kernel would save: for each window (with and
 * without attention sinks) the shared tiny models get `sparse-attention` on their unfused graphs, then
 * perplexity (decoders, eval_ids.npy) or masked-LM accuracy (BERT, symmetric windows) on the evaluation data,
 * and the share of attention score/value products and of the whole forward pass the band leaves out.
 *
 *   node dist/bench/sparse-attention.js [--models llama,gpt2,bert] [--windows 8,16,32,64] [--sinks 4] [--blocks 16,32] [--rows 32] [--json]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/io/load.js';
import { cloneModel } from '../src/ir/clone.js';
import type { Model } from '../src/ir/model.js';
import { quietContext } from '../src/pipeline/pass.js';
import { readNpy } from '../src/runtime/npy.js';
import type { HostTensor } from '../src/runtime/tensors.js';
import { evaluateQuality, type Quality } from '../src/eval/evaluate.js';
import sparseAttention from '../passes/sparse/sparse-attention.js';
import { attendedPairs, type Locality } from '../passes/sparse/band.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.resolve(here, '../../../shared/models');

interface Flags { models: string[]; windows: number[]; sinks: number; blocks: number[]; rows: number; json: boolean }

function parse(argv: readonly string[]): Flags {
  const flags: Flags = { models: ['llama', 'gpt2', 'bert'], windows: [8, 16, 32, 64], sinks: 4, blocks: [16, 32], rows: 32, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--models') flags.models = argv[++i]!.split(',');
    else if (a === '--windows') flags.windows = argv[++i]!.split(',').map(Number);
    else if (a === '--sinks') flags.sinks = Number(argv[++i]);
    else if (a === '--blocks') flags.blocks = argv[++i]!.split(',').map(Number);
    else if (a === '--rows') flags.rows = Number(argv[++i]);
    else if (a === '--json') flags.json = true;
    else throw new Error(`unknown flag '${a}'`);
  }
  return flags;
}

function firstRows(t: HostTensor, rows: number): HostTensor {
  const n = Math.min(rows, t.dims[0]!), seq = t.dims[1]!;
  return { dtype: t.dtype, dims: [n, seq], data: (t.data as BigInt64Array).subarray(0, n * seq) };
}

/** Multiply-adds per token outside attention (2 FLOPs per MatMul/Gemm weight) and the attention width. */
function modelCosts(model: Model): { linearPerToken: number; width: number } {
  const weights = model.graph.nodes.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm')
    .map((n) => n.inputs[1]?.initializer).filter((w) => !!w && w.dims.length === 2);
  const linearPerToken = weights.reduce((s, w) => s + 2 * w!.dims[0]! * w!.dims[1]!, 0);
  return { linearPerToken, width: weights[0]?.dims[0] ?? 0 };
}

interface Row { model: string; setting: string; quality: string; value: number; change: number; attentionSaved: number; forwardSaved: number }

async function benchModel(name: string, flags: Flags): Promise<Row[]> {
  const original = loadModel(path.join(MODELS, `${name}-tiny.onnx`));
  const encoder = name === 'bert';
  const ids = firstRows(readNpy(path.join(MODELS, encoder ? 'mlm_eval_inputs.npy' : 'eval_ids.npy')), flags.rows);
  const labels = encoder ? firstRows(readNpy(path.join(MODELS, 'mlm_eval_labels.npy')), flags.rows) : undefined;
  const seq = ids.dims[1]!;
  const value = (q: Quality): number => (q.kind === 'perplexity' ? q.perplexity : q.accuracy);
  const options = { threads: 2 };
  const base = value(await evaluateQuality(original, ids, labels, options));
  const { linearPerToken, width } = modelCosts(original);
  const rows: Row[] = [{ model: name, setting: 'dense', quality: encoder ? 'MLM accuracy' : 'perplexity', value: base, change: 0, attentionSaved: 0, forwardSaved: 0 }];
  const sinks = [0, flags.sinks].filter((s, i) => i === 0 || s > 0);
  const settings: Locality[] = [
    ...flags.windows.flatMap((window) => sinks.map((s) => ({ mode: 'sliding' as const, window, blockSize: 1, sinks: s, symmetric: encoder }))),
    ...flags.blocks.map((blockSize) => ({ mode: 'block' as const, window: 1, blockSize, sinks: 0, symmetric: encoder })),
  ];
  for (const l of settings) {
    const model = cloneModel(original);
    const { symmetric, ...rest } = l;
    const result = await sparseAttention.run(model, sparseAttention.options.parse({ ...rest, bidirectional: symmetric }), quietContext());
    const layers = result.stats.blocksChanged ?? 0;
    const q = value(await evaluateQuality(model, ids, labels, options));
    const [dense, banded] = attendedPairs(l, seq);
    const attentionPerPair = 4 * width * layers;
    const forward = linearPerToken * seq + attentionPerPair * dense;
    rows.push({
      model: name, setting: `${l.mode === 'sliding' ? `window ${l.window}` : `blocks of ${l.blockSize}`}${l.sinks ? ` + ${l.sinks} sinks` : ''}`, quality: rows[0]!.quality, value: q,
      change: q / base - 1, attentionSaved: 1 - banded / dense, forwardSaved: (attentionPerPair * (dense - banded)) / forward,
    });
  }
  return rows;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

async function main(): Promise<void> {
  const flags = parse(process.argv.slice(2));
  const rows: Row[] = [];
  for (const m of flags.models) rows.push(...await benchModel(m, flags));
  if (flags.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log('| model | attention | quality | vs dense | attention products skipped | forward FLOPs skipped |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const change = r.setting === 'dense' ? '–' : `${r.change >= 0 ? '+' : ''}${pct(r.change)}`;
    console.log(`| ${r.model}-tiny | ${r.setting} | ${r.quality} ${r.value.toFixed(4)} | ${change} | ${pct(r.attentionSaved)} | ${pct(r.forwardSaved)} |`);
  }
}

await main();

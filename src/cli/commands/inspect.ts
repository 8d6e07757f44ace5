/** `llmopt inspect`: what a model is made of: files, IR, interface, operators, parameters, transformer blocks. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadWithProgress, uiFor } from '../common.js';
import { tick } from '../ui.js';
import { summarizeModel, formatShape, type ModelSummary, type IoSummary } from '../../analysis/summary.js';
import { detectTransformer, noTransformer } from '../../analysis/transformer.js';
import { describeTransformer, type AttentionJson, type TransformerJson } from '../../analysis/describe.js';
import { formatBytes, formatCount, type Report, type Section } from '../../report/report.js';
import type { Model } from '../../ir/model.js';

interface InspectFlags {
  readonly linears?: boolean;
}

interface FileEntry {
  readonly path: string;
  readonly kind: 'model' | 'external-data';
  readonly bytes: number | null;
  readonly tensors: number | null;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show what a model is made of: IR, opsets, inputs/outputs, operators, parameters, transformer blocks')
    .argument('<model>', '.onnx file (external data is read from its folder)')
    .option('--linears', 'also list every linear layer of every block (role, shape, weight format)')
    .addHelpText('after', `
Examples:
  $ llmopt inspect model.onnx
  $ llmopt inspect model.onnx --linears
  $ llmopt inspect model.onnx --json | jq .transformer.blockCount`)
    .action(async (modelPath: string, flags: InspectFlags, cmd: Command) => {
      const ui = uiFor(cmd);
      const model = loadWithProgress(ui, modelPath);
      const task = ui.task('analysing the graph');
      await tick();
      const summary = summarizeModel(model);
      const { transformer, problem } = analyseTransformer(model);
      task.succeed(`analysed ${summary.nodes.total} nodes`);
      const report = inspectReport(modelPath, model, summary, transformer, flags);
      ui.report(problem ? { ...report, warnings: [problem] } : report);
    });
}

/** The structure search is heuristic: a graph it cannot follow must not hide the rest of the report. */
function analyseTransformer(model: Model): { transformer: TransformerJson; problem?: string } {
  try {
    return { transformer: describeTransformer(detectTransformer(model)) };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { transformer: describeTransformer(noTransformer(reason)), problem: `transformer structure not analysed: ${reason}` };
  }
}

function inspectReport(file: string, model: Model, s: ModelSummary, t: TransformerJson, flags: InspectFlags): Report {
  const files = filesOf(file, model, s);
  const warnings = t.blockCount ? [] : ['no transformer blocks found (no attention core on a residual stream)'];
  const sections: Section[] = [
    modelSection(files, s),
    ...(files.length > 1 ? [filesSection(files)] : []),
    ioSection('Inputs', s.inputs),
    ioSection('Outputs', s.outputs),
    parameterSection(s),
    { title: `Operators (${s.nodes.total} nodes)`, table: { columns: ['op', 'count'], rows: s.ops.map((o) => [o.op, o.count]) } },
    ...(t.blockCount ? [transformerSection(t), blocksSection(t)] : []),
    ...(flags.linears ? linearSections(t) : []),
  ];
  const data = {
    file, files, totalBytes: files.reduce((n, f) => n + (f.bytes ?? 0), 0),
    irVersion: s.irVersion, producer: s.producer, opsets: s.opsets, functions: s.functions,
    inputs: s.inputs, outputs: s.outputs, nodes: s.nodes, ops: s.ops, parameters: s.parameters, transformer: t,
  };
  return { title: `llmopt inspect: ${file}`, sections, warnings, data };
}

function filesOf(file: string, model: Model, s: ModelSummary): FileEntry[] {
  const size = (p: string) => { try { return fs.statSync(p).size; } catch { return null; } };
  const base = model.baseDir ?? path.dirname(path.resolve(file));
  return [
    { path: file, kind: 'model', bytes: size(file), tensors: null },
    ...s.externalData.map((e) => ({ path: path.join(path.dirname(file), e.location), kind: 'external-data' as const, bytes: size(path.resolve(base, e.location)), tensors: e.tensors })),
  ];
}

/** Aligned `key  value` lines. */
function pairs(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

function modelSection(files: readonly FileEntry[], s: ModelSummary): Section {
  const total = files.reduce((n, f) => n + (f.bytes ?? 0), 0);
  const opsets = Object.entries(s.opsets).map(([d, v]) => `${d} ${v}`).join(', ');
  const sub = s.nodes.inSubgraphs ? ` (${s.nodes.inSubgraphs} in ${s.nodes.subgraphs} subgraphs)` : ' (none in subgraphs)';
  return {
    title: 'Model',
    lines: pairs([
      ['file', `${files[0]!.path} (${formatBytes(files[0]!.bytes ?? 0)}${files.length > 1 ? `; ${formatBytes(total)} with external data` : ''})`],
      ['IR version', String(s.irVersion)],
      ['producer', `${s.producer.name || '–'} ${s.producer.version}`.trim()],
      ['opsets', opsets || '–'],
      ['functions', String(s.functions)],
      ['nodes', `${s.nodes.total}${sub}`],
    ]),
  };
}

function filesSection(files: readonly FileEntry[]): Section {
  return {
    title: 'Files',
    table: { columns: ['file', 'kind', 'tensors', 'size'], rows: files.map((f) => [f.path, f.kind, f.tensors, f.bytes === null ? 'missing' : formatBytes(f.bytes)]) },
  };
}

function ioSection(title: string, list: readonly IoSummary[]): Section {
  return { title, table: { columns: ['name', 'dtype', 'shape'], rows: list.map((v) => [v.name, v.dtype, formatShape(v.shape)]) } };
}

function parameterSection(s: ModelSummary): Section {
  const p = s.parameters;
  const rows = p.byDtype.map((r) => [r.dtype, r.tensors, formatCount(r.elements), formatBytes(r.bytes)]);
  const meta = p.quantizationMetadata;
  if (meta.tensors) rows.push(['scales/zero points', meta.tensors, `(${formatCount(meta.elements)})`, formatBytes(meta.bytes)]);
  rows.push(['total', p.byDtype.reduce((n, r) => n + r.tensors, 0) + meta.tensors, formatCount(p.total), formatBytes(p.bytes)]);
  const lines = p.quantized.tensors
    ? [`${formatCount(p.quantized.elements)} of them quantized in ${p.quantized.tensors} tensors (${p.quantized.formats.join('; ')}), counted by logical weights`]
    : [];
  if (p.sparseInitializers) lines.push(`${p.sparseInitializers} sparse initializers not counted`);
  return { title: 'Parameters', lines, table: { columns: ['dtype', 'tensors', 'parameters', 'bytes'], rows, align: ['left', 'right', 'right', 'right'] } };
}

function attentionText(a: AttentionJson | null): string {
  if (!a) return '–';
  const heads = a.heads ? `${a.heads} heads${a.headDim ? ` × ${a.headDim}` : ''}` : 'heads unknown';
  const gqa = a.groupedQuery ? `grouped-query (${a.kvHeads ?? '?'} key/value heads)` : a.groupedQuery === false ? 'no grouped-query' : '';
  return [`${a.form} (${a.op})`, heads, gqa, a.rope ? 'RoPE' : 'no RoPE', a.kvCache ? 'key/value cache' : ''].filter(Boolean).join(', ');
}

function transformerSection(t: TransformerJson): Section {
  const a = t.architecture;
  const norm = t.norm ? `${t.norm.kind}, ${t.norm.form} (${t.norm.op})` : '–';
  const head = t.lmHead ? `${t.lmHead.op} ${t.lmHead.inFeatures ?? '?'} → ${t.lmHead.outFeatures ?? '?'}, ${t.lmHead.format}${t.lmHead.tied ? ', tied to the token embedding' : ''}` : '–';
  return {
    title: 'Transformer',
    lines: pairs([
      ['architecture', `${a.kind}, ${a.family} (${a.evidence.join(', ')})`],
      ['blocks', `${t.blockCount}, ${t.layout}${t.uniform ? '' : ', not all alike'} (found from ${t.method === 'residual-stream' ? 'the residual stream' : 'attention cores'})`],
      ['hidden size', String(t.hiddenSize ?? '?')],
      ['attention', attentionText(t.attention)],
      ['normalization', `${norm}${t.embeddingNorm ? '; after embeddings' : ''}${t.finalNorm ? '; final norm' : ''}`],
      ['MLP', t.mlp ? `${t.mlp.kind} (${t.mlp.activationOps || 'no activation found'}), width ${t.mlp.width ?? '?'}` : '–'],
      ['embeddings', t.embeddings.map((e) => `${e.role} ${e.rows} × ${e.cols} (${e.op})`).join(', ') || '–'],
      ['LM head', head],
    ]),
  };
}

function blocksSection(t: TransformerJson): Section {
  const rows = t.blocks.map((b) => {
    const a = b.attention[0];
    return [b.index, b.sublayers.join(', '), a?.form ?? '–', a?.heads ?? null, a?.kvHeads ?? null, a?.headDim ?? null, a ? a.rope : null,
      b.norms.map((n) => n.kind).join(', ') || '–', b.mlp?.kind ?? '–', b.linears.length, b.nodes];
  });
  return { title: 'Blocks', table: { columns: ['block', 'sublayers', 'attention', 'heads', 'kv heads', 'head dim', 'RoPE', 'norms', 'MLP', 'linears', 'nodes'], rows } };
}

function linearSections(t: TransformerJson): Section[] {
  return t.blocks.map((b) => ({
    title: `Linear layers of block ${b.index}`,
    table: { columns: ['node', 'role', 'op', 'in', 'out', 'weight'], rows: b.linears.map((l) => [l.node, l.role, l.op, l.inFeatures, l.outFeatures, l.format]) },
  }));
}

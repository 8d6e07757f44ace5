/** `llmopt optimize`: run a pipeline of passes (by list, preset or config file) and write the result. */
import type { Command } from 'commander';
import { checkOutputPath, loadWithProgress, parseNonNegativeInt, saveWithProgress, totalBytes, uiFor } from '../common.js';
import { tick, type Ui } from '../ui.js';
import { loadConfig } from '../../pipeline/config.js';
import { resolveSteps, type StepSpec } from '../../pipeline/registry.js';
import { runSteps, countNodes, type StepReport } from '../../pipeline/manager.js';
import { TARGETS, type PassContext, type Target } from '../../pipeline/pass.js';
import { compareWithOriginal, type OutputCheck } from '../../runtime/check.js';
import { formatBytes, formatMs, type Report, type Section } from '../../report/report.js';
import { ConfigError, GateError } from '../../errors.js';
import { loadModel } from '../../io/load.js';
import { finishOutput } from './check.js';

interface OptimizeFlags {
  readonly output?: string;
  readonly passes?: string;
  readonly preset?: string;
  readonly config?: string;
  readonly options?: string;
  readonly target?: string;
  readonly verify: boolean;
  readonly explain?: boolean;
  readonly compare?: boolean;
  readonly tolerance: number;
  readonly externalData?: boolean;
  readonly inline?: boolean;
  readonly threshold: number;
  readonly strictTarget?: boolean;
}

export function registerOptimize(program: Command): void {
  program
    .command('optimize')
    .description('run graph passes on a model and write the optimized model')
    .argument('[model]', 'input .onnx file (or the config file\'s "model")')
    .option('-o, --output <file>', 'output .onnx file (or the config file\'s "output")')
    .option('--passes <list>', 'comma-separated pass names, run in order (see `llmopt passes`)')
    .option('--preset <name>', 'a named pipeline (see `llmopt passes`)')
    .option('--config <file>', 'llmopt.config.json giving model, output, target and steps')
    .option('--options <json>', 'pass options as JSON: {"pass-name": {"option": value}}')
    .option('--target <ep>', `execution provider the output is for: ${TARGETS.join(', ')}`)
    .option('--no-verify', 'skip the IR invariant check after each pass')
    .option('--explain', 'print what each pass did and why it skipped candidates')
    .option('--compare', 'run the input and the output in onnxruntime on random inputs and report the difference')
    .option('--tolerance <x>', 'with --compare: fail when the max abs difference exceeds this', Number, 1e-4)
    .option('--external-data', 'store large tensors of the output in a data file next to it')
    .option('--threshold <bytes>', 'smallest tensor moved to external data', parseNonNegativeInt('--threshold'), 1024)
    .option('--inline', 'store every tensor inside the output .onnx file')
    .option('--strict-target', 'fail (exit 3) when `llmopt check` finds errors for --target in the output')
    .addHelpText('after', `
Exactly one of --passes, --preset or --config chooses the steps.

Examples:
  $ llmopt optimize model.onnx -o clean.onnx --preset cleanup
  $ llmopt optimize model.onnx -o out.onnx --passes remove-identity,remove-dead-nodes --compare
  $ llmopt optimize --config llmopt.config.json`)
    .action(async (model: string | undefined, flags: OptimizeFlags, cmd: Command) => {
      const ui = uiFor(cmd);
      const job = resolveJob(model, flags);
      checkOutputPath(job.model, job.output);
      const ir = loadWithProgress(ui, job.model);
      const nodesBefore = countNodes(ir);
      const explanations: string[] = [];
      const reports = await runWithProgress(ui, ir, job, flags, explanations);
      const check = flags.compare ? await compareWithOriginal(loadModel(job.model), ir, { seed: job.seed }) : undefined;
      const saved = saveWithProgress(ui, ir, job.output, {
        externalData: flags.externalData ? 'external' : flags.inline ? 'inline' : job.externalData,
        threshold: flags.threshold,
      });
      ui.report(buildReport(job, reports, nodesBefore, countNodes(ir), totalBytes(saved), explanations, check));
      finishOutput(ui, { model: ir, output: job.output, target: job.target, steps: reports.map((r) => ({ pass: r.pass, modified: r.modified, stats: { ...r.stats } })), check: true, strict: flags.strictTarget });
      if (check && check.maxAbs > flags.tolerance) {
        throw new GateError(`outputs differ by ${check.maxAbs.toExponential(2)} (> --tolerance ${flags.tolerance})`);
      }
    });
}

interface Job {
  readonly model: string;
  readonly output: string;
  readonly steps: readonly StepSpec[];
  readonly target: Target;
  readonly verify: boolean;
  readonly seed: number;
  readonly externalData: 'keep' | 'external' | 'inline';
}

function resolveJob(model: string | undefined, flags: OptimizeFlags): Job {
  const chosen = [flags.passes, flags.preset, flags.config].filter((x) => x !== undefined).length;
  if (chosen !== 1) throw new ConfigError('choose the steps with exactly one of --passes, --preset or --config');
  const config = flags.config ? loadConfig(flags.config) : undefined;
  const steps: StepSpec[] = config ? [...config.steps] : flags.preset ? [`preset:${flags.preset}`] : splitList(flags.passes!);
  const input = model ?? config?.model;
  const output = flags.output ?? config?.output;
  if (!input) throw new ConfigError('no input model: give MODEL or a config file with "model"');
  if (!output) throw new ConfigError('no output: give -o FILE or a config file with "output"');
  const target = (flags.target ?? config?.target ?? 'cpu') as Target;
  if (!TARGETS.includes(target)) throw new ConfigError(`--target must be one of ${TARGETS.join(', ')}, got '${target}'`);
  return {
    model: input, output, target,
    steps: applyOptionOverrides(steps, flags.options),
    verify: flags.verify && (config?.verify ?? true),
    seed: config?.seed ?? 0,
    externalData: config?.externalData ?? 'keep',
  };
}

function splitList(list: string): string[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw new ConfigError('--passes needs at least one pass name');
  return names;
}

function applyOptionOverrides(steps: StepSpec[], json: string | undefined): StepSpec[] {
  if (!json) return steps;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`--options is not valid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('--options must be a JSON object keyed by pass name');
  const byPass = parsed as Record<string, Record<string, unknown>>;
  const expanded = resolveSteps(steps).map((s) => s.pass.name);
  for (const name of Object.keys(byPass)) {
    if (!expanded.includes(name)) throw new ConfigError(`--options names '${name}', which is not among the steps`);
  }
  return expanded.map((name, i) => {
    const original = steps[i];
    const base = original && typeof original === 'object' && original.pass === name ? original.options ?? {} : {};
    return byPass[name] ? { pass: name, options: { ...base, ...byPass[name] } } : { pass: name, options: base };
  });
}

async function runWithProgress(ui: Ui, model: Parameters<typeof runSteps>[0], job: Job, flags: OptimizeFlags, explanations: string[]): Promise<StepReport[]> {
  const resolved = resolveSteps(job.steps);
  const task = ui.task('running passes');
  const ctx: PassContext = {
    target: job.target,
    seed: job.seed,
    verify: job.verify,
    progress: (m) => task.update(m),
    explain: (pass, m) => { if (flags.explain) explanations.push(`${pass}: ${m}`); },
    warn: (m) => ui.warn(m),
  };
  try {
    await tick();
    const reports = await runSteps(model, resolved, ctx);
    task.succeed(`ran ${resolved.length} pass${resolved.length === 1 ? '' : 'es'}`);
    return reports;
  } catch (err) {
    task.fail('a pass failed');
    throw err;
  }
}

function buildReport(job: Job, steps: StepReport[], nodesBefore: number, nodesAfter: number, bytes: number, explanations: string[], check: OutputCheck | undefined): Report {
  const sections: Section[] = [{
    title: 'Passes',
    table: {
      columns: ['pass', 'changed', 'nodes', 'details', 'time'],
      rows: steps.map((s) => [s.pass, s.modified, `${s.nodesBefore} -> ${s.nodesAfter}`, formatStats(s.stats), formatMs(s.ms)]),
    },
  }, {
    title: 'Result',
    lines: [
      `nodes: ${nodesBefore} -> ${nodesAfter}`,
      `written: ${job.output} (${formatBytes(bytes)})`,
      ...(check ? [`outputs vs input model: max abs diff ${check.maxAbs.toExponential(2)}, cosine ${check.cosine.toFixed(6)}`] : []),
    ],
  }];
  if (explanations.length) sections.push({ title: 'Explanations', lines: explanations });
  return {
    title: `llmopt optimize: ${job.model} -> ${job.output} (target ${job.target})`,
    sections,
    warnings: [],
    data: {
      input: job.model, output: job.output, target: job.target, nodesBefore, nodesAfter, outputBytes: bytes,
      steps: steps.map((s) => ({ pass: s.pass, modified: s.modified, stats: s.stats, ms: s.ms, nodesBefore: s.nodesBefore, nodesAfter: s.nodesAfter })),
      ...(check ? { check } : {}),
      ...(explanations.length ? { explanations } : {}),
    },
  };
}

function formatStats(stats: Readonly<Record<string, number>>): string {
  return Object.entries(stats).filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).join(', ') || '–';
}

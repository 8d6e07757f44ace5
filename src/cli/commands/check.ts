/**
 * `llmopt check MODEL --target T`: what would fail, fall back or run inexactly on an execution provider,
 * and which pass fixes it. Exit 1 when any finding is an error. Also the end of `optimize` and `quantize`:
 * the sidecar next to the output, and (optimize) the target's findings as warnings.
 */
import type { Command } from 'commander';
import { loadWithProgress, uiFor } from '../common.js';
import { tick, type Ui } from '../ui.js';
import { TARGETS, type Target } from '../../pipeline/pass.js';
import { profileFor } from '../../targets/index.js';
import { checkModel, countFindings, groupFindings } from '../../targets/check.js';
import type { Finding } from '../../targets/types.js';
import type { Model } from '../../ir/model.js';
import type { Report } from '../../report/report.js';
import { writeSidecar, type SidecarStep } from '../../sidecar.js';
import { ConfigError, GateError, LlmoptError } from '../../errors.js';
import { VERSION } from '../version.js';

/** Error findings exist: the model is not ready for the target (exit 1). */
export class TargetCheckError extends LlmoptError {}

interface CheckFlags {
  readonly target?: string;
  readonly nodes?: boolean;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('list what would fail, fall back or run inexactly on an execution provider, and the pass that fixes it')
    .argument('<model>', '.onnx file')
    .option('--target <ep>', `execution provider: ${TARGETS.join(', ')}`, 'cpu')
    .option('--nodes', 'one row per node instead of one per problem')
    .addHelpText('after', `
Exit code 1 when any finding is an error (the node fails or falls back to another provider), 0 otherwise.

Examples:
  $ llmopt check model.onnx --target tensorrt
  $ llmopt optimize model.onnx -o model.trt.onnx --passes legalize-tensorrt --target tensorrt
  $ llmopt check model.onnx --target cuda --json | jq '.findings[] | select(.severity == "error")'`)
    .action(async (modelPath: string, flags: CheckFlags, cmd: Command) => {
      const ui = uiFor(cmd);
      const target = parseTarget(flags.target);
      const model = loadWithProgress(ui, modelPath);
      await tick();
      const findings = checkModel(model, target);
      ui.report(checkReport(modelPath, target, findings, flags.nodes ?? false));
      const { errors } = countFindings(findings);
      if (errors > 0) throw new TargetCheckError(`${errors} error finding${errors === 1 ? '' : 's'} for target ${target}`);
    });
}

function parseTarget(raw: string | undefined): Target {
  const target = (raw ?? 'cpu') as Target;
  if (!TARGETS.includes(target)) throw new ConfigError(`--target must be one of ${TARGETS.join(', ')}, got '${raw}'`);
  return target;
}

/** The first node of a group and how many more: node names of exported models are long. */
const listNodes = (nodes: readonly string[]) => (nodes.length === 0 ? '(model)' : nodes.length === 1 ? nodes[0]! : `${nodes[0]} (+${nodes.length - 1})`);

export function checkReport(file: string, target: Target, findings: readonly Finding[], perNode: boolean): Report {
  const profile = profileFor(target);
  const counts = countFindings(findings);
  const rows = perNode
    ? findings.map((f) => [f.severity, f.rule, f.node ?? '(model)', f.op ?? '–', f.fix ?? '–', f.message])
    : groupFindings(findings).map((g) => [g.severity, g.rule, listNodes(g.nodes), g.op ?? '–', g.fix ?? '–', g.message]);
  const summary = `${counts.errors} error${counts.errors === 1 ? '' : 's'}, ${counts.warnings} warning${counts.warnings === 1 ? '' : 's'}`;
  return {
    title: `llmopt check: ${file} on ${profile.title} (${profile.provider})`,
    sections: findings.length
      ? [{ title: `Findings (${summary})`, table: { columns: ['severity', 'rule', 'nodes', 'op', 'fix', 'why'], rows } }]
      : [{ title: 'Findings', lines: ['none: every node has a kernel in the expected form'] }],
    warnings: [],
    data: { model: file, target, provider: profile.provider, errors: counts.errors, warnings: counts.warnings, findings },
  };
}

export interface SavedOutput {
  readonly model: Model;
  readonly output: string;
  readonly target: Target;
  readonly steps: readonly SidecarStep[];
  /** Print the target's findings as warnings (optimize). */
  readonly check?: boolean;
  /** With `check`: error findings fail the command (exit 3). */
  readonly strict?: boolean;
}

/** After a model is saved: writes its sidecar and, when asked, reports the target's findings. */
export function finishOutput(ui: Ui, saved: SavedOutput): void {
  writeSidecar(saved.model, saved.output, { target: saved.target, steps: saved.steps, toolVersion: VERSION });
  if (!saved.check) return;
  const findings = checkModel(saved.model, saved.target);
  for (const g of groupFindings(findings)) {
    const fix = g.fix ? `; fix: ${g.fix}` : '';
    ui.warn(`target ${saved.target}: ${g.severity} ${g.rule} at ${listNodes(g.nodes)}: ${g.message}${fix}`);
  }
  const { errors } = countFindings(findings);
  if (saved.strict && errors > 0) throw new GateError(`--strict-target: ${errors} error finding${errors === 1 ? '' : 's'} for target ${saved.target} (see \`llmopt check\`)`);
}

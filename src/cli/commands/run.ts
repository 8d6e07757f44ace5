/**
 * `llmopt run CONFIG`: the whole pipeline from one config file, as a CI step. Exit 0 when every gate
 * passes, 3 when one fails, 2 for a bad config, 1 for any other failure.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { uiFor } from '../common.js';
import { tick, Ui } from '../ui.js';
import { VERSION } from '../version.js';
import { loadRunConfig, type RunConfig } from '../../run/config.js';
import { runPipeline, type RunResult } from '../../run/pipeline.js';
import { runReport } from '../../run/report.js';
import { renderJunit } from '../../run/junit.js';
import { writeJsonAtomic, writeTextAtomic } from '../../run/manifest.js';
import { renderMarkdown } from '../../report/render-markdown.js';
import { ConfigError, GateError } from '../../errors.js';

interface RunFlags {
  /** Only the `--json=FILE` spelling lands here; see reportFiles. */
  readonly json?: string;
  readonly markdown?: string;
  readonly junit?: string;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a pipeline config (steps, evaluation, benchmark, gates) as a CI step')
    .argument('<config>', 'run config (JSON); its relative paths are relative to it')
    .option('--json <file>', 'also write the result (the manifest plus paths) as JSON to this file')
    .option('--markdown <file>', 'also write the report as Markdown (e.g. for a CI job summary)')
    .option('--junit <file>', 'also write JUnit XML: one testcase per gate, a failed gate as <failure>')
    .allowExcessArguments(true)
    .addHelpText('after', `
Exit codes: 0 every gate passed, 3 a gate failed, 2 bad config, 1 other failure.
Writes the output model, OUT.manifest.json (sha256 of input and output, figures, gates) and OUT.llmopt.json.

Examples:
  $ llmopt run llmopt.run.json
  $ llmopt run llmopt.run.json --junit reports/gates.xml --markdown reports/run.md --json reports/run.json`)
    .action(async (_config: string, flags: RunFlags, cmd: Command) => {
      const files = reportFiles(cmd, flags);
      const global = uiFor(cmd);
      // `--json FILE` sets the global flag too; the terminal then still gets the readable table.
      const ui = files.json ? new Ui({ ...global.options, json: false }) : global;
      const config = loadRunConfig(files.config);
      checkReportPaths(config, files);
      const result = await runWithProgress(ui, config);
      const report = runReport(result, VERSION);
      if (files.json) writeJsonAtomic(files.json, report.data);
      if (files.markdown) writeTextAtomic(files.markdown, renderMarkdown(report));
      if (files.junit) writeTextAtomic(files.junit, renderJunit({ suite: suiteName(config), gates: result.gates, seconds: result.seconds, timestamp: result.startedAt }));
      ui.report(report);
      const failed = result.gates.filter((g) => !g.passed);
      if (failed.length) throw new GateError(failed.map((g) => g.message).join('; '));
    });
}

interface ReportFiles {
  readonly config: string;
  readonly json?: string;
  readonly markdown?: string;
  readonly junit?: string;
}

/**
 * The program's global boolean `--json` consumes the flag wherever it stands, so `run CONFIG --json FILE`
 * arrives as two operands: the one right after `--json` in the raw arguments is the file.
 */
function reportFiles(cmd: Command, flags: RunFlags): ReportFiles {
  const operands = cmd.args;
  let json = flags.json;
  let rest = operands;
  if (json === undefined && operands.length === 2) {
    const raw = (cmd.parent as unknown as { rawArgs?: readonly string[] } | null)?.rawArgs ?? [];
    const at = raw.findIndex((a, i) => a === '--json' && operands.includes(raw[i + 1] ?? ''));
    if (at >= 0) {
      json = raw[at + 1]!;
      rest = operands.filter((o, i) => i !== operands.indexOf(json!));
    }
  }
  if (rest.length !== 1) throw new ConfigError(`run takes one config file, got ${rest.length ? rest.map((a) => `'${a}'`).join(' ') : 'none'}`);
  return { config: rest[0]!, json, markdown: flags.markdown, junit: flags.junit };
}

/** A report file must not replace an input (model, data, config). */
function checkReportPaths(config: RunConfig, files: ReportFiles): void {
  const inputs = [config.file, config.model, config.output, config.data, config.labels, config.calib].filter((f): f is string => !!f);
  for (const out of [files.json, files.markdown, files.junit]) {
    if (out && inputs.some((input) => path.resolve(input) === path.resolve(out))) throw new ConfigError(`${out}: a report file would overwrite a file the run reads or writes`);
  }
}

async function runWithProgress(ui: Ui, config: RunConfig): Promise<RunResult> {
  const task = ui.task(`running ${config.file}`);
  await tick();
  try {
    const result = await runPipeline(config, { toolVersion: VERSION, progress: (m) => task.update(m), warn: (m) => ui.warn(m) });
    task.succeed(`ran ${config.file}`);
    return result;
  } catch (err) {
    task.fail('the run failed');
    throw err;
  }
}

function suiteName(config: RunConfig): string {
  return config.file.split(/[\\/]/).pop()!.replace(/\.json$/i, '');
}

/** The commander program: global options, commands, and the one place errors become exit codes. */
import { Command, CommanderError } from 'commander';
import { LlmoptError } from '../errors.js';
import { registerInspect } from './commands/inspect.js';
import { registerConvert } from './commands/convert.js';
import { registerOptimize } from './commands/optimize.js';
import { registerPasses } from './commands/passes.js';
import { registerQuantize } from './commands/quantize.js';
import { registerCheck } from './commands/check.js';
import { registerBench } from './commands/bench.js';
import { registerPrune } from './commands/prune.js';
import { registerRun } from './commands/run.js';
import { registerDistill } from './commands/distill.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('llmopt')
    .description('Make ONNX language models smaller and faster: graph passes, quantization, pruning, benchmarks.')
    .version(VERSION, '-V, --version')
    .option('--json', 'print machine-readable JSON instead of tables')
    .option('-q, --quiet', 'no spinners or progress; only the result')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInspect(program);
  registerConvert(program);
  registerOptimize(program);
  registerQuantize(program);
  registerPrune(program);
  registerDistill(program);
  registerBench(program);
  registerRun(program);
  registerCheck(program);
  registerPasses(program);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage or config error, 3 gate failed). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      return ok ? 0 : 2;
    }
    if (err instanceof LlmoptError) {
      process.stderr.write(`llmopt: ${err.message}\n`);
      if (debug) process.stderr.write(`${describeStack(err)}\n`);
      return err.exitCode;
    }
    process.stderr.write(`llmopt: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.stderr.write(debug ? `${describeStack(err)}\n` : 'run again with --debug for details\n');
    return 70;
  }
}

function describeStack(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.stack ?? e.message);
  return parts.join('\ncaused by: ');
}

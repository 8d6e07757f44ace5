/** Runs the built CLI as a child process (as a user would) and captures its streams and exit code. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/test/helpers -> dist/bin/llmopt.js */
export const CLI = path.resolve(here, '../../bin/llmopt.js');
/** The project root (dist/test/helpers -> ../../..). */
export const ROOT = path.resolve(here, '../../..');
export const SHARED_MODELS = path.resolve(ROOT, '../shared/models');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Terminal output for commands: a spinner on stderr for long work (none with --quiet, --json or when
 * stderr is not a terminal), the report on stdout (text or JSON), warnings on stderr.
 */
import ora, { type Ora } from 'ora';
import { renderText } from '../report/render-text.js';
import type { Report } from '../report/report.js';

export interface GlobalOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly debug?: boolean;
}

export interface Task {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
}

export class Ui {
  constructor(readonly options: GlobalOptions) {}

  /** Starts a spinner; returns a handle that is safe to use even when spinners are off. */
  task(text: string): Task {
    const quiet = this.options.quiet || this.options.json;
    if (quiet || !process.stderr.isTTY) return silentTask;
    const spinner: Ora = ora({ text, stream: process.stderr, discardStdin: false }).start();
    return {
      update: (t) => { spinner.text = t; },
      succeed: (t) => { spinner.succeed(t); },
      fail: (t) => { spinner.fail(t); },
    };
  }

  /** Prints the report: JSON payload with --json, the readable table otherwise (even with --quiet). */
  report(report: Report): void {
    if (this.options.json) {
      process.stdout.write(`${JSON.stringify({ ...asObject(report.data), warnings: report.warnings }, null, 2)}\n`);
      return;
    }
    process.stdout.write(renderText(report));
  }

  warn(message: string): void {
    if (!this.options.json && !this.options.quiet) process.stderr.write(`warning: ${message}\n`);
  }
}

const silentTask: Task = { update: () => {}, succeed: () => {}, fail: () => {} };

function asObject(data: unknown): Record<string, unknown> {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : { data };
}

/** Gives a spinner a chance to draw between synchronous steps. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

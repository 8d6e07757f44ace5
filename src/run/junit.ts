/**
 * JUnit XML for CI test reporters: one testsuite, one testcase per gate, a failed gate as <failure> with
 * its message. The form GitHub and GitLab test-report parsers read.
 */
import type { GateResult } from './gates.js';

export interface JunitInput {
  /** Suite name, e.g. the config file's base name. */
  readonly suite: string;
  readonly gates: readonly GateResult[];
  /** Whole run, seconds. */
  readonly seconds: number;
  /** ISO time the run started. */
  readonly timestamp: string;
}

export function renderJunit(input: JunitInput): string {
  const failures = input.gates.filter((g) => !g.passed).length;
  const attrs = (o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`).join('');
  const suite = { name: input.suite, tests: input.gates.length, failures, errors: 0, skipped: 0, time: input.seconds.toFixed(3), timestamp: input.timestamp };
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'llmopt run', tests: input.gates.length, failures, errors: 0, time: input.seconds.toFixed(3) })}>`,
    `  <testsuite${attrs(suite)}>`,
  ];
  for (const g of input.gates) {
    const head = `    <testcase${attrs({ classname: `llmopt.gates.${input.suite}`, name: g.gate, time: '0' })}`;
    if (g.passed) {
      lines.push(`${head}>`, `      <system-out>${escapeXml(g.message)}</system-out>`, '    </testcase>');
    } else {
      lines.push(`${head}>`, `      <failure${attrs({ message: g.message, type: 'GateFailed' })}>${escapeXml(g.message)}</failure>`, '    </testcase>');
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** Escapes text and attribute values; drops characters XML 1.0 cannot hold. */
export function escapeXml(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

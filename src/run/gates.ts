/**
 * Gates: limits a run must meet, each judged on one measured figure. A gate without its figure (no data,
 * no benchmark) cannot pass; the config loader refuses such configs, so that case only reads as a failure
 * here for safety.
 */
import type { GateName, RunGates } from './config.js';

/** The figures the gates read; absent when not measured. */
export interface RunFigures {
  /** Relative quality loss of the output over the original. */
  readonly accuracyDrop?: number;
  /** Median latency original / output. */
  readonly speedup?: number;
  /** Output bytes / original bytes on disk. */
  readonly sizeRatio?: number;
  /** Median latency of the output (ms). */
  readonly latencyMs?: number;
}

export interface GateResult {
  readonly gate: GateName;
  readonly limit: number;
  /** null when the figure was not measured. */
  readonly measured: number | null;
  readonly passed: boolean;
  /** `gate maxAccuracyDrop passed: measured 0.0042 <= limit 0.01` (or `failed: ... > ...`). */
  readonly message: string;
}

interface GateRule {
  readonly figure: keyof RunFigures;
  /** 'max': measured must be at most the limit; 'min': at least. */
  readonly kind: 'max' | 'min';
}

/** Gate -> figure it reads and which side of the limit passes. */
export const GATE_RULES: Readonly<Record<GateName, GateRule>> = {
  maxAccuracyDrop: { figure: 'accuracyDrop', kind: 'max' },
  minSpeedup: { figure: 'speedup', kind: 'min' },
  maxSizeRatio: { figure: 'sizeRatio', kind: 'max' },
  maxLatencyMs: { figure: 'latencyMs', kind: 'max' },
};

/** Results in the order of GATE_RULES, for the gates the config sets. */
export function judgeGates(gates: RunGates, figures: RunFigures): GateResult[] {
  const out: GateResult[] = [];
  for (const gate of Object.keys(GATE_RULES) as GateName[]) {
    const limit = gates[gate];
    if (limit === undefined) continue;
    const { figure, kind } = GATE_RULES[gate];
    const measured = figures[figure];
    if (measured === undefined || !Number.isFinite(measured)) {
      out.push({ gate, limit, measured: null, passed: false, message: `gate ${gate} failed: ${figure} was not measured` });
      continue;
    }
    const passed = kind === 'max' ? measured <= limit : measured >= limit;
    const op = kind === 'max' ? (passed ? '<=' : '>') : passed ? '>=' : '<';
    out.push({ gate, limit, measured, passed, message: `gate ${gate} ${passed ? 'passed' : 'failed'}: measured ${formatFigure(measured)} ${op} limit ${limit}` });
  }
  return out;
}

/** Four significant digits, without exponent noise for ordinary values (0.0213, 1.183, 42.17). */
export function formatFigure(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/**
 * The result of `llmopt bench`: the `--json` payload. Field names are stable and documented in
 * docs/commands/bench.md; times are milliseconds, sizes bytes.
 */
import type { DtypeCount } from '../analysis/parameters.js';
import type { Quality } from '../eval/evaluate.js';
import type { LogitAgreement } from './agreement.js';
import type { MemoryReading } from './memory.js';
import type { ExecutionProvider } from './providers.js';
import type { LatencyStats, RatioEstimate } from './stats.js';

export type ModelRole = 'model' | 'baseline';
export type ModelKind = 'decoder' | 'encoder' | 'unknown';

export interface BenchSettings {
  readonly ep: ExecutionProvider;
  /** null: onnxruntime's default. */
  readonly threads: number | null;
  readonly warmup: number;
  /** Timed iterations per row, or null with a time budget. */
  readonly runs: number | null;
  readonly seconds: number | null;
  readonly batch: readonly number[];
  readonly seq: readonly number[];
  readonly newTokens: number;
  readonly cache: boolean;
  readonly isolate: boolean;
  readonly seed: number;
  /** With a baseline, runs alternate between the models (always true; stated for readers of the JSON). */
  readonly interleaved: boolean;
}

export interface ModelFacts {
  readonly role: ModelRole;
  readonly path: string;
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
  /** On disk, external data included. */
  readonly bytes: number;
  readonly parameters: { readonly total: number; readonly bytes: number; readonly byDtype: readonly DtypeCount[] };
  readonly kind: ModelKind;
  readonly kvCache: boolean;
  readonly inputs: readonly string[];
  readonly createMs: number;
  /** Session creation plus the first run of every row. */
  readonly memory: MemoryReading & { readonly method: 'in-process' | 'isolated' };
}

export interface LatencyFigures extends LatencyStats {
  readonly samples: readonly number[];
}

export interface LatencyRow {
  readonly batch: number;
  readonly seq: number;
  readonly model: LatencyFigures;
  readonly baseline?: LatencyFigures;
  /** median(baseline) / median(model) with its p10–p90 bootstrap interval. */
  readonly speedup?: RatioEstimate;
  /** Quantiles of baseline[i] / model[i] over the pairs of runs. */
  readonly pairRatio?: { readonly p10: number; readonly p50: number; readonly p90: number };
}

export interface DecodeFigures {
  readonly cache: boolean;
  readonly prefillMs: number;
  readonly tokensPerSecond: number;
  readonly msPerToken: LatencyStats;
}

export interface DecodeRow {
  readonly batch: number;
  readonly seq: number;
  readonly newTokens: number;
  readonly model: DecodeFigures;
  readonly baseline?: DecodeFigures;
  /** From the step times, paired step by step. */
  readonly speedup?: RatioEstimate;
}

export interface AccuracyFacts {
  /** `data`: --data rows; `synthetic`: the benchmark's own inputs, one run per row (baseline only). */
  readonly source: 'data' | 'synthetic';
  readonly file: string | null;
  readonly rows: number;
  readonly model: Quality | null;
  readonly baseline: Quality | null;
  readonly agreement: LogitAgreement | null;
}

export interface BenchResult {
  readonly settings: BenchSettings;
  readonly models: readonly ModelFacts[];
  readonly latency: readonly LatencyRow[];
  readonly decode: readonly DecodeRow[];
  readonly accuracy: AccuracyFacts | null;
  readonly warnings: readonly string[];
}

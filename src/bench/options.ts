/** What a benchmark is asked to do (the command's flags, parsed), and how it reports progress. */
import type { ExecutionProvider } from './providers.js';

export interface BenchOptions {
  readonly model: string;
  readonly baseline?: string;
  readonly ep: ExecutionProvider;
  readonly threads?: number;
  readonly warmup: number;
  readonly runs?: number;
  readonly seconds?: number;
  readonly batch: readonly number[];
  readonly seq: readonly number[];
  readonly newTokens: number;
  /** Use a key/value cache in decoding when the model has one. */
  readonly cache: boolean;
  readonly isolate: boolean;
  readonly seed: number;
  readonly data?: string;
  readonly labels?: string;
  readonly dataRows?: number;
}

export type Progress = (message: string) => void;

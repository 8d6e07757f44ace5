/**
 * onnxruntime-node sessions from IR models. Small models go in as bytes; models with external data or
 * near protobuf's 2 GiB limit are written to a private temporary folder and loaded by path (memory-mapped
 * external data, no second copy in JS memory).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { Model } from '../ir/model.js';
import { modelToBytes, saveModel } from '../io/save.js';
import { fromOrt, toOrt, type Feeds, type Outputs } from './tensors.js';
import { RuntimeError } from '../errors.js';

export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  readonly threads?: number;
  readonly optimization?: OptimizationLevel;
  /** Execution providers in preference order (default: cpu). */
  readonly providers?: readonly string[];
  /** Session config entries (string values), e.g. { 'session.qdq_matmulnbits_accuracy_level': '0' }. */
  readonly config?: Readonly<Record<string, string>>;
  readonly logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
}

/** Bytes above which a model is handed to onnxruntime as a file rather than a buffer. */
const BYTES_LIMIT = 1 << 30;

export class Session {
  private constructor(private readonly inner: ort.InferenceSession, private readonly cleanup: () => void) {}

  static async fromModel(model: Model, options: SessionOptions = {}): Promise<Session> {
    const total = model.graph.initializers.reduce((n, v) => n + (v.initializer?.byteLength ?? 0), 0);
    const external = model.graph.initializers.some((v) => v.initializer?.byteSource?.external);
    if (!external && total < BYTES_LIMIT) {
      return Session.create(modelToBytes(model), options, () => {});
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-session-'));
    const file = path.join(dir, 'model.onnx');
    saveModel(model, file, { externalData: 'external' });
    return Session.create(file, options, () => fs.rmSync(dir, { recursive: true, force: true }));
  }

  static async fromFile(file: string, options: SessionOptions = {}): Promise<Session> {
    return Session.create(file, options, () => {});
  }

  private static async create(source: string | Uint8Array, options: SessionOptions, cleanup: () => void): Promise<Session> {
    const opts: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: options.optimization ?? 'all',
      executionProviders: [...(options.providers ?? ['cpu'])],
      logSeverityLevel: severity(options.logLevel ?? 'error'),
    };
    if (options.threads) { opts.intraOpNumThreads = options.threads; opts.interOpNumThreads = 1; }
    if (options.config) opts.extra = nestConfig(options.config);
    try {
      const inner = typeof source === 'string'
        ? await ort.InferenceSession.create(source, opts)
        : await ort.InferenceSession.create(source, opts);
      return new Session(inner, cleanup);
    } catch (err) {
      cleanup();
      throw new RuntimeError(`onnxruntime could not load the model: ${firstLine(err)}`, { cause: err });
    }
  }

  get inputNames(): readonly string[] { return this.inner.inputNames; }
  get outputNames(): readonly string[] { return this.inner.outputNames; }

  async run(feeds: Feeds, outputs?: readonly string[]): Promise<Outputs> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t, name);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = outputs ? await this.inner.run(ortFeeds, [...outputs]) : await this.inner.run(ortFeeds);
    } catch (err) {
      throw new RuntimeError(`onnxruntime failed to run the model: ${firstLine(err)}`, { cause: err });
    }
    const out: Record<string, Outputs[string]> = {};
    for (const [name, t] of Object.entries(result)) out[name] = fromOrt(t);
    return out;
  }

  async release(): Promise<void> {
    await this.inner.release();
    this.cleanup();
  }
}

/** onnxruntime-node takes config entries as nested objects joined by dots: 'session.x' -> {session: {x}}. */
function nestConfig(config: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, Record<string, string>> = {};
  for (const [key, value] of Object.entries(config)) {
    const dot = key.indexOf('.');
    const [head, rest] = dot < 0 ? ['session', key] : [key.slice(0, dot), key.slice(dot + 1)];
    (out[head] ??= {})[rest] = value;
  }
  return out;
}

/** Session config that keeps DequantizeLinear(int4)->MatMul exact when onnxruntime fuses it into MatMulNBits. */
export const EXACT_QDQ_CONFIG: Readonly<Record<string, string>> = { 'session.qdq_matmulnbits_accuracy_level': '0' };

function severity(level: NonNullable<SessionOptions['logLevel']>): 0 | 1 | 2 | 3 | 4 {
  return ({ verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 } as const)[level];
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}

/** Loads, runs once and releases: the common case in tests and checks. */
export async function runModel(model: Model, feeds: Feeds, options: SessionOptions = {}): Promise<Outputs> {
  const session = await Session.fromModel(model, options);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

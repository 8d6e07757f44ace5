/** Opens a model file in onnxruntime for benchmarking and times the session creation. */
import { Session } from '../runtime/session.js';
import { scratchModel } from '../ir/model.js';
import { DType } from '../ir/dtype.js';
import { RuntimeError } from '../errors.js';
import { checkProvider, missingProvider, type ExecutionProvider } from './providers.js';

export interface OpenOptions {
  readonly ep: ExecutionProvider;
  /** Intra-op threads; onnxruntime's default (one per core) when absent. */
  readonly threads?: number;
}

export interface OpenedSession {
  readonly session: Session;
  readonly createMs: number;
}

/** From the file, as a deployment would load it (external data memory-mapped, not copied through JS). */
export async function openSession(file: string, options: OpenOptions): Promise<OpenedSession> {
  checkProvider(options.ep);
  const t0 = performance.now();
  try {
    // Failures reach the user as one-line errors; onnxruntime's own log would repeat them.
    const session = await Session.fromFile(file, { providers: [options.ep], threads: options.threads, logLevel: 'fatal' });
    return { session, createMs: performance.now() - t0 };
  } catch (err) {
    const missing = options.ep !== 'cpu' && err instanceof RuntimeError && /failed to load|shared library|providers_shared|no available backend|not.*(available|supported)/i.test(err.message);
    if (missing) throw missingProvider(options.ep, 'its binaries are not installed');
    throw err;
  }
}

/**
 * Creates and runs a one-node session, so that onnxruntime's process-wide setup (environment, logging,
 * kernel registries) is paid before any model is measured rather than charged to the first one.
 */
export async function initRuntime(): Promise<void> {
  const model = scratchModel('warm-up');
  const x = model.graph.addInput('x', { elemType: DType.FLOAT, shape: [1] });
  const y = model.graph.addNode({ opType: 'Identity', inputs: [x], outputs: ['y'] }).output(0);
  y.type = { elemType: DType.FLOAT, shape: [1] };
  model.graph.outputs.push(y);
  const session = await Session.fromModel(model);
  try {
    await session.run({ x: { dtype: DType.FLOAT, dims: [1], data: Float32Array.of(0) } });
  } finally {
    await session.release();
  }
}

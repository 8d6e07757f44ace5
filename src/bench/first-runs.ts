/**
 * The memory phase of a benchmark: session creation and the first run of every row (batch × sequence),
 * where onnxruntime sizes its arenas. The same code runs in-process and in the child of --isolate.
 */
import type { Feeds } from '../runtime/tensors.js';
import type { Session } from '../runtime/session.js';
import { mulberry32 } from '../runtime/feeds.js';
import { makeFeeds, randomIds } from './feeds.js';
import { MemoryProbe, type MemoryReading } from './memory.js';
import type { ModelIo } from './model-io.js';
import { initRuntime, openSession, type OpenOptions } from './open.js';

export interface Shape {
  readonly batch: number;
  readonly seq: number;
}

export interface FirstRuns {
  readonly session: Session;
  readonly createMs: number;
  readonly memory: MemoryReading;
}

export async function firstRuns(file: string, io: ModelIo, rows: readonly Shape[], open: OpenOptions, vocab: number, seed: number): Promise<FirstRuns> {
  await initRuntime();
  const probe = new MemoryProbe();
  probe.begin();
  try {
    const { session, createMs } = await openSession(file, open);
    probe.sample();
    for (const row of rows) await session.run(rowFeeds(io, row, vocab, seed));
    return { session, createMs, memory: probe.end() };
  } finally {
    probe.end();
  }
}

/** The inputs of a row: the same token ids for every model (drawn below the smallest vocabulary). */
export function rowFeeds(io: ModelIo, row: Shape, vocab: number, seed: number): Feeds {
  return makeFeeds(io, row, { ids: rowIds(row, vocab, seed), seed });
}

export function rowIds(row: Shape, vocab: number, seed: number): BigInt64Array {
  return randomIds(row, vocab, mulberry32(seed + row.batch * 100_003 + row.seq));
}

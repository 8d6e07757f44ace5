/**
 * Child process of `llmopt bench --isolate`: opens one model, runs the memory phase and prints one JSON
 * line, so that its peak memory holds nothing but that model. Reads its request as JSON on stdin.
 */
import { firstRuns, type Shape } from './first-runs.js';
import type { ModelIo } from './model-io.js';
import type { OpenOptions } from './open.js';
import type { MemoryReading } from './memory.js';

export interface ChildRequest {
  readonly file: string;
  readonly io: ModelIo;
  readonly rows: readonly Shape[];
  readonly open: OpenOptions;
  readonly vocab: number;
  readonly seed: number;
}

export interface ChildReply {
  readonly createMs: number;
  readonly memory: MemoryReading;
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChildRequest;
  const { session, createMs, memory } = await firstRuns(request.file, request.io, request.rows, request.open, request.vocab, request.seed);
  await session.release();
  const reply: ChildReply = { createMs, memory };
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

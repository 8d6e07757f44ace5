/**
 * Greedy generation, to measure decode speed. The prompt runs once (prefill), then each step adds the
 * most likely next token:
 *  - with a key/value cache (past_* inputs, present* outputs): the step feeds the one new token, the
 *    present tensors of the previous run as past, a mask over past + 1 tokens and the next position;
 *  - without: the step runs the whole sequence so far again.
 * Only session.run is timed; picking the token and building feeds happen outside.
 */
import type { Session } from '../runtime/session.js';
import type { HostTensor, Outputs } from '../runtime/tensors.js';
import { DType } from '../ir/dtype.js';
import { float16ToFloat32 } from '../math/half.js';
import { makeFeeds } from './feeds.js';
import type { ModelIo } from './model-io.js';
import { runOrder } from './schedule.js';
import { RuntimeError } from '../errors.js';

export interface DecodeSettings {
  readonly batch: number;
  /** Prompt length. */
  readonly seq: number;
  /** Steps after the prefill, one token each. */
  readonly newTokens: number;
  /** Use the model's key/value cache when it has one. */
  readonly useCache: boolean;
}

export class GreedyDecoder {
  readonly cache: boolean;
  prefillMs = 0;
  /** Time of each step after the prefill. */
  readonly stepMs: number[] = [];
  /** Cache length fed at each run (prefill included): 0, seq, seq+1, … with a cache; all 0 without. */
  readonly pastLengths: number[] = [];
  private readonly sequence: BigInt64Array;
  private readonly capacity: number;
  private length: number;
  private past: Map<string, HostTensor> | undefined;
  private pastLength = 0;
  private runs = 0;

  constructor(private readonly session: Session, private readonly io: ModelIo, private readonly settings: DecodeSettings, prompt: BigInt64Array) {
    if (!io.logits) throw new RuntimeError('the model has no logits output to decode from');
    this.cache = settings.useCache && io.cache.length > 0;
    this.capacity = settings.seq + settings.newTokens + 1;
    this.length = settings.seq;
    this.sequence = new BigInt64Array(settings.batch * this.capacity);
    for (let b = 0; b < settings.batch; b++) this.sequence.set(prompt.subarray(b * settings.seq, (b + 1) * settings.seq), b * this.capacity);
  }

  get done(): boolean { return this.runs > this.settings.newTokens; }

  /** Tokens generated so far, per batch row (the first one comes from the prefill). */
  tokens(): number[][] {
    const { batch, seq } = this.settings;
    return Array.from({ length: batch }, (_, b) => Array.from(this.sequence.subarray(b * this.capacity + seq, b * this.capacity + this.length), Number));
  }

  async step(): Promise<void> {
    const { batch } = this.settings;
    const incremental = this.cache && this.past !== undefined;
    const seq = incremental ? 1 : this.length;
    const ids = new BigInt64Array(batch * seq);
    for (let b = 0; b < batch; b++) ids.set(this.sequence.subarray(b * this.capacity + this.length - seq, b * this.capacity + this.length), b * seq);
    const pastLength = incremental ? this.pastLength : 0;
    const feeds = makeFeeds(this.io, { batch, seq, pastLength }, { ids, past: incremental ? this.past : undefined });
    const t0 = performance.now();
    let out: Outputs;
    try {
      out = await this.session.run(feeds);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new RuntimeError(`decoding failed at length ${this.length} (does the model take sequences this long? lower --seq or --new-tokens): ${reason}`, { cause: err });
    }
    const ms = performance.now() - t0;
    if (this.runs === 0) this.prefillMs = ms; else this.stepMs.push(ms);
    this.pastLengths.push(pastLength);
    this.runs++;
    this.append(out[this.io.logits!]!);
    if (this.cache) this.keepCache(out);
  }

  private append(logits: HostTensor): void {
    const [batch, positions, vocab] = logits.dims as [number, number, number];
    const scores = logits.dtype === DType.FLOAT16 ? float16ToFloat32(logits.data as Uint16Array) : logits.data as Float32Array;
    for (let b = 0; b < batch; b++) {
      const at = (b * positions + positions - 1) * vocab;
      let best = 0;
      for (let v = 1; v < vocab; v++) if (scores[at + v]! > scores[at + best]!) best = v;
      this.sequence[b * this.capacity + this.length] = BigInt(best);
    }
    this.length++;
  }

  private keepCache(out: Outputs): void {
    this.past = new Map();
    for (const pair of this.io.cache) {
      const present = out[pair.present];
      if (!present) throw new RuntimeError(`the model did not return '${pair.present}'`);
      this.past.set(pair.past, present);
      this.pastLength = present.dims[pair.axis] ?? 0;
    }
  }
}

/** Runs the decoders to the end, one step of each per iteration in rotating order. */
export async function decodeInterleaved(decoders: readonly GreedyDecoder[], progress?: (step: number) => void): Promise<void> {
  for (let i = 0; decoders.some((d) => !d.done); i++) {
    for (const k of runOrder(i, decoders.length)) if (!decoders[k]!.done) await decoders[k]!.step();
    progress?.(i);
  }
}

/** Generated tokens per second of decode steps (prefill excluded), from session.run time. */
export function tokensPerSecond(decoder: GreedyDecoder, batch: number): number {
  const ms = decoder.stepMs.reduce((a, b) => a + b, 0);
  return ms > 0 ? (batch * decoder.stepMs.length * 1000) / ms : NaN;
}

/**
 * Speed of quantized outputs against float: the same GEMM-heavy model in fp32, dynamic int8 and 4-bit
 * weight-only, timed interleaved in one process (one run of each per round), so that machine noise falls
 * on all of them alike. Ratios are of medians; the spread is the 10th-90th percentile of per-round ratios.
 */
import { buildGemmModel, type GemmShape } from './gemm-model.js';
import { MODES } from './modes.js';
import { Session } from '../../src/runtime/session.js';
import { runSteps } from '../../src/pipeline/manager.js';
import { getPass } from '../../src/pipeline/registry.js';
import { quietContext } from '../../src/pipeline/pass.js';
import { mulberry32 } from '../../src/runtime/feeds.js';
import type { Model } from '../../src/ir/model.js';
import { DType } from '../../src/ir/dtype.js';
import { timeInterleaved } from '../../src/bench/latency.js';
import { median, pairRatios } from '../../src/bench/stats.js';

export interface SpeedVariant {
  readonly name: string;
  readonly medianMs: number;
  /** fp32 median over this variant's median (> 1 = faster than fp32). */
  readonly speedup: number;
  readonly spread: readonly [number, number];
}

export interface SpeedRow {
  readonly tokens: number;
  readonly variants: readonly SpeedVariant[];
}

interface Variant { readonly name: string; readonly model: Model }

async function quantized(shape: GemmShape, mode: string, extra: Record<string, unknown> = {}): Promise<Model> {
  const model = buildGemmModel(shape);
  const spec = MODES[mode]!;
  const pass = getPass(spec.pass);
  await runSteps(model, [{ pass, options: pass.options.parse({ ...spec.options, ...extra }) }], quietContext());
  return model;
}

export async function measureSpeed(shape: GemmShape, tokenCounts: readonly number[], runs: number, threads: number, say: (s: string) => void): Promise<SpeedRow[]> {
  const variants: Variant[] = [
    { name: 'fp32', model: buildGemmModel(shape) },
    { name: 'int8 dynamic', model: await quantized(shape, 'int8') },
    { name: 'int4 weight-only (level 4, default)', model: await quantized(shape, 'int4') },
    { name: 'int4 weight-only, level 0 (exact)', model: await quantized(shape, 'int4', { accuracyLevel: 0 }) },
  ];
  const sessions = await Promise.all(variants.map((v) => Session.fromModel(v.model, { threads })));
  const rows: SpeedRow[] = [];
  try {
    for (const tokens of tokenCounts) {
      say(`  ${tokens} token(s): ${runs} interleaved rounds ...`);
      const random = mulberry32(tokens);
      const x = { dtype: DType.FLOAT, dims: [1, tokens, shape.width], data: Float32Array.from({ length: tokens * shape.width }, () => random() * 2 - 1) };
      const times = await timeInterleaved(sessions.map((session) => ({ session, feeds: { x } })), { warmup: 3, runs });
      const base = times[0]!;
      rows.push({
        tokens,
        variants: variants.map((v, i) => {
          const rounds = pairRatios(times[i]!, base);
          return { name: v.name, medianMs: median(times[i]!), speedup: median(base) / median(times[i]!), spread: [rounds.p10, rounds.p90] as const };
        }),
      });
    }
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
  return rows;
}


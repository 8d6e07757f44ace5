/**
 * The teacher's stream values the refit aims at, batch by batch. The teacher never changes during a refit,
 * so its batches are kept when all of them fit in a memory budget (one teacher pass for every refit step);
 * beyond the budget each request runs the teacher again (fixed memory whatever the data size).
 */
import type { Model } from '../ir/model.js';
import type { Dataset } from '../data/dataset.js';
import { batchFeeds } from '../data/dataset.js';
import { CaptureSession } from '../runtime/capture.js';
import type { Outputs } from '../runtime/tensors.js';

const DEFAULT_BUDGET = 256 << 20;

export class TeacherTargets {
  private readonly kept = new Map<number, Outputs>();
  private keep: boolean | undefined;

  private constructor(
    private readonly session: CaptureSession, private readonly teacher: Model, private readonly data: Dataset,
    private readonly rows: number, private readonly budget: number,
  ) {}

  static async create(teacher: Model, names: readonly string[], data: Dataset, rows: number, budget = DEFAULT_BUDGET): Promise<TeacherTargets> {
    return new TeacherTargets(await CaptureSession.create(teacher, [...new Set(names)]), teacher, data, rows, budget);
  }

  async batch(start: number, count: number): Promise<Outputs> {
    const hit = this.kept.get(start);
    if (hit) return hit;
    const out = await this.session.run(batchFeeds(this.data, this.teacher, start, count));
    // Decided on the first batch: bytes per row × rows against the budget.
    this.keep ??= (bytesOf(out) / count) * this.rows <= this.budget;
    if (this.keep) this.kept.set(start, out);
    return out;
  }

  async release(): Promise<void> {
    this.kept.clear();
    await this.session.release();
  }
}

function bytesOf(out: Outputs): number {
  let n = 0;
  for (const t of Object.values(out)) n += (t.data as { byteLength?: number }).byteLength ?? 0;
  return n;
}

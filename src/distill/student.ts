/**
 * A student from a teacher: choose the blocks to keep, remove the others from a copy, and (optionally)
 * refit the kept blocks' output projections to the teacher's stream. The teacher is never changed; the
 * plain student (blocks dropped, no refit) is returned as well, to measure what the refit brought.
 */
import type { Model } from '../ir/model.js';
import { cloneModel } from '../ir/clone.js';
import type { Dataset } from '../data/dataset.js';
import { mapBlocks, type BlockMap } from './boundaries.js';
import { blockImportance, evenlySpaced, mostImportant, parseKeepList } from './select.js';
import { dropBlocks, type DropResult } from './drop.js';
import { fitStudent, type FitStep } from './fit.js';
import { narrowStudent, type Narrowing } from './narrow.js';
import { ConfigError } from '../errors.js';

export type KeepSpec =
  | { readonly kind: 'list'; readonly list: string }
  | { readonly kind: 'even'; readonly layers: number }
  | { readonly kind: 'importance'; readonly layers: number };

export interface StudentRequest {
  readonly keep: KeepSpec;
  readonly fit: boolean;
  /** λ of the refit, as a fraction of the mean diagonal of XᵀX. */
  readonly ridge: number;
  /** Narrower MLPs or fewer heads in the kept blocks (a structured pruning pass), before the refit. */
  readonly narrow?: Narrowing;
  /** Calibration rows for importance, narrowing and the refit. */
  readonly calibration?: Dataset;
  readonly calibrationRows?: number;
  readonly progress?: (message: string) => void;
  readonly warn?: (message: string) => void;
}

export interface StudentResult {
  readonly map: BlockMap;
  /** Teacher indices of the kept blocks. */
  readonly keep: readonly number[];
  readonly importance: readonly number[] | undefined;
  /** Blocks dropped, nothing refit. */
  readonly plain: Model;
  /** The refit student (the plain one when no refit was asked). */
  readonly student: Model;
  readonly drop: DropResult;
  /** Counters of the structured pruning pass, when the blocks were narrowed. */
  readonly narrowed: Readonly<Record<string, number>> | undefined;
  readonly fit: readonly FitStep[];
}

export async function buildStudent(teacher: Model, request: StudentRequest): Promise<StudentResult> {
  const map = mapBlocks(teacher);
  const count = map.blocks.length;
  const needsData = request.fit || request.keep.kind === 'importance';
  if (needsData && !request.calibration) {
    throw new ConfigError(`${request.fit ? 'the refit (--fit, on by default)' : '--select importance'} needs calibration data: pass --calib DATA${request.fit ? ' or --no-fit' : ''}`);
  }
  let importance: number[] | undefined;
  let keep: number[];
  if (request.keep.kind === 'list') keep = parseKeepList(request.keep.list, count);
  else if (request.keep.kind === 'even') keep = evenlySpaced(request.keep.layers, count);
  else {
    request.progress?.('measuring block importance');
    importance = await blockImportance(teacher, map.blocks, request.calibration!, { rows: request.calibrationRows });
    keep = mostImportant(importance, request.keep.layers);
  }
  request.progress?.(`removing blocks (keeping ${keep.join(', ')})`);
  const plain = cloneModel(teacher);
  const drop = await dropBlocks(plain, map.blocks, keep);
  const narrowed = request.narrow ? await narrowStudent(plain, request.narrow, request) : undefined;
  if (!request.fit) return { map, keep, importance, plain, student: plain, drop, narrowed, fit: [] };
  const student = cloneModel(plain);
  const fit = await fitStudent(teacher, student, map.blocks, keep, request.calibration!, {
    ridge: request.ridge, rows: request.calibrationRows, progress: request.progress, warn: request.warn,
  });
  return { map, keep, importance, plain, student, drop, narrowed, fit };
}

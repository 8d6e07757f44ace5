/**
 * The rules a structured-pruning request must meet, in one place: the pass enforces them, and the command
 * line checks them before it loads calibration data so that its message can name the flag. Each check
 * returns the problem as text (no prefix), or undefined when the request is fine.
 */

/** Attention heads of one block: query heads, key/value heads (equal without grouped-query attention). */
export interface BlockHeads {
  readonly index: number;
  readonly heads: number;
  readonly kvHeads: number;
}

/** Query heads removed for a request: a count, or a fraction (< 1) of the key/value groups. */
export function headsRequested(block: BlockHeads, request: number): number {
  const rep = block.heads / block.kvHeads;
  return request < 1 ? Math.round(request * block.kvHeads) * rep : request;
}

export function headsProblem(block: BlockHeads, request: number): string | undefined {
  if (request >= 1 && !Number.isInteger(request)) return 'a count of heads is a whole number (or give a fraction < 1)';
  const rep = block.heads / block.kvHeads;
  const count = headsRequested(block, request);
  if (count % rep !== 0) {
    return `block ${block.index} has ${block.heads} heads, removed in whole key/value groups of ${rep} (${block.kvHeads} groups): ${count} does not divide into groups`;
  }
  if (count >= block.heads) return `block ${block.index} has ${block.heads} heads; at least ${rep} must stay`;
  return undefined;
}

/** The block indices a problem is about, and the problem. */
export interface LayersProblem {
  readonly layers: readonly number[];
  readonly problem: string;
}

/** Blocks to remove must exist, and at least one block must stay. */
export function layersProblem(layers: readonly number[], blockCount: number): LayersProblem | undefined {
  const missing = layers.filter((i) => i >= blockCount);
  if (missing.length) return { layers: missing, problem: `the model has ${blockCount} blocks (0-${blockCount - 1})` };
  if (new Set(layers).size >= blockCount) return { layers, problem: `would remove all ${blockCount} blocks` };
  return undefined;
}

/** Choosing what to keep from importance scores. */

/** Indices of the `keep` highest scores, in ascending index order (ties keep the lower index). */
export function keepHighest(scores: ArrayLike<number>, keep: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, keep).sort((a, b) => a - b);
}

/** Every index of `width` channels that belongs to a kept unit of `size` channels. */
export function expandUnits(units: readonly number[], size: number, offset = 0): number[] {
  return units.flatMap((u) => Array.from({ length: size }, (_, i) => offset + u * size + i));
}

/**
 * k-th smallest value of an array in expected linear time (quickselect with a median-of-three pivot and
 * three-way partitioning, so runs of equal scores stay linear). Pruning thresholds need one order
 * statistic per layer; a full sort of a 16 M-weight layer costs several times more.
 */

/** The value that would sit at index `k` (0-based) of `values` sorted ascending; `values` is reordered. */
export function kthSmallest(values: Float64Array, k: number): number {
  if (k < 0 || k >= values.length) throw new RangeError(`k ${k} outside 0..${values.length - 1}`);
  let lo = 0;
  let hi = values.length - 1;
  while (hi - lo > 16) {
    const pivot = medianOfThree(values[lo]!, values[(lo + hi) >>> 1]!, values[hi]!);
    // [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = values[i]!;
      if (v < pivot) swap(values, lt++, i++);
      else if (v > pivot) swap(values, i, gt--);
      else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
  insertionSort(values, lo, hi);
  return values[k]!;
}

function medianOfThree(a: number, b: number, c: number): number {
  if (a < b) return b < c ? b : a < c ? c : a;
  return a < c ? a : b < c ? c : b;
}

function swap(values: Float64Array, i: number, j: number): void {
  const t = values[i]!;
  values[i] = values[j]!;
  values[j] = t;
}

function insertionSort(values: Float64Array, lo: number, hi: number): void {
  for (let i = lo + 1; i <= hi; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= lo && values[j]! > v) { values[j + 1] = values[j]!; j--; }
    values[j + 1] = v;
  }
}

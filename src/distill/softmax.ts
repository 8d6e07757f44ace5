/** Temperature-scaled (log-)softmax of one row of logits, and the k largest entries of a row. */

/** out[v] = log softmax(x[at..at+width) / T)[v], computed in float64. */
export function logSoftmaxRow(x: Float32Array, at: number, width: number, temperature: number, out: Float64Array): void {
  let max = -Infinity;
  for (let v = 0; v < width; v++) max = Math.max(max, x[at + v]! / temperature);
  let sum = 0;
  for (let v = 0; v < width; v++) sum += Math.exp(x[at + v]! / temperature - max);
  const log = max + Math.log(sum);
  for (let v = 0; v < width; v++) out[v] = x[at + v]! / temperature - log;
}

/** Probabilities softmax(x / T) row by row, float32 (for soft labels). */
export function softmaxRows(x: Float32Array, width: number, temperature: number): Float32Array {
  const out = new Float32Array(x.length);
  const row = new Float64Array(width);
  for (let at = 0; at < x.length; at += width) {
    logSoftmaxRow(x, at, width, temperature, row);
    for (let v = 0; v < width; v++) out[at + v] = Math.exp(row[v]!);
  }
  return out;
}

/**
 * The k largest values of each row of `p` and their indices, largest first (ties: lower index first).
 * A sorted insertion buffer of k entries per row: O(width·k) worst case, no allocation per row.
 */
export function topKRows(p: Float32Array, width: number, k: number): { values: Float32Array; indices: Int32Array } {
  const rows = p.length / width;
  const values = new Float32Array(rows * k);
  const indices = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    const o = r * k;
    let filled = 0;
    for (let v = 0; v < width; v++) {
      const x = p[at + v]!;
      if (filled === k && x <= values[o + k - 1]!) continue;
      let i = filled < k ? filled++ : k - 1;
      while (i > 0 && values[o + i - 1]! < x) {
        values[o + i] = values[o + i - 1]!;
        indices[o + i] = indices[o + i - 1]!;
        i--;
      }
      values[o + i] = x;
      indices[o + i] = v;
    }
  }
  return { values, indices };
}

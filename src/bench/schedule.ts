/**
 * Order of the models within one iteration of an interleaved benchmark. The order rotates every
 * iteration (A B, B A, A B, …): a model never always runs right after the other one, so whatever the first
 * run of an iteration pays (caches the other model evicted, a clock that has just risen) is shared.
 */
export function runOrder(iteration: number, models: number): number[] {
  const shift = models > 0 ? iteration % models : 0;
  return Array.from({ length: models }, (_, i) => (i + shift) % models);
}

/** Whether a target computes in a float type, and why not, for commands that would emit it. */
import type { FloatType, Target } from './types.js';
import { profileFor } from './index.js';

/** Why `target` cannot run a model computing in `type`, or undefined when it can. */
export function unsupportedFloat(target: Target, type: FloatType): string | undefined {
  const p = profileFor(target);
  if (p.computeTypes.includes(type)) return undefined;
  return `${p.title} has no ${type} kernels (it computes in ${p.computeTypes.join(', ')})`;
}

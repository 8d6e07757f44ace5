/** The target profiles by name. */
import type { Target, TargetProfile } from './types.js';
import { cpuProfile } from './cpu.js';
import { cudaProfile } from './cuda.js';
import { tensorrtProfile } from './tensorrt.js';
import { openvinoProfile } from './openvino.js';

export const PROFILES: Readonly<Record<Target, TargetProfile>> = {
  cpu: cpuProfile,
  cuda: cudaProfile,
  tensorrt: tensorrtProfile,
  openvino: openvinoProfile,
};

export function profileFor(target: Target): TargetProfile {
  return PROFILES[target];
}

export type { Finding, Severity, TargetProfile } from './types.js';

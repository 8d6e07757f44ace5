/**
 * Makes a model run on the cpu target as its profile (src/targets/cpu.ts) asks: see rewrites/plan.ts for
 * the steps. Every rewrite keeps the outputs on the CPU provider within the tolerance its file states.
 */
import { legalizePass } from './rewrites/pass.js';

export default legalizePass('cpu');

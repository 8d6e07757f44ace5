/** Options of the legalize-<target> passes. */
import { z } from 'zod';

export const LegalizeOptions = z.object({
  attention: z.enum(['auto', 'opset23', 'primitive']).default('auto')
    .describe('form for com.microsoft attention/rotary ops the target rejects: auto takes the target profile\'s form'),
  precision: z.boolean().default(true).describe('convert to float16 (convert-float16) when an op has no float32 kernel on the target'),
  requantize: z.boolean().default(true).describe('requantize weights to the symmetric signed form the target needs (reports the error growth)'),
  dropDynamic: z.boolean().default(true).describe('where the target takes no run-time activation quantization, keep activations float (weights stay quantized)'),
}).strict();
export type LegalizeOptions = z.output<typeof LegalizeOptions>;

/** The quantization settings the benchmark measures, as pass name and options. */
export interface ModeSpec {
  readonly label: string;
  readonly pass: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export const MODES: Readonly<Record<string, ModeSpec>> = {
  int8: { label: 'dynamic int8, per-channel', pass: 'quantize-dynamic', options: { perChannel: true } },
  int4: { label: 'weight-only 4-bit, block 32, rtn', pass: 'quantize-weight-only', options: { bits: 4, blockSize: 32 } },
};

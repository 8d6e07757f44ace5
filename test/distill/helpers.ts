/** Helpers for the distill tests: .npy files of token ids, and a teacher whose chosen blocks add nothing. */
import fs from 'node:fs';
import type { Model } from '../../src/ir/model.js';
import { cloneModel } from '../../src/ir/clone.js';
import type { Value } from '../../src/ir/value.js';
import { isConstant } from '../../src/analysis/constants.js';
import type { BlockBoundary } from '../../src/distill/boundaries.js';
import { mulberry32 } from '../../src/runtime/feeds.js';

/** Writes int64 [rows, seq] ids drawn below `vocab` (seeded) as a .npy file; returns them. */
export function writeIds(file: string, rows: number, seq: number, vocab: number, seed = 1): BigInt64Array {
  const rand = mulberry32(seed);
  const ids = BigInt64Array.from({ length: rows * seq }, () => BigInt(Math.floor(rand() * vocab)));
  writeNpy(file, '<i8', [rows, seq], new Uint8Array(ids.buffer));
  return ids;
}

export function writeNpy(file: string, descr: string, dims: readonly number[], data: Uint8Array): void {
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims.join(', ')}${dims.length === 1 ? ',' : ''}), }`.padEnd(117, ' ') + '\n';
  const bytes = new Uint8Array(10 + header.length + data.byteLength);
  bytes.set(Buffer.from('\x93NUMPY', 'latin1'));
  bytes[6] = 1;
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(Buffer.from(header, 'latin1'), 10);
  bytes.set(data, 10 + header.length);
  fs.writeFileSync(file, bytes);
}

/**
 * A copy of a pre-norm model in which the listed blocks add zero to the stream: their output projections (and
 * the biases right after them) are zeroed, so each such block passes its input through unchanged, which is
 * what removing it does.
 */
export function silenceBlocks(model: Model, blocks: readonly BlockBoundary[], which: readonly number[]): Model {
  const copy = cloneModel(model);
  for (const i of which) {
    for (const s of blocks[i]!.sublayers) {
      const product = copy.graph.lookup(s.projection!.output)!;
      const node = product.producer!;
      for (const operand of node.inputs.slice(1)) if (operand) zero(operand);
      for (const use of product.uses) {
        const bias = use.node.opType === 'Add' ? use.node.inputs.find((x) => x !== product && isConstant(x)) : undefined;
        if (bias) zero(bias);
      }
    }
  }
  return copy;
}

/** Zeroes a constant operand (an initializer, or one behind a Transpose). */
function zero(v: Value): void {
  const t = v.initializer ?? v.producer?.inputs[0]?.initializer;
  if (!t) throw new Error(`'${v.name}' is not a constant`);
  t.setBytes(new Uint8Array(t.byteLength));
}

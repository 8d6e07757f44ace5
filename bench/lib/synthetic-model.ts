/**
 * A decoder-shaped float32 model of any size with all weights in one external data file, written in
 * fixed-size chunks: memory stays at one chunk however large the model is.
 *
 *   input_ids -> Gather(embed) -> N x [ *norm1 -> MatMul(qkv) -> MatMul(o) -> +residual
 *                                       *norm2 -> MatMul(up) -> Relu -> MatMul(down) -> +residual ]
 *             -> *norm_f -> MatMul(lm_head) -> logits
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeMessage } from '../../src/onnx/encode.js';
import { DType } from '../../src/ir/dtype.js';
import type { NodeProto, TensorProto, ValueInfoProto } from '../../src/onnx/proto.js';

export interface SyntheticShape {
  readonly hidden: number;
  readonly vocab: number;
  readonly layers: number;
}

export interface SyntheticModel {
  readonly file: string;
  readonly dataFile: string;
  /** Model file plus data file. */
  readonly bytes: number;
  readonly tensors: number;
  readonly shape: SyntheticShape;
}

const CHUNK = 8 << 20;
/** Offsets aligned to pages, as exporters do for memory mapping. */
const ALIGN = 4096;

/** Layers needed for about `targetBytes` of weights with the given width and vocabulary. */
export function shapeFor(targetBytes: number, hidden: number, vocab: number): SyntheticShape {
  const fixed = 2 * vocab * hidden * 4;
  const perLayer = 14 * hidden * hidden * 4 + 2 * hidden * 4;
  return { hidden, vocab, layers: Math.max(1, Math.round((targetBytes - fixed) / perLayer)) };
}

interface Weight { readonly name: string; readonly dims: readonly number[] }

function weightsOf({ hidden: h, vocab: v, layers }: SyntheticShape): Weight[] {
  const out: Weight[] = [{ name: 'embed', dims: [v, h] }];
  for (let i = 0; i < layers; i++) {
    out.push(
      { name: `l${i}.norm1`, dims: [h] }, { name: `l${i}.qkv`, dims: [h, 3 * h] }, { name: `l${i}.o`, dims: [3 * h, h] },
      { name: `l${i}.norm2`, dims: [h] }, { name: `l${i}.up`, dims: [h, 4 * h] }, { name: `l${i}.down`, dims: [4 * h, h] },
    );
  }
  out.push({ name: 'norm_f', dims: [h] }, { name: 'lm_head', dims: [h, v] });
  return out;
}

function nodesOf(layers: number): NodeProto[] {
  const nodes: NodeProto[] = [];
  const node = (op_type: string, input: string[], output: string) => { nodes.push({ op_type, input, output: [output], name: output }); };
  node('Gather', ['embed', 'input_ids'], 'h0');
  for (let i = 0; i < layers; i++) {
    const x = `h${i}`;
    node('Mul', [x, `l${i}.norm1`], `l${i}.a`);
    node('MatMul', [`l${i}.a`, `l${i}.qkv`], `l${i}.b`);
    node('MatMul', [`l${i}.b`, `l${i}.o`], `l${i}.c`);
    node('Add', [x, `l${i}.c`], `l${i}.r`);
    node('Mul', [`l${i}.r`, `l${i}.norm2`], `l${i}.d`);
    node('MatMul', [`l${i}.d`, `l${i}.up`], `l${i}.e`);
    node('Relu', [`l${i}.e`], `l${i}.f`);
    node('MatMul', [`l${i}.f`, `l${i}.down`], `l${i}.g`);
    node('Add', [`l${i}.r`, `l${i}.g`], `h${i + 1}`);
  }
  node('Mul', [`h${layers}`, 'norm_f'], 'hf');
  node('MatMul', ['hf', 'lm_head'], 'logits');
  return nodes;
}

/** Small values (|w| < 0.02) so a forward pass stays finite; the block repeats through the file. */
function weightBlock(): Uint8Array {
  const block = new Float32Array(CHUNK / 4);
  let s = 0x9e3779b9;
  for (let i = 0; i < block.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    block[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 0.04;
  }
  return new Uint8Array(block.buffer);
}

/** Writes `<dir>/model.onnx` and `<dir>/model.onnx.data`. */
export function writeSyntheticModel(dir: string, shape: SyntheticShape): SyntheticModel {
  const file = path.join(dir, 'model.onnx');
  const dataFile = `${file}.data`;
  const block = weightBlock();
  const initializer: TensorProto[] = [];
  const fd = fs.openSync(dataFile, 'w');
  try {
    let at = 0;
    for (const [k, w] of weightsOf(shape).entries()) {
      const offset = Math.ceil(at / ALIGN) * ALIGN;
      const length = w.dims.reduce((a, b) => a * b, 1) * 4;
      // Each tensor starts at another place in the block: no two weights are equal (a runtime could share them).
      let from = (k * 40_961 * 4) % CHUNK;
      for (let done = 0; done < length;) {
        const n = Math.min(CHUNK - from, length - done);
        done += fs.writeSync(fd, block, from, n, offset + done);
        from = 0;
      }
      at = offset + length;
      initializer.push({
        name: w.name, data_type: DType.FLOAT, dims: [...w.dims], data_location: 1,
        external_data: [
          { key: 'location', value: path.basename(dataFile) },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(length) },
        ],
      });
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const info = (name: string, elem: number, dims: (number | string)[]): ValueInfoProto => ({
    name, type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  });
  fs.writeFileSync(file, encodeMessage('ModelProto', {
    ir_version: 8,
    producer_name: 'llmopt-bench',
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'synthetic-decoder',
      node: nodesOf(shape.layers),
      initializer,
      input: [info('input_ids', DType.INT64, [1, 'sequence'])],
      output: [info('logits', DType.FLOAT, [1, 'sequence', shape.vocab])],
    },
  }));
  return { file, dataFile, bytes: fs.statSync(file).size + fs.statSync(dataFile).size, tensors: initializer.length, shape };
}

/** Host tensors exchanged with onnxruntime: typed arrays with dims and an ONNX dtype. */
import ort from 'onnxruntime-node';
import { dtypeFromOrtName, ortTypeName, dtypeName, elementCount } from '../ir/dtype.js';
import type { TypedArray } from '../ir/tensor.js';
import { RuntimeError } from '../errors.js';

export interface HostTensor {
  readonly dtype: number;
  readonly dims: readonly number[];
  readonly data: TypedArray | readonly string[];
}

export type Feeds = Readonly<Record<string, HostTensor>>;
export type Outputs = Readonly<Record<string, HostTensor>>;

export function toOrt(t: HostTensor, name = ''): ort.Tensor {
  const type = ortTypeName(t.dtype);
  if (!type) throw new RuntimeError(`input '${name}': ${dtypeName(t.dtype)} tensors cannot be passed to onnxruntime-node`);
  if (!Array.isArray(t.data) && (t.data as TypedArray).length !== elementCount(t.dims) && type !== 'int4' && type !== 'uint4') {
    throw new RuntimeError(`input '${name}': ${(t.data as TypedArray).length} values for shape [${t.dims.join(',')}]`);
  }
  return new ort.Tensor(type as 'float32', t.data as Float32Array, t.dims as number[]);
}

export function fromOrt(t: ort.Tensor): HostTensor {
  const dtype = dtypeFromOrtName(t.type);
  if (dtype === undefined) throw new RuntimeError(`onnxruntime returned an unsupported tensor type '${t.type}'`);
  return { dtype, dims: [...t.dims], data: t.data as TypedArray | string[] };
}

/**
 * Shapes of decoded ONNX messages (field names as in onnx.proto). Every field is optional because proto2
 * presence is kept: a field absent on the wire stays absent, so re-encoding reproduces the input bytes.
 * 64-bit integers arrive as `Long` (exact); writers may also put plain numbers there.
 */
import type Long from 'long';

export type Int64 = number | Long;

/** Fields protobufjs did not recognise, kept verbatim and written back at the end of the message. */
export interface WithUnknowns { $unknowns?: Uint8Array[] }

export interface StringStringEntryProto extends WithUnknowns { key?: string; value?: string }
export interface OperatorSetIdProto extends WithUnknowns { domain?: string; version?: Int64 }

export interface TensorProto extends WithUnknowns {
  dims?: Int64[];
  data_type?: number;
  segment?: { begin?: Int64; end?: Int64 };
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: Int64[];
  name?: string;
  raw_data?: Uint8Array;
  double_data?: number[];
  uint64_data?: Int64[];
  doc_string?: string;
  external_data?: StringStringEntryProto[];
  data_location?: number;
  metadata_props?: StringStringEntryProto[];
}

export interface SparseTensorProto extends WithUnknowns { values?: TensorProto; indices?: TensorProto; dims?: Int64[] }

export interface DimensionProto extends WithUnknowns { dim_value?: Int64; dim_param?: string; denotation?: string }
export interface TensorShapeProto extends WithUnknowns { dim?: DimensionProto[] }

export interface TypeProto extends WithUnknowns {
  tensor_type?: { elem_type?: number; shape?: TensorShapeProto } & WithUnknowns;
  sequence_type?: { elem_type?: TypeProto } & WithUnknowns;
  map_type?: { key_type?: number; value_type?: TypeProto } & WithUnknowns;
  optional_type?: { elem_type?: TypeProto } & WithUnknowns;
  sparse_tensor_type?: { elem_type?: number; shape?: TensorShapeProto } & WithUnknowns;
  opaque_type?: { domain?: string; name?: string } & WithUnknowns;
  denotation?: string;
}

export interface ValueInfoProto extends WithUnknowns {
  name?: string;
  type?: TypeProto;
  doc_string?: string;
  metadata_props?: StringStringEntryProto[];
}

export interface AttributeProto extends WithUnknowns {
  name?: string;
  ref_attr_name?: string;
  doc_string?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  sparse_tensor?: SparseTensorProto;
  tp?: TypeProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  sparse_tensors?: SparseTensorProto[];
  type_protos?: TypeProto[];
}

export interface NodeProto extends WithUnknowns {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  overload?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
  metadata_props?: StringStringEntryProto[];
  device_configurations?: unknown[];
}

export interface GraphProto extends WithUnknowns {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  sparse_initializer?: SparseTensorProto[];
  doc_string?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  quantization_annotation?: unknown[];
  metadata_props?: StringStringEntryProto[];
}

export interface FunctionProto extends WithUnknowns {
  name?: string;
  input?: string[];
  output?: string[];
  attribute?: string[];
  attribute_proto?: AttributeProto[];
  node?: NodeProto[];
  doc_string?: string;
  opset_import?: OperatorSetIdProto[];
  domain?: string;
  overload?: string;
  value_info?: ValueInfoProto[];
  metadata_props?: StringStringEntryProto[];
}

export interface ModelProto extends WithUnknowns {
  ir_version?: Int64;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: StringStringEntryProto[];
  training_info?: unknown[];
  functions?: FunctionProto[];
  configuration?: unknown[];
}

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataLocation values. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

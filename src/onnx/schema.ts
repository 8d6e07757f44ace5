/**
 * The ONNX wire schema (onnx.proto, IR version 13) as a protobufjs reflection root.
 * Field names keep the .proto spelling so decoded objects read like the spec.
 * Repeated numeric fields are unpacked unless the spec marks them packed (proto2 rules).
 */
import protobuf from 'protobufjs';

type FieldSpec = readonly [name: string, id: number, type: string, rule?: 'repeated' | 'packed'];

const messages: Record<string, readonly FieldSpec[]> = {
  StringStringEntryProto: [['key', 1, 'string'], ['value', 2, 'string']],
  OperatorSetIdProto: [['domain', 1, 'string'], ['version', 2, 'int64']],
  TensorAnnotation: [['tensor_name', 1, 'string'], ['quant_parameter_tensor_names', 2, 'StringStringEntryProto', 'repeated']],
  AttributeProto: [
    ['name', 1, 'string'], ['f', 2, 'float'], ['i', 3, 'int64'], ['s', 4, 'bytes'], ['t', 5, 'TensorProto'],
    ['g', 6, 'GraphProto'], ['floats', 7, 'float', 'repeated'], ['ints', 8, 'int64', 'repeated'],
    ['strings', 9, 'bytes', 'repeated'], ['tensors', 10, 'TensorProto', 'repeated'], ['graphs', 11, 'GraphProto', 'repeated'],
    ['doc_string', 13, 'string'], ['tp', 14, 'TypeProto'], ['type_protos', 15, 'TypeProto', 'repeated'],
    ['type', 20, 'int32'], ['ref_attr_name', 21, 'string'], ['sparse_tensor', 22, 'SparseTensorProto'],
    ['sparse_tensors', 23, 'SparseTensorProto', 'repeated'],
  ],
  ValueInfoProto: [['name', 1, 'string'], ['type', 2, 'TypeProto'], ['doc_string', 3, 'string'], ['metadata_props', 4, 'StringStringEntryProto', 'repeated']],
  NodeProto: [
    ['input', 1, 'string', 'repeated'], ['output', 2, 'string', 'repeated'], ['name', 3, 'string'], ['op_type', 4, 'string'],
    ['attribute', 5, 'AttributeProto', 'repeated'], ['doc_string', 6, 'string'], ['domain', 7, 'string'], ['overload', 8, 'string'],
    ['metadata_props', 9, 'StringStringEntryProto', 'repeated'], ['device_configurations', 10, 'NodeDeviceConfigurationProto', 'repeated'],
  ],
  IntIntListEntryProto: [['key', 1, 'int64'], ['value', 2, 'int64', 'repeated']],
  NodeDeviceConfigurationProto: [['configuration_id', 1, 'string'], ['sharding_spec', 2, 'ShardingSpecProto', 'repeated'], ['pipeline_stage', 3, 'int32']],
  ShardingSpecProto: [
    ['tensor_name', 1, 'string'], ['device', 2, 'int64', 'repeated'],
    ['index_to_device_group_map', 3, 'IntIntListEntryProto', 'repeated'], ['sharded_dim', 4, 'ShardedDimProto', 'repeated'],
  ],
  ShardedDimProto: [['axis', 1, 'int64'], ['simple_sharding', 2, 'SimpleShardedDimProto', 'repeated']],
  SimpleShardedDimProto: [['dim_value', 1, 'int64'], ['dim_param', 2, 'string'], ['num_shards', 3, 'int64']],
  TrainingInfoProto: [
    ['initialization', 1, 'GraphProto'], ['algorithm', 2, 'GraphProto'],
    ['initialization_binding', 3, 'StringStringEntryProto', 'repeated'], ['update_binding', 4, 'StringStringEntryProto', 'repeated'],
  ],
  DeviceConfigurationProto: [['name', 1, 'string'], ['num_devices', 2, 'int32'], ['device', 3, 'string', 'repeated']],
  ModelProto: [
    ['ir_version', 1, 'int64'], ['producer_name', 2, 'string'], ['producer_version', 3, 'string'], ['domain', 4, 'string'],
    ['model_version', 5, 'int64'], ['doc_string', 6, 'string'], ['graph', 7, 'GraphProto'],
    ['opset_import', 8, 'OperatorSetIdProto', 'repeated'], ['metadata_props', 14, 'StringStringEntryProto', 'repeated'],
    ['training_info', 20, 'TrainingInfoProto', 'repeated'], ['functions', 25, 'FunctionProto', 'repeated'],
    ['configuration', 26, 'DeviceConfigurationProto', 'repeated'],
  ],
  GraphProto: [
    ['node', 1, 'NodeProto', 'repeated'], ['name', 2, 'string'], ['initializer', 5, 'TensorProto', 'repeated'],
    ['doc_string', 10, 'string'], ['input', 11, 'ValueInfoProto', 'repeated'], ['output', 12, 'ValueInfoProto', 'repeated'],
    ['value_info', 13, 'ValueInfoProto', 'repeated'], ['quantization_annotation', 14, 'TensorAnnotation', 'repeated'],
    ['sparse_initializer', 15, 'SparseTensorProto', 'repeated'], ['metadata_props', 16, 'StringStringEntryProto', 'repeated'],
  ],
  'TensorProto.Segment': [['begin', 1, 'int64'], ['end', 2, 'int64']],
  TensorProto: [
    ['dims', 1, 'int64', 'repeated'], ['data_type', 2, 'int32'], ['segment', 3, 'TensorProto.Segment'],
    ['float_data', 4, 'float', 'packed'], ['int32_data', 5, 'int32', 'packed'], ['string_data', 6, 'bytes', 'repeated'],
    ['int64_data', 7, 'int64', 'packed'], ['name', 8, 'string'], ['raw_data', 9, 'bytes'], ['double_data', 10, 'double', 'packed'],
    ['uint64_data', 11, 'uint64', 'packed'], ['doc_string', 12, 'string'], ['external_data', 13, 'StringStringEntryProto', 'repeated'],
    ['data_location', 14, 'int32'], ['metadata_props', 16, 'StringStringEntryProto', 'repeated'],
  ],
  SparseTensorProto: [['values', 1, 'TensorProto'], ['indices', 2, 'TensorProto'], ['dims', 3, 'int64', 'repeated']],
  'TensorShapeProto.Dimension': [['dim_value', 1, 'int64'], ['dim_param', 2, 'string'], ['denotation', 3, 'string']],
  TensorShapeProto: [['dim', 1, 'TensorShapeProto.Dimension', 'repeated']],
  'TypeProto.Tensor': [['elem_type', 1, 'int32'], ['shape', 2, 'TensorShapeProto']],
  'TypeProto.Sequence': [['elem_type', 1, 'TypeProto']],
  'TypeProto.Map': [['key_type', 1, 'int32'], ['value_type', 2, 'TypeProto']],
  'TypeProto.Optional': [['elem_type', 1, 'TypeProto']],
  'TypeProto.SparseTensor': [['elem_type', 1, 'int32'], ['shape', 2, 'TensorShapeProto']],
  'TypeProto.Opaque': [['domain', 1, 'string'], ['name', 2, 'string']],
  TypeProto: [
    ['tensor_type', 1, 'TypeProto.Tensor'], ['sequence_type', 4, 'TypeProto.Sequence'], ['map_type', 5, 'TypeProto.Map'],
    ['denotation', 6, 'string'], ['opaque_type', 7, 'TypeProto.Opaque'], ['sparse_tensor_type', 8, 'TypeProto.SparseTensor'],
    ['optional_type', 9, 'TypeProto.Optional'],
  ],
  // onnx-data.proto: the containers that test data and sequence/optional values are stored in.
  SequenceProto: [
    ['name', 1, 'string'], ['elem_type', 2, 'int32'], ['tensor_values', 3, 'TensorProto', 'repeated'],
    ['sparse_tensor_values', 4, 'SparseTensorProto', 'repeated'], ['sequence_values', 5, 'SequenceProto', 'repeated'],
    ['map_values', 6, 'MapProto', 'repeated'], ['optional_values', 7, 'OptionalProto', 'repeated'],
  ],
  MapProto: [
    ['name', 1, 'string'], ['key_type', 2, 'int32'], ['keys', 3, 'int64', 'repeated'],
    ['string_keys', 4, 'bytes', 'repeated'], ['values', 5, 'SequenceProto'],
  ],
  OptionalProto: [
    ['name', 1, 'string'], ['elem_type', 2, 'int32'], ['tensor_value', 3, 'TensorProto'],
    ['sparse_tensor_value', 4, 'SparseTensorProto'], ['sequence_value', 5, 'SequenceProto'],
    ['map_value', 6, 'MapProto'], ['optional_value', 7, 'OptionalProto'],
  ],
  FunctionProto: [
    ['name', 1, 'string'], ['input', 4, 'string', 'repeated'], ['output', 5, 'string', 'repeated'],
    ['attribute', 6, 'string', 'repeated'], ['node', 7, 'NodeProto', 'repeated'], ['doc_string', 8, 'string'],
    ['opset_import', 9, 'OperatorSetIdProto', 'repeated'], ['domain', 10, 'string'], ['attribute_proto', 11, 'AttributeProto', 'repeated'],
    ['value_info', 12, 'ValueInfoProto', 'repeated'], ['overload', 13, 'string'], ['metadata_props', 14, 'StringStringEntryProto', 'repeated'],
  ],
};

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const ns = root.define('onnx');
  // Parents before their nested types: sort so 'TensorProto' precedes 'TensorProto.Segment'.
  const names = Object.keys(messages).sort((a, b) => a.split('.').length - b.split('.').length);
  for (const fullName of names) {
    const parts = fullName.split('.');
    const type = new protobuf.Type(parts[parts.length - 1]!);
    for (const [name, id, fieldType, rule] of messages[fullName]!) {
      const repeated = rule === 'repeated' || rule === 'packed';
      // proto2: optional scalars track presence; repeated scalars are unpacked unless marked packed.
      const options = repeated ? { packed: rule === 'packed' } : undefined;
      type.add(new protobuf.Field(name, id, fieldType, repeated ? 'repeated' : 'optional', undefined, options));
    }
    const parent = parts.length === 1 ? ns : ns.lookupType(parts.slice(0, -1).join('.'));
    parent.add(type);
  }
  root.resolveAll();
  return root;
}

const root = buildRoot();
export const ModelProtoType = root.lookupType('onnx.ModelProto');
export const TensorProtoType = root.lookupType('onnx.TensorProto');
export const GraphProtoType = root.lookupType('onnx.GraphProto');
export const lookupType = (name: string): protobuf.Type => root.lookupType(`onnx.${name}`);

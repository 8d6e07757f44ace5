/**
 * Seed models for the fuzzer: backend test models chosen for variety (If/Loop/Scan bodies, nested
 * subgraphs, initializers, typed-field tensors, string attributes, sequence/optional types, a training
 * domain) plus three built here for what the backend data lacks: sparse initializers and attributes,
 * string tensors, a model-local function and external data.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeMessage } from '../../src/onnx/encode.js';
import type { ModelProto, ValueInfoProto } from '../../src/onnx/proto.js';
import { AttributeType } from '../../src/onnx/proto.js';
import { DType } from '../../src/ir/dtype.js';

export const BACKEND_SEEDS = [
  // subgraphs
  'node/test_if', 'node/test_if_opt', 'node/test_if_seq', 'node/test_loop11', 'node/test_loop13_seq',
  'node/test_loop16_seq_none', 'node/test_scan_sum', 'node/test_scan9_sum',
  'node/test_sequence_map_add_2_sequences_expanded', 'node/test_range_float_type_positive_delta_expanded',
  // initializers
  'pytorch-converted/test_Conv2d', 'pytorch-converted/test_Conv3d_groups', 'pytorch-converted/test_ConvTranspose2d',
  'pytorch-converted/test_BatchNorm2d_eval', 'pytorch-converted/test_Embedding', 'pytorch-operator/test_operator_conv',
  'pytorch-operator/test_operator_non_float_params', 'simple/test_sequence_model1', 'node/test_qlinearconv',
  // strings
  'node/test_strnormalizer_export_monday_casesensintive_lower', 'simple/test_strnorm_model_monday_insensintive_upper_twodim',
  'node/test_cast_FLOAT_to_STRING', 'node/test_tfidfvectorizer_tf_uniandbigrams_skip5',
  // typed-field tensors (float_data, int32_data, int64_data)
  'node/test_constant', 'node/test_constantofshape_int_zeros', 'node/test_layer_normalization_3d_axis_negative_3_epsilon_expanded',
  'node/test_nllloss_NCd1d2d3_sum_weight_high_ii_expanded', 'node/test_blackmanwindow_expanded',
  // other domains and types
  'node/test_adam_multiple', 'simple/test_gradient_of_add', 'node/test_optional_get_element_sequence',
] as const;

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export function loadSeeds(root: string): Seed[] {
  const fromData = BACKEND_SEEDS.map((dir) => ({ name: dir, bytes: new Uint8Array(fs.readFileSync(path.join(root, dir, 'model.onnx'))) }));
  return [...fromData, ...builtSeeds()];
}

const floatInput = (name: string, dims: number[]): ValueInfoProto => ({
  name, type: { tensor_type: { elem_type: DType.FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
});

/** Models built here: every field present on purpose, so mutations of it reach the matching reader code. */
export function builtSeeds(): Seed[] {
  const sparse: ModelProto = {
    ir_version: 8,
    producer_name: 'llmopt-fuzz',
    opset_import: [{ domain: '', version: 17 }],
    metadata_props: [{ key: 'purpose', value: 'sparse tensors and strings' }],
    graph: {
      name: 'sparse',
      node: [
        { op_type: 'Add', input: ['x', 's'], output: ['t'], name: 'add' },
        {
          op_type: 'Constant', output: ['c'], name: 'const',
          attribute: [{
            name: 'sparse_value', type: AttributeType.SPARSE_TENSOR,
            sparse_tensor: { values: { data_type: DType.FLOAT, dims: [1], float_data: [5] }, indices: { data_type: DType.INT64, dims: [1], int64_data: [2] }, dims: [4] },
          }],
        },
        { op_type: 'Mul', input: ['t', 'c'], output: ['y'], name: 'mul', doc_string: 'y = (x + s) * c' },
      ],
      initializer: [{ name: 'labels', data_type: DType.STRING, dims: [2], string_data: [new TextEncoder().encode('yes'), new TextEncoder().encode('no')] }],
      sparse_initializer: [{
        values: { name: 's', data_type: DType.FLOAT, dims: [2], float_data: [1, 2] },
        indices: { name: 's_indices', data_type: DType.INT64, dims: [2], int64_data: [0, 3] },
        dims: [4],
      }],
      input: [floatInput('x', [4])],
      output: [floatInput('y', [4])],
      value_info: [floatInput('t', [4])],
    },
  };
  const withFunction: ModelProto = {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }],
    graph: {
      name: 'calls',
      node: [{ op_type: 'AddTwice', domain: 'local', input: ['x', 'w'], output: ['y'], name: 'call' }],
      initializer: [{ name: 'w', data_type: DType.FLOAT, dims: [2], raw_data: new Uint8Array(new Float32Array([0.5, -1]).buffer) }],
      input: [floatInput('x', [2])],
      output: [floatInput('y', [2])],
    },
    functions: [{
      name: 'AddTwice', domain: 'local', input: ['a', 'b'], output: ['c'],
      opset_import: [{ domain: '', version: 17 }],
      node: [
        { op_type: 'Add', input: ['a', 'b'], output: ['ab'] },
        { op_type: 'Add', input: ['ab', 'b'], output: ['c'] },
      ],
    }],
  };
  const external: ModelProto = {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'external',
      node: [{ op_type: 'Add', input: ['x', 'w'], output: ['y'] }],
      initializer: [{
        name: 'w', data_type: DType.FLOAT, dims: [4], data_location: 1,
        external_data: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '16' }, { key: 'length', value: '16' }],
      }],
      input: [floatInput('x', [4])],
      output: [floatInput('y', [4])],
    },
  };
  return [
    { name: 'built/sparse-and-strings', bytes: encodeMessage('ModelProto', sparse) },
    { name: 'built/local-function', bytes: encodeMessage('ModelProto', withFunction) },
    { name: EXTERNAL_SEED, bytes: encodeMessage('ModelProto', external) },
  ];
}

/** The seed whose tensor lives in `weights.bin` of the folder below. */
export const EXTERNAL_SEED = 'built/external-data';

/**
 * A folder for external data: `weights.bin` (64 bytes), a sub-folder `sub` and a link `link` that leaves
 * the folder. Mutated locations land on each of them (see the names in mutate.ts).
 */
export function externalDataFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llmopt-fuzz-data-'));
  fs.writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(64).map((_, i) => i));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.symlinkSync(os.tmpdir(), path.join(dir, 'link'));
  return dir;
}

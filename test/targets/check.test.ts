import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkModel, countFindings, groupFindings } from '../../src/targets/check.js';
import { PROFILES } from '../../src/targets/index.js';
import { TARGETS, type Target } from '../../src/pipeline/pass.js';
import type { Finding } from '../../src/targets/types.js';
import { mlpWithClutter } from '../helpers/tiny.js';
import { asymmetricGraph, biasDqGraph, dynamicMatMulGraph, gqaGraph, matMulIntegerGraph, mhaGraph, normGeluGraph, qoperatorGraph } from './graphs.js';

const rules = (findings: readonly Finding[], severity?: 'error' | 'warning') =>
  [...new Set(findings.filter((f) => !severity || f.severity === severity).map((f) => `${f.rule}:${f.node}`))].sort();

describe('check: planted problems', () => {
  it('a DQ on a bias is an error for tensorrt only, fixed by legalize-tensorrt', () => {
    const m = biasDqGraph();
    const trt = checkModel(m, 'tensorrt');
    assert.deepEqual(rules(trt, 'error'), ['bias-dq:b_dq']);
    assert.equal(trt[0]!.fix, 'legalize-tensorrt');
    for (const t of ['cuda', 'openvino'] as const) assert.equal(countFindings(checkModel(m, t)).errors, 0, t);
  });

  it('asymmetric u8 activations and weights: tensorrt errors, openvino warns on the weight only', () => {
    const m = asymmetricGraph();
    assert.deepEqual(rules(checkModel(m, 'tensorrt'), 'error'), ['unsigned-type:w_dq', 'unsigned-type:x_dq', 'unsigned-type:x_q']);
    const ov = checkModel(m, 'openvino');
    assert.deepEqual(rules(ov), ['asymmetric-weight:w_dq']);
    assert.equal(ov[0]!.severity, 'warning');
    assert.equal(ov[0]!.fix, 'legalize-openvino');
  });

  it('a QOperator node is an error on cuda and tensorrt, a warning on openvino, fine on cpu', () => {
    const m = qoperatorGraph();
    assert.deepEqual(rules(checkModel(m, 'cuda'), 'error'), ['qoperator:qmm']);
    assert.ok(rules(checkModel(m, 'tensorrt'), 'error').includes('qoperator:qmm'));
    assert.deepEqual(rules(checkModel(m, 'openvino')), ['qoperator:qmm']);
    assert.equal(countFindings(checkModel(m, 'openvino')).errors, 0);
    assert.deepEqual(checkModel(m, 'cpu'), []);
  });

  it('an fp32 GroupQueryAttention is an error on cuda (fp16/bf16 kernels only), a contrib op on tensorrt/openvino', () => {
    const m = gqaGraph();
    const cuda = checkModel(m, 'cuda');
    assert.deepEqual(rules(cuda), ['op-dtype:gqa']);
    assert.match(cuda[0]!.message, /float16\/bfloat16 kernels only, not float32/);
    assert.equal(cuda[0]!.fix, 'legalize-cuda');
    for (const t of ['tensorrt', 'openvino'] as const) assert.deepEqual(rules(checkModel(m, t), 'error'), ['contrib-op:gqa']);
    assert.deepEqual(checkModel(m, 'cpu'), []);
  });

  it('full-range s8 weights with u8 activations warn on cpu (saturation without VNNI); 7-bit weights do not', () => {
    assert.deepEqual(rules(checkModel(matMulIntegerGraph(), 'cpu')), ['s8-saturation:mmi']);
    assert.deepEqual(rules(checkModel(dynamicMatMulGraph(127), 'cpu')), ['s8-saturation:dqmm']);
    assert.deepEqual(checkModel(dynamicMatMulGraph(64), 'cpu'), []);
  });

  it('DynamicQuantizeMatMul is reported once on cuda and tensorrt (a contrib op without kernel there)', () => {
    const m = dynamicMatMulGraph(64);
    assert.deepEqual(rules(checkModel(m, 'cuda')), ['contrib-op:dqmm']);
    assert.deepEqual(rules(checkModel(m, 'tensorrt')), ['contrib-op:dqmm']);
  });

  it('onnxruntime fused norms and GELUs pass on cpu/cuda, fail on tensorrt and openvino', () => {
    const m = normGeluGraph();
    for (const t of ['cpu', 'cuda'] as const) assert.equal(countFindings(checkModel(m, t)).errors, 0, t);
    for (const t of ['tensorrt', 'openvino'] as const) {
      const ops = groupFindings(checkModel(m, t)).map((g) => g.op).sort();
      assert.deepEqual(ops, [
        'SimplifiedLayerNormalization', 'com.microsoft.BiasGelu', 'com.microsoft.FastGelu', 'com.microsoft.Gelu', 'com.microsoft.QuickGelu',
        'com.microsoft.SkipLayerNormalization', 'com.microsoft.SkipSimplifiedLayerNormalization',
      ], t);
    }
    assert.equal(countFindings(checkModel(mhaGraph(true), 'tensorrt')).errors, 1);
  });

  it('opset and IR limits: above the runtime is an error (a warning where the limit is an assumption)', () => {
    const m = mlpWithClutter();
    m.opsetImports = [{ domain: '', version: 24 }];
    assert.deepEqual(rules(checkModel(m, 'cpu')), []);
    const ov = checkModel(m, 'openvino');
    assert.deepEqual(rules(ov), ['opset-high:null']);
    assert.equal(ov[0]!.severity, 'warning');
    m.irVersion = 14;
    assert.deepEqual(rules(checkModel(m, 'cpu'), 'error'), ['ir-high:null']);
  });
});

describe('check: clean models', () => {
  for (const target of TARGETS) {
    it(`a plain float MLP has no findings on ${target}`, () => {
      assert.deepEqual(checkModel(mlpWithClutter(), target as Target), []);
    });
  }

  it('every profile names a source for its limits and restrictions', () => {
    for (const p of Object.values(PROFILES)) {
      for (const b of [p.maxOpset, p.minOpset, p.maxIrVersion]) assert.ok(b.source.length > 0);
      for (const r of Object.values(p.restrictedOps)) assert.ok(r.source.length > 0);
      for (const r of Object.values(p.quant)) if (r) assert.ok(r.source.length > 0 && r.reason.length > 0);
    }
  });
});

/**
 * What an execution provider accepts, as data: one TargetProfile per target (cpu.ts, cuda.ts, tensorrt.ts,
 * openvino.ts). The check engine (check.ts) reads a profile to judge a model; the legalize passes read it to
 * choose the forms they emit. Every entry names its source: a key of docs/targets.md, or 'assumption'.
 */
import type { Target } from '../pipeline/pass.js';

export type { Target };

/** error: the node fails to load or falls back to another provider; warning: it runs, slowly or inexactly. */
export type Severity = 'error' | 'warning';

/** One problem of a model on a target. */
export interface Finding {
  /** Rule id, e.g. 'contrib-op', 'zero-point', 'bias-dq'. */
  readonly rule: string;
  readonly severity: Severity;
  /** The node's name (or `#index` when unnamed); null for a finding about the whole model. */
  readonly node: string | null;
  /** `domain.opType` or `opType`; null for model-level findings. */
  readonly op: string | null;
  readonly message: string;
  /** The pass that fixes it (`legalize-tensorrt`, `convert-float16`), or null when no pass does. */
  readonly fix: string | null;
}

export type OptionValue = string | number | boolean;

/** What provider options depend on, read from the model. */
export interface ModelFacts {
  /** Linear layers compute in float32. */
  readonly float32Compute: boolean;
  readonly int8Qdq: boolean;
  readonly int4Qdq: boolean;
  /** Every float linear weight is 2:4 sparse along K. */
  readonly sparse24: boolean;
  readonly norms: boolean;
  /** Shape profile lists ("name:1x1,...") when some input dim is symbolic. */
  readonly shapes: { readonly min: string; readonly opt: string; readonly max: string } | undefined;
}

/** A number with where it comes from. */
export interface Bound {
  readonly value: number;
  /** A key of docs/targets.md's source list, or 'assumption' (see the doc for the reasoning). */
  readonly source: string;
}

export type FloatType = 'float32' | 'float16' | 'bfloat16' | 'float64';

/** A com.microsoft operator the provider has kernels for, with the float types of its T constraint. */
export interface ContribOp {
  readonly types?: readonly FloatType[];
  readonly source: string;
}

/** A standard-domain operator the provider rejects or runs badly. */
export interface OpRestriction {
  readonly severity: Severity;
  readonly reason: string;
  readonly source: string;
}

/** Forms the legalize passes emit for this target. */
export interface Forms {
  /** 4/8-bit blockwise weights: com.microsoft MatMulNBits or opset-21 DequantizeLinear(block_size) + MatMul. */
  readonly blockwise: 'matmulnbits' | 'qdq';
  /** Attention: keep com.microsoft ops, opset-23 Attention, or MatMul/Softmax primitives. */
  readonly attention: 'contrib' | 'opset23' | 'primitive';
  /** Rotary embedding and RMS normalization: keep, opset-23 ops, or primitives. */
  readonly rotary: 'contrib' | 'opset23' | 'primitive';
  readonly rmsNorm: 'contrib' | 'opset23' | 'primitive';
  /** GELU family: keep com.microsoft, opset-20 Gelu, or Erf/Tanh primitives. */
  readonly gelu: 'contrib' | 'opset20' | 'primitive';
}

export interface QuantRules {
  /** QOperator ops (QLinearMatMul, MatMulInteger, QLinearConv, QGemm, ...): fine, slow, or failing. */
  readonly qoperator: OpRestriction | undefined;
  /** Activations quantized at run time (DynamicQuantizeLinear, DynamicQuantizeMatMul): allowed or not. */
  readonly dynamicActivations: OpRestriction | undefined;
  /** Q/DQ zero points must be 0. */
  readonly symmetricOnly: OpRestriction | undefined;
  /** Constant-weight DQ (per tensor or per channel) must be signed and symmetric (blockwise weights exempt). */
  readonly symmetricWeights: OpRestriction | undefined;
  /** Unsigned Q/DQ types (uint8, uint4) rejected. */
  readonly unsignedTypes: OpRestriction | undefined;
  /** A DequantizeLinear feeding a bias is rejected. */
  readonly biasDq: OpRestriction | undefined;
  /** Per-axis weight DQ must be along the output channels (MatMul [K,N]: axis 1, Conv: 0, ConvTranspose: 1). */
  readonly channelAxis: OpRestriction | undefined;
  /** Q/DQ scales must be constants when the engine is built. */
  readonly constantScales: OpRestriction | undefined;
  /** u8 activations x full-range s8 weights in integer kernels give wrong sums without VNNI. */
  readonly s8Saturation: OpRestriction | undefined;
  /** Constant DQ(int4/int8) -> MatMul is fused by onnxruntime into a kernel with int8 activations. */
  readonly qdqMatMulFusion: OpRestriction | undefined;
}

export interface SessionDefaults {
  /** onnxruntime graph optimization level to create sessions with. */
  readonly graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  /** Session config entries (string values). */
  readonly config: Readonly<Record<string, string>>;
}

export interface TargetProfile {
  readonly target: Target;
  /** onnxruntime's provider name. */
  readonly provider: string;
  readonly title: string;
  readonly maxOpset: Bound;
  readonly minOpset: Bound;
  readonly maxIrVersion: Bound;
  /** Domains with kernels ('' = ai.onnx); others fail. */
  readonly domains: readonly string[];
  /** com.microsoft operators with kernels; undefined when the domain is not taken at all. */
  readonly contribOps: Readonly<Record<string, ContribOp>> | undefined;
  /** What a com.microsoft op outside the table means. */
  readonly otherContrib: OpRestriction;
  /** Standard-domain ops rejected or slow (ORT-only ops in the ai.onnx domain included). */
  readonly restrictedOps: Readonly<Record<string, OpRestriction>>;
  /** Float types with kernels for ordinary compute. */
  readonly computeTypes: readonly FloatType[];
  /** Precision the provider runs best; float32 models are converted by provider options or passes. */
  readonly preferredPrecision: FloatType;
  readonly quant: QuantRules;
  readonly forms: Forms;
  readonly session: SessionDefaults;
  /** Provider options written to the sidecar before model-dependent ones are added. */
  readonly providerOptions: Readonly<Record<string, OptionValue>>;
  /** Provider options that depend on the model (precision flags, shape profiles). */
  readonly modelOptions?: (facts: ModelFacts) => Record<string, OptionValue>;
  /** Notes for docs/targets.md and `llmopt check`. */
  readonly notes: readonly string[];
}

/**
 * Execution providers a benchmark may ask for, and what to say when this onnxruntime-node build lacks one.
 * The npm package ships the CPU provider; CUDA and TensorRT need binaries its install script downloads on
 * request; OpenVINO is not in any published build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';
import { ConfigError, RuntimeError } from '../errors.js';

export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'openvino'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

const GPU_INSTALL = 'on a machine with CUDA 12 and internet access, reinstall with `npm install onnxruntime-node --onnxruntime-node-install=cuda12`';

const HOW_TO_GET: Readonly<Record<ExecutionProvider, string>> = {
  cpu: '',
  cuda: GPU_INSTALL,
  tensorrt: `${GPU_INSTALL} (TensorRT 10 libraries must also be installed)`,
  openvino: 'the npm package of onnxruntime-node has no OpenVINO build: build onnxruntime-node from source with `--use_openvino`',
};

export function parseProvider(raw: string | undefined): ExecutionProvider {
  const ep = (raw ?? 'cpu').toLowerCase();
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(ep)) {
    throw new ConfigError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')}, got '${raw}'`);
  }
  return ep as ExecutionProvider;
}

/** The error for a provider this build cannot load: names it and says how to install one that can. */
export function missingProvider(ep: ExecutionProvider, detail?: string): RuntimeError {
  const why = detail ? ` (${detail})` : '';
  return new RuntimeError(`execution provider '${ep}' is not available in this onnxruntime-node${why}; ${HOW_TO_GET[ep]}, or use --ep cpu`);
}

/**
 * Fails early for a provider the build does not list (OpenVINO in the npm package) or whose libraries were
 * not downloaded (CUDA, TensorRT without the cuda12 install), before onnxruntime logs its own error.
 */
export function checkProvider(ep: ExecutionProvider): void {
  if (ep === 'cpu') return;
  const backend = ort.listSupportedBackends().find((b) => b.name === ep);
  if (!backend) throw missingProvider(ep, 'not compiled in');
  const libraries = [`onnxruntime_providers_shared`, `onnxruntime_providers_${ep}`];
  if (!backend.bundled && !libraries.every(libraryPresent)) throw missingProvider(ep, 'its libraries are not installed');
}

/** Whether a provider library sits beside the onnxruntime-node binding (bin/napi-vN/PLATFORM/ARCH). */
function libraryPresent(name: string): boolean {
  let bin: string;
  try {
    bin = path.join(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin');
  } catch {
    return true; // layout unknown: let onnxruntime decide
  }
  const file = process.platform === 'win32' ? `${name}.dll` : process.platform === 'darwin' ? `lib${name}.dylib` : `lib${name}.so`;
  const napi = fs.existsSync(bin) ? fs.readdirSync(bin).filter((d) => d.startsWith('napi-v')) : [];
  return napi.some((d) => fs.existsSync(path.join(bin, d, process.platform, process.arch, file)));
}

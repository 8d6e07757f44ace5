/** Pieces shared by commands that turn their flags into one pass's options (quantize, prune). */
import type { z } from 'zod';
import { getPass } from '../../pipeline/registry.js';
import { ConfigError } from '../../errors.js';

/** The option names a pass declares, when its options are a zod object. */
export function passOptionShape(passName: string): Record<string, z.ZodType> | undefined {
  return (getPass(passName).options as unknown as { shape?: Record<string, z.ZodType> }).shape;
}

/** Refuses options the pass does not declare, naming them. */
export function refuseUnknownOptions(passName: string, options: Record<string, unknown>): Record<string, unknown> {
  const shape = passOptionShape(passName);
  if (!shape) return options;
  const unknown = Object.keys(options).filter((k) => !(k in shape));
  if (unknown.length) throw new ConfigError(`${passName} has no option ${unknown.map((u) => `'${u}'`).join(', ')}`);
  return options;
}

/** `--options JSON`: must be a JSON object. */
export function parseOptionsJson(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`--options is not valid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('--options must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** `--exclude a,/re/,OpType` as a list. */
export function splitExclude(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** `perChannel` -> `--per-channel`. */
export function cliFlagName(flag: string): string {
  return `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

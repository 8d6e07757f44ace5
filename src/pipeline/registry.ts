/** Looks up passes and presets by name; resolves step lists (with zod-validated options) for the manager. */
import { z } from 'zod';
import { builtinPasses } from '../../passes/index.js';
import { presets, type Preset } from '../../passes/presets.js';
import type { Pass } from './pass.js';
import type { ResolvedStep } from './manager.js';
import { ConfigError } from '../errors.js';

const passesByName = new Map<string, Pass>(builtinPasses.map((p) => [p.name, p]));

export function registerPass(pass: Pass): void {
  if (passesByName.has(pass.name)) throw new ConfigError(`a pass named '${pass.name}' is already registered`);
  passesByName.set(pass.name, pass);
}

export function listPasses(): Pass[] {
  return [...passesByName.values()];
}

export function listPresets(): [string, Preset][] {
  return Object.entries(presets);
}

export function getPass(name: string): Pass {
  const pass = passesByName.get(name);
  if (!pass) throw new ConfigError(`unknown pass '${name}'${suggest(name, [...passesByName.keys()])}; \`llmopt passes\` lists them`);
  return pass;
}

/** A step as written in a config file or on the command line. */
export type StepSpec = string | { readonly pass: string; readonly options?: Readonly<Record<string, unknown>> };

/** Expands presets and validates every step's options; `where` prefixes error messages ("steps"). */
export function resolveSteps(specs: readonly StepSpec[], where = 'steps'): ResolvedStep[] {
  const out: ResolvedStep[] = [];
  specs.forEach((spec, i) => {
    const at = `${where}[${i}]`;
    const name = typeof spec === 'string' ? spec : spec.pass;
    if (name.startsWith('preset:')) {
      const preset = presets[name.slice('preset:'.length)];
      if (!preset) throw new ConfigError(`${at}: unknown preset '${name.slice(7)}'${suggest(name.slice(7), Object.keys(presets))}`);
      preset.steps.forEach((s) => out.push(resolveOne(s.pass, s.options ?? {}, at)));
      return;
    }
    out.push(resolveOne(name, typeof spec === 'string' ? {} : spec.options ?? {}, at));
  });
  return out;
}

function resolveOne(name: string, options: Readonly<Record<string, unknown>>, at: string): ResolvedStep {
  let pass: Pass;
  try {
    pass = getPass(name);
  } catch (err) {
    throw new ConfigError(`${at}: ${(err as Error).message}`);
  }
  const parsed = pass.options.safeParse(options);
  if (!parsed.success) throw new ConfigError(`${at} (${name}): ${describeZodError(parsed.error)}`);
  return { pass, options: parsed.data };
}

/** "options.bits: Invalid input" style: the path of the first problem, then its message. */
export function describeZodError(error: z.ZodError, prefix = 'options'): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid options';
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
  return `${path}: ${issue.message}${keys}`;
}

function suggest(name: string, known: readonly string[]): string {
  const close = known.filter((k) => distance(k, name) <= Math.max(2, Math.floor(name.length / 4)));
  return close.length ? ` (did you mean ${close.map((c) => `'${c}'`).join(' or ')}?)` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

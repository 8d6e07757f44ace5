/** Pieces shared by commands: global options, loading and saving with progress, option parsing. */
import path from 'node:path';
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadModel } from '../io/load.js';
import { saveModel, type SaveOptions, type SaveResult } from '../io/save.js';
import type { Model } from '../ir/model.js';
import { ConfigError } from '../errors.js';
import { Ui, type GlobalOptions } from './ui.js';

export function uiFor(cmd: Command): Ui {
  return new Ui(cmd.optsWithGlobals<GlobalOptions>());
}

export function loadWithProgress(ui: Ui, file: string): Model {
  const task = ui.task(`reading ${file}`);
  try {
    const model = loadModel(file);
    task.succeed(`read ${file}`);
    return model;
  } catch (err) {
    task.fail(`could not read ${file}`);
    throw err;
  }
}

export function saveWithProgress(ui: Ui, model: Model, output: string, options: SaveOptions = {}): SaveResult {
  const task = ui.task(`writing ${output}`);
  try {
    const result = saveModel(model, output, options);
    task.succeed(`wrote ${output}`);
    return result;
  } catch (err) {
    task.fail(`could not write ${output}`);
    throw err;
  }
}

/** Refuses an output that is the input (before any work is done). */
export function checkOutputPath(input: string, output: string): void {
  const a = path.resolve(input);
  const b = path.resolve(output);
  let same = a === b;
  try {
    same ||= fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    // the output does not exist yet: only the plain comparison applies
  }
  if (same) throw new ConfigError(`${output}: the output would overwrite the input model; choose another path`);
}

export function parseNonNegativeInt(flag: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`${flag} expects a whole number of bytes, got '${raw}'`);
    return n;
  };
}

export function totalBytes(result: SaveResult): number {
  return result.bytes + result.dataFiles.reduce((n, d) => n + d.bytes, 0);
}

/** Command-line flags of the I/O benchmark. */
import os from 'node:os';
import { readFlags } from './argv.js';

export interface IoBenchFlags {
  /** Size of the generated model in GB (10^9 bytes). */
  readonly gb: number;
  readonly hidden: number;
  readonly vocab: number;
  /** Folder for the temporary files (removed at the end). */
  readonly dir: string;
  readonly json: boolean;
  /** Runs per operation: the fastest time and the highest peak memory are reported. */
  readonly repeat: number;
}

const USAGE = 'usage: npm run bench:io -- [--gb 1.2] [--hidden 1024] [--vocab 32000] [--dir FOLDER] [--repeat 2] [--json]';

export function parseFlags(argv: readonly string[]): IoBenchFlags {
  const flags = { gb: 1.2, hidden: 1024, vocab: 32000, dir: os.tmpdir(), json: false, repeat: 2 };
  for (const { arg, value, positive } of readFlags(argv, USAGE)) {
    if (arg === '--gb') flags.gb = positive();
    else if (arg === '--hidden') flags.hidden = Math.round(positive());
    else if (arg === '--vocab') flags.vocab = Math.round(positive());
    else if (arg === '--dir') flags.dir = value();
    else if (arg === '--repeat') flags.repeat = Math.max(1, Math.round(positive()));
    else if (arg === '--json') flags.json = true;
    else throw new Error(`unknown flag '${arg}'\n${USAGE}`);
  }
  return flags;
}

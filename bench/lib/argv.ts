/** Flag-by-flag reading of a benchmark's command line; every error names the flag and shows the usage. */

export interface FlagReader {
  /** The flag itself, e.g. `--runs`. */
  readonly arg: string;
  /** The next word, the flag's value. */
  value(): string;
  /** The value as a number > 0. */
  positive(): number;
  /** The value as a number in (0, 1). */
  fraction(): number;
}

export function* readFlags(argv: readonly string[], usage: string): Generator<FlagReader> {
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++]!;
    const value = (): string => {
      const v = argv[i++];
      if (v === undefined) throw new Error(`${arg} needs a value\n${usage}`);
      return v;
    };
    const positive = (): number => {
      const raw = value();
      const n = Number(raw);
      if (!(n > 0)) throw new Error(`${arg} expects a positive number, got '${raw}'\n${usage}`);
      return n;
    };
    const fraction = (): number => {
      const n = positive();
      if (!(n < 1)) throw new Error(`${arg} expects a fraction in (0, 1), got ${n}\n${usage}`);
      return n;
    };
    yield { arg, value, positive, fraction };
  }
}

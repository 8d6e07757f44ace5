/**
 * Typed errors at the boundary of each layer. The CLI prints `llmopt: <message>` and exits with `exitCode`;
 * anything that is not an LlmoptError is our bug and is reported as such.
 */
export class LlmoptError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags, options or config file (exit 2). */
export class ConfigError extends LlmoptError { override readonly exitCode: number = 2; }

/** The file is not a valid ONNX model, or its external data is missing or unsafe. */
export class ModelFormatError extends LlmoptError {}

/** Reading or writing a file failed (permissions, disk full, output equal to input). */
export class FileError extends LlmoptError {}

/** A pass's requirement is unmet by the model it was given. */
export class PreconditionError extends LlmoptError {}

/**
 * A pass failed; names the pass and the passes that ran before it. A request the model cannot satisfy
 * (a ConfigError from inside the pass) keeps the exit code of a bad config.
 */
export class PassError extends LlmoptError {
  override readonly exitCode: number;
  constructor(readonly pass: string, readonly after: readonly string[], options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`pass '${pass}' failed${after.length ? ` (after ${after.join(', ')})` : ''}${cause}`, options);
    this.exitCode = options?.cause instanceof ConfigError ? options.cause.exitCode : 1;
  }
}

/** The graph broke an IR invariant (use-def, order, names): a bug in a pass or in the input. */
export class InvariantError extends LlmoptError { override readonly exitCode: number = 70; }

/** onnxruntime could not load or run a model. */
export class RuntimeError extends LlmoptError {}

/** An accuracy, speed or size gate failed (exit 3). */
export class GateError extends LlmoptError { override readonly exitCode: number = 3; }

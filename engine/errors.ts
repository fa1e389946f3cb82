/**
 * Errors meant for the person running dsteer. The CLI prints `message` as one line on stderr and
 * exits non-zero; anything else that escapes is a bug and gets a stack trace under DEBUG=1.
 * A message names the file, field or flag at fault and what would be accepted.
 */
export class DsteerError extends Error {
  override name = 'DsteerError';
  /** Process exit code the CLI uses for this error (1 = bad input or data, 2 = bad usage). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Throws a DsteerError when `cond` is false. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new DsteerError(typeof message === 'string' ? message : message());
}

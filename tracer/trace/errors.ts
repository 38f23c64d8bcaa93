/**
 * Errors of the trace format. Validation throws a TraceFieldError (it knows no file or line);
 * the reader and the writer wrap it into a TraceFormatError that names both.
 */

/** A problem in one JSON value, e.g. `field "pid": expected an integer, got "abc"`. */
export class TraceFieldError extends Error {
  override name = 'TraceFieldError';
  /** Dotted path of the offending field ("args.lpProtocolInfo.iProtocol"), when one field is at fault. */
  readonly field?: string;

  constructor(message: string, field?: string) {
    super(message);
    if (field !== undefined) this.field = field;
  }
}

/** A malformed trace file: `trace.jsonl:12: field "pid": expected an integer, got "abc"`. */
export class TraceFormatError extends Error {
  override name = 'TraceFormatError';
  readonly file: string;
  /** 1-based line number in the file. */
  readonly line: number;
  readonly field?: string;
  /** The message without the `file:line: ` prefix. */
  readonly detail: string;

  constructor(file: string, line: number, detail: string, field?: string) {
    super(`${file}:${line}: ${detail}`);
    this.file = file;
    this.line = line;
    this.detail = detail;
    if (field !== undefined) this.field = field;
  }

  static fromFieldError(file: string, line: number, error: TraceFieldError): TraceFormatError {
    return new TraceFormatError(file, line, error.message, error.field);
  }
}

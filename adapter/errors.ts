/** The errors a session answers requests with, by name; the ids are the protocol's and never change. */

export enum SessionError {
  /** The launch arguments name nothing to trace or replay, or something that cannot be. */
  LaunchRefused = 1001,
  /** The recording or the live agent could not be started. */
  StartFailed = 1002,
  /** An expression in the Debug Console or a hover could not be evaluated. */
  EvaluateFailed = 1003,
  /** A step or continue before a session exists. */
  NoSession = 1004,
  /** A custom request (exportTrace, gotoEvent, sharedSockets, traceInfo) failed or is unknown. */
  CustomRequestFailed = 1005,
  /** A source reference this session never gave out. */
  UnknownSource = 1006,
}

/** An error's message for a DAP error response: braces would be read as variables of the message format. */
export function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/[{}]/g, (c) => (c === '{' ? '(' : ')'));
}

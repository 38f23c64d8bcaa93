/**
 * How a tracer agent that did not end normally ended, and why, in its own words where it left any: the words `record`
 * and a debug session print. Pure: the live capture gathers the facts.
 */

import { AGENT_EXIT_CLIENT_LOST } from './protocol';

/**
 * `error` it reported an error and exited, `crashed` it exited with a non-zero code without a word on the connection
 * (its stderr says why), `killed` a signal ended it, `lost` the connection closed before the agent's end.
 */
export type AgentFailure = 'error' | 'crashed' | 'killed' | 'lost';

/** How much of the agent's own output an error message quotes. */
const AGENT_LOG_LINES = 12;

/**
 * The part of the agent's output (stdout and stderr, one file) that says why it died: from its own last word
 * ("sockshare agent: RangeError: ...", the stack under it) when there is one, else its last lines.
 */
export function agentErrorText(log: string): string {
  const lines = log.replace(/\r/g, '').split('\n').filter((line) => line.trim() !== '');
  const own = lines.map((line) => line.startsWith('sockshare agent:')).lastIndexOf(true);
  const quoted = own >= 0 ? lines.slice(own, own + AGENT_LOG_LINES) : lines.slice(-AGENT_LOG_LINES);
  return quoted.join('\n');
}

export interface AgentEndFacts {
  /** The exit code, or null (a signal, or a command that could not be run). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** agentErrorText of its output. */
  log: string;
  /** Its 'error' message, or the client's own reason (a trace it could not follow). */
  reported?: string;
  stopRequested: boolean;
  /** The stop's grace ran out: the agent was killed for not ending in time. */
  killedLateAfterStop: boolean;
  stopGraceMs: number;
  killedAfterLostConnection: boolean;
  connectionLost: boolean;
  endReceived: boolean;
}

/** The failure and its words, or undefined when the agent ended normally. */
export function agentFailureOf(f: AgentEndFacts): { failure: AgentFailure; error: string } | undefined {
  const own = f.reported ?? f.log;
  const detail = own ? `: ${own}` : '';
  if (f.code === null && !f.signal) return { failure: 'error', error: f.reported ?? 'the tracer agent could not be run' };
  if (f.code === null && f.signal) {
    const output = f.log ? `; its last output: ${f.log}` : '';
    if (f.stopRequested) {
      const late = f.killedLateAfterStop ? `, as it had not ended within ${f.stopGraceMs / 1000} s` : '';
      return { failure: 'killed', error: `the tracer agent was killed (${f.signal}) to stop the capture${late}${output}` };
    }
    if (f.killedAfterLostConnection) {
      return { failure: 'lost', error: `the connection to the tracer agent was lost before the end of the run; the agent did not exit and was killed (${f.signal})${output}` };
    }
    return { failure: 'killed', error: `the tracer agent died: it was killed (${f.signal})${output}` };
  }
  if (f.code !== 0) {
    if (f.reported) return { failure: 'error', error: `the tracer agent failed (exit code ${f.code}): ${f.reported}` };
    if (f.connectionLost && f.code === AGENT_EXIT_CLIENT_LOST) return { failure: 'lost', error: `the connection to the tracer agent was lost before the end of the run (the agent exited with code ${f.code})${f.log ? `: ${f.log}` : ''}` };
    return { failure: 'crashed', error: `the tracer agent died (exit code ${f.code})${detail}` };
  }
  if (f.reported) return { failure: 'error', error: f.reported };
  if (!f.endReceived && !f.stopRequested) return { failure: 'lost', error: `the connection to the tracer agent was lost before the end of the run (the agent exited with code 0)${detail}` };
  return undefined;
}

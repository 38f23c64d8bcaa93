/**
 * `sockshare recover`: the trace from an agent's spool that its client never finished (a `record` or a debug session
 * that died while the programs ran). The spool holds every event the agent recorded, the in-process calls as ring
 * chunks; the trace is written from it as `record` writes it, chunks expanded.
 */

import { existsSync } from 'node:fs';
import { SPOOL_SUFFIX, SpoolFollower } from '../capture/spool';
import { TraceFormatError } from '../trace/errors';
import { EXIT_OK, InputError, UsageError, type CliIo } from './io';

/** The trace a spool was for: its name without `.spool`. */
export function traceOfSpool(spool: string, out: string | undefined): string {
  if (out !== undefined) return out;
  if (!spool.endsWith(SPOOL_SUFFIX) || spool.length === SPOOL_SUFFIX.length) throw new UsageError(`recover: ${spool} does not end in ${SPOOL_SUFFIX}: name the trace to write with -o TRACE`, 'recover');
  return spool.slice(0, -SPOOL_SUFFIX.length);
}

export async function runRecover(spool: string, out: string | undefined, io: CliIo): Promise<number> {
  const trace = traceOfSpool(spool, out);
  if (!existsSync(spool)) throw new InputError(`recover: ${spool}: no such file`);
  const follower = new SpoolFollower(spool, trace);
  try {
    follower.readNew();
  } catch (error) {
    if (error instanceof TraceFormatError) throw new InputError(`recover: ${error.message}; the events before that line are in ${trace}`);
    throw error;
  } finally {
    follower.close();
  }
  if (follower.eventCount === 0) throw new InputError(`recover: ${spool} holds no event (no trace written)`);
  io.stderr.write(`sockshare: wrote ${follower.eventCount} events from ${spool} to ${trace} (the spool is kept)\n`);
  return EXIT_OK;
}

/**
 * A ring chunk's drain that only counts: how many events the records make (the chunk's reader decodes them), without
 * an object per record. It reads the records as ring.ts drain() does in wait mode and counts as events.ts drainRings
 * emits: a call of a known API is an event; a return is one when its call is (read in this drain, or waiting from an
 * earlier one); returns whose call was never read make one `records-lost`. A record of an API the tracer must decode
 * makes it give up: the drain is then decoded whole.
 */

import { hasPlan } from './events';
import type { RingCall } from './process-state';
import { CONTINUATION_STAMP_BIT, DESCRIPTION_WORD, HEAD_OFFSET, KIND_CALL, LINK_OFFSET, RECORD_SIZE, RING_HEADER_SIZE, STACK_FLAG, TSC_OFFSET, wordsOf } from './ring';

export interface RingCount {
  /** The ring seq after the last whole record. */
  readonly next: number;
  /** Events the records make, a `records-lost` included. */
  readonly events: number;
  /** The latest TSC among the calls and returns that make events (-1: none), and whether a `records-lost` is one. */
  readonly maxTsc: number;
  readonly lost: boolean;
  /** Calls of known APIs not returned yet (ring seq low 32 bits → API), and the waiting calls that returned. */
  readonly opened: ReadonlyMap<number, string>;
  readonly returned: readonly number[];
}

/** Per API id: its calls make events (an API the tracer knows), and must be decoded. */
const KNOWN = 1;
const DECODED = 2;

/**
 * Counts the records of `snapshot` (wait mode) from ring seq `from` up to `end` (default: its header's head); undefined
 * when one must be decoded.
 */
export function countRing(snapshot: Buffer, slots: number, from: number, apis: readonly string[], pendingCalls: ReadonlyMap<number, RingCall>, decodes: (api: string) => boolean, end?: number): RingCount | undefined {
  const flags = apis.map((api) => (hasPlan(api) ? KNOWN : 0) | (decodes(api) ? DECODED : 0));
  // 32-bit words: each field is read as an array element, which costs a fraction of a DataView call before the
  // function is optimised (a recording's first drains, a burst's whole).
  const words = wordsOf(snapshot);
  const head = Math.min(end ?? words[HEAD_OFFSET / 4] + words[HEAD_OFFSET / 4 + 1] * 2 ** 32, from + slots);
  const mask = slots - 1;
  /** This drain's calls by ring seq (low 32 bits) → their API id, or -1 for one no event is made of. */
  const calls = new Map<number, number>();
  const returned: number[] = [];
  let events = 0;
  let maxTsc = -1;
  let unmatched = 0;
  let seq = from;
  while (seq < head) {
    const w = (RING_HEADER_SIZE + (seq & mask) * RECORD_SIZE) / 4;
    const stampLow = words[w];
    const stampHigh = words[w + 1];
    if (stampHigh >= CONTINUATION_STAMP_BIT) {
      // A continuation of the last lap: not written yet. One of this lap where a record should be (its record was
      // overwritten): the full drain counts the loss.
      if (stampLow + (stampHigh - CONTINUATION_STAMP_BIT) * 2 ** 32 !== seq + 1) break;
      return undefined;
    }
    if (stampLow + stampHigh * 2 ** 32 !== seq + 1) break; // not committed yet: read next time
    const described = words[w + DESCRIPTION_WORD];
    const id = described & 0xffff;
    const flag = id < flags.length ? flags[id] : 0;
    let counts = false;
    if (((described >>> 16) & 0xff & ~STACK_FLAG) === KIND_CALL) {
      if (flag & DECODED) return undefined;
      calls.set(seq >>> 0, flag & KNOWN ? id : -1);
      counts = (flag & KNOWN) !== 0;
    } else {
      const link = words[w + LINK_OFFSET / 4];
      const call = calls.get(link);
      if (call !== undefined) {
        calls.delete(link);
        counts = call >= 0;
      } else {
        const pending = pendingCalls.get(link);
        if (!pending) unmatched++;
        else {
          // A call decoded when it was drained: its return is decoded too.
          if (pending.raw.length > 0 && decodes(pending.api)) return undefined;
          returned.push(link);
          counts = true;
        }
      }
    }
    if (counts) {
      events++;
      const tsc = words[w + TSC_OFFSET / 4] + words[w + TSC_OFFSET / 4 + 1] * 2 ** 32;
      if (tsc > maxTsc) maxTsc = tsc;
    }
    seq += 1 + (described >>> 24);
  }
  const opened = new Map<number, string>();
  for (const [link, id] of calls) if (id >= 0) opened.set(link, apis[id]);
  return { next: seq, events: events + (unmatched > 0 ? 1 : 0), maxTsc, lost: unmatched > 0, opened, returned };
}

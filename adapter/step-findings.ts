/** The findings a step passes over: those the enabled filters stop at, raised between two events. */

import type { Finding, ShareModel } from '../tracer/model';
import type { Breakpoints } from './breakpoints';

/**
 * The stopping findings raised by the events with seq in (`afterSeq`, `upToSeq`] that come first in `direction`
 * (all raised by one event), or none. The model must have applied those events; its findings are in seq order.
 */
export function stoppingFindingsBetween(model: ShareModel, breakpoints: Breakpoints, afterSeq: number, upToSeq: number, direction: 'forward' | 'backward'): Finding[] {
  const all = model.findings();
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (all[mid].seq <= afterSeq) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  while (end < all.length && all[end].seq <= upToSeq) end++;
  const stopping = breakpoints.stoppingFindings(all.slice(lo, end));
  if (stopping.length === 0) return [];
  const seq = direction === 'forward' ? stopping[0].seq : stopping[stopping.length - 1].seq;
  return stopping.filter((f) => f.seq === seq);
}

/** Small text helpers every wording uses. */

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** "#17, #18, #19" */
export function seqList(seqs: readonly number[]): string {
  return seqs.map((s) => `#${s}`).join(', ');
}

/** "events 17, 18, 19" */
export function eventList(seqs: readonly number[]): string {
  return `events ${seqs.join(', ')}`;
}

/**
 * Findings in columns: per finding its rule, severity, seq, socket and text, its events and pids in one shared list
 * of numbers, and a socket's label stored once while it does not change. Finding objects are built when asked for;
 * the last list built is kept while anyone still holds it (a WeakRef), so asking twice gives the same objects.
 */

import { RULES } from './rules';
import type { Finding, RuleId, Severity } from './types';

const RULE_CODES = new Map<RuleId, number>(RULES.map((r, i) => [r.id, i]));
const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

export class FindingStore {
  private readonly rules: number[] = [];
  private readonly severities: number[] = [];
  private readonly seqs: number[] = [];
  /** The socket's number ("s12" → 12), NaN for none. */
  private readonly sockets: number[] = [];
  /** Index into `labels`, -1 for none. */
  private readonly labelIndexes: number[] = [];
  private readonly messages: string[] = [];
  /** Where each finding's events start in `numbers`; its pids follow them; the next finding starts after. */
  private readonly starts: number[] = [];
  private readonly eventCounts: number[] = [];
  private readonly numbers: number[] = [];
  private readonly labels: string[] = [];
  /** Socket number → the index of its latest label (a socket's label changes when it binds, connects, listens). */
  private readonly latestLabel = new Map<number, number>();
  private built: WeakRef<Finding[]> | undefined;

  get length(): number {
    return this.seqs.length;
  }

  /** Keeps the first `length` findings (a replay from an older snapshot raises the rest again). */
  truncate(length: number): void {
    if (length >= this.seqs.length) return;
    const numbersLength = this.starts[length];
    for (const column of [this.rules, this.severities, this.seqs, this.sockets, this.labelIndexes, this.messages, this.starts, this.eventCounts]) column.length = length;
    this.numbers.length = numbersLength;
    this.built = undefined;
  }

  push(finding: Finding): void {
    this.rules.push(RULE_CODES.get(finding.rule) ?? 0);
    this.severities.push(SEVERITIES.indexOf(finding.severity));
    this.seqs.push(finding.seq);
    const socket = finding.socketId === undefined ? Number.NaN : Number(finding.socketId.slice(1));
    this.sockets.push(socket);
    this.labelIndexes.push(this.labelIndex(socket, finding.socketLabel));
    this.messages.push(finding.message);
    this.starts.push(this.numbers.length);
    this.eventCounts.push(finding.events.length);
    for (const seq of finding.events) this.numbers.push(seq);
    for (const pid of finding.pids) this.numbers.push(pid);
    const built = this.built?.deref();
    if (built && built.length === this.seqs.length - 1) built.push(finding);
  }

  seqAt(index: number): number {
    return this.seqs[index];
  }

  ruleAt(index: number): RuleId {
    return RULES[this.rules[index]].id;
  }

  at(index: number): Finding {
    const built = this.built?.deref();
    if (built && index < built.length) return built[index];
    return this.build(index);
  }

  /** The first `count` findings, as objects. */
  slice(count: number): Finding[] {
    let built = this.built?.deref();
    if (!built) {
      built = [];
      this.built = new WeakRef(built);
    }
    for (let i = built.length; i < this.seqs.length; i++) built.push(this.build(i));
    return built.slice(0, count);
  }

  /** Bytes held, about: the columns, the shared numbers, and the texts. */
  get bytes(): number {
    let chars = 0;
    for (const m of this.messages) chars += m.length;
    for (const l of this.labels) chars += l.length;
    return this.seqs.length * 8 * 8 + this.numbers.length * 8 + chars + (this.messages.length + this.labels.length) * 24;
  }

  private labelIndex(socket: number, label: string | undefined): number {
    if (label === undefined) return -1;
    const latest = this.latestLabel.get(socket);
    if (latest !== undefined && this.labels[latest] === label) return latest;
    this.labels.push(label);
    if (!Number.isNaN(socket)) this.latestLabel.set(socket, this.labels.length - 1);
    return this.labels.length - 1;
  }

  private build(index: number): Finding {
    const start = this.starts[index];
    const eventsEnd = start + this.eventCounts[index];
    const end = index + 1 < this.starts.length ? this.starts[index + 1] : this.numbers.length;
    const socket = this.sockets[index];
    const label = this.labelIndexes[index];
    return {
      rule: RULES[this.rules[index]].id,
      severity: SEVERITIES[this.severities[index]],
      message: this.messages[index],
      events: this.numbers.slice(start, eventsEnd),
      seq: this.seqs[index],
      socketId: Number.isNaN(socket) ? undefined : `s${socket}`,
      socketLabel: label === -1 ? undefined : this.labels[label],
      pids: this.numbers.slice(eventsEnd, end),
    };
  }
}

/**
 * A compact store for entities that never change again (closed sockets, their descriptors and settled handoffs):
 * each one is a run of numbers in one growable Float64Array, its strings in one array, so the history of a long
 * recording is a few large buffers the garbage collector does not walk, not a graph of small objects. An entity is
 * decoded again when asked for, equal to the one stored (the same optional properties present).
 */

import type { CallRef } from './types';

const INITIAL_SLOTS = 1 << 14;
/** Slot values that stand for undefined (NaN) and for "the value is in `wide`, at the index in the next slot". */
const UNDEFINED_SLOT = -0x80000000;
const WIDE_SLOT = -0x7fffffff;

/** Where the pool's three lists end: a record written after it is forgotten by truncate(mark). */
export interface PoolMark {
  readonly slots: number;
  readonly strings: number;
  readonly wide: number;
}

export class RecordPool {
  /** Most numbers (seqs, pids, handles, enum codes) fit 32 bits: one slot each. */
  private slots = new Int32Array(INITIAL_SLOTS);
  private length = 0;
  /** Numbers that do not fit a slot (a structure's 53-bit hash, a DWORD above 2^31). */
  private readonly wide: number[] = [];
  private readonly strings: string[] = [];
  /** Short strings that repeat (API names, enum values), stored once. */
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();

  mark(): PoolMark {
    return { slots: this.length, strings: this.strings.length, wide: this.wide.length };
  }

  /** Forgets everything written after `mark` (a replay from an older snapshot writes it again). */
  truncate(mark: PoolMark): void {
    this.length = mark.slots;
    this.strings.length = mark.strings;
    this.wide.length = mark.wide;
  }

  push(value: number): void {
    if (Number.isNaN(value)) this.slot(UNDEFINED_SLOT);
    else if ((value | 0) === value && value > WIDE_SLOT) this.slot(value);
    else {
      this.slot(WIDE_SLOT);
      this.slot(this.wide.length);
      this.wide.push(value);
    }
  }

  slotAt(offset: number): number {
    return this.slots[offset];
  }

  wideAt(index: number): number {
    return this.wide[index];
  }

  get offset(): number {
    return this.length;
  }

  addString(text: string): number {
    this.strings.push(text);
    return this.strings.length - 1;
  }

  stringAt(index: number): string {
    return this.strings[index];
  }

  nameCode(name: string): number {
    let code = this.nameIndex.get(name);
    if (code === undefined) {
      code = this.names.length;
      this.names.push(name);
      this.nameIndex.set(name, code);
    }
    return code;
  }

  nameAt(code: number): string {
    return this.names[code];
  }

  /** Bytes held: the slot buffer, the wide numbers and the strings (one byte a character, for the ASCII they are). */
  get bytes(): number {
    let chars = 0;
    for (const s of this.strings) chars += s.length;
    return this.slots.byteLength + this.wide.length * 8 + this.strings.length * 24 + chars;
  }

  private slot(value: number): void {
    if (this.length === this.slots.length) {
      const grown = new Int32Array(this.slots.length * 2);
      grown.set(this.slots);
      this.slots = grown;
    }
    this.slots[this.length++] = value;
  }
}

/** Writes one entity's fields, in order, to the pool. */
export class RecordWriter {
  constructor(private readonly pool: RecordPool) {}

  num(value: number): void {
    this.pool.push(value);
  }

  /** A number that may be undefined (NaN stands for undefined). */
  optNum(value: number | undefined): void {
    this.pool.push(value === undefined ? Number.NaN : value);
  }

  bool(value: boolean): void {
    this.pool.push(value ? 1 : 0);
  }

  /** Free text (an address, a handle value): kept as is. -1 stands for undefined. */
  text(value: string | undefined): void {
    this.pool.push(value === undefined ? -1 : this.pool.addString(value));
  }

  /** A string from a small set (an API name, an enum value): stored once for the whole pool. */
  name(value: string | undefined): void {
    this.pool.push(value === undefined ? -1 : this.pool.nameCode(value));
  }

  /** "s12", "d7", "h3": the number after the letter; undefined as NaN. */
  id(value: string | undefined): void {
    this.pool.push(value === undefined ? Number.NaN : Number(value.slice(1)));
  }

  ref(call: CallRef): void {
    this.num(call.seq);
    this.num(call.returnSeq);
    this.name(call.api);
    this.num(call.pid);
    this.num(call.tid);
  }

  optRef(call: CallRef | undefined): void {
    if (call === undefined) this.num(Number.NaN);
    else this.ref(call);
  }

  /** Which of `keys` the object has as own properties (present, even when undefined), one bit each. */
  presence(object: object, keys: readonly string[]): void {
    let mask = 0;
    for (let i = 0; i < keys.length; i++) if (Object.prototype.hasOwnProperty.call(object, keys[i])) mask |= 1 << i;
    this.num(mask);
  }
}

/** Reads one entity's fields back, in the order they were written. */
export class RecordReader {
  private offset = 0;
  constructor(private readonly pool: RecordPool) {}

  from(offset: number): this {
    this.offset = offset;
    return this;
  }

  num(): number {
    const slot = this.pool.slotAt(this.offset++);
    if (slot === UNDEFINED_SLOT) return Number.NaN;
    return slot === WIDE_SLOT ? this.pool.wideAt(this.pool.slotAt(this.offset++)) : slot;
  }

  optNum(): number | undefined {
    const value = this.num();
    return Number.isNaN(value) ? undefined : value;
  }

  bool(): boolean {
    return this.num() === 1;
  }

  text(): string | undefined {
    const index = this.num();
    return index === -1 ? undefined : this.pool.stringAt(index);
  }

  name(): string | undefined {
    const code = this.num();
    return code === -1 ? undefined : this.pool.nameAt(code);
  }

  id(letter: string): string | undefined {
    const value = this.num();
    return Number.isNaN(value) ? undefined : `${letter}${value}`;
  }

  ref(): CallRef {
    const seq = this.num();
    return this.refAfter(seq);
  }

  optRef(): CallRef | undefined {
    const seq = this.num();
    return Number.isNaN(seq) ? undefined : this.refAfter(seq);
  }

  private refAfter(seq: number): CallRef {
    const returnSeq = this.num();
    const api = this.name() ?? '';
    const pid = this.num();
    const tid = this.num();
    return { seq, returnSeq, api, pid, tid };
  }
}

/**
 * Sets `value` as `key` on `target` when the stored presence mask says the original had that property. Keys are
 * the same list, in the same order, as RecordWriter.presence was given.
 */
export function setIfPresent<T extends object>(target: T, mask: number, keys: readonly string[], key: string, value: unknown): void {
  if (mask & (1 << keys.indexOf(key))) (target as Record<string, unknown>)[key] = value;
}

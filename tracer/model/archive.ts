/**
 * Append-only stores shared by every snapshot of a model; a snapshot sees the first `visibleLength` entries. A replay
 * from an older snapshot puts the same entries again at the same positions and finds them already there.
 */

import type { Codec } from './codecs';
import { RecordPool, RecordReader, RecordWriter } from './records';

/** Entries kept as the objects they are (few: exited processes). */
export class ObjectArchive<T> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();
  constructor(private readonly idOf: (item: T) => string) {}

  /** Puts `item` at position `at`; a replay from an older snapshot finds the same item already there and keeps it. */
  put(item: T, at: number): void {
    const id = this.idOf(item);
    if (this.items[at] !== undefined && this.idOf(this.items[at]) === id) return;
    for (let i = at; i < this.items.length; i++) this.index.delete(this.idOf(this.items[i]));
    this.items.length = Math.min(this.items.length, at);
    this.index.set(id, this.items.length);
    this.items.push(item);
  }

  get(id: string, visibleLength: number): T | undefined {
    const i = this.index.get(id);
    return i !== undefined && i < visibleLength ? this.items[i] : undefined;
  }

  slice(visibleLength: number): T[] {
    return this.items.slice(0, visibleLength);
  }
}

export interface CompactArchiveOptions<T> {
  /** Keep nothing (a model without history keeps no closed descriptors). */
  keep?: boolean;
  /** What is kept of an entry (all of it by default). */
  reduce?: (item: T) => T;
  /** A number each entry is also filed under (a descriptor's pid), so `where` decodes only the entries that have it. */
  keyOf?: (item: T) => number;
}

/**
 * Entries with ids "<letter><n>" (s12, d7, h3), encoded in a RecordPool: the memory of a closed entity is a run of
 * numbers, and it is decoded again when asked for.
 */
export class CompactArchive<T extends { readonly id: string }> {
  private readonly pool = new RecordPool();
  private readonly writer = new RecordWriter(this.pool);
  private readonly reader = new RecordReader(this.pool);
  /** Per position: where its record starts in the pool's three lists, its id number and its key. */
  private readonly startSlots: number[] = [];
  private readonly startStrings: number[] = [];
  private readonly startWide: number[] = [];
  private readonly ids: number[] = [];
  private readonly keys: number[] = [];
  /** id number → position (-1: not archived). */
  private readonly positions: number[] = [];
  /**
   * The entries decoded so far, in position order, kept while anyone still holds them (a debugger's view asks for the
   * whole list at every stop): asking again decodes only what was archived since, and gives the same objects.
   */
  private decoded: WeakRef<T[]> | undefined;

  constructor(
    private readonly letter: string,
    private readonly codec: Codec<T>,
    private readonly options: CompactArchiveOptions<T> = {},
  ) {}

  get length(): number {
    return this.startSlots.length;
  }

  put(whole: T, at: number): void {
    if (this.options.keep === false) return;
    const idNumber = Number(whole.id.slice(1));
    if (at < this.ids.length && this.ids[at] === idNumber) return;
    this.truncate(at);
    const item = this.options.reduce ? this.options.reduce(whole) : whole;
    while (this.positions.length <= idNumber) this.positions.push(-1);
    this.positions[idNumber] = this.startSlots.length;
    const mark = this.pool.mark();
    this.startSlots.push(mark.slots);
    this.startStrings.push(mark.strings);
    this.startWide.push(mark.wide);
    this.ids.push(idNumber);
    this.keys.push(this.options.keyOf ? this.options.keyOf(item) : 0);
    this.codec.write(this.writer, item);
  }

  get(id: string, visibleLength: number): T | undefined {
    if (id.charAt(0) !== this.letter) return undefined;
    const position = this.positions[Number(id.slice(1))];
    if (position === undefined || position < 0 || position >= visibleLength) return undefined;
    const decoded = this.decoded?.deref();
    return decoded && position < decoded.length ? decoded[position] : this.decode(position);
  }

  slice(visibleLength: number): T[] {
    let decoded = this.decoded?.deref();
    if (!decoded) {
      decoded = [];
      this.decoded = new WeakRef(decoded);
    }
    const end = Math.min(visibleLength, this.startSlots.length);
    for (let i = decoded.length; i < end; i++) decoded.push(this.decode(i));
    return decoded.slice(0, end);
  }

  /**
   * The `n` visible entries with the largest keys, in key order, decoding only those (a scan of the key column):
   * the newest of a long history without the rest of it.
   */
  largestKeys(n: number, visibleLength: number): T[] {
    const end = Math.min(visibleLength, this.startSlots.length);
    // Positions sorted by key, smallest first. Entries are archived roughly in key order: scanned from the newest,
    // the first n fill it and almost every older one is below its smallest key.
    const chosen: number[] = [];
    for (let i = end - 1; i >= 0; i--) {
      const key = this.keys[i];
      if (chosen.length === n) {
        if (key <= this.keys[chosen[0]]) continue;
        chosen.shift();
      }
      let at = 0;
      while (at < chosen.length && this.keys[chosen[at]] <= key) at++;
      chosen.splice(at, 0, i);
    }
    return chosen.map((position) => this.get(`${this.letter}${this.ids[position]}`, visibleLength) as T);
  }

  /** The visible entries filed under `key`. */
  where(key: number, visibleLength: number): T[] {
    const items: T[] = [];
    for (let i = 0; i < Math.min(visibleLength, this.startSlots.length); i++) if (this.keys[i] === key) items.push(this.decode(i));
    return items;
  }

  /** Bytes the archive holds (its pool and its per-entry columns). */
  get bytes(): number {
    return this.pool.bytes + this.startSlots.length * 5 * 8 + this.positions.length * 8;
  }

  private decode(position: number): T {
    return this.codec.read(this.reader.from(this.startSlots[position]));
  }

  private truncate(at: number): void {
    if (at >= this.startSlots.length) return;
    const decoded = this.decoded?.deref();
    if (decoded && decoded.length > at) decoded.length = at;
    for (let i = at; i < this.ids.length; i++) this.positions[this.ids[i]] = -1;
    this.pool.truncate({ slots: this.startSlots[at], strings: this.startStrings[at], wide: this.startWide[at] });
    this.startSlots.length = at;
    this.startStrings.length = at;
    this.startWide.length = at;
    this.ids.length = at;
    this.keys.length = at;
  }
}

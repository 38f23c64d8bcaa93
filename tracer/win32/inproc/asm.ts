/**
 * A tiny x64 byte emitter for the in-process stubs: raw bytes, little-endian immediates, and labels for rel32 jumps
 * (every branch the stubs emit through a label is a rel32 one, so no branch needs resizing).
 */

export class Asm {
  private readonly bytes: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: { at: number; label: string }[] = [];

  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  u32(v: number): number[] {
    return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  }
  u64(v: bigint): number[] {
    const out: number[] = [];
    for (let i = 0n; i < 8n; i++) out.push(Number((v >> (8n * i)) & 0xffn));
    return out;
  }
  get length(): number {
    return this.bytes.length;
  }
  /** Marks the current offset as `name`. */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`label defined twice: ${name}`);
    this.labels.set(name, this.bytes.length);
    return this;
  }
  /** Where a label is (once it is defined). */
  offsetOf(label: string): number {
    const offset = this.labels.get(label);
    if (offset === undefined) throw new Error(`undefined label: ${label}`);
    return offset;
  }

  /** Where the stub reads the caller's memory, and where it goes on (with the registers given zeroed) if that faults. */
  readonly faults: { at: number; resumeLabel: string; zero: readonly ('rax' | 'rdx')[] }[] = [];

  /** Notes that the next instruction reads the caller's memory (see `faults`). */
  mayFault(resumeLabel: string, zero: readonly ('rax' | 'rdx')[]): this {
    this.faults.push({ at: this.bytes.length, resumeLabel, zero });
    return this;
  }

  /** `jmp rel32` to a label. */
  jmp(label: string): this {
    this.op(0xe9);
    return this.rel32(label);
  }
  /** `jcc rel32` to a label; `cc` is the condition nibble (4 e/z, 5 ne/nz, 2 b, 6 be, 0xc l, 0xe le, 3 ae). */
  jcc(cc: number, label: string): this {
    this.op(0x0f, 0x80 | cc);
    return this.rel32(label);
  }
  private rel32(label: string): this {
    this.fixups.push({ at: this.bytes.length, label });
    return this.op(0, 0, 0, 0);
  }
  done(): Buffer {
    const out = Buffer.from(this.bytes);
    for (const { at, label } of this.fixups) {
      const target = this.labels.get(label);
      if (target === undefined) throw new Error(`undefined label: ${label}`);
      out.writeInt32LE(target - (at + 4), at);
    }
    return out;
  }
}

export const CC = { e: 0x4, ne: 0x5, b: 0x2, be: 0x6, ae: 0x3, l: 0xc, le: 0xe } as const;

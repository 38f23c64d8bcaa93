/**
 * An x64 (64-bit mode) instruction-length decoder and an instruction relocator, for inline hooks: a 5-byte `jmp rel32`
 * written over a function's entry moves the whole instructions it covers to a trampoline, which the caller ends with a
 * jump back to the first byte after them.
 *
 * The decoder knows lengths, not meanings: legacy prefixes, REX, the one-byte map, the 0F, 0F 38 and 0F 3A maps,
 * ModRM/SIB/displacement (RIP-relative included), immediates (66 operand size, REX.W imm64 on B8-BF, the F6/F7 group,
 * enter, moffs), and the VEX (C4/C5), EVEX (62: AVX-512, AVX512-FP16 maps 5 and 6) and AMD XOP (8F, maps 8-0A) forms.
 * FWAIT (9B) is an instruction of its own (objdump shows `9b d9 /6` as one `fstenv`; the CPU runs two). It returns
 * undefined, rather than a guess, for:
 *   - opcodes invalid in 64-bit mode (06 07 0E 16 17 1E 1F 27 2F 37 3F 60 61 82 9A CE D4 D5 D6 EA, 0F 04 0A 0C 24-27
 *     36 39 3B-3F 7A 7B, 8F /1-/7 outside XOP, FE /2-/7, FF /7), truncated bytes and instructions over 15 bytes;
 *   - unsupported encodings: AMD SSE4a extrq/insertq with immediates (66/F2 0F 78 ib ib), VIA PadLock (0F A6/A7),
 *     66-prefixed relative branches (rel16: Intel and AMD disagree), a REX byte not immediately before the opcode
 *     (a REX followed by a prefix or another REX), prefixes (66 F0 F2 F3 REX) before VEX/EVEX/XOP (#UD), and the
 *     APX extensions (REX2 D5, EVEX with the reserved bits set).
 */

/** The longest instruction the CPU accepts. */
const MAX_LENGTH = 15;

/**
 * One-byte opcode map (Intel SDM Vol. 2, Appendix A, Table A-2), one character per opcode, a row per high nibble:
 *   .  nothing follows the opcode      m  ModRM               b  imm8        z  imm16/32 (66)    w  imm16
 *   B  ModRM + imm8                    Z  ModRM + imm16/32    v  imm16/32/64 (66, REX.W): B8-BF
 *   r  rel8                            R  rel32 (rel16 with 66: unsupported)
 *   o  moffs (8 bytes, 4 with 67)      e  enter: imm16 + imm8  g/G  F6/F7: ModRM, and imm8/imm16/32 for /0 and /1
 *   0  the 0F escape                   V  VEX (C4, C5)        p  a prefix (handled before)   x  invalid in 64-bit mode
 */
const ONE_BYTE = [
  'mmmmbzxxmmmmbzx0', // 0x
  'mmmmbzxxmmmmbzxx', // 1x
  'mmmmbzpxmmmmbzpx', // 2x
  'mmmmbzpxmmmmbzpx', // 3x
  'pppppppppppppppp', // 4x  REX
  '................', // 5x  push/pop
  'xxxmppppzZbB....', // 6x  62 = EVEX
  'rrrrrrrrrrrrrrrr', // 7x  jcc rel8
  'BZxBmmmmmmmmmmmm', // 8x
  '..........x.....', // 9x
  'oooo....bz......', // Ax
  'bbbbbbbbvvvvvvvv', // Bx
  'BBw.VVBZe.w..bx.', // Cx
  'mmmmxxx.mmmmmmmm', // Dx  D8-DF x87
  'rrrrbbbbRRxr....', // Ex
  'p.pp..gG......mm', // Fx
].join('');

/**
 * Two-byte opcode map, 0F xx (Intel SDM Vol. 2, Appendix A, Table A-3), same letters, and:
 *   c  ModRM that always names registers (mov to/from CR/DR: the mod bits are ignored)   3  a three-byte escape
 * 0F 0F (3DNow!) is ModRM + a suffix byte that reads as an imm8.
 */
const TWO_BYTE = [
  'mmmmx.....x.xm.B', // 0x
  'mmmmmmmmmmmmmmmm', // 1x
  'ccccxxxxmmmmmmmm', // 2x
  '......x.3x3xxxxx', // 3x
  'mmmmmmmmmmmmmmmm', // 4x  cmovcc
  'mmmmmmmmmmmmmmmm', // 5x
  'mmmmmmmmmmmmmmmm', // 6x
  'BBBBmmm.mmxxmmmm', // 7x
  'RRRRRRRRRRRRRRRR', // 8x  jcc rel32
  'mmmmmmmmmmmmmmmm', // 9x  setcc
  '...mBmxx...mBmmm', // Ax
  'mmmmmmmmmmBmmmmm', // Bx
  'mmBmBBBm........', // Cx
  'mmmmmmmmmmmmmmmm', // Dx
  'mmmmmmmmmmmmmmmm', // Ex
  'mmmmmmmmmmmmmmmm', // Fx
].join('');
// Three-byte maps (Tables ): every 0F 38 opcode takes ModRM, every 0F 3A opcode takes ModRM + imm8.

/**
 * VEX/EVEX/XOP maps, by mmmmm: what follows the opcode (every opcode takes ModRM but VEX vzeroupper/vzeroall, 0F 77).
 * Map 1 (0F) has an imm8 on pshufd/shift groups 70-73, cmpps C2, pinsrw/pextrw/shufps C4-C6 (Table A-3); map 3 (0F 3A)
 * always has one; maps 2 (0F 38), 5 and 6 (EVEX AVX512-FP16) never. AMD XOP: map 8 imm8, map 9 none, map 0A imm32.
 */
const EXTENDED_MAPS: Partial<Record<number, (opcode: number) => string>> = {
  1: (o) => (o === 0x77 ? '.' : [0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6].includes(o) ? 'B' : 'm'),
  2: () => 'm',
  3: () => 'B',
  5: () => 'm',
  6: () => 'm',
  8: () => 'B',
  9: () => 'm',
  10: () => 'D',
};

const LEGACY_PREFIXES = new Set([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]);

export interface DecodedInstruction {
  readonly offset: number;
  readonly length: number;
  /** A ModRM memory operand [rip + disp32]: the byte offset of the disp32 inside the instruction. */
  readonly ripRelative?: { dispOffset: number };
  /** jmp/jcc/call/loop/jrcxz/xbegin with a relative target: where the displacement sits and its size. */
  readonly relativeBranch?: { immOffset: number; immSize: 1 | 4 };
  /** ret, jmp, int3, ud2, hlt, iret: the code after it may not belong to the function. */
  readonly endsFlow?: boolean;
}

/** Decodes the instruction at code[offset]; undefined for what it cannot decode (see the comment at the top). */
export function decodeInstruction(code: Uint8Array, offset: number): DecodedInstruction | undefined {
  if (!Number.isInteger(offset) || offset < 0 || offset >= code.length) return undefined;
  const limit = Math.min(code.length, offset + MAX_LENGTH);
  let p = offset;
  let opsize16 = false;
  let addr32 = false;
  let simdPrefix = false; // 66, F2, F3 or F0: not allowed before VEX
  let f2 = false;
  while (p < limit && LEGACY_PREFIXES.has(code[p])) {
    const b = code[p++];
    if (b === 0x66) opsize16 = true;
    if (b === 0x67) addr32 = true;
    if (b === 0xf2) f2 = true;
    if (b === 0x66 || b === 0xf0 || b === 0xf2 || b === 0xf3) simdPrefix = true;
  }
  let rex = false;
  let rexW = false;
  if (p < limit && (code[p] & 0xf0) === 0x40) {
    rex = true;
    rexW = (code[p] & 0x08) !== 0;
    p++;
  }
  if (p >= limit) return undefined;
  const op = code[p++];
  let map = 0; // 0: one-byte, 1: 0F, 2: 0F 38, 3: 0F 3A
  let opcode = op;
  let kind: string;
  // VEX: C5 [R vvvv L pp] or C4 [R X B mmmmm] [W vvvv L pp]; EVEX: 62 [R X B R' 0 mmm] [W vvvv 1 pp] [z L'L b V' aaa];
  // XOP: 8F [R X B mmmmm] [W vvvv L pp] (mmmmm >= 8, else 8F is pop). Then the opcode in map mmmmm, and ModRM.
  const vex = op === 0xc4 || op === 0xc5 || op === 0x62 || (op === 0x8f && p < limit && (code[p] & 0x1f) >= 8);
  if (vex) {
    if (simdPrefix || rex) return undefined;
    const size = op === 0xc5 ? 1 : op === 0x62 ? 3 : 2;
    if (p + size >= limit) return undefined;
    map = op === 0xc5 ? 1 : code[p] & (op === 0x62 ? 0x07 : 0x1f);
    if (op === 0x62 && ((code[p] & 0x08) !== 0 || (code[p + 1] & 0x04) === 0)) return undefined; // reserved bits
    if (!{ 0xc4: [1, 2, 3], 0xc5: [1], 0x62: [1, 2, 3, 5, 6], 0x8f: [8, 9, 10] }[op]?.includes(map)) return undefined;
    p += size;
    opcode = code[p++];
    kind = EXTENDED_MAPS[map]?.(opcode) ?? 'x';
  } else if (op === 0x0f) {
    if (p >= limit) return undefined;
    opcode = code[p++];
    map = 1;
    kind = TWO_BYTE[opcode];
    if (kind === '3') {
      map = opcode === 0x38 ? 2 : 3;
      if (p >= limit) return undefined;
      opcode = code[p++];
      kind = map === 2 ? 'm' : 'B';
    }
    if (opcode === 0x78 && map === 1 && (opsize16 || f2)) return undefined; // SSE4a extrq/insertq imm8, imm8
  } else {
    kind = ONE_BYTE[op];
  }

  let immSize = 0;
  let modrm = -1;
  let regOnly = false;
  let rel = false;
  const immZ = opsize16 && !rexW ? 2 : 4;
  switch (kind) {
    case '.': break;
    case 'm': modrm = 0; break;
    case 'c': modrm = 0; regOnly = true; break;
    case 'b': immSize = 1; break;
    case 'w': immSize = 2; break;
    case 'e': immSize = 3; break;
    case 'z': immSize = immZ; break;
    case 'B': case 'g': modrm = 0; immSize = 1; break;
    case 'Z': case 'G': modrm = 0; immSize = immZ; break;
    case 'D': modrm = 0; immSize = 4; break;
    case 'v': immSize = rexW ? 8 : opsize16 ? 2 : 4; break;
    case 'o': immSize = addr32 ? 4 : 8; break;
    case 'r': immSize = 1; rel = true; break;
    case 'R':
      if (opsize16) return undefined;
      immSize = 4;
      rel = true;
      break;
    default: return undefined; // x, p, and what the maps do not know
  }

  let ripDisp: number | undefined;
  if (modrm === 0) {
    if (p >= limit) return undefined;
    modrm = code[p++];
    const mod = modrm >> 6;
    const reg = (modrm >> 3) & 7;
    const rm = modrm & 7;
    if (map === 0) {
      if ((kind === 'g' || kind === 'G') && reg > 1) immSize = 0; // F6/F7: only test (/0, /1) has an immediate
      if (op === 0x8f && reg !== 0) return undefined;
      if ((op === 0xfe && reg > 1) || (op === 0xff && reg === 7)) return undefined;
      if (op === 0xc7 && modrm === 0xf8) {
        if (opsize16) return undefined; // xbegin rel16
        rel = true; // xbegin rel32
      }
    }
    if (mod !== 3 && !regOnly) {
      if (rm === 4) {
        if (p >= limit) return undefined;
        const sib = code[p++];
        if (mod === 0 && (sib & 7) === 5) p += 4;
      } else if (mod === 0 && rm === 5) {
        ripDisp = p - offset;
        p += 4;
      }
      if (mod === 1) p += 1;
      else if (mod === 2) p += 4;
    }
  }
  const immOffset = p - offset;
  p += immSize;
  if (p > limit) return undefined;

  const reg = modrm >= 0 ? (modrm >> 3) & 7 : -1;
  const endsFlow =
    (map === 0 && [0xc2, 0xc3, 0xca, 0xcb, 0xcc, 0xcf, 0xe9, 0xeb, 0xf4].includes(op)) ||
    (map === 0 && op === 0xff && (reg === 4 || reg === 5)) ||
    (map === 1 && opcode === 0x0b && !vex);
  return {
    offset,
    length: p - offset,
    ...(ripDisp !== undefined ? { ripRelative: { dispOffset: ripDisp } } : {}),
    ...(rel ? { relativeBranch: { immOffset, immSize: immSize === 1 ? 1 : 4 } } : {}),
    ...(endsFlow ? { endsFlow: true } : {}),
  };
}

export interface Relocated {
  /** The covered instructions re-encoded to run at `to` (no jump back: the caller appends it). */
  readonly code: Uint8Array;
  /** Bytes of the original covered: at least minLength, whole instructions. */
  readonly moved: number;
}

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Decodes whole instructions from code[0] until at least minLength bytes are covered, and re-encodes them to run at
 * `to` instead of `from`: RIP-relative displacements and rel32 branches are rewritten to reach the same absolute
 * address, jmp rel8 becomes jmp rel32 and jcc rel8 becomes jcc rel32 (0F 8x). An error for what cannot move: an
 * undecodable instruction, a flow end (ret, jmp, int3…) before minLength bytes, loop/jrcxz, a displacement that no
 * longer fits in 32 bits, and a branch into the covered bytes. Branches from the rest of the function into the
 * covered bytes cannot be seen here: the caller has to know there are none.
 */
export function relocate(code: Uint8Array, from: bigint, to: bigint, minLength: number): Relocated | { error: string } {
  const instructions: DecodedInstruction[] = [];
  let moved = 0;
  while (moved < minLength) {
    const ins = decodeInstruction(code, moved);
    if (!ins) {
      const bytes = hex(code.subarray(moved, moved + 8));
      return { error: `cannot decode the instruction at byte offset ${moved} (bytes ${bytes || 'none: the code ends there'})` };
    }
    instructions.push(ins);
    moved += ins.length;
    if (ins.endsFlow && moved < minLength) {
      const bytes = hex(code.subarray(ins.offset, moved));
      return { error: `the instruction at byte offset ${ins.offset} (${bytes}) ends the flow before ${minLength} bytes: the function is too short to patch` };
    }
  }

  const out: number[] = [];
  const int32 = (value: bigint): number[] => {
    const v = Number(value);
    return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
  };
  for (const ins of instructions) {
    const bytes = code.subarray(ins.offset, ins.offset + ins.length);
    const what = `the instruction at byte offset ${ins.offset} (${hex(bytes)})`;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const oldEnd = from + BigInt(ins.offset + ins.length);
    const newAt = to + BigInt(out.length);
    if (ins.ripRelative) {
      const { dispOffset } = ins.ripRelative;
      let q = 0;
      while (LEGACY_PREFIXES.has(bytes[q])) if (bytes[q++] === 0x67) return { error: `${what}: an [eip + disp32] operand cannot be moved` };
      const target = oldEnd + BigInt(view.getInt32(dispOffset, true));
      const disp = target - (newAt + BigInt(ins.length));
      if (disp < INT32_MIN || disp > INT32_MAX) return { error: `${what}: its RIP-relative target 0x${target.toString(16)} is out of 32-bit reach from 0x${newAt.toString(16)}` };
      out.push(...bytes.subarray(0, dispOffset), ...int32(disp), ...bytes.subarray(dispOffset + 4));
    } else if (ins.relativeBranch) {
      const { immOffset, immSize } = ins.relativeBranch;
      const target = oldEnd + BigInt(immSize === 1 ? view.getInt8(immOffset) : view.getInt32(immOffset, true));
      if (target >= from && target < from + BigInt(moved)) {
        return { error: `${what} branches to byte offset ${target - from}, inside the ${moved} bytes that move` };
      }
      const opcode = bytes[immOffset - 1];
      let head: number[];
      if (immSize === 4) head = [...bytes.subarray(0, immOffset)];
      else if (opcode === 0xeb) head = [...bytes.subarray(0, immOffset - 1), 0xe9];
      else if (opcode >= 0x70 && opcode <= 0x7f) head = [...bytes.subarray(0, immOffset - 1), 0x0f, opcode + 0x10];
      else return { error: `${what}: loop/jrcxz (opcode ${opcode.toString(16)}) has only a rel8 form and cannot be moved` };
      const disp = target - (newAt + BigInt(head.length + 4));
      if (disp < INT32_MIN || disp > INT32_MAX) return { error: `${what}: its branch target 0x${target.toString(16)} is out of 32-bit reach from 0x${newAt.toString(16)}` };
      out.push(...head, ...int32(disp));
    } else {
      out.push(...bytes);
    }
  }
  return { code: Uint8Array.from(out), moved };
}

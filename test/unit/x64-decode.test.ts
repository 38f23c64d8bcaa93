import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeInstruction, relocate, type DecodedInstruction, type Relocated } from '../../tracer/win32/inproc/x64-decode';

const bytes = (text: string): Uint8Array => Uint8Array.from(text.trim().split(/\s+/), (b) => parseInt(b, 16));
const decode = (text: string): DecodedInstruction | undefined => decodeInstruction(bytes(text), 0);
const lengths = (text: string): number[] => {
  const code = bytes(text);
  const out: number[] = [];
  for (let at = 0; at < code.length; ) {
    const ins = decodeInstruction(code, at);
    assert.ok(ins, `decodes at ${at}`);
    out.push(ins.length);
    at += ins.length;
  }
  return out;
};
const relocated = (result: Relocated | { error: string }): Relocated => {
  assert.ok(!('error' in result), 'error' in result ? result.error : '');
  return result;
};
const failure = (result: Relocated | { error: string }): string => {
  assert.ok('error' in result, 'relocate fails');
  return result.error;
};
const int32At = (code: Uint8Array, at: number): number => new DataView(code.buffer, code.byteOffset).getInt32(at, true);

describe('x64 instruction lengths', () => {
  it('reads ModRM with a SIB byte and a disp8: mov [rsp+8], rbx is 5 bytes', () => {
    assert.deepEqual(decode('48 89 5c 24 08'), { offset: 0, length: 5 });
  });
  it('takes an imm8 for the 83 group: sub rsp, 0x28 is 4 bytes', () => assert.equal(decode('48 83 ec 28')?.length, 4));
  it('reads a register-only ModRM: mov r11, rsp is 3 bytes', () => assert.equal(decode('4c 8b dc')?.length, 3));
  it('marks mod=00 rm=101 as RIP-relative with its disp32 after the ModRM', () => {
    assert.deepEqual(decode('48 8b 05 78 56 34 12'), { offset: 0, length: 7, ripRelative: { dispOffset: 3 } });
  });
  it('counts the F6 /0 immediate after a RIP-relative disp32: test byte [rip+x], 1 is 7 bytes', () => {
    assert.deepEqual(decode('f6 05 10 20 30 00 01'), { offset: 0, length: 7, ripRelative: { dispOffset: 2 } });
  });
  it('gives F6/F7 /2-/7 no immediate and F7 /0 an imm32', () => {
    assert.equal(decode('f7 d8')?.length, 2); // neg eax
    assert.equal(decode('f6 e1')?.length, 2); // mul cl
    assert.equal(decode('f7 c1 00 01 00 00')?.length, 6); // test ecx, 0x100
    assert.equal(decode('66 f7 c1 00 01')?.length, 5); // test cx, 0x100
  });
  it('reads a REX prefix before push: push r13 is 2 bytes', () => assert.equal(decode('41 55')?.length, 2));
  it('takes an imm64 for B8-BF with REX.W, imm32 without, imm16 with 66', () => {
    assert.equal(decode('48 b8 01 02 03 04 05 06 07 08')?.length, 10);
    assert.equal(decode('b8 01 02 03 04')?.length, 5);
    assert.equal(decode('66 b8 01 02')?.length, 4);
  });
  it('shrinks an imm32 to imm16 with 66, unless REX.W', () => {
    assert.equal(decode('66 81 f9 34 12')?.length, 5); // cmp cx, 0x1234
    assert.equal(decode('66 48 81 f9 34 12 00 00')?.length, 8);
    assert.equal(decode('66 3d 34 12')?.length, 4);
  });
  it('reads SIB base=101 with mod=00 as a disp32 without a base', () => {
    assert.deepEqual(decode('8b 04 25 00 10 00 00'), { offset: 0, length: 7 }); // mov eax, [0x1000]
    assert.equal(decode('42 8b 04 ed 00 10 00 00')?.length, 8); // mov eax, [r13*8 + 0x1000]
  });
  it('decodes the multi-byte nop with 66: 66 0f 1f 44 00 00 is 6 bytes', () => assert.equal(decode('66 0f 1f 44 00 00')?.length, 6));
  it('marks call rel32 as a relative branch', () => {
    assert.deepEqual(decode('e8 00 01 00 00'), { offset: 0, length: 5, relativeBranch: { immOffset: 1, immSize: 4 } });
  });
  it('marks jcc rel8, jcc rel32 and jmp rel8 as relative branches, jmp as the end of the flow', () => {
    assert.deepEqual(decode('74 05'), { offset: 0, length: 2, relativeBranch: { immOffset: 1, immSize: 1 } });
    assert.deepEqual(decode('0f 85 00 01 00 00'), { offset: 0, length: 6, relativeBranch: { immOffset: 2, immSize: 4 } });
    assert.deepEqual(decode('eb fe'), { offset: 0, length: 2, relativeBranch: { immOffset: 1, immSize: 1 }, endsFlow: true });
  });
  it('marks ret, ret imm16, int3, ud2, hlt and jmp [rip+x] as the end of the flow', () => {
    assert.deepEqual(decode('c3'), { offset: 0, length: 1, endsFlow: true });
    assert.deepEqual(decode('c2 08 00'), { offset: 0, length: 3, endsFlow: true });
    assert.equal(decode('cc')?.endsFlow, true);
    assert.equal(decode('0f 0b')?.endsFlow, true);
    assert.equal(decode('f4')?.endsFlow, true);
    assert.deepEqual(decode('ff 25 00 10 00 00'), { offset: 0, length: 6, ripRelative: { dispOffset: 2 }, endsFlow: true });
    assert.equal(decode('ff 15 00 10 00 00')?.endsFlow, undefined); // call [rip+x] returns
  });
  it('decodes VEX: vzeroupper is 3 bytes, C4 forms take the map from mmmmm', () => {
    assert.equal(decode('c5 f8 77')?.length, 3);
    assert.equal(decode('c5 fc 28 44 24 20')?.length, 6); // vmovaps ymm0, [rsp+0x20]
    assert.equal(decode('c4 e3 7d 18 c1 01')?.length, 6); // vinsertf128 ymm0, ymm0, xmm1, 1
    assert.equal(decode('c4 e2 79 18 05 00 10 00 00')?.ripRelative?.dispOffset, 5); // vbroadcastss xmm0, [rip+x]
    assert.equal(decode('c5 f9 70 c1 1b')?.length, 5); // vpshufd xmm0, xmm1, 0x1b
  });
  it('decodes the three-byte maps: 0F 38 takes ModRM, 0F 3A takes ModRM + imm8', () => {
    assert.equal(decode('66 0f 38 00 c1')?.length, 5); // pshufb
    assert.equal(decode('66 0f 3a 0f c1 08')?.length, 6); // palignr
  });
  it('takes imm16 + imm8 for enter and 8-byte (4 with 67) moffs for A0-A3', () => {
    assert.equal(decode('c8 20 00 00')?.length, 4);
    assert.equal(decode('48 a1 88 77 66 55 44 33 22 11')?.length, 10);
    assert.equal(decode('67 a0 44 33 22 11')?.length, 6);
  });
  it('ignores the mod bits of mov to/from CR and DR', () => assert.equal(decode('0f 20 00')?.length, 3));
  it('takes segment and lock prefixes: lock cmpxchg gs:[rax], ecx is 5 bytes', () => assert.equal(decode('f0 65 0f b1 08')?.length, 5));
  it('decodes the Wine ws2_32 prologues instruction by instruction', () => {
    assert.deepEqual(lengths('56 53 48 83 ec 38 48 89 cb f6 05 00 10 00 00 01'), [1, 1, 4, 3, 7]);
    assert.deepEqual(lengths('41 55 41 54 55 57 56 53 48 83 ec 58'), [2, 2, 1, 1, 1, 1, 4]);
    assert.deepEqual(lengths('55 57 56 53 48 83 ec 48'), [1, 1, 1, 1, 4]);
  });
  it('rejects opcodes invalid in 64-bit mode', () => {
    for (const op of ['06', '07', '0e', '16', '17', '1e', '1f', '27', '2f', '37', '3f', '60', '61', '82 c0 01', '9a', 'ce', 'd4 0a', 'd5 0a', 'd6', 'ea']) {
      assert.equal(decode(`${op} 00 00 00 00 00 00 00`), undefined, op);
    }
  });
  it('rejects truncated instructions and ones over 15 bytes', () => {
    assert.equal(decode('48 8b 05 00 00'), undefined);
    assert.equal(decode('48'), undefined);
    assert.equal(decode('66 66 66 66 66 66 66 66 66 66 66 2e 0f 1f 84 00 00 00 00 00'), undefined);
  });
  it('decodes EVEX (AVX-512, AVX512-FP16 maps) and AMD XOP like VEX, with the same immediates', () => {
    assert.equal(decode('62 f1 fd 48 6f 44 24 01')?.length, 8); // vmovdqa64 zmm0, [rsp+0x40] (disp8 * 64: still one byte)
    assert.equal(decode('62 f3 7d 48 39 c4 01')?.length, 7); // vextracti32x4 xmm4, zmm0, 1
    assert.deepEqual(decode('62 f5 7c 48 58 05 00 01 00 00'), { offset: 0, length: 10, ripRelative: { dispOffset: 6 } }); // vaddph
    assert.equal(decode('8f e8 78 c2 c1 05')?.length, 6); // vprotd xmm0, xmm1, 5 (map 8: imm8)
    assert.equal(decode('8f ea 78 10 c1 04 00 00 00')?.length, 9); // bextr eax, ecx, 4 (map 0A: imm32)
    assert.equal(decode('8f c1')?.length, 2); // pop r9 is not XOP
  });
  it('rejects the unsupported encodings: 66-prefixed rel16 branches, prefixes before VEX, SSE4a immediates, PadLock', () => {
    assert.equal(decode('66 e9 00 01'), undefined);
    assert.equal(decode('66 c5 f8 77'), undefined);
    assert.equal(decode('48 c5 f8 77'), undefined);
    assert.equal(decode('66 0f 78 c0 01 02'), undefined);
    assert.equal(decode('0f a7 c0'), undefined);
    assert.equal(decode('48 66 89 c8'), undefined); // a REX not right before the opcode
  });
});

describe('relocating the instructions a 5-byte jmp covers', () => {
  const from = 0x7ff6_0000_1000n;
  const to = 0x7ff6_1000_0000n;
  it('rewrites a RIP-relative disp32 so the absolute target is unchanged', () => {
    const code = bytes('48 83 ec 28 48 8b 05 f0 ff 00 00 90');
    const r = relocated(relocate(code, from, to, 5));
    assert.equal(r.moved, 11);
    assert.equal(r.code.length, 11);
    assert.deepEqual([...r.code.subarray(0, 7)], [0x48, 0x83, 0xec, 0x28, 0x48, 0x8b, 0x05]);
    const oldTarget = from + 11n + BigInt(int32At(code, 7));
    const newTarget = to + 11n + BigInt(int32At(r.code, 7));
    assert.equal(newTarget, oldTarget);
  });
  it('keeps the immediate after a RIP-relative disp32', () => {
    const r = relocated(relocate(bytes('f6 05 00 10 00 00 01'), from, to, 5));
    assert.equal(r.code[6], 0x01);
    assert.equal(to + 7n + BigInt(int32At(r.code, 2)), from + 7n + 0x1000n);
  });
  it('widens jcc rel8 to jcc rel32 (0F 8x) aimed at the same target', () => {
    const code = bytes('48 85 c9 74 10 48 89 c8');
    const r = relocated(relocate(code, from, to, 5));
    assert.equal(r.moved, 5);
    assert.deepEqual([...r.code.subarray(0, 5)], [0x48, 0x85, 0xc9, 0x0f, 0x84]);
    assert.equal(r.code.length, 9);
    assert.equal(to + 9n + BigInt(int32At(r.code, 5)), from + 5n + 0x10n);
  });
  it('widens jmp rel8 to jmp rel32 and rewrites call rel32', () => {
    const r = relocated(relocate(bytes('e8 00 02 00 00 eb 20'), from, to, 6));
    assert.deepEqual([r.code[0], r.code[5]], [0xe8, 0xe9]);
    assert.equal(to + 5n + BigInt(int32At(r.code, 1)), from + 5n + 0x200n);
    assert.equal(to + 10n + BigInt(int32At(r.code, 6)), from + 7n + 0x20n);
  });
  it('copies instructions without relative operands unchanged and reports the whole instructions covered', () => {
    const code = bytes('55 57 56 53 48 83 ec 48 48 89 cb');
    const r = relocated(relocate(code, from, to, 5));
    assert.equal(r.moved, 8);
    assert.deepEqual([...r.code], [...code.subarray(0, 8)]);
    assert.equal(relocated(relocate(bytes('41 55 41 54 55 57 56 53'), from, to, 5)).moved, 5);
  });
  it('fails when the flow ends before 5 bytes: xor eax, eax; ret', () => {
    assert.match(failure(relocate(bytes('31 c0 c3 cc cc cc cc'), from, to, 5)), /byte offset 2 \(c3\).*too short/);
  });
  it('fails on an undecodable byte, naming its offset', () => {
    assert.match(failure(relocate(bytes('48 89 c8 06 90 90 90'), from, to, 5)), /byte offset 3 \(bytes 06/);
  });
  it('fails on a branch into the covered bytes', () => {
    assert.match(failure(relocate(bytes('85 c9 75 fc 90 90'), from, to, 5)), /byte offset 2 .*branches to byte offset 0/);
  });
  it('fails on loop/jrcxz, which have no rel32 form', () => {
    assert.match(failure(relocate(bytes('e3 10 48 89 c8 90'), from, to, 5)), /loop\/jrcxz/);
  });
  it('fails when a RIP-relative target is out of 32-bit reach from the new place', () => {
    assert.match(failure(relocate(bytes('48 8b 05 00 10 00 00'), from, from + 0x1_0000_0000n, 5)), /out of 32-bit reach/);
  });
});

// ---- against the real thing: objdump's instruction boundaries in Wine's own DLLs ----

const WINE_DLLS = '/usr/lib/x86_64-linux-gnu/wine/x86_64-windows';
const OBJDUMP = 'x86_64-w64-mingw32-objdump';

/** The .text section of a PE32+ file: its bytes and the virtual address of its first byte. */
function peText(file: string): { bytes: Uint8Array; address: bigint } {
  const image = readFileSync(file);
  const pe = image.readUInt32LE(0x3c);
  assert.equal(image.readUInt32LE(pe), 0x4550, `${file}: a PE file`);
  const sections = image.readUInt16LE(pe + 6);
  const optional = pe + 24;
  assert.equal(image.readUInt16LE(optional), 0x20b, `${file}: PE32+`);
  const imageBase = image.readBigUInt64LE(optional + 24);
  const table = optional + image.readUInt16LE(pe + 20);
  for (let i = 0; i < sections; i++) {
    const s = table + i * 40;
    if (image.toString('latin1', s, s + 8).replace(/\0+$/, '') !== '.text') continue;
    const size = Math.min(image.readUInt32LE(s + 8), image.readUInt32LE(s + 16));
    const raw = image.readUInt32LE(s + 20);
    return { bytes: image.subarray(raw, raw + size), address: imageBase + BigInt(image.readUInt32LE(s + 12)) };
  }
  throw new Error(`${file}: no .text section`);
}

/** Why the decoder may answer undefined for bytes objdump decodes: the encodings x64-decode.ts lists as unsupported. */
function unsupportedClass(code: Uint8Array): string | undefined {
  const legacy = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
  let p = 0;
  let simd = false; // 66 F0 F2 F3
  while (legacy.includes(code[p])) simd ||= [0x66, 0xf0, 0xf2, 0xf3].includes(code[p++]);
  const rex = (code[p] & 0xf0) === 0x40;
  if (rex) p++;
  const [op, next] = [code[p], code[p + 1]];
  if (rex && ((op & 0xf0) === 0x40 || legacy.includes(op))) return 'REX not right before the opcode';
  if ((simd || rex) && [0xc4, 0xc5, 0x62, 0x8f].includes(op)) return 'prefix before VEX/EVEX/XOP';
  if (code.includes(0x66) && (op === 0xe8 || op === 0xe9 || (op === 0x0f && (next & 0xf0) === 0x80))) return '66 rel16 branch';
  if (op === 0x0f && (next === 0x78 || next === 0xa6 || next === 0xa7)) return 'SSE4a imm / PadLock';
  return undefined;
}

interface Agreement {
  instructions: number;
  agree: number;
  unsupported: Map<string, number>;
  mismatches: string[];
  skipped: number;
}

function compareWithObjdump(dll: string): Agreement {
  const file = `${WINE_DLLS}/${dll}`;
  const text = peText(file);
  const listing = execFileSync(OBJDUMP, ['-d', '--insn-width=16', '-j', '.text', file], { encoding: 'latin1', maxBuffer: 1 << 30 });
  const result: Agreement = { instructions: 0, agree: 0, unsupported: new Map(), mismatches: [], skipped: 0 };
  let skipping = false;
  for (const line of listing.split('\n')) {
    if (/^[0-9a-f]+ <.*>:$/.test(line)) {
      skipping = false;
      continue;
    }
    const m = /^\s+([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*(?:\t(.*))?$/.exec(line);
    if (!m) continue;
    const mnemonic = m[3] ?? '';
    if (mnemonic.includes('(bad)')) skipping = true;
    if (skipping) {
      result.skipped++;
      continue;
    }
    const offset = Number(BigInt(`0x${m[1]}`) - text.address);
    const expected = m[2].trim().split(' ').length;
    const actual = text.bytes.subarray(offset, offset + expected);
    const shown = `0x${m[1]}: ${m[2].trim()}  ${mnemonic}`;
    result.instructions++;
    if (m[2].trim() !== Array.from(actual, (b) => b.toString(16).padStart(2, '0')).join(' ')) {
      result.mismatches.push(`${shown} (the .text bytes there differ)`);
      continue;
    }
    const ins = decodeInstruction(text.bytes, offset);
    if (ins?.length === expected) result.agree++;
    else if (ins === undefined && unsupportedClass(actual) !== undefined) {
      const cls = unsupportedClass(actual) as string;
      result.unsupported.set(cls, (result.unsupported.get(cls) ?? 0) + 1);
    } else result.mismatches.push(`${shown} (decoded: ${ins ? `${ins.length} bytes` : 'undefined'})`);
  }
  return result;
}

describe('agreeing with objdump on the real Wine DLLs', () => {
  for (const dll of ['ws2_32.dll', 'kernel32.dll', 'ntdll.dll']) {
    it(`decodes every instruction objdump decodes in ${dll} .text to the same length`, (t) => {
      const started = Date.now();
      const r = compareWithObjdump(dll);
      const unsupported = [...r.unsupported.values()].reduce((a, b) => a + b, 0);
      t.diagnostic(
        `${dll}: ${r.agree}/${r.instructions} agree, ${unsupported} unsupported (${[...r.unsupported].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}), ` +
          `${r.mismatches.length} mismatches, ${r.skipped} lines skipped after (bad), ${Date.now() - started} ms`,
      );
      assert.ok(r.instructions > 1000, `objdump listed ${r.instructions} instructions`);
      assert.deepEqual(r.mismatches.slice(0, 10), [], `${r.mismatches.length} mismatches with objdump`);
      assert.ok(unsupported < r.instructions / 1000, `${unsupported} unsupported instructions, at least 0.1%`);
      if (dll === 'ws2_32.dll') assert.equal(r.agree, r.instructions);
    });
  }
});

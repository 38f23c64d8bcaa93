import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_CATALOGUE, HOOKED_APIS, memorySpans, type ApiEntry, type MemorySpan } from '../../tracer/apis';
import { HOOKS, extensionFunctionsIn, outcome, type CallSite } from '../../tracer/win32/hooks';

/** A fake debuggee memory: address → bytes. */
function memory(regions: Record<string, Buffer>) {
  return (address: bigint, length: number): Buffer | undefined => {
    for (const [at, bytes] of Object.entries(regions)) {
      const base = BigInt(at);
      if (address >= base && address + BigInt(length) <= base + BigInt(bytes.length)) return bytes.subarray(Number(address - base), Number(address - base) + length);
    }
    return undefined;
  };
}

describe('hooked-call decoders: what the trace says of a call', () => {
  it('WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) with WSAID_ACCEPTEX names AcceptEx and the pointer it handed out', () => {
    const guid = Buffer.from('f17d36b5accbcf1195ca00805f48a192', 'hex');
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(0x370f7bcf0n);
    const spec = HOOKS.get('WSAIoctl');
    const decoded = spec?.exit?.({ raw: [0x2cn, 0xc8000006n, 0x1000n, 16n, 0x2000n, 8n, 0x3000n, 0n], read: memory({ '0x1000': guid, '0x2000': out }) }, 0);
    assert.deepEqual(decoded, { extensionFunction: 'AcceptEx', functionPointer: '0x370f7bcf0' });
  });

  it('any other control code has no extension function to name', () => {
    assert.equal(HOOKS.get('WSAIoctl')?.exit?.({ raw: [0x2cn, 0x8004667en, 0x1000n, 4n, 0n, 0n, 0n, 0n], read: () => undefined }, 0), undefined);
  });

  it('a BOOL API fails on FALSE; an int API on SOCKET_ERROR; WSAStartup returns its error', () => {
    const acceptEx = HOOKS.get('AcceptEx');
    const closesocket = HOOKS.get('closesocket');
    const startup = HOOKS.get('WSAStartup');
    assert.ok(acceptEx && closesocket && startup);
    assert.deepEqual(outcome(acceptEx, 0n, () => 997), { result: 0, error: 997 });
    assert.deepEqual(outcome(acceptEx, 1n, () => 997), { result: 1 });
    assert.deepEqual(outcome(closesocket, 0xffffffffn, () => 10038), { result: -1, error: 10038 });
    assert.deepEqual(outcome(closesocket, 0n, () => 10038), { result: 0 });
    assert.deepEqual(outcome(startup, 10092n, () => undefined), { result: 10092, error: 10092 });
  });
});

/** SIO_GET_EXTENSION_FUNCTION_POINTER: WSAIoctl's exit reads the GUID and the pointer only for this code. */
const EXTENSION_FUNCTION_POINTER = 0xc8000006n;
/** What every u32 in the fake memory reads as: a count (fd_set, *addrlen) small enough to stay in any span. */
const COUNT_IN_MEMORY = 2;

/** Parameters other spans take their length from (optlen, namelen, cbInBuffer, cEvents). */
function lengthParams(entry: ApiEntry): Set<number> {
  return new Set(memorySpans(entry).flatMap((span) => ('param' in span.length ? [span.length.param] : [])));
}

/** Raw parameters for a call: an address per parameter, `length` for the ones spans take their length from. */
function rawFor(api: string, entry: ApiEntry, length: bigint): bigint[] {
  const lengths = lengthParams(entry);
  const raw = Array.from({ length: 8 }, (_, i) => (lengths.has(i) ? length : 0x100000n * BigInt(i + 1)));
  if (api === 'WSAIoctl') raw[1] = EXTENSION_FUNCTION_POINTER;
  return raw;
}

/** The bytes [from, to) a span may cover for this call. */
function extentOf(span: MemorySpan, raw: readonly bigint[]): { from: bigint; to: bigint }[] {
  const from = raw[span.pointer];
  const length = span.length;
  if ('bytes' in length) return [{ from, to: from + BigInt(length.bytes) }];
  if ('param' in length) return [{ from, to: from + BigInt(Math.min(Number(raw[length.param]) * (length.scale ?? 1), length.maxBytes)) }];
  if ('pointee' in length) return [{ from: raw[length.pointee], to: raw[length.pointee] + 4n }, { from, to: from + BigInt(Math.min(COUNT_IN_MEMORY, length.maxBytes)) }];
  return [{ from, to: from + BigInt(Math.min(length.counted.headerBytes + COUNT_IN_MEMORY * length.counted.elementBytes, length.maxBytes)) }];
}

/** A call site whose memory reads are checked against the catalogue's spans for the phase. */
function checkedSite(api: string, raw: bigint[], when: MemorySpan['when']): CallSite {
  const allowed = memorySpans(API_CATALOGUE[api as keyof typeof API_CATALOGUE]).filter((span) => span.when === when).flatMap((span) => extentOf(span, raw));
  return {
    raw,
    read(address, length) {
      const inside = allowed.some((extent) => address >= extent.from && address + BigInt(length) <= extent.to);
      assert.ok(inside, `${api} reads ${length} bytes at 0x${address.toString(16)} at its ${when}, outside the catalogue's spans`);
      const bytes = Buffer.alloc(length);
      for (let at = 0; at + 4 <= length; at += 4) bytes.writeUInt32LE(COUNT_IN_MEMORY, at);
      return bytes;
    },
  };
}

describe("a running process's extension functions, from ws2_32's own table (attached to after WSAIoctl handed them out)", () => {
  const BASE = 0x370f70000n;
  /** An image with Wine's table at 0x400: { GUID, function, name } entries of 32 bytes. */
  function imageWith(entries: [guid: string, pointer: bigint][], at = 0x400): Buffer {
    const image = Buffer.alloc(0x2000);
    entries.forEach(([guid, pointer], i) => {
      Buffer.from(guid, 'hex').copy(image, at + 32 * i);
      image.writeBigUInt64LE(pointer, at + 32 * i + 16);
      image.writeBigUInt64LE(BASE + 0x1a00n, at + 32 * i + 24);
    });
    return image;
  }

  it('each known GUID followed by a pointer into the image names its function', () => {
    const image = imageWith([
      ['b907a225f3dd60468ee976e58c74063e', BASE + 0xc500n],
      ['f17d36b5accbcf1195ca00805f48a192', BASE + 0xbcf0n],
      ['f27d36b5accbcf1195ca00805f48a192', BASE + 0x9bc0n],
    ]);
    // The image as mapped is larger than these bytes in the test: the pointers are checked against its length.
    const mapped = Buffer.concat([image, Buffer.alloc(0x10000)]);
    assert.deepEqual(
      extensionFunctionsIn(mapped, BASE).sort((a, b) => a.api.localeCompare(b.api)),
      [
        { api: 'AcceptEx', pointer: BASE + 0xbcf0n },
        { api: 'ConnectEx', pointer: BASE + 0xc500n },
        { api: 'GetAcceptExSockaddrs', pointer: BASE + 0x9bc0n },
      ],
    );
  });

  it('a GUID followed by a pointer outside the image, or not at an entry boundary, names nothing (Windows keeps them in mswsock)', () => {
    assert.deepEqual(extensionFunctionsIn(imageWith([['f17d36b5accbcf1195ca00805f48a192', 0x7ff800001000n]]), BASE), []);
    assert.deepEqual(extensionFunctionsIn(imageWith([['f17d36b5accbcf1195ca00805f48a192', BASE + 0x100n]], 0x404), BASE), []);
    assert.deepEqual(extensionFunctionsIn(Buffer.alloc(0x2000), BASE), []);
  });
});

describe('the decoders agree with the hooked-API catalogue', () => {
  it('every hooked API has a decoder whose result kind is the catalogue’s', () => {
    assert.deepEqual([...HOOKS.keys()], [...HOOKED_APIS]);
    for (const api of HOOKED_APIS) {
      assert.equal(HOOKS.get(api)?.returns, API_CATALOGUE[api].returns, api);
      assert.equal(HOOKS.get(api)?.errorInResult ?? false, API_CATALOGUE[api].errorInResult ?? false, api);
    }
  });

  for (const length of [4n, 16n]) {
    it(`decodes the catalogue's arguments and out-parameters, reading memory only where it says (lengths of ${length})`, () => {
      for (const api of HOOKED_APIS) {
        const entry = API_CATALOGUE[api];
        const spec = HOOKS.get(api);
        assert.ok(spec, api);
        const raw = rawFor(api, entry, length);
        const args = spec.entry(checkedSite(api, raw, 'entry'));
        assert.deepEqual(Object.keys(args), entry.args.map((a) => a.name), `${api}: arguments`);
        const out = spec.exit?.(checkedSite(api, raw, 'return'), 0);
        const outNames = (entry.out ?? []).map((o) => o.name);
        for (const name of Object.keys(out ?? {})) assert.ok(outNames.includes(name), `${api}: out.${name} is in the catalogue`);
        assert.equal(spec.exit !== undefined, outNames.length > 0, `${api}: has out-parameters exactly when the catalogue lists some`);
      }
    });
  }
});

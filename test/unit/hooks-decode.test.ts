import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOOKS, outcome } from '../../tracer/win32/hooks';

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

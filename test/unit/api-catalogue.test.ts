import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { API_CATALOGUE, HOOKED_APIS, REGISTER_ONLY_APIS, WSAPROTOCOL_INFOA_BYTES, WSAPROTOCOL_INFOW_BYTES, apiEntry, memorySpans, type MemorySpan } from '../../tracer/apis';
import { HOOKED_APIS as SCHEMA_HOOKED_APIS } from '../../tracer/trace/schema';
import { WSAPROTOCOL_INFOA_SIZE, WSAPROTOCOL_INFOW_SIZE } from '../../tracer/win32/layouts';

interface Contributes {
  debuggers: { configurationAttributes: Record<string, { properties: Record<string, { items?: { enum?: string[] } }> }> }[];
  configuration: { properties: Record<string, { items?: { enum?: string[] } }> };
}

const manifest = JSON.parse(readFileSync(join(resolve(import.meta.dirname, '..', '..'), 'package.json'), 'utf8')) as { contributes: Contributes };

/** Every enum in package.json that lists hooked APIs: the debug configurations' stopOn and apis, the apis setting. */
function apiEnums(): { where: string; values: string[] | undefined }[] {
  const { debuggers, configuration } = manifest.contributes;
  const fromConfigurations = debuggers.flatMap((debuggerEntry) =>
    Object.entries(debuggerEntry.configurationAttributes).flatMap(([request, attributes]) =>
      ['stopOn', 'apis'].filter((name) => name in attributes.properties).map((name) => ({ where: `${request}.${name}`, values: attributes.properties[name].items?.enum })),
    ),
  );
  return [...fromConfigurations, { where: 'sockshare.apis', values: configuration.properties['sockshare.apis']?.items?.enum }];
}

const spanParams = (span: MemorySpan): number[] => {
  const length = span.length;
  return [span.pointer, ...('param' in length ? [length.param] : []), ...('pointee' in length ? [length.pointee] : [])];
};

describe('the hooked-API catalogue', () => {
  it('is the trace format’s list of hooked APIs', () => {
    assert.equal(SCHEMA_HOOKED_APIS, HOOKED_APIS);
    assert.equal(HOOKED_APIS.length, 28);
    assert.equal(new Set(HOOKED_APIS).size, HOOKED_APIS.length);
  });

  it("package.json's stopOn and apis enums list every hooked API, in the catalogue's order", () => {
    const enums = apiEnums();
    assert.deepEqual(
      enums.map((e) => e.where),
      ['launch.stopOn', 'launch.apis', 'attach.stopOn', 'attach.apis', 'sockshare.apis'],
    );
    for (const { where, values } of enums) assert.deepEqual(values, [...HOOKED_APIS], `package.json ${where}`);
  });

  it('names A/W variants in pairs, each with its own WSAPROTOCOL_INFO size', () => {
    for (const api of HOOKED_APIS) {
      const entry = API_CATALOGUE[api];
      if (!entry.charset) continue;
      assert.equal(api, `${entry.family}${entry.charset}`);
      assert.ok(apiEntry(`${entry.family}${entry.charset === 'A' ? 'W' : 'A'}`), `${api} has its other variant`);
    }
    assert.equal(WSAPROTOCOL_INFOA_BYTES, WSAPROTOCOL_INFOA_SIZE);
    assert.equal(WSAPROTOCOL_INFOW_BYTES, WSAPROTOCOL_INFOW_SIZE);
  });

  it('reads only parameters the function takes, and fills only arguments it names', () => {
    for (const api of HOOKED_APIS) {
      const entry = API_CATALOGUE[api];
      const names = entry.args.map((a) => a.name);
      assert.equal(new Set(names).size, names.length, `${api}: argument names are unique`);
      for (const arg of entry.args) assert.ok(arg.param < entry.paramCount, `${api}.${arg.name} is parameter ${arg.param} of ${entry.paramCount}`);
      for (const span of memorySpans(entry)) for (const param of spanParams(span)) assert.ok(param < entry.paramCount, `${api}: a span reads parameter ${param}`);
      for (const out of entry.out ?? []) if (out.fills) assert.ok(names.includes(out.fills), `${api}: out.${out.name} fills ${out.fills}`);
      for (const arg of entry.args) if (arg.kind === 'pointer' || arg.kind === 'socket' || arg.kind === 'int' || arg.kind === 'uint' || arg.kind === 'word' || arg.kind === 'handle') assert.equal(arg.memory, undefined, `${api}.${arg.name} is a register value`);
    }
  });

  it('records in process exactly the ws2_32 exports that need nothing from memory (the stubs save registers only)', () => {
    assert.deepEqual(
      [...REGISTER_ONLY_APIS].sort(),
      ['WSAAccept', 'WSAAsyncSelect', 'WSACleanup', 'WSAEventSelect', 'WSARecv', 'WSASend', 'WSAStartup', 'closesocket', 'listen', 'recv', 'send', 'shutdown', 'socket'],
    );
    assert.ok(!REGISTER_ONLY_APIS.includes('AcceptEx'), 'AcceptEx is reached through a pointer, not an export the stubs hook');
  });

  it('says how readers show the values the formatters named by hand before', () => {
    const display = (api: string, name: string) => apiEntry(api)?.args.find((a) => a.name === name)?.display;
    assert.equal(display('closesocket', 's'), 'socket');
    assert.equal(display('AcceptEx', 'sAcceptSocket'), 'socket');
    assert.equal(display('WSASocketW', 'dwFlags'), 'flags:WSA_FLAGS');
    assert.equal(display('WSAEventSelect', 'lNetworkEvents'), 'flags:FD_FLAGS');
    assert.equal(display('setsockopt', 'optname'), 'option-name');
    assert.equal(display('ioctlsocket', 'cmd'), 'enum:IOCTL_NAMES');
    const hidden = HOOKED_APIS.flatMap((api) => API_CATALOGUE[api].args.filter((a) => a.hidden).map((a) => `${api}.${a.name}`));
    assert.deepEqual(hidden, ['WSADuplicateSocketA.lpProtocolInfo', 'WSADuplicateSocketW.lpProtocolInfo', 'bind.namelen', 'connect.namelen', 'WSAConnect.namelen', 'accept.addr', 'accept.addrlen']);
    const socketResults = HOOKED_APIS.filter((api) => API_CATALOGUE[api].returns === 'socket');
    assert.deepEqual(socketResults, ['socket', 'WSASocketA', 'WSASocketW', 'accept', 'WSAAccept']);
  });
});

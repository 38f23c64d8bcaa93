import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HOOKS, type HookSpec } from '../../tracer/win32/hooks';
import { int3At } from '../../tracer/win32/int3';
import { InprocProcess } from '../../tracer/win32/inproc/process-state';
import type { InprocRecorder } from '../../tracer/win32/inproc/recorder';
import type { TracedProcess } from '../../tracer/win32/traced-process';

const closesocket = HOOKS.get('closesocket') as HookSpec;
const recv = HOOKS.get('recv') as HookSpec;

/** A debuggee as int3At sees it: the breakpoint path's entry points and return addresses. */
function fakeProcess(): TracedProcess {
  return { pid: 7, entries: new Map([[0x1000n, recv]]), returns: new Map([[0x2000n, []]]) } as unknown as TracedProcess;
}

/** A recorder with closesocket hooked inline at 0x3000 (trampoline 0x3100), its stub's int3s at 0x4000 and 0x4100. */
function fakeRecorder(): InprocRecorder {
  return {
    apiAt: (address: bigint) => (address === 0x3000n ? 'closesocket' : undefined),
    trampolineAt: (address: bigint) => (address === 0x3000n ? 0x3100n : undefined),
    breaks: new Map([[0x4000n, { api: 'closesocket', original: 0x3100n }]]),
    failBreaks: new Map([[0x4100n, 'closesocket']]),
    extensionBreaks: new Set([0x4200n]),
  } as unknown as InprocRecorder;
}

describe('what an int3 is: one answer for the breakpoint and in-process paths', () => {
  it('tells the breakpoint path’s int3s apart without in-process state', () => {
    const process = fakeProcess();
    assert.deepEqual(int3At(process, undefined, HOOKS, 0x1000n), { kind: 'entry', spec: recv });
    assert.deepEqual(int3At(process, undefined, HOOKS, 0x2000n), { kind: 'return' });
    assert.equal(int3At(process, undefined, HOOKS, 0x9999n), undefined);
  });

  it('tells the in-process int3s apart: exit, hooked entry, armed stub, failed call, extension pointer', () => {
    const process = fakeProcess();
    const inproc = new InprocProcess(process);
    inproc.recorder = fakeRecorder();
    inproc.exitAddresses.add(0x5000n);
    assert.deepEqual(int3At(process, inproc, HOOKS, 0x5000n), { kind: 'exit-call', inproc });
    assert.deepEqual(int3At(process, inproc, HOOKS, 0x3000n), { kind: 'entry', spec: closesocket, original: 0x3100n });
    assert.deepEqual(int3At(process, inproc, HOOKS, 0x4000n), { kind: 'entry', spec: closesocket, original: 0x3100n });
    assert.deepEqual(int3At(process, inproc, HOOKS, 0x4100n), { kind: 'failed-call' });
    assert.deepEqual(int3At(process, inproc, HOOKS, 0x4200n), { kind: 'extension-pointer', inproc });
    assert.deepEqual(int3At(process, inproc, HOOKS, 0x1000n), { kind: 'entry', spec: recv });
    assert.deepEqual(int3At(process, inproc, HOOKS, 0x2000n), { kind: 'return' });
    assert.ok(inproc.isStubInt3(0x4000n) && inproc.isStubInt3(0x4100n) && inproc.isStubInt3(0x4200n) && !inproc.isStubInt3(0x3000n));
  });

  it('an in-process int3 of an API not hooked in this capture is not an entry', () => {
    const process = fakeProcess();
    const inproc = new InprocProcess(process);
    inproc.recorder = fakeRecorder();
    assert.equal(int3At(process, inproc, new Map(), 0x4000n), undefined);
  });
});

/**
 * The debug adapter (dist/adapter.js) attaching to a running pre-fork server by processId and by processName: the
 * workers it starts after are traced, a disconnect detaches (the server keeps serving), and a name that matches no
 * process is refused naming what runs.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import { processByName, processIds } from '../../adapter/attach';
import { assertPreforkTrace, eventsSoFar, startServingPrefork } from '../e2e/attach-server';
import { waitUntil } from '../e2e/support';
import { ROOT, shutdown, startClient, within } from './support';

function liveEnv(): NodeJS.ProcessEnv {
  if (process.platform === 'win32') return process.env;
  return { ...process.env, SOCKSHARE_WINEPREFIX: process.env.SOCKSHARE_WINEPREFIX ?? join(ROOT, '.cache', 'wine-prefix') };
}

/** Sends attach (with configurationDone after initialized) and waits for its answer. */
async function attach(client: DebugClient, args: Record<string, unknown>): Promise<void> {
  const initialized = client.waitForEvent('initialized');
  await client.initializeRequest();
  const attached = client.attachRequest(args as never);
  attached.catch(() => undefined);
  await initialized;
  await client.configurationDoneRequest();
  await within(attached, 30_000, 'attach');
}

describe('attach arguments', () => {
  test('processId: a number, a string of digits, or a list; anything else is refused', () => {
    assert.deepEqual(processIds(12), [12]);
    assert.deepEqual(processIds(['12', 13, '12']), [12, 13]);
    assert.throws(() => processIds('twelve'), /processId/);
    assert.throws(() => processIds([]), /processId/);
  });

  test('processName: exactly one match, case-insensitive, ".exe" optional; otherwise the candidates are listed', () => {
    const list = [
      { pid: 8, parentPid: 1, name: 'server.exe', image: 'C:\\app\\server.exe', commandLine: 'server.exe --a', threads: 1 },
      { pid: 9, parentPid: 1, name: 'worker.exe', commandLine: 'worker.exe 1', threads: 1 },
      { pid: 10, parentPid: 1, name: 'worker.exe', commandLine: 'worker.exe 2', threads: 1 },
    ];
    assert.equal(processByName(list, 'SERVER'), 8);
    assert.throws(() => processByName(list, 'worker.exe'), /2 processes are named "worker.exe".*pid 9 worker.exe 1; pid 10 worker.exe 2/);
    assert.throws(() => processByName(list, 'nothing'), /no running process is named "nothing" \(running: server.exe, worker.exe\)/);
  });
});

describe('the adapter attaching to a running pre-fork server', () => {
  test('attach by processId (a string, as a command variable gives it): workers traced, disconnect detaches', { timeout: 240_000 }, async () => {
    const server = await startServingPrefork();
    const traceFile = join(server.dir, 'dap-attach.sockshare.jsonl');
    const client = await startClient(liveEnv());
    try {
      await attach(client, { type: 'sockshare', request: 'attach', name: 'attach', processId: [String(server.pid)], trace: traceFile });
      assert.ok(await waitUntil(() => eventsSoFar(traceFile).some((e) => e.kind === 'module-load' && e.pid === server.pid), 60_000), 'ws2_32 hooked in the server');
      server.go();
      const imported = () => eventsSoFar(traceFile).filter((e) => e.kind === 'api' && e.phase === 'return' && e.api === 'WSASocketW' && e.pid !== server.pid).length >= 2;
      assert.ok(await waitUntil(imported, 60_000), 'both workers imported under the tracer');
      assert.match(await server.ask('hello'), /^server-[AB]$/);
      const terminated = client.waitForEvent('terminated', 20_000);
      await within(client.disconnectRequest({}), 20_000, 'disconnect');
      await terminated.catch(() => undefined);
      // The agent wrote the end of the trace before it let go.
      assert.ok(await waitUntil(() => eventsSoFar(traceFile).length > 0, 5_000));
      await assertPreforkTrace(traceFile, server.pid);
      assert.match(await server.ask('after'), /^server-[AB]$/, 'a worker answers after the session ended');
    } finally {
      await shutdown(client);
      const end = await server.stop();
      assert.equal(end.code, 0, `the server ran to its end after the detach: ${end.stdout}`);
    }
  });

  test('attach by processName: the one prefork.exe running is found; a name that matches nothing is refused', { timeout: 240_000 }, async () => {
    const server = await startServingPrefork();
    const client = await startClient(liveEnv());
    try {
      const initialized = client.waitForEvent('initialized');
      await client.initializeRequest();
      const refused = client.attachRequest({ type: 'sockshare', request: 'attach', name: 'attach', processName: 'no-such-program.exe' } as never);
      refused.catch(() => undefined);
      await initialized;
      await client.configurationDoneRequest();
      await assert.rejects(within(refused, 60_000, 'attach'), /no running process is named "no-such-program.exe" \(running: .*prefork\.exe/i);
    } finally {
      await shutdown(client);
    }
    const second = await startClient(liveEnv());
    const traceFile = join(server.dir, 'dap-attach-name.sockshare.jsonl');
    try {
      await attach(second, { type: 'sockshare', request: 'attach', name: 'attach', processName: 'PREFORK', capture: 'inprocess', trace: traceFile });
      assert.ok(await waitUntil(() => eventsSoFar(traceFile).some((e) => e.kind === 'process-start' && e.pid === server.pid), 60_000), 'attached to the server found by name');
      await within(second.disconnectRequest({}), 20_000, 'disconnect');
      // Answered once the capture has ended: the detach is done and the spool is in the trace (an adapter stopped
      // right after the answer, as here, cannot cut the detach short and leave the server unable to serve).
      assert.equal(existsSync(`${traceFile}.spool`), false, 'the capture ended before the disconnect was answered');
    } finally {
      await shutdown(second);
      server.go();
      assert.match(await server.ask('after'), /^server-[AB]$/, 'the server serves after the session ended');
      const end = await server.stop();
      assert.equal(end.code, 0, `the server ran to its end after the detach: ${end.stdout}`);
    }
  });
});

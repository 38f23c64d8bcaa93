/**
 * The debug adapter replaying recordings, driven over DAP (stdio) as VS Code drives it. The recordings are real runs
 * under Wine (samples/traces); the hand-made traces cover what they lack (hit counts, a reused WSAPROTOCOL_INFO, a
 * failed call, a malformed file).
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RULES } from '../../tracer/model';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { SOURCE, TARGET, tenStepHandoff } from '../support/scenarios';
import {
  at, children, collectOutput, continueToEnd, gotoEvent, launchAndStop, launchError, named, nextStop, outputText, RECORDINGS, SAMPLES,
  scopesAt, startClient, tempDir, valuesOf, waitForOutput, within, withClient, writeTrace,
} from './support';

const HANDOFF = join(RECORDINGS, 'handoff.sockshare.jsonl');
const EVENT_SELECT = join(RECORDINGS, 'event-select-cancel.sockshare.jsonl');
/** The handoff recording: source pid 276 (thread 280) duplicates 0x2c for target pid 284 (thread 288), which imports it as 0x34. */
const H = { source: 276, sourceTid: 280, target: 284, targetTid: 288, duplicate: 25, duplicateReturn: 26, importCall: 28, importReturn: 29, sourceClose: 30 };
/** The event-select-cancel recording: source 320/324 registers through 0x2c (event 23); target 328/332 imports 0x34 and registers at 32. */
const E = { source: 320, sourceTid: 324, target: 328, targetTid: 332, sourceSelect: 23, targetSelect: 32, targetSelectReturn: 33 };

const TIMEOUT = { timeout: 30_000 };
const SAMPLE_BUILD = 'node scripts/build-samples.mjs';

let dir = '';
const fixtures = { severalDuplicates: '', reused: '', failedDuplicate: '', malformed: '', badHeader: '' };
/** The handles the several-duplicates fixture duplicates, in order. */
const DUPLICATED = [0x1a4, 0x1a8, 0x1ac, 0x1b0];

before(() => {
  dir = tempDir('sockshare-dap-replay-');

  // Four sockets, each duplicated for the target and imported: four WSADuplicateSocketW calls for hit counts.
  const several = new TraceBuilder();
  const source = several.start(SOURCE, 'C:\\samples\\source.exe');
  const target = several.start(TARGET, 'C:\\samples\\target.exe', SOURCE);
  source.startup();
  target.startup();
  DUPLICATED.forEach((s, i) => {
    const info = tcpProtocolInfo(0x40 + i);
    source.wsaSocket(s, 0x01);
    source.duplicate(s, TARGET, info);
    target.importSocket(0x2b8 + 4 * i, info, 0x01);
  });
  source.exit();
  target.exit();
  fixtures.severalDuplicates = writeTrace(dir, 'several-duplicates', several);

  // The WSAPROTOCOL_INFO imported twice.
  const reused = tenStepHandoff();
  reused.trace.call(TARGET, TARGET + 4, 'WSASocketW', { af: -1, type: -1, protocol: -1, lpProtocolInfo: reused.info, g: 0, dwFlags: 1 }, { result: 0x2c0 });
  fixtures.reused = writeTrace(dir, 'protocol-info-reused', reused.trace);

  // A WSADuplicateSocketW that fails with WSAEINVAL.
  const failed = new TraceBuilder();
  const lone = failed.start(SOURCE, 'C:\\samples\\source.exe');
  lone.startup();
  lone.wsaSocket(0x1a4, 0x01);
  lone.duplicate(0x1a4, 9999, null, 10022);
  lone.exit();
  fixtures.failedDuplicate = writeTrace(dir, 'duplicate-failed', failed);

  // The handoff with line 6 (an event) not JSON, and a file that is no trace at all.
  const lines = readFileSync(HANDOFF, 'utf8').split('\n');
  lines[5] = '{"seq":5,"kind":"api", this is not JSON';
  fixtures.malformed = join(dir, 'malformed.sockshare.jsonl');
  writeFileSync(fixtures.malformed, lines.join('\n'));
  fixtures.badHeader = join(dir, 'bad-header.sockshare.jsonl');
  writeFileSync(fixtures.badHeader, '{"hello":"world"}\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Launches a replay that stops first where the setup says, and returns the stop. */
function replay(client: DebugClient, trace: string, extra: Record<string, unknown> = {}, setup: Parameters<typeof launchAndStop>[2] = {}) {
  return launchAndStop(client, { type: 'sockshare', request: 'launch', trace, ...extra }, setup);
}

/** The breakpoint ids the setFunctionBreakpoints response gave. */
function idsOf(setup: { ids: number[] }) {
  return { onBreakpoints: (bps: DebugProtocol.Breakpoint[]) => setup.ids.push(...bps.map((b) => b.id ?? -1)) };
}

describe('replay: stopping on entry, threads and stack', () => {
  test('stop on entry stops at the first hooked call (WSAStartup of the source thread)', TIMEOUT, () =>
    withClient(async (client) => {
      const stop = await replay(client, HANDOFF, { stopOnEntry: true });
      assert.equal(stop.body.reason, 'entry');
      assert.equal(stop.body.threadId, H.sourceTid);
      assert.equal(stop.body.allThreadsStopped, true);
      const { frame } = await scopesAt(client, H.sourceTid);
      assert.equal(frame.name, 'WSAStartup(wVersionRequested=0x202, lpWSAData=0x21f840)');
    }));

  test('threads are named "image [role] pid N tid M", with the roles as of the cursor', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      const early = (await client.threadsRequest()).body.threads;
      assert.deepEqual(early.map((t) => [t.id, t.name]), [
        [H.sourceTid, `handoff.exe [process] pid ${H.source} tid ${H.sourceTid}`],
        [H.targetTid, `handoff.exe [child] pid ${H.target} tid ${H.targetTid}`],
      ]);
      await gotoEvent(client, H.importReturn);
      const late = (await client.threadsRequest()).body.threads;
      assert.deepEqual(late.map((t) => t.name), [`handoff.exe [source] pid ${H.source} tid ${H.sourceTid}`, `handoff.exe [target] pid ${H.target} tid ${H.targetTid}`]);
      for (const t of late) assert.match(t.name, /^\S+\.exe \[(source|target|source\+target|child|process)\] pid \d+ tid \d+$/);
    }));

  test('the stack has the hooked call with decoded args on top and the caller module+offset below it', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, {}, { functionBreakpoints: [{ name: 'WSADuplicateSocketW' }] });
      const { frames } = await scopesAt(client, H.sourceTid);
      assert.equal(frames.length, 2);
      assert.equal(frames[0].name, `WSADuplicateSocketW(s=0x2c, dwProcessId=${H.target})`);
      // No file on this machine for the hooked call itself: a document of the call in context, by reference.
      assert.ok(frames[0].source?.sourceReference);
      const doc = (await client.sourceRequest({ source: frames[0].source, sourceReference: frames[0].source.sourceReference })).body.content;
      assert.match(doc.split('\n')[frames[0].line - 1], new RegExp(`^→ #${H.duplicate} +WSADuplicateSocketW\\(s=0x2c, dwProcessId=${H.target}\\) = 0`));
      assert.equal(frames[1].name, 'handoff.exe+0x17b4');
      // The other thread's stack is its own latest hooked call.
      const other = (await client.stackTraceRequest({ threadId: H.targetTid })).body.stackFrames;
      assert.equal(other[0].name, 'WSAStartup(wVersionRequested=0x202, lpWSAData=0x21f570) = 0');
    }));

  test('the caller frame has the source file and line of the call, the -g executable found by name in the search paths', TIMEOUT, () =>
    withClient(async (client) => {
      // The recording names Z:\work\main\samples\handoff\handoff.exe; wherever this checkout is, its samples folder has it.
      await replay(client, HANDOFF, { searchPaths: [SAMPLES] }, { functionBreakpoints: [{ name: 'WSADuplicateSocketW' }] });
      const { frames } = await scopesAt(client, H.sourceTid);
      const caller = frames[1];
      assert.ok(caller.source?.path, `a source for ${caller.name} (addr2line from mingw-w64 reads the ${SAMPLE_BUILD} build)`);
      assert.equal(caller.source.name, 'handoff.c');
      assert.ok(existsSync(caller.source.path), caller.source.path);
      const line = readFileSync(caller.source.path, 'utf8').split('\n')[caller.line - 1];
      assert.match(line, /WSADuplicateSocketW\(s, pid, &info\)/, `line ${caller.line} of ${caller.source.path} is the call`);
    }));
});

describe('replay: scopes', () => {
  test('every frame has the Call, Descriptors, Socket, Handoffs and Findings scopes', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      const frames = (await client.stackTraceRequest({ threadId: H.sourceTid })).body.stackFrames;
      for (const frame of frames) {
        const scopes = (await client.scopesRequest({ frameId: frame.id })).body.scopes;
        assert.deepEqual(scopes.map((s) => s.name), ['Call', 'Descriptors', 'Socket', 'Handoffs', 'Findings']);
      }
      const { scopes } = await scopesAt(client, H.sourceTid);
      assert.deepEqual(valuesOf(scopes.Call), { wVersionRequested: '0x202', lpWSAData: '0x21f840', result: '(not returned yet)' });
      assert.deepEqual(scopes.Socket.map((v) => v.value), ['none: this call names no socket']);
      assert.deepEqual(scopes.Descriptors, []);
      assert.deepEqual(scopes.Handoffs, []);
      assert.deepEqual(scopes.Findings, []);
    }));

  test('Call: arguments named, the WSAPROTOCOL_INFO the duplicate wrote expanded field by field, the result', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      const entry = await gotoEvent(client, H.duplicate);
      assert.equal(entry.body.reason, 'goto');
      let { scopes } = await scopesAt(client, H.sourceTid);
      assert.deepEqual(valuesOf(scopes.Call), { s: '0x2c', dwProcessId: String(H.target), lpProtocolInfo: '0x21fa60', result: '(not returned yet)' });
      assert.equal(named(scopes.Call, 's')?.type, 'SOCKET');
      assert.equal(named(scopes.Call, 'dwProcessId')?.type, 'DWORD');

      await gotoEvent(client, H.duplicateReturn);
      ({ scopes } = await scopesAt(client, H.sourceTid));
      const info = named(scopes.Call, 'lpProtocolInfo');
      assert.equal(info?.value, '0x21fa60 → WSAPROTOCOL_INFO {AF_INET, SOCK_STREAM, IPPROTO_TCP, "TCP/IP"}');
      assert.equal(info?.type, 'WSAPROTOCOL_INFO');
      const fields = await children(client, info);
      const values = valuesOf(fields);
      assert.equal(values.iAddressFamily, 'AF_INET (2)');
      assert.equal(values.iSocketType, 'SOCK_STREAM (1)');
      assert.equal(values.iProtocol, 'IPPROTO_TCP (6)');
      assert.equal(values.providerId, '{e70f1aa0-ab8b-11cf-8ca3-00805f48a192}');
      assert.equal(named(fields, 'providerId')?.type, 'GUID');
      assert.equal(values.szProtocol, '"TCP/IP"');
      assert.equal(values.dwServiceFlags1, 'XP1_GUARANTEED_DELIVERY|XP1_GUARANTEED_ORDER|XP1_GRACEFUL_CLOSE|XP1_EXPEDITED_DATA|XP1_IFS_HANDLES (0x20066)');
      const chain = await children(client, named(fields, 'protocolChain'));
      assert.equal(named(chain, 'chainLen')?.value, '1 (base protocol)');
      assert.equal(named(scopes.Call, 'result')?.value, '0');
      assert.equal(named(scopes.Call, 'error'), undefined);
    }));

  test('Call: the import shows FROM_PROTOCOL_INFO, the WSAPROTOCOL_INFO passed in, dwFlags by name and the new descriptor', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      await gotoEvent(client, H.importReturn);
      const { frame, scopes } = await scopesAt(client, H.targetTid);
      assert.match(frame.name, /^WSASocketW\(af=FROM_PROTOCOL_INFO, .*\) = 0x34$/);
      const values = valuesOf(scopes.Call);
      assert.equal(values.af, 'FROM_PROTOCOL_INFO (-1)');
      assert.equal(values.lpProtocolInfo, 'WSAPROTOCOL_INFO {AF_INET, SOCK_STREAM, IPPROTO_TCP, "TCP/IP"}');
      assert.equal(values.dwFlags, 'WSA_FLAG_OVERLAPPED (0x1)');
      assert.equal(values.result, '0x34');
      assert.equal((await at(client, scopes.Call, 'lpProtocolInfo', 'iSocketType'))?.value, 'SOCK_STREAM (1)');
    }));

  test('Call: a failed call shows SOCKET_ERROR and the error by name and meaning', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, fixtures.failedDuplicate, {}, { functionBreakpoints: [{ name: 'WSADuplicateSocketW' }] });
      await nextStop(client, () => client.nextRequest({ threadId: SOURCE + 4 }));
      const { frame, scopes } = await scopesAt(client, SOURCE + 4);
      assert.equal(frame.name, 'WSADuplicateSocketW(s=0x1a4, dwProcessId=9999) = SOCKET_ERROR (WSAEINVAL)');
      assert.equal(named(scopes.Call, 'result')?.value, '-1 (SOCKET_ERROR)');
      assert.match(named(scopes.Call, 'error')?.value ?? '', /^WSAEINVAL \(10022\): /);
    }));

  test('Descriptors: the process\'s descriptors, open first, closed ones saying when and how', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      await gotoEvent(client, H.duplicate);
      let { scopes } = await scopesAt(client, H.sourceTid);
      assert.deepEqual(scopes.Descriptors.map((v) => v.name), ['0x2c', '0x38', '0x48']);
      assert.equal(named(scopes.Descriptors, '0x2c')?.value, 'open, socket #1 (TCP ? -> 127.0.0.1:33509)');
      assert.equal((await at(client, scopes.Descriptors, '0x38', 'state'))?.value, 'listening, 127.0.0.1:0 (port chosen by the system)');

      await gotoEvent(client, H.importReturn);
      ({ scopes } = await scopesAt(client, H.targetTid));
      assert.deepEqual(scopes.Descriptors.map((v) => [v.name, v.value]), [['0x34', 'open, socket #1 (TCP ? -> 127.0.0.1:33509)']]);

      await gotoEvent(client, H.sourceClose + 1);
      ({ scopes } = await scopesAt(client, H.sourceTid));
      assert.deepEqual(scopes.Descriptors.map((v) => v.name), ['0x38', '0x48', '0x2c']);
      // Closed when closesocket returned.
      assert.equal(named(scopes.Descriptors, '0x2c')?.value, `closed at event ${H.sourceClose + 1} by closesocket; socket #1 (TCP ? -> 127.0.0.1:33509)`);
    }));

  test('Socket and Handoffs: before the import the handoff is pending and one process holds the socket; after it, both', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      await gotoEvent(client, H.duplicateReturn);
      let { scopes } = await scopesAt(client, H.sourceTid);
      assert.equal(named(scopes.Socket, 'descriptors')?.value, '1 (1 open)');
      assert.equal(named(scopes.Socket, 'handoffs')?.value, 'h1');
      assert.equal(named(scopes.Handoffs, 'h1')?.value, `exported by handoff.exe (pid ${H.source}) for handoff.exe (pid ${H.target}) at event ${H.duplicate}: pending`);
      assert.equal((await at(client, scopes.Handoffs, 'h1', 'imports'))?.value, 'none');

      await gotoEvent(client, H.importReturn);
      ({ scopes } = await scopesAt(client, H.targetTid));
      const socket = valuesOf(scopes.Socket);
      assert.equal(socket.label, 'socket #1 (TCP ? -> 127.0.0.1:33509)');
      assert.equal(socket.state, 'connected, ? -> 127.0.0.1:33509');
      assert.equal(socket.descriptors, '2 (2 open)');
      assert.equal(socket['blocking mode'], 'blocking');
      assert.equal(socket.registration, 'none');
      assert.equal(socket['cancelled registrations'], 'none');
      const descriptors = await children(client, named(scopes.Socket, 'descriptors'));
      assert.deepEqual(descriptors.map((d) => [d.name, d.value]), [
        [`0x2c in handoff.exe (pid ${H.source})`, `open, created by WSASocketW at event 8`],
        [`0x34 in handoff.exe (pid ${H.target})`, `open, imported from handoff h1 at event ${H.importCall}`],
      ]);
      const h1 = await children(client, named(scopes.Handoffs, 'h1'));
      assert.equal(named(h1, 'status')?.value, `imported at event ${H.importCall}`);
      assert.equal(named(h1, 'source')?.value, `handoff.exe (pid ${H.source}), descriptor 0x2c`);
      assert.equal(named(h1, 'target')?.value, `handoff.exe (pid ${H.target})`);
      const imports = await children(client, named(h1, 'imports'));
      assert.equal(imports[0]?.value, `ok: 0x34 in handoff.exe (pid ${H.target}), WSASocketW at event ${H.importCall}`);

      // The source's closesocket: the socket stays open through the target's descriptor.
      await gotoEvent(client, H.sourceClose + 1);
      ({ scopes } = await scopesAt(client, H.sourceTid));
      assert.equal(named(scopes.Socket, 'descriptors')?.value, '2 (1 open)');
      assert.equal(named(scopes.Socket, 'closed')?.value, 'open');
    }));

  test('Socket: both processes\' descriptors, the blocking mode, the registration and the cancelled one (event-select-cancel)', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, EVENT_SELECT, { stopOnEntry: true });
      await gotoEvent(client, E.targetSelectReturn);
      const { scopes } = await scopesAt(client, E.targetTid);
      const socket = valuesOf(scopes.Socket);
      assert.equal(socket.descriptors, '2 (2 open)');
      assert.equal(socket['blocking mode'], `non-blocking, set by WSAEventSelect in event-select-cancel.exe (pid ${E.source}) at event ${E.sourceSelect}`);
      assert.equal(socket.registration, `WSAEventSelect FD_READ, event 0x30, by event-select-cancel.exe (pid ${E.target}) through 0x34 at event ${E.targetSelect}`);
      assert.equal(socket['cancelled registrations'], '1');
      const descriptors = await children(client, named(scopes.Socket, 'descriptors'));
      assert.deepEqual(descriptors.map((d) => d.name), [`0x2c in event-select-cancel.exe (pid ${E.source})`, `0x34 in event-select-cancel.exe (pid ${E.target})`]);
      const [cancelled] = await children(client, named(scopes.Socket, 'cancelled registrations'));
      assert.equal(cancelled.name, `WSAEventSelect by event-select-cancel.exe (pid ${E.source})`);
      const details = valuesOf(await children(client, cancelled));
      assert.equal(details.events, 'FD_READ (0x1)');
      assert.equal(details.event, '0x40');
      assert.equal(details['cancelled by'], `WSAEventSelect in event-select-cancel.exe (pid ${E.target}) at event ${E.targetSelect}`);
    }));

  test('Findings: the registration-cancelled error once raised, nothing before', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, EVENT_SELECT, { stopOnEntry: true });
      await gotoEvent(client, E.targetSelect);
      let { scopes } = await scopesAt(client, E.targetTid);
      assert.deepEqual(scopes.Findings, []);
      await gotoEvent(client, E.targetSelectReturn);
      ({ scopes } = await scopesAt(client, E.targetTid));
      assert.deepEqual(scopes.Findings.map((f) => f.name), ['error registration-cancelled']);
      const details = valuesOf(await children(client, scopes.Findings[0]));
      assert.equal(details.rule, 'registration-cancelled');
      assert.equal(details.events, `${E.sourceSelect}, 24, ${E.targetSelect}, ${E.targetSelectReturn}`);
      assert.match(details.message, /is no longer signalled/);
    }));
});

describe('replay: function breakpoints', () => {
  test('a function breakpoint on WSADuplicateSocketW stops there with reason "function breakpoint" and its id', TIMEOUT, () =>
    withClient(async (client) => {
      const setup = { ids: [] as number[] };
      const stop = await replay(client, HANDOFF, {}, { functionBreakpoints: [{ name: 'WSADuplicateSocketW' }], ...idsOf(setup) });
      assert.equal(stop.body.reason, 'function breakpoint');
      assert.equal(stop.body.threadId, H.sourceTid);
      assert.equal(stop.body.description, 'Breakpoint at WSADuplicateSocketW');
      assert.deepEqual(stop.body.hitBreakpointIds, setup.ids);
      const end = await continueToEnd(client, H.sourceTid);
      assert.equal(end.length, 1, 'one WSADuplicateSocketW in the recording');
    }));

  test('breakpoints set before the launch request are kept', TIMEOUT, () =>
    withClient(async (client) => {
      const initialized = client.waitForEvent('initialized');
      await client.initializeRequest();
      await initialized;
      const set = await client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'WSADuplicateSocketW' }] });
      await client.setExceptionBreakpointsRequest({ filters: [] });
      const stopped = client.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
      const launched = client.launchRequest({ trace: HANDOFF } as DebugProtocol.LaunchRequestArguments);
      await client.configurationDoneRequest();
      await within(launched, 10_000, 'launch');
      const stop = await stopped;
      assert.equal(stop.body.reason, 'function breakpoint');
      assert.deepEqual(stop.body.hitBreakpointIds, [set.body.breakpoints[0].id]);
    }));

  test('stopOn in the launch configuration stops as a function breakpoint and the client\'s breakpoints add to it', TIMEOUT, () =>
    withClient(async (client) => {
      const stop = await replay(client, HANDOFF, { stopOn: ['WSADuplicateSocketW'] }, { functionBreakpoints: [{ name: 'closesocket', condition: `pid == ${H.target}` }] });
      assert.equal(stop.body.reason, 'function breakpoint');
      assert.match((await scopesAt(client, stop.body.threadId ?? 0)).frame.name, /^WSADuplicateSocketW\(/);
      const next = await nextStop(client, () => client.continueRequest({ threadId: H.sourceTid }));
      assert.equal(next.body.threadId, H.targetTid);
      assert.equal((await scopesAt(client, H.targetTid)).frame.name, 'closesocket(s=0x34)');
    }));

  test('a function breakpoint on an unknown API is unverified with a message', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      const set = await client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'WSADuplicateSocketW' }, { name: 'CreateFileW' }] });
      const [known, unknown] = set.body.breakpoints;
      assert.equal(known.verified, true);
      assert.equal(unknown.verified, false);
      assert.match(unknown.message ?? '', /CreateFileW is not a hooked Winsock API \(.*WSADuplicateSocketW.*\)/);
      // Source-line breakpoints are refused with the reason.
      const lines = await client.setBreakpointsRequest({ source: { path: join(SAMPLES, 'handoff', 'handoff.c') }, breakpoints: [{ line: 44 }] });
      assert.equal(lines.body.breakpoints[0].verified, false);
      assert.match(lines.body.breakpoints[0].message ?? '', /function breakpoint/);
    }));

  test('a condition that holds stops (s == 0x2c), one that does not is passed (s == 0x99)', TIMEOUT, () =>
    withClient(async (client) => {
      const stop = await replay(client, HANDOFF, {}, { functionBreakpoints: [{ name: 'WSADuplicateSocketW', condition: 's == 0x2c' }] });
      assert.equal(stop.body.reason, 'function breakpoint');
    }).then(() =>
      withClient(async (client) => {
        const stop = await replay(client, HANDOFF, {}, { functionBreakpoints: [{ name: 'WSADuplicateSocketW', condition: 's == 0x99' }] });
        assert.equal(stop.body.description, 'No finding: stopped at the first handoff');
        const end = await nextStop(client, () => client.continueRequest({ threadId: stop.body.threadId ?? 0 }));
        assert.equal(end.body.description, 'End of the recording', 'the breakpoint does not stop on the way either');
      }),
    ));

  test('a condition on the process (pid == target) stops at the target\'s WSASocketW only', TIMEOUT, () =>
    withClient(async (client) => {
      const stop = await replay(client, HANDOFF, {}, { functionBreakpoints: [{ name: 'WSASocketW', condition: `pid == ${H.target}` }] });
      assert.equal(stop.body.reason, 'function breakpoint');
      assert.equal(stop.body.threadId, H.targetTid);
      const { frame } = await scopesAt(client, H.targetTid);
      assert.match(frame.name, /^WSASocketW\(af=FROM_PROTOCOL_INFO/);
      assert.equal((await continueToEnd(client, H.targetTid)).length, 1);
    }));

  test('a bad condition is unverified with the column of the error', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      const set = await client.setFunctionBreakpointsRequest({
        breakpoints: [{ name: 'WSADuplicateSocketW', condition: 's = 0x2c' }, { name: 'closesocket', condition: 's == (1' }, { name: 'closesocket', hitCondition: 'often' }],
      });
      const [assign, open, hits] = set.body.breakpoints;
      assert.equal(assign.verified, false);
      assert.match(assign.message ?? '', /^condition: unexpected '=' at column 3 \(use '==' to compare\)$/);
      assert.equal(open.verified, false);
      assert.match(open.message ?? '', /column 8/);
      assert.equal(hits.verified, false);
      assert.match(hits.message ?? '', /invalid hit condition 'often'/);
      // An unverified breakpoint does not stop.
      assert.equal((await nextStop(client, () => client.continueRequest({ threadId: H.sourceTid }))).body.description, 'End of the recording');
    }));

  for (const [hitCondition, stopsAt] of [['2', [2, 3, 4]], ['>= 2', [2, 3, 4]], ['% 2', [2, 4]], ['== 3', [3]]] as const) {
    test(`hit count "${hitCondition}" stops at the WSADuplicateSocketW calls ${stopsAt.join(', ')} of 4`, TIMEOUT, () =>
      withClient(async (client) => {
        let stop = await replay(client, fixtures.severalDuplicates, {}, { functionBreakpoints: [{ name: 'WSADuplicateSocketW', hitCondition }] });
        const handles: string[] = [];
        while (stop.body.description !== 'End of the recording' && handles.length < 10) {
          assert.equal(stop.body.reason, 'function breakpoint');
          handles.push(named((await scopesAt(client, stop.body.threadId ?? 0)).scopes.Call, 's')?.value ?? '?');
          stop = await nextStop(client, () => client.continueRequest({ threadId: SOURCE + 4 }));
        }
        assert.deepEqual(handles, stopsAt.map((n) => `0x${DUPLICATED[n - 1].toString(16)}`));
      }));
  }

  test('a log message prints to the Debug Console (category console) with its {expressions} and does not stop', TIMEOUT, () =>
    withClient(async (client) => {
      const outputs = collectOutput(client);
      // DAP's FunctionBreakpoint has no logMessage (VS Code sends none): the adapter takes it as an extra property.
      const logpoint = { name: 'WSADuplicateSocketW', logMessage: 'duplicating {s} for pid {dwProcessId} ({api})' } as DebugProtocol.FunctionBreakpoint;
      const first = await replay(client, fixtures.severalDuplicates, {}, { functionBreakpoints: [logpoint] });
      assert.equal(first.body.description, 'No finding: stopped at the first handoff');
      const stop = await nextStop(client, () => client.continueRequest({ threadId: first.body.threadId ?? 0 }));
      assert.equal(stop.body.description, 'End of the recording');
      const console = outputText(outputs, 'console').split('\n');
      const logs = console.filter((line) => line.startsWith('duplicating '));
      assert.deepEqual(logs, DUPLICATED.map((s) => `duplicating 0x${s.toString(16)} for pid ${TARGET} (WSADuplicateSocketW)`));
      assert.ok(!outputs.some((o) => o.category !== 'console' && o.output.includes('duplicating')));
      // In order with the calls printed: each log (at the call's entry) after the socket it names was created, before its return.
      for (const s of DUPLICATED) {
        const hex = `0x${s.toString(16)}`;
        const log = console.indexOf(`duplicating ${hex} for pid ${TARGET} (WSADuplicateSocketW)`);
        const created = console.findIndex((line) => line.endsWith(`WSASocketW(af=AF_INET, type=SOCK_STREAM, protocol=IPPROTO_TCP, dwFlags=WSA_FLAG_OVERLAPPED) = ${hex}`));
        const returned = console.findIndex((line) => line.endsWith(`WSADuplicateSocketW(s=${hex}, dwProcessId=${TARGET}) = 0`));
        assert.ok(created >= 0 && created < log && log < returned, `${hex}: created at line ${created}, logged at ${log}, returned at ${returned}`);
      }
    }));
});

describe('replay: exception filters', () => {
  test('the filters are the model\'s rules, each with its title and rule text', TIMEOUT, async () => {
    const client = await startClient();
    try {
      const init = await client.initializeRequest();
      const filters = init.body?.exceptionBreakpointFilters ?? [];
      assert.deepEqual(filters.map((f) => f.filter), RULES.map((r) => r.id));
      const cancelled = filters.find((f) => f.filter === 'registration-cancelled');
      assert.equal(cancelled?.label, 'Event registration cancelled');
      assert.match(cancelled?.description ?? '', /cancels any previous event registration/);
      assert.equal(init.body?.supportsStepBack, true);
      assert.equal(init.body?.supportsFunctionBreakpoints, true);
    } finally {
      await client.stop();
    }
  });

  test('registration-cancelled stops with reason "exception", the rule and events in the description, exceptionInfo with the message', TIMEOUT, () =>
    withClient(async (client) => {
      const stop = await replay(client, EVENT_SELECT, {}, { filters: ['registration-cancelled'] });
      assert.equal(stop.body.reason, 'exception');
      assert.equal(stop.body.threadId, E.targetTid);
      assert.equal(stop.body.description, `Error: registration-cancelled (events ${E.sourceSelect}, 24, ${E.targetSelect}, ${E.targetSelectReturn})`);
      assert.match(stop.body.text ?? '', /^registration-cancelled: WSAEventSelect in event-select-cancel\.exe/);
      const info = await client.exceptionInfoRequest({ threadId: E.targetTid });
      assert.equal(info.body.exceptionId, 'registration-cancelled');
      assert.equal(info.body.breakMode, 'always');
      assert.match(info.body.description ?? '', /cancelled the WSAEventSelect registration for FD_READ that event-select-cancel\.exe \(pid 320\) made/);
      assert.equal(info.body.details?.message, info.body.description);
      // The stop is on the target's WSAEventSelect, returned.
      assert.equal((await scopesAt(client, E.targetTid)).frame.name, 'WSAEventSelect(s=0x34, hEventObject=0x30, lNetworkEvents=FD_READ) = 0');
      assert.equal((await nextStop(client, () => client.continueRequest({ threadId: E.targetTid }))).body.description, 'End of the recording');
    }));

  test('with the filter off, the launch stops at the first handoff and continue runs to the end of the recording', TIMEOUT, () =>
    withClient(async (client) => {
      const first = await replay(client, EVENT_SELECT, {}, { filters: [] });
      assert.equal(first.body.reason, 'entry');
      assert.equal(first.body.description, 'No finding: stopped at the first handoff');
      const stop = await nextStop(client, () => client.continueRequest({ threadId: first.body.threadId ?? 0 }));
      assert.equal(stop.body.reason, 'step');
      assert.equal(stop.body.description, 'End of the recording');
    }));

  test('protocol-info-reused stops at the second import, and Handoffs says reused', TIMEOUT, () =>
    withClient(async (client) => {
      const stop = await replay(client, fixtures.reused, {}, { filters: ['protocol-info-reused'] });
      assert.equal(stop.body.reason, 'exception');
      assert.match(stop.body.description ?? '', /^Error: protocol-info-reused \(events /);
      assert.equal((await client.exceptionInfoRequest({ threadId: stop.body.threadId ?? 0 })).body.exceptionId, 'protocol-info-reused');
      const { frame, scopes } = await scopesAt(client, stop.body.threadId ?? 0);
      assert.equal(frame.name, 'WSASocketW(af=FROM_PROTOCOL_INFO, type=FROM_PROTOCOL_INFO, protocol=FROM_PROTOCOL_INFO, lpProtocolInfo=WSAPROTOCOL_INFO, dwFlags=WSA_FLAG_OVERLAPPED) = 0x2c0');
      assert.match(scopes.Handoffs[0].value, /: reused \(2 imports\)$/);
      assert.ok(scopes.Findings.some((f) => f.name === 'error protocol-info-reused'));
    }));
});

describe('replay: stepping forward and back', () => {
  test('next stays in the thread; stepIn goes to the next hooked event of any thread', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      await gotoEvent(client, 22); // accept returned, in the source; the target's WSAStartup is next (23), then the duplicate (25)
      const next = await nextStop(client, () => client.nextRequest({ threadId: H.sourceTid }));
      assert.equal(next.body.reason, 'step');
      assert.equal(next.body.threadId, H.sourceTid);
      assert.equal(next.body.description, 'Entering WSADuplicateSocketW');
      await gotoEvent(client, 22);
      const stepIn = await nextStop(client, () => client.stepInRequest({ threadId: H.sourceTid }));
      assert.equal(stepIn.body.threadId, H.targetTid);
      assert.equal(stepIn.body.description, 'Entering WSAStartup');
      const returned = await nextStop(client, () => client.stepInRequest({ threadId: H.targetTid }));
      assert.equal(returned.body.description, 'Returned from WSAStartup');
      // stepOut runs to the thread's next hooked event, as next does.
      const out = await nextStop(client, () => client.stepOutRequest({ threadId: H.sourceTid }));
      assert.equal(out.body.threadId, H.sourceTid);
      assert.equal((await scopesAt(client, H.sourceTid)).frame.name, `WSADuplicateSocketW(s=0x2c, dwProcessId=${H.target})`);
    }));

  test('stepBack returns to the previous event of the thread and the scopes show the older state', TIMEOUT, () =>
    withClient(async (client) => {
      const stop = await replay(client, EVENT_SELECT, {}, { filters: ['registration-cancelled'] });
      assert.equal(stop.body.reason, 'exception');
      let { scopes } = await scopesAt(client, E.targetTid);
      assert.equal(named(scopes.Socket, 'cancelled registrations')?.value, '1');
      const back = await nextStop(client, () => client.stepBackRequest({ threadId: E.targetTid }));
      assert.equal(back.body.reason, 'step');
      assert.equal(back.body.threadId, E.targetTid);
      assert.equal(back.body.description, 'Entering WSAEventSelect');
      ({ scopes } = await scopesAt(client, E.targetTid));
      assert.equal(named(scopes.Call, 'result')?.value, '(not returned yet)');
      assert.equal(named(scopes.Socket, 'registration')?.value, `WSAEventSelect FD_READ, event 0x40, by event-select-cancel.exe (pid ${E.source}) through 0x2c at event ${E.sourceSelect}`);
      assert.equal(named(scopes.Socket, 'cancelled registrations')?.value, 'none');
      assert.deepEqual(scopes.Findings, []);
      // Back past the other thread's events: the source's duplicate, before any import.
      await gotoEvent(client, 29);
      const sourceBack = await nextStop(client, () => client.stepBackRequest({ threadId: E.sourceTid }));
      assert.equal(sourceBack.body.description, 'Entering WSADuplicateSocketW');
      ({ scopes } = await scopesAt(client, E.sourceTid));
      assert.deepEqual(scopes.Handoffs, []);
    }));

  test('reverseContinue stops at a function breakpoint on the way back, and at the start of the recording when none', TIMEOUT, () =>
    withClient(async (client) => {
      const setup = { ids: [] as number[] };
      await replay(client, HANDOFF, { stopOnEntry: true }, { functionBreakpoints: [{ name: 'WSADuplicateSocketW' }], ...idsOf(setup) });
      const end = await gotoEvent(client, 44);
      assert.equal(end.body.reason, 'goto');
      const back = await nextStop(client, () => client.reverseContinueRequest({ threadId: H.sourceTid }));
      assert.equal(back.body.reason, 'function breakpoint');
      assert.deepEqual(back.body.hitBreakpointIds, setup.ids);
      let { scopes } = await scopesAt(client, H.sourceTid);
      assert.deepEqual(scopes.Handoffs, [], 'the cursor is on the entry: nothing exported yet');
      assert.equal(named(scopes.Socket, 'descriptors')?.value, '1 (1 open)');
      const start = await nextStop(client, () => client.reverseContinueRequest({ threadId: H.sourceTid }));
      assert.equal(start.body.reason, 'step');
      assert.equal(start.body.description, 'Start of the recording');
      // Forward again from the start: the breakpoint stops again.
      const again = await nextStop(client, () => client.continueRequest({ threadId: H.sourceTid }));
      assert.equal(again.body.reason, 'function breakpoint');
      ({ scopes } = await scopesAt(client, H.sourceTid));
      assert.equal(named(scopes.Call, 's')?.value, '0x2c');
    }));

  test('continue to the end stops with "End of the recording" on a listed thread; each hooked call passed goes to the Debug Console', TIMEOUT, () =>
    withClient(async (client) => {
      const outputs = collectOutput(client);
      const first = await replay(client, HANDOFF);
      assert.equal(first.body.description, 'No finding: stopped at the first handoff');
      assert.ok(!/#25 pid/.test(outputText(outputs, 'console')), 'the launch printed only the calls before the handoff');
      const stop = await nextStop(client, () => client.continueRequest({ threadId: first.body.threadId ?? 0 }));
      assert.equal(stop.body.reason, 'step');
      assert.equal(stop.body.description, 'End of the recording');
      assert.match(stop.body.text ?? '', /step back or reverse-continue/);
      const threads = (await client.threadsRequest()).body.threads;
      assert.ok(threads.some((t) => t.id === stop.body.threadId), `the stop's thread ${stop.body.threadId} is one of ${threads.map((t) => t.id).join(', ')}`);
      const console = outputText(outputs, 'console');
      assert.match(console, new RegExp(`#${H.duplicate} pid ${H.source} tid ${H.sourceTid} {2}WSADuplicateSocketW\\(s=0x2c, dwProcessId=${H.target}\\) = 0\\n`));
      assert.match(console, /#28 pid 284 tid 288 {2}WSASocketW\(af=FROM_PROTOCOL_INFO, .*\) = 0x34\n/);
      const calls = console.split('\n').filter((l) => /^#\d+ /.test(l));
      assert.equal(calls.length, 16, 'every hooked call but the internal one (socket -> WSASocketW)');
      assert.ok(!calls.some((l) => l.startsWith('#12 ')), 'the internal WSASocketW is not printed');
      // The programs' own output is in the recording too.
      assert.match(outputText(outputs, 'stdout'), /\[target\] imported the socket as 0x34/);
    }));
});

describe('replay: evaluate and custom requests', () => {
  test('evaluate dwProcessId (and a WSAPROTOCOL_INFO field) in the current frame', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, {}, { functionBreakpoints: [{ name: 'WSADuplicateSocketW' }] });
      const frames = (await client.stackTraceRequest({ threadId: H.sourceTid })).body.stackFrames;
      const pid = await client.evaluateRequest({ expression: 'dwProcessId', frameId: frames[0].id, context: 'watch' });
      assert.equal(pid.body.result, String(H.target));
      assert.equal((await client.evaluateRequest({ expression: 's == 0x2c && api == "WSADuplicateSocketW"', frameId: frames[0].id, context: 'repl' })).body.result, 'true');
      await nextStop(client, () => client.nextRequest({ threadId: H.sourceTid }));
      const returned = (await client.stackTraceRequest({ threadId: H.sourceTid })).body.stackFrames;
      assert.equal((await client.evaluateRequest({ expression: 'protocolInfo.iAddressFamily', frameId: returned[0].id, context: 'hover' })).body.result, '2');
      assert.equal((await client.evaluateRequest({ expression: 'result', frameId: returned[0].id, context: 'hover' })).body.result, '0');
      await assert.rejects(client.evaluateRequest({ expression: 'dwProcessId ==', frameId: returned[0].id, context: 'repl' }), /unexpected end of expression/);
    }));

  test('exportTrace {format: "html", output} writes the export; an unknown format is an error', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      const output = join(dir, 'handoff.html');
      const response = await client.customRequest('exportTrace', { format: 'html', output });
      assert.equal(response.success, true);
      assert.ok(existsSync(output) && statSync(output).size > 0, output);
      const html = readFileSync(output, 'utf8');
      assert.match(html, /<html/i);
      assert.match(html, /WSADuplicateSocketW/);
      await assert.rejects(client.customRequest('exportTrace', { format: 'pdf', output: join(dir, 'x.pdf') }), /format must be one of perfetto, markdown, html/);
    }));

  test('gotoEvent {seq} moves the cursor and stops with reason "goto" on that event\'s thread', TIMEOUT, () =>
    withClient(async (client) => {
      await replay(client, HANDOFF, { stopOnEntry: true });
      const stop = await gotoEvent(client, H.importCall);
      assert.equal(stop.body.reason, 'goto');
      assert.equal(stop.body.description, `Moved to event ${H.importCall}`);
      assert.equal(stop.body.threadId, H.targetTid);
      const { frame, scopes } = await scopesAt(client, H.targetTid);
      assert.match(frame.name, /^WSASocketW\(af=FROM_PROTOCOL_INFO/);
      assert.equal(named(scopes.Handoffs, 'h1')?.value.endsWith(': pending'), true);
      // And back.
      const earlier = await gotoEvent(client, 8);
      assert.equal(earlier.body.threadId, H.sourceTid);
      assert.deepEqual((await scopesAt(client, H.sourceTid)).scopes.Handoffs, []);
    }));
});

describe('replay: bad launch configurations end with an error response, never a hang', () => {
  test('no program and no trace', TIMEOUT, () =>
    withClient(async (client) => {
      const message = await launchError(client, { type: 'sockshare', request: 'launch', name: 'nothing to debug' });
      assert.match(message, /give "program" \(trace a program live\) or "trace" \(replay a recording\)/);
    }).then(() =>
      // The test client leaves out an empty arguments object altogether.
      withClient(async (client) => assert.match(await launchError(client, {}), /give "program"/)),
    ));

  test('a trace file that does not exist', TIMEOUT, () =>
    withClient(async (client) => {
      const missing = join(dir, 'missing.sockshare.jsonl');
      const message = await launchError(client, { trace: missing });
      assert.ok(message.includes(`the recording "${missing}" does not exist`), message);
    }));

  test('a malformed trace: the message names the file and the line', TIMEOUT, () =>
    withClient(async (client) => {
      const message = await launchError(client, { trace: fixtures.malformed });
      assert.ok(message.startsWith(`${fixtures.malformed}:6: `), message);
    }).then(() =>
      withClient(async (client) => {
        const message = await launchError(client, { trace: fixtures.badHeader });
        assert.ok(message.startsWith(`${fixtures.badHeader}:1: `), message);
      }),
    ));

  test('a malformed line after the stop on entry: continue stops with the error instead of running forever', TIMEOUT, () =>
    withClient(async (client) => {
      const lines = readFileSync(HANDOFF, 'utf8').split('\n');
      lines[30] = '{"seq":30,"kind":"api", broken';
      const file = join(dir, 'malformed-late.sockshare.jsonl');
      writeFileSync(file, lines.join('\n'));
      const outputs = collectOutput(client);
      const entry = await replay(client, file, { stopOnEntry: true });
      assert.equal(entry.body.reason, 'entry');
      const stop = await nextStop(client, () => client.continueRequest({ threadId: H.sourceTid }), 10_000);
      assert.equal(stop.body.description, 'Cannot read the recording further');
      assert.ok(stop.body.text?.startsWith(`${file}:31: `), stop.body.text);
      // On the last event read (the import's return, line 30), in the target's thread.
      assert.equal(stop.body.threadId, H.targetTid);
      await waitForOutput(outputs, 'stderr', /^sockshare: .*:31: /m);
    }));

  test('a program that does not exist', TIMEOUT, () =>
    withClient(async (client) => {
      const missing = join(dir, 'nothing-here.exe');
      assert.match(await launchError(client, { program: missing }), new RegExp(`"program" ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`));
    }));

  test('runtime "dos"', TIMEOUT, () =>
    withClient(async (client) => {
      const program = join(SAMPLES, 'handoff', 'handoff.c'); // exists: the runtime is checked next
      assert.match(await launchError(client, { program, runtime: 'dos' }), /"runtime" must be auto, windows or wine, not "dos"/);
    }));
});

/**
 * tracer/describe: the formatters' argument lists are the hooked-API catalogue's, and each thing (a close, a process's
 * end, a handoff's state) is worded in one place that the CLI, the exports, the debugger and the hover share.
 */

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { API_CATALOGUE, HOOKED_APIS } from '../../tracer/apis';
import {
  ARG_NAMERS, ARG_TYPES, HEX_ARGS, HIDDEN_ARGS, HIDDEN_WHEN_ZERO, SOCKET_RESULT_APIS, argValue, closedByText, closedText, eventLine,
  exitNote, findingGroups, formatArg, formatCall, namerFor, outParamFilling, pairCalls, processEndText, socketFacts,
} from '../../tracer/describe';
import { modelOf, type Finding } from '../../tracer/model';
import { S, T, tenStepHandoff } from '../support/scenarios';

describe("the formatters' lists agree with the hooked-API catalogue", () => {
  const specs = (api: (typeof HOOKED_APIS)[number]) => [...API_CATALOGUE[api].args, ...(API_CATALOGUE[api].out ?? [])];

  test('hidden arguments, arguments hidden when zero, and the calls that return a SOCKET', () => {
    for (const api of HOOKED_APIS) {
      const entry = API_CATALOGUE[api];
      assert.deepEqual(HIDDEN_ARGS[api], entry.args.filter((a) => a.hidden).map((a) => a.name), api);
      assert.deepEqual(HIDDEN_WHEN_ZERO[api], entry.args.filter((a) => a.hiddenWhenZero).map((a) => a.name), api);
      assert.equal(SOCKET_RESULT_APIS.has(api), entry.returns === 'socket', api);
    }
    // What the compact form has always left out, now read from the catalogue.
    assert.deepEqual(HIDDEN_ARGS.WSADuplicateSocketW, ['lpProtocolInfo']);
    assert.deepEqual(HIDDEN_ARGS.bind, ['namelen']);
    assert.deepEqual(HIDDEN_ARGS.accept, ['addr', 'addrlen']);
    assert.deepEqual(HIDDEN_WHEN_ZERO.WSASocketW, ['g']);
    assert.deepEqual([...SOCKET_RESULT_APIS].sort(), ['WSAAccept', 'WSASocketA', 'WSASocketW', 'accept', 'socket']);
  });

  test('every argument named by its display kind, in hex where its radix is 16, with its C type', () => {
    for (const api of HOOKED_APIS) {
      for (const spec of specs(api)) {
        const named = namerFor(spec.display, spec.radix) !== undefined;
        assert.equal(ARG_NAMERS[api]?.[spec.name] !== undefined, named, `${api} ${spec.name} (${spec.display})`);
        assert.equal(HEX_ARGS[api]?.includes(spec.name), spec.radix === 16, `${api} ${spec.name}`);
        assert.equal(typeof ARG_TYPES[api]?.[spec.name], 'string', `${api} ${spec.name}`);
      }
    }
    assert.equal(ARG_TYPES.WSADuplicateSocketW?.s, 'SOCKET');
    assert.equal(ARG_TYPES.WSADuplicateSocketW?.dwProcessId, 'DWORD');
    assert.equal(ARG_TYPES.WSAStartup?.wVersionRequested, 'WORD');
    assert.deepEqual(HEX_ARGS.WSASocketW, ['dwFlags']);
    assert.deepEqual(HEX_ARGS.setsockopt, ['level']);
  });

  test('names by display kind: flags, constants, options, descriptors; an unknown constant in its radix', () => {
    assert.equal(formatArg('WSASocketW', 'dwFlags', 0x81), 'WSA_FLAG_OVERLAPPED|WSA_FLAG_NO_HANDLE_INHERIT');
    assert.equal(formatArg('socket', 'af', 2), 'AF_INET');
    assert.equal(formatArg('WSASocketW', 'af', -1), 'FROM_PROTOCOL_INFO');
    assert.equal(formatArg('ioctlsocket', 'cmd', 0x8004667e), 'FIONBIO');
    assert.equal(formatArg('ioctlsocket', 'cmd', 0x1234), '0x1234');
    assert.equal(formatArg('shutdown', 'how', 9), '9');
    assert.equal(formatArg('setsockopt', 'optname', 1, { level: 6 }), 'TCP_NODELAY');
    assert.equal(formatArg('closesocket', 's', 0x1a4), '0x1a4');
    assert.equal(formatArg('WSAEnumNetworkEvents', 'lNetworkEvents', 0x21), 'FD_READ|FD_CLOSE');
    assert.equal(argValue('WSAEventSelect', 'lNetworkEvents', 0x21), 'FD_READ|FD_CLOSE (0x21)');
    assert.equal(argValue('socket', 'type', 1), 'SOCK_STREAM (1)');
    assert.equal(outParamFilling('WSADuplicateSocketW', 'lpProtocolInfo'), 'protocolInfo');
    assert.equal(outParamFilling('accept', 'addr'), 'addr');
    assert.equal(outParamFilling('bind', 'name'), undefined);
  });
});

describe('one wording each', () => {
  test('what closed a descriptor: closesocket, process exit, WSACleanup', () => {
    assert.equal(closedByText('closesocket'), 'closesocket');
    assert.equal(closedByText('process-exit'), 'process exit');
    assert.equal(closedByText('WSACleanup'), 'WSACleanup');
    assert.equal(closedByText(undefined), 'closesocket');
    assert.equal(closedText({ closedSeq: 40, closedBy: 'process-exit' }), 'closed at event 40 by process exit');
  });

  test('how a process ended', () => {
    assert.equal(exitNote({ exitCode: 3 }), 'exit code 3');
    assert.equal(exitNote({}), 'running at the end of the trace');
    assert.equal(processEndText({ exitSeq: 9, exitCode: 0 }), 'exited at event 9 with code 0');
    assert.equal(processEndText({}), 'running at the end of the trace');
  });

  test('the phrases live in tracer/describe only (the model words its own finding messages)', () => {
    const root = path.join(import.meta.dirname, '..', '..');
    const phrases = ["?? 'closesocket'", "'process-exit' ? ", 'closed at event ${', 'running at the end of the trace', 'imported from handoff', 'not imported yet', "'never imported'"];
    const files = ['tracer/cli', 'tracer/export', 'adapter', 'extension'].flatMap((dir) => listTs(path.join(root, dir)));
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const phrase of phrases) assert.ok(!text.includes(phrase), `${path.relative(root, file)} words "${phrase}" itself`);
    }
  });

  test('the compact call and any event in one line', () => {
    const { trace } = tenStepHandoff();
    const calls = pairCalls(trace.events);
    const duplicate = calls.find((c) => c.call.api === 'WSADuplicateSocketW');
    assert.ok(duplicate);
    assert.equal(formatCall(duplicate.call, duplicate.ret), `WSADuplicateSocketW(s=${hexOf(S)}, dwProcessId=512) = 0`);
    const exit = trace.events.find((e) => e.kind === 'process-exit');
    assert.ok(exit);
    assert.equal(eventLine(exit), 'process-exit (exit code 0)');
  });

  test('a socket described as facts: descriptors in both processes, closed by closesocket', () => {
    const { trace } = tenStepHandoff();
    const model = modelOf(trace.events);
    const facts = socketFacts(model, model.sockets()[0].id);
    const descriptors = facts.find((f) => f.name === 'descriptors');
    assert.equal(descriptors?.value, '2 (0 open)');
    const values = descriptors?.children?.().map((d) => d.value) ?? [];
    assert.match(values[0], /^closed at event \d+ by closesocket, created by WSASocketW at event \d+$/);
    assert.match(values[1], /^closed at event \d+ by closesocket, imported from handoff h1 at event \d+$/);
    assert.equal(descriptors?.children?.()[1].name, `${hexOf(T)} in target.exe (pid 512)`);
  });

  test('findings grouped by socket, titled as the finding named a socket the model no longer keeps', () => {
    const model = modelOf([]);
    const finding = (socketId?: string, socketLabel?: string): Finding => ({ rule: 'call-failed', severity: 'info', message: 'm', events: [1], seq: 1, socketId, socketLabel, pids: [] });
    const groups = findingGroups(model, [finding('s2', 'socket #2 (TCP)'), finding(), finding('s1')]);
    assert.deepEqual(groups.map((g) => g.title), ['socket #1', 'socket #2 (TCP)', 'Not tied to a socket']);
  });
});

function hexOf(n: number): string {
  return `0x${n.toString(16)}`;
}

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? listTs(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

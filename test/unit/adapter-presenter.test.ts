import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  callScope, currentSocketId, descriptorsScope, findingsScope, handoffsScope, socketScope, threadName, type VarNode,
} from '../../adapter/presenter';
import { modelOf, ShareModel } from '../../tracer/model';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import type { ApiCallEvent, ApiReturnEvent, TraceEvent } from '../../tracer/trace/schema';
import { OTHER, S, SOURCE, T, TARGET, tenStepHandoff } from '../support/scenarios';

/** The child named `name` (children expanded on the way); fails the test when missing. */
function at(nodes: VarNode[], ...path: string[]): VarNode {
  let node: VarNode | undefined;
  let level = nodes;
  for (const name of path) {
    node = level.find((n) => n.name === name);
    assert.ok(node, `no node '${name}' among ${level.map((n) => n.name).join(', ')}`);
    level = node.children?.() ?? [];
  }
  assert.ok(node);
  return node;
}

function kids(node: VarNode): VarNode[] {
  assert.ok(node.children, `'${node.name}' does not expand`);
  return node.children();
}

function callOf(events: TraceEvent[], seq: number): { call: ApiCallEvent; ret?: ApiReturnEvent } {
  const call = events.find((e): e is ApiCallEvent => e.kind === 'api' && e.phase === 'call' && e.seq === seq);
  assert.ok(call);
  const ret = events.find((e): e is ApiReturnEvent => e.kind === 'api' && e.phase === 'return' && e.callSeq === seq);
  return { call, ret };
}

/** The model as the debugger has it when stopped after event `seq`. */
function modelUpTo(events: TraceEvent[], seq: number): ShareModel {
  return modelOf(events.filter((e) => e.seq <= seq), false);
}

/** Source and target both call WSAEventSelect on their descriptor of the shared socket after the import. */
function cancelledRegistration() {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\samples\\source.exe');
  const target = trace.start(TARGET, 'C:\\samples\\target.exe', SOURCE);
  source.startup();
  target.startup();
  const info = tcpProtocolInfo(0x41);
  source.socket(S);
  source.connect(S);
  const duplicate = source.duplicate(S, TARGET, info);
  const imported = target.importSocket(T, info);
  const sourceSelect = source.eventSelect(S, '0x100', 0x21);
  const targetSelect = target.eventSelect(T, '0x200', 0x02);
  return { trace, events: trace.events, duplicate, imported, sourceSelect, targetSelect };
}

describe('Call scope', () => {
  const { trace, duplicate, imported, create } = tenStepHandoff();

  it('names Winsock constants, flags and the descriptor in hex', () => {
    const { call, ret } = callOf(trace.events, create);
    const scope = callScope(call, ret);
    assert.equal(at(scope, 'af').value, 'AF_INET (2)');
    assert.equal(at(scope, 'type').value, 'SOCK_STREAM (1)');
    assert.equal(at(scope, 'protocol').value, 'IPPROTO_TCP (6)');
    assert.equal(at(scope, 'dwFlags').value, 'WSA_FLAG_OVERLAPPED (0x1)');
    assert.equal(at(scope, 'lpProtocolInfo').value, 'NULL');
    assert.equal(at(scope, 'result').value, '0x1a4');
    assert.equal(scope.find((n) => n.name === 'error'), undefined);
  });

  it('decodes an imported WSAPROTOCOL_INFO field by field: named family, type, protocol, flags and the provider GUID', () => {
    const { call, ret } = callOf(trace.events, imported);
    const info = at(callScope(call, ret), 'lpProtocolInfo');
    assert.equal(info.value, 'WSAPROTOCOL_INFO {AF_INET, SOCK_STREAM, IPPROTO_TCP, "MSAFD Tcpip [TCP/IP]"}');
    const fields = kids(info);
    assert.equal(at(fields, 'iAddressFamily').value, 'AF_INET (2)');
    assert.equal(at(fields, 'iSocketType').value, 'SOCK_STREAM (1)');
    assert.equal(at(fields, 'iProtocol').value, 'IPPROTO_TCP (6)');
    assert.equal(at(fields, 'providerId').value, '{e70f1aa0-ab8b-11cf-8ca3-00805f48a192}');
    assert.equal(at(fields, 'providerId').type, 'GUID');
    assert.equal(at(fields, 'dwServiceFlags1').value, 'XP1_GUARANTEED_DELIVERY|XP1_GUARANTEED_ORDER|XP1_GRACEFUL_CLOSE|XP1_EXPEDITED_DATA|XP1_IFS_HANDLES (0x20066)');
    assert.equal(at(fields, 'dwProviderFlags').value, 'PFL_MATCHES_PROTOCOL_ZERO (0x8)');
    assert.equal(at(fields, 'protocolChain').value, 'base protocol: [1001]');
    assert.equal(at(fields, 'protocolChain', 'chainLen').value, '1 (base protocol)');
    assert.equal(at(fields, 'protocolChain', 'chainEntries', '[0]').value, '1001');
    assert.equal(at(fields, 'szProtocol').value, '"MSAFD Tcpip [TCP/IP]"');
    assert.equal(at(fields, 'dwProviderReserved').value, '60');
  });

  it('shows the WSAPROTOCOL_INFO WSADuplicateSocket wrote into its out-buffer once the call returned', () => {
    const { call, ret } = callOf(trace.events, duplicate);
    const scope = callScope(call, ret);
    assert.equal(at(scope, 's').value, '0x1a4');
    assert.equal(at(scope, 'dwProcessId').value, '512');
    const info = at(scope, 'lpProtocolInfo');
    assert.match(info.value, /^0x5ffd30 → WSAPROTOCOL_INFO \{AF_INET, SOCK_STREAM/);
    assert.equal(at(kids(info), 'iAddressFamily').value, 'AF_INET (2)');
    assert.equal(scope.filter((n) => n.name === 'protocolInfo').length, 0);
    assert.equal(at(scope, 'result').value, '0');
  });

  it('before the return: the pointer only, and the result is not known yet', () => {
    const { call } = callOf(trace.events, duplicate);
    const scope = callScope(call);
    assert.equal(at(scope, 'lpProtocolInfo').value, '0x5ffd30');
    assert.equal(at(scope, 'result').value, '(not returned yet)');
  });

  it('names a failure: SOCKET_ERROR / INVALID_SOCKET and the WSA error with its meaning', () => {
    const b = new TraceBuilder();
    const p = b.start(SOURCE, 'source.exe');
    const failedDuplicate = p.duplicate(S, 9999, null, 10022);
    const failedImport = p.importSocket(T, tcpProtocolInfo(1), 1, 10022);
    const dup = callOf(b.events, failedDuplicate);
    const dupScope = callScope(dup.call, dup.ret);
    assert.equal(at(dupScope, 'result').value, '-1 (SOCKET_ERROR)');
    assert.equal(at(dupScope, 'error').value, 'WSAEINVAL (10022): One of the specified parameters was invalid.');
    const imp = callOf(b.events, failedImport);
    assert.equal(at(callScope(imp.call, imp.ret), 'result').value, 'INVALID_SOCKET');
  });

  it('names event masks, ioctl codes, option levels and shutdown directions; out-params fill their argument', () => {
    const b = new TraceBuilder();
    const p = b.start(SOURCE, 'source.exe');
    const select = b.call(SOURCE, SOURCE + 4, 'WSAEventSelect', { s: S, hEventObject: '0x44', lNetworkEvents: 0x21 }, { result: 0 });
    const ioctl = p.call('ioctlsocket', { s: S, cmd: 0x8004667e, value: 1 }, { result: 0 });
    const opt = p.call('setsockopt', { s: S, level: 0xffff, optname: 8, optval: 1, optlen: 4 }, { result: 0 });
    const shut = p.call('shutdown', { s: S, how: 1 }, { result: 0 });
    const accept = p.call('accept', { s: S, addr: '0x5ffc00', addrlen: '0x5ffbf0' }, { result: 0x2c, out: { addr: '127.0.0.1:6000', addrlen: 16 } });
    const scopeOf = (seq: number) => callScope(callOf(b.events, seq).call, callOf(b.events, seq).ret);
    assert.equal(at(scopeOf(select), 'lNetworkEvents').value, 'FD_READ|FD_CLOSE (0x21)');
    assert.equal(at(scopeOf(ioctl), 'cmd').value, 'FIONBIO (0x8004667e)');
    assert.equal(at(scopeOf(opt), 'level').value, 'SOL_SOCKET (0xffff)');
    assert.equal(at(scopeOf(opt), 'optname').value, 'SO_KEEPALIVE (8)');
    assert.equal(at(scopeOf(shut), 'how').value, 'SD_SEND (1)');
    assert.equal(at(scopeOf(accept), 'addr').value, '0x5ffc00 → 127.0.0.1:6000');
    assert.equal(at(scopeOf(accept), 'result').value, '0x2c');
  });
});

describe('current socket', () => {
  const { trace, duplicate, imported, sourceClose, create } = tenStepHandoff();
  const model = modelOf(trace.events);
  const socketId = model.sockets()[0].id;

  it('is the one s names, even when that descriptor is closed by now', () => {
    const { call, ret } = callOf(trace.events, duplicate);
    assert.equal(currentSocketId(model, call, ret), socketId);
    assert.equal(currentSocketId(model, callOf(trace.events, sourceClose).call), socketId);
  });

  it('is the socket an import or a creation made', () => {
    const imp = callOf(trace.events, imported);
    assert.equal(currentSocketId(model, imp.call, imp.ret), socketId);
    assert.equal(currentSocketId(model, callOf(trace.events, create).call), socketId);
  });

  it('is accept\'s new socket, not the listening one', () => {
    const b = new TraceBuilder();
    const p = b.start(SOURCE, 'server.exe');
    p.startup();
    p.socket(S);
    const accept = p.call('accept', { s: S, addr: '0x0', addrlen: '0x0' }, { result: 0x2c });
    const m = modelOf(b.events);
    const { call, ret } = callOf(b.events, accept);
    assert.equal(currentSocketId(m, call, ret), m.descriptorByHandle(SOURCE, 0x2c)?.socketId);
    assert.notEqual(currentSocketId(m, call, ret), m.descriptorByHandle(SOURCE, S)?.socketId);
  });

  it('is undefined for a call about no socket', () => {
    assert.equal(currentSocketId(model, callOf(trace.events, 7).call), undefined);
  });
});

describe('Socket and Descriptors scopes', () => {
  it('the Socket scope lists both processes\' descriptors with where each came from', () => {
    const { trace, imported } = tenStepHandoff();
    const events = trace.events;
    const model = modelUpTo(events, imported + 1);
    const socket = socketScope(model, model.sockets()[0].id);
    assert.match(at(socket, 'label').value, /^socket #1 \(TCP \? -> 127\.0\.0\.1:5000\)$/);
    assert.equal(at(socket, 'state').value, 'connected, ? -> 127.0.0.1:5000');
    const descriptors = at(socket, 'descriptors');
    assert.equal(descriptors.value, '2 (2 open)');
    const [mine, theirs] = kids(descriptors);
    assert.equal(mine.name, '0x1a4 in source.exe (pid 364)');
    assert.match(mine.value, /^open, created by WSASocketW at event \d+$/);
    assert.equal(theirs.name, '0x2b8 in target.exe (pid 512)');
    assert.equal(theirs.value, `open, imported from handoff h1 at event ${imported}`);
    assert.equal(at(socket, 'blocking mode').value, 'blocking');
    assert.equal(at(socket, 'registration').value, 'none');
    assert.equal(at(socket, 'closed').value, 'open');
  });

  it('the Descriptors scope lists open descriptors first, closed ones with when and how, each expanding to its socket', () => {
    const { trace, sourceClose } = tenStepHandoff();
    const b = new TraceBuilder();
    b.events.push(...trace.events.filter((e) => e.seq <= sourceClose + 1));
    const model = modelOf(b.events, false);
    const scope = descriptorsScope(model, SOURCE);
    assert.equal(scope.length, 1);
    assert.equal(scope[0].name, '0x1a4');
    assert.match(scope[0].value, new RegExp(`^closed at event ${sourceClose + 1} by closesocket; socket #1`));
    const [target] = descriptorsScope(model, TARGET);
    assert.match(target.value, /^open, socket #1 \(TCP/);
    assert.deepEqual(kids(target).map((n) => n.name), socketScope(model, model.sockets()[0].id).map((n) => n.name));
  });

  it('the cancelled registration names the process that made it and the call that cancelled it', () => {
    const { events, sourceSelect, targetSelect } = cancelledRegistration();
    const model = modelOf(events, false);
    const socket = socketScope(model, model.sockets()[0].id);
    assert.deepEqual(kids(at(socket, 'descriptors')).map((d) => d.name), ['0x1a4 in source.exe (pid 364)', '0x2b8 in target.exe (pid 512)']);
    assert.equal(at(socket, 'registration').value, `WSAEventSelect FD_WRITE, event 0x200, by target.exe (pid 512) through 0x2b8 at event ${targetSelect}`);
    assert.equal(at(socket, 'registration', 'events').value, 'FD_WRITE (0x2)');
    const cancelled = at(socket, 'cancelled registrations');
    assert.equal(cancelled.value, '1');
    const [entry] = kids(cancelled);
    assert.equal(entry.name, 'WSAEventSelect by source.exe (pid 364)');
    assert.equal(entry.value, `WSAEventSelect FD_READ|FD_CLOSE, event 0x100, by source.exe (pid 364) through 0x1a4 at event ${sourceSelect}; cancelled by WSAEventSelect in target.exe (pid 512) at event ${targetSelect}`);
    assert.equal(at(kids(entry), 'cancelled by').value, `WSAEventSelect in target.exe (pid 512) at event ${targetSelect}`);
    assert.equal(at(socket, 'blocking mode').value, `non-blocking, set by WSAEventSelect in source.exe (pid 364) at event ${sourceSelect}`);
  });

  it('options say who set them', () => {
    const { trace } = cancelledRegistration();
    const opt = trace.call(TARGET, TARGET + 4, 'setsockopt', { s: T, level: 0xffff, optname: 8, optval: 1, optlen: 4 }, { result: 0 });
    const model = modelOf(trace.events, false);
    const [option] = kids(at(socketScope(model, model.sockets()[0].id), 'options'));
    assert.equal(option.name, 'SOL_SOCKET/SO_KEEPALIVE');
    assert.equal(option.value, `1, set by setsockopt in target.exe (pid 512) at event ${opt} through 0x2b8`);
  });
});

describe('Handoffs and Findings scopes, thread names', () => {
  it('a handoff says who exported it for whom and when it was imported', () => {
    const { trace, duplicate, imported } = tenStepHandoff();
    const model = modelOf(trace.events);
    const [h] = handoffsScope(model);
    assert.equal(h.name, 'h1');
    assert.equal(h.value, `exported by source.exe (pid 364) for target.exe (pid 512) at event ${duplicate}: imported at event ${imported}`);
    assert.equal(at(kids(h), 'imports', '[0]').value, `ok: 0x2b8 in target.exe (pid 512), WSASocketW at event ${imported}`);
    assert.match(at(kids(h), 'socket', 'label').value, /^socket #1 \(TCP/);
  });

  it('pending, reused, imported by the wrong process, never imported', () => {
    const b = new TraceBuilder();
    const source = b.start(SOURCE, 'source.exe');
    const target = b.start(TARGET, 'target.exe', SOURCE);
    const other = b.start(OTHER, 'other.exe', SOURCE);
    for (const p of [source, target, other]) p.startup();
    source.socket(S);
    const reused = tcpProtocolInfo(1);
    const wrong = tcpProtocolInfo(2);
    source.duplicate(S, TARGET, reused);
    source.duplicate(S, TARGET, wrong);
    source.duplicate(S, TARGET, tcpProtocolInfo(3));
    target.importSocket(T, reused);
    target.importSocket(T + 4, reused);
    other.importSocket(T, wrong);
    const values = () => handoffsScope(modelOf(b.events, false)).map((n) => n.value.replace(/^.*: /, ''));
    assert.deepEqual(values(), ['reused (2 imports)', `imported by the wrong process (other.exe (pid ${OTHER})) at event ${b.lastSeq - 1}`, 'pending']);
    const finished = handoffsScope(modelOf(b.events)).map((n) => n.value.replace(/^.*: /, ''));
    assert.equal(finished[2], 'never imported');
  });

  it('findings come newest last, named by severity and rule, expanding to their events and processes', () => {
    const { events, sourceSelect, targetSelect } = cancelledRegistration();
    const model = modelOf(events, false);
    const scope = findingsScope(model);
    const node = at(scope, 'error registration-cancelled');
    assert.match(node.value, /cancelled the WSAEventSelect registration for FD_READ\|FD_CLOSE that source\.exe \(pid 364\) made/);
    assert.equal(scope[scope.length - 1], node);
    const details = kids(node);
    assert.equal(at(details, 'severity').value, 'error');
    assert.match(at(details, 'events').value, new RegExp(`^${sourceSelect}, ${sourceSelect + 1}, ${targetSelect}, ${targetSelect + 1}$`));
    assert.equal(at(details, 'pids').value, 'source.exe (pid 364), target.exe (pid 512)');
    assert.equal(new Set(scope.map((n) => n.name)).size, scope.length, 'names are unique');
  });

  it('a thread is named by image, role, pid and tid', () => {
    const model = modelOf(tenStepHandoff().trace.events);
    assert.equal(threadName(model, SOURCE, 368), 'source.exe [source] pid 364 tid 368');
    assert.equal(threadName(model, TARGET, 516), 'target.exe [target] pid 512 tid 516');
    assert.equal(threadName(model, 4242, 1), '[process] pid 4242 tid 1');
  });
});

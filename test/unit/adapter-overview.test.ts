import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sharedSocketsOverview, type OverviewNode } from '../../adapter/overview';
import { arrayStore, Timeline } from '../../tracer/model';
import { tcpProtocolInfo } from '../../tracer/trace/builder';
import { TARGET, registrationCancelled, sharedSocket } from '../support/scenarios';

function section(nodes: OverviewNode[], label: string): OverviewNode {
  const found = nodes.find((n) => n.label === label);
  assert.ok(found, label);
  return found;
}

describe('Shared Sockets view: every entry moves a replay to an event where it exists', () => {
  test('a socket entry names the return of its creating call, where the replay shows it open', () => {
    const { trace } = registrationCancelled();
    const timeline = new Timeline(arrayStore(trace.events), 8);
    const atEnd = sharedSocketsOverview(timeline.atSeq(trace.lastSeq - 4));
    const socket = section(atEnd, 'Sockets').children?.[0];
    assert.ok(socket?.seq !== undefined, 'the socket entry carries a seq');
    const there = sharedSocketsOverview(timeline.atSeq(socket.seq));
    assert.equal(section(there, 'Sockets').description, '1 open');
    assert.match(section(there, 'Sockets').children?.[0].label ?? '', /^socket #1 \(TCP/);
  });

  test('a finding entry carries the seq that raised it, and the replay there lists it', () => {
    const { trace, cancel } = registrationCancelled();
    const timeline = new Timeline(arrayStore(trace.events), 8);
    const findings = section(sharedSocketsOverview(timeline.atSeq(trace.lastSeq)), 'Findings');
    const cancelled = findings.children?.find((n) => n.label === 'error registration-cancelled');
    assert.ok(cancelled?.seq !== undefined, 'the finding entry carries a seq');
    assert.equal(cancelled.severity, 'error');
    assert.ok(cancelled.seq > cancel, 'raised at the return of the cancelling call');
    const there = section(sharedSocketsOverview(timeline.atSeq(cancelled.seq)), 'Findings');
    assert.equal(there.children?.[0].label, 'error registration-cancelled');
    assert.equal(section(sharedSocketsOverview(timeline.atSeq(cancelled.seq - 1)), 'Findings').children?.length, 0);
  });

  test('findings come newest first with the right severity icon each', () => {
    const { trace, target } = sharedSocket();
    target.call('ioctlsocket', { s: 0x2b8, cmd: 0x8004667e, argp: '0x5ffe00', value: 1 }, { result: 0 });
    target.close(0x2b8);
    const nodes = section(sharedSocketsOverview(new Timeline(arrayStore(trace.events)).atSeq(trace.lastSeq)), 'Findings').children ?? [];
    assert.deepEqual(nodes.map((n) => [n.label, n.severity]), [['error source-kept-open', 'error'], ['warning shared-state-changed', 'warning']]);
    assert.ok((nodes[0].seq ?? 0) > (nodes[1].seq ?? 0));
  });

  test('a pending handoff entry names the return of its export', () => {
    const { trace, source } = sharedSocket();
    const exp = source.duplicate(0x1a4, TARGET, tcpProtocolInfo(5));
    const ret = trace.events.find((e) => e.kind === 'api' && e.phase === 'return' && e.callSeq === exp);
    const pending = section(sharedSocketsOverview(new Timeline(arrayStore(trace.events)).atSeq(trace.lastSeq)), 'Pending handoffs');
    assert.equal(pending.children?.[0].seq, ret?.seq);
  });

  test('counts are pluralised: 1 error, 1 descriptor in 1 process', () => {
    const { trace, target } = sharedSocket();
    target.close(0x2b8);
    const nodes = sharedSocketsOverview(new Timeline(arrayStore(trace.events)).atSeq(trace.lastSeq));
    assert.equal(section(nodes, 'Findings').description, '1 error, 0 warnings');
    assert.equal(section(nodes, 'Sockets').children?.[0].description, '1 descriptor in 1 process');
  });
});

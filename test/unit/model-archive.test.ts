import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generate } from '../../scripts/bench/generate';
import { readTraceFile } from '../../tracer/trace/reader';
import { ShareModel, type Finding, type SocketState } from '../../tracer/model';
import { CompactArchive } from '../../tracer/model/archive';
import { descriptorCodec, handoffCodec, socketCodec } from '../../tracer/model/codecs';
import { FindingStore } from '../../tracer/model/findings';
import { ORDERINGS } from '../support/orderings';
import { tenStepHandoff } from '../support/scenarios';

/** Every live entity of the model after each event, encoded and decoded again, equals itself. */
function roundTripsEveryState(events: ReturnType<typeof tenStepHandoff>['trace']['events']): number {
  const model = new ShareModel();
  let checked = 0;
  for (const event of events) {
    model.apply(event);
    const sockets = new CompactArchive('s', socketCodec);
    const descriptors = new CompactArchive('d', descriptorCodec);
    const handoffs = new CompactArchive('h', handoffCodec);
    for (const s of model.state.sockets.values()) sockets.put(s, sockets.length);
    for (const d of model.state.descriptors.values()) descriptors.put(d, descriptors.length);
    for (const h of model.state.handoffs.values()) handoffs.put(h, handoffs.length);
    for (const s of model.state.sockets.values()) assert.deepStrictEqual(sockets.get(s.id, sockets.length), s);
    for (const d of model.state.descriptors.values()) assert.deepStrictEqual(descriptors.get(d.id, descriptors.length), d);
    for (const h of model.state.handoffs.values()) assert.deepStrictEqual(handoffs.get(h.id, handoffs.length), h);
    checked += model.state.sockets.size + model.state.descriptors.size + model.state.handoffs.size;
  }
  return checked;
}

function socket(id: string, extra: Partial<SocketState> = {}): SocketState {
  return {
    id, af: 2, type: 1, protocol: 6, created: { seq: 1, returnSeq: 2, api: 'socket', pid: 364, tid: 368 }, overlapped: true, flags: 1,
    originUnknown: false, phase: 'created', shutdownReceive: false, shutdownSend: false, nonBlocking: false, qos: false, options: [],
    descriptorIds: [], handoffIds: [], registration: null, cancelledRegistrations: [], ...extra,
  };
}

describe('the compact history (closed sockets, descriptors, handoffs as numbers)', () => {
  it('decodes every entity the orderings produce, at every event, equal to the original (the same optional properties)', () => {
    let checked = roundTripsEveryState(tenStepHandoff().trace.events);
    for (const ordering of ORDERINGS) checked += roundTripsEveryState(ordering.build().events);
    assert.ok(checked > 1000, `${checked} entities checked`);
  });

  it('keeps numbers that do not fit 32 bits, text, and a property present but undefined', () => {
    const archive = new CompactArchive('s', socketCodec);
    const wide = socket('s7', {
      created: { seq: 2 ** 40, returnSeq: 2 ** 40 + 1, api: 'WSASocketW', pid: 0xfffffff0, tid: 2 ** 31 },
      flags: -0x80000000,
      remoteAddress: undefined,
      localAddress: '[::1]:5000 ünïcode',
      options: [
        { level: 0xffff, optname: 0x1002, value: 2.5, call: { seq: 3, returnSeq: 4, api: 'setsockopt', pid: 1, tid: 2 }, descriptorId: 'd1' },
        { level: 0xffff, optname: 0x80, value: '0x0100000005000000', call: { seq: 5, returnSeq: 6, api: 'setsockopt', pid: 1, tid: 2 }, descriptorId: 'd1' },
        { level: 6, optname: 1, value: null, call: { seq: 7, returnSeq: 8, api: 'setsockopt', pid: 1, tid: 2 }, descriptorId: 'd2' },
      ],
    });
    archive.put(wide, 0);
    const back = archive.get('s7', 1);
    assert.deepStrictEqual(back, wide);
    assert.ok(back && 'remoteAddress' in back && !('acceptedFrom' in back));
  });

  it('a replay from an older snapshot keeps what is already there, and rewrites what differs; a snapshot sees only its part', () => {
    const archive = new CompactArchive('s', socketCodec);
    archive.put(socket('s1'), 0);
    archive.put(socket('s2', { phase: 'listening' }), 1);
    archive.put(socket('s2', { phase: 'connected' }), 1); // the same id at the same place: kept as it was
    assert.equal(archive.get('s2', 2)?.phase, 'listening');
    assert.equal(archive.get('s2', 1), undefined);
    archive.put(socket('s3'), 1); // another entity at position 1: the rest is forgotten
    assert.equal(archive.get('s2', 5), undefined);
    assert.equal(archive.get('s3', 2)?.id, 's3');
    assert.equal(archive.get('d3', 2), undefined);
    assert.deepStrictEqual(archive.slice(5).map((s) => s.id), ['s1', 's3']);
  });
});

describe('findings in columns', () => {
  const finding = (seq: number, extra: Partial<Finding> = {}): Finding => ({
    rule: 'descriptor-closed', severity: 'info', message: `closed at ${seq}`, events: [seq - 1, seq], seq, socketId: 's4', socketLabel: 'socket #4 (TCP)', pids: [364, 512], ...extra,
  });

  it('gives back each finding as it was raised, and truncates for a replay', () => {
    const store = new FindingStore();
    const raised = [finding(10), finding(12, { socketId: undefined, socketLabel: undefined, rule: 'records-lost', severity: 'warning', pids: [] }), finding(15, { socketLabel: 'socket #4 (TCP 1.2.3.4:5)' })];
    for (const f of raised) store.push(f);
    assert.deepStrictEqual(store.slice(3), raised);
    assert.deepStrictEqual(store.at(1), raised[1]);
    store.truncate(1);
    store.push(finding(20));
    assert.deepStrictEqual(store.slice(2), [raised[0], finding(20)]);
    assert.equal(store.seqAt(1), 20);
    assert.equal(store.ruleAt(0), 'descriptor-closed');
  });
});

describe('the newest handoffs and findings of a long history, without decoding the rest', () => {
  it('latestHandoffs and latestFindings are the tails of the whole lists, at every point of a generated trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sockshare-latest-'));
    try {
      const file = join(dir, 'long.sockshare.jsonl');
      generate(file, 60_000);
      const { events } = await readTraceFile(file);
      const model = new ShareModel();
      let compared = 0;
      events.forEach((event, i) => {
        model.apply(event);
        if (i % 5_000 !== 4_999 && i !== events.length - 1) return;
        const ids = (hs: readonly { id: string }[]) => hs.map((h) => h.id);
        assert.deepEqual(ids(model.latestHandoffs(100)), ids(model.handoffs().slice(-100)), `handoffs after event ${i + 1}`);
        assert.deepEqual(model.latestFindings(100), model.findings().slice(-100), `findings after event ${i + 1}`);
        compared++;
      });
      assert.ok(model.handoffCount > 300 && model.findingCount > 300, `a history longer than a screenful (${model.handoffCount} handoffs, ${model.findingCount} findings)`);
      assert.ok(compared >= 12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

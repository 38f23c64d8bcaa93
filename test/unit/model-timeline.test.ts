import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShareModel, Timeline, arrayStore, modelOf } from '../../tracer/model';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { tenStepHandoff } from '../support/scenarios';

function view(model: ShareModel) {
  return {
    seq: model.seq,
    findings: model.findings().map((f) => [f.rule, f.seq, f.events.join(',')]),
    sockets: model.sockets(),
    handoffs: model.handoffs(),
    processes: model.processes(),
  };
}

/** Many pairs, so sockets close and get archived while others are live. */
function busyTrace(): TraceBuilder {
  const trace = new TraceBuilder();
  for (let pair = 0; pair < 6; pair++) {
    const source = trace.start(1000 + pair * 10, `source${pair}.exe`);
    const target = trace.start(1001 + pair * 10, `target${pair}.exe`, 1000 + pair * 10);
    source.startup();
    target.startup();
    source.socket(0x100 + pair);
    source.connect(0x100 + pair);
    const info = tcpProtocolInfo(pair);
    source.duplicate(0x100 + pair, target.pid, info);
    target.importSocket(0x200 + pair, info);
    if (pair % 2) source.eventSelect(0x100 + pair, '0x44', 1);
    target.eventSelect(0x200 + pair, '0x88', 1);
    if (pair % 3) source.close(0x100 + pair);
    target.close(0x200 + pair);
    source.exit();
    target.exit();
  }
  return trace;
}

describe('the model as of any event (checkpoints), for stepping backwards', () => {
  for (const [name, events] of [
    ['the ten-step handoff', tenStepHandoff().trace.events],
    ['six overlapping pairs', busyTrace().events],
  ] as const) {
    it(`${name}: the state after every event equals a fresh replay up to it, in any order of asking`, () => {
      const timeline = new Timeline(arrayStore([...events]), 4);
      const order = [...Array(events.length + 1).keys()];
      // Ask backwards first, then forwards, then in a scrambled order: a checkpoint must not remember later events.
      const asked = [...order.slice().reverse(), ...order, ...order.map((i) => (i * 7) % order.length)];
      for (const n of asked) {
        assert.deepEqual(view(timeline.after(n)), view(modelOf(events.slice(0, n), false)), `after ${n} events`);
      }
    });
  }

  it('atSeq finds the state as of a sequence number', () => {
    const s = tenStepHandoff();
    const timeline = new Timeline(arrayStore(s.trace.events), 2);
    const beforeImport = timeline.atSeq(s.imported - 1);
    assert.equal(beforeImport.handoffs()[0].imports.length, 0);
    const afterImport = timeline.atSeq(s.imported + 1);
    assert.equal(afterImport.handoffs()[0].imports.length, 1);
    assert.equal(timeline.atSeq(s.sourceClose + 1).findings().length, 1);
  });
});

describe('checkpoints sized by memory', () => {
  it('keeps the checkpoints within their budget by spacing them further apart, and every state stays right', () => {
    const events = busyTrace().events;
    // About four checkpoints' worth: the interval must double a few times over the trace.
    const timeline = new Timeline(arrayStore([...events]), 2, { checkpointBudgetBytes: 12_000 });
    timeline.extendTo(events.length);
    assert.ok(timeline.checkpointBytes <= 12_000 || timeline.checkpointCount <= 2, `${timeline.checkpointBytes} bytes in ${timeline.checkpointCount} checkpoints`);
    assert.ok(timeline.checkpointInterval > 2, `interval ${timeline.checkpointInterval}`);
    for (let n = events.length; n >= 0; n--) {
      assert.deepEqual(view(timeline.after(n)), view(modelOf(events.slice(0, n), false)), `after ${n} events`);
    }
  });

  it('with room to spare, keeps one checkpoint every interval', () => {
    const events = busyTrace().events;
    const timeline = new Timeline(arrayStore([...events]), 8);
    timeline.extendTo(events.length);
    assert.equal(timeline.checkpointInterval, 8);
    assert.equal(timeline.checkpointCount, Math.floor(events.length / 8) + 1);
  });
});

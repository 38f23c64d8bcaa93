import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { modelOf } from '../../tracer/model/index';
import type { ApiCallEvent, ApiReturnEvent, TraceEvent } from '../../tracer/trace/schema';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { EXPORT_FORMATS, renderExport, renderHtml, renderLaneSvg, renderMarkdown, renderPerfetto, type PerfettoEvent } from '../../tracer/export/index';
import { formatCall } from '../../tracer/describe';
import { escapeMarkdown } from '../../tracer/export/escape';
import { OTHER, S, SOURCE, T, TARGET, tenStepHandoff } from '../support/scenarios';

/** Source and target both call WSAEventSelect on their descriptor of the shared socket after the import. */
function cancelledRegistration(sourceImage = 'C:\\samples\\source.exe') {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, sourceImage);
  const target = trace.start(TARGET, 'C:\\samples\\target.exe', SOURCE);
  source.startup();
  target.startup();
  const info = tcpProtocolInfo(0x41);
  source.socket(S);
  const duplicate = source.duplicate(S, TARGET, info);
  const imported = target.importSocket(T, info);
  const sourceSelect = source.eventSelect(S, '0x100', 0x01);
  const targetSelect = target.eventSelect(T, '0x200', 0x02);
  source.exit();
  target.exit();
  return { trace, target, duplicate, imported, sourceSelect, targetSelect };
}

function tenStep() {
  const scenario = tenStepHandoff();
  return { ...scenario, events: scenario.trace.events, model: modelOf(scenario.trace.events), header: scenario.trace.header() };
}

function perfettoEvents(events: TraceEvent[]): PerfettoEvent[] {
  const parsed = JSON.parse(renderPerfetto(events, modelOf(events))) as { traceEvents: PerfettoEvent[]; displayTimeUnit: string };
  assert.equal(parsed.displayTimeUnit, 'ns');
  return parsed.traceEvents;
}

function sliceOf(perfetto: PerfettoEvent[], seq: number): PerfettoEvent {
  const slice = perfetto.find((e) => e.ph === 'X' && e.args?.seq === seq);
  assert.ok(slice, `a slice for call #${seq}`);
  return slice;
}

function apiEvents(events: TraceEvent[]) {
  const calls = events.filter((e): e is ApiCallEvent => e.kind === 'api' && e.phase === 'call');
  const returns = new Map(events.filter((e): e is ApiReturnEvent => e.kind === 'api' && e.phase === 'return').map((r) => [r.callSeq, r]));
  return { calls, returns };
}

/** The cells of a Markdown table row (pipes escaped as \| stay inside their cell). */
function cells(row: string): string[] {
  return row.replace(/^\|\s?/, '').replace(/\s?\|$/, '').split(/ (?<!\\)\| ?/).map((c) => c.trim());
}

function rowWith(markdown: string, text: string): string[] {
  const row = markdown.split('\n').find((line) => line.startsWith('|') && line.includes(text));
  assert.ok(row, `a table row containing ${text}`);
  return cells(row);
}

describe('Perfetto export', () => {
  test('every process gets a track named after its image and role, every thread a name', () => {
    const { events } = tenStep();
    const perfetto = perfettoEvents(events);
    const names = perfetto.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args?.name]);
    assert.deepEqual(names, [[SOURCE, 'source.exe (source)'], [TARGET, 'target.exe (target)']]);
    const threads = perfetto.filter((e) => e.name === 'thread_name').map((e) => [e.pid, e.tid]);
    assert.deepEqual(threads, [[SOURCE, SOURCE + 4], [TARGET, TARGET + 4]]);
  });

  test('each hooked call is one complete slice from its call to its return, in microseconds', () => {
    const { events } = tenStep();
    const perfetto = perfettoEvents(events);
    const { calls, returns } = apiEvents(events);
    assert.equal(perfetto.filter((e) => e.ph === 'X').length, calls.length);
    for (const call of calls) {
      const slice = sliceOf(perfetto, call.seq);
      const ret = returns.get(call.seq) as ApiReturnEvent;
      assert.equal(slice.name, call.api);
      assert.deepEqual([slice.pid, slice.tid], [call.pid, call.tid]);
      assert.equal(slice.ts, call.timeNs / 1000);
      assert.equal(slice.dur, (ret.timeNs - call.timeNs) / 1000);
      assert.equal(slice.args?.result, ret.result);
    }
  });

  test('timestamps keep the sub-microsecond part of the trace nanoseconds', () => {
    const trace = new TraceBuilder(1234);
    trace.start(SOURCE, 'C:\\samples\\source.exe').startup();
    const slice = perfettoEvents(trace.events).find((e) => e.ph === 'X');
    assert.deepEqual([slice?.ts, slice?.dur], [4.936, 1.234]);
  });

  test('each export is linked to its import by a Perfetto flow', () => {
    const { events, duplicate, imported } = tenStep();
    const perfetto = perfettoEvents(events);
    const outs = perfetto.filter((e) => e.flow_out);
    const ins = perfetto.filter((e) => e.flow_in);
    assert.equal(outs.length, 1);
    assert.equal(ins.length, 1);
    assert.equal(outs[0].bind_id, ins[0].bind_id);
    assert.deepEqual([outs[0].name, outs[0].args?.seq], ['WSADuplicateSocketW', duplicate]);
    assert.deepEqual([ins[0].name, ins[0].args?.seq], ['WSASocketW', imported]);
  });

  test('an export imported twice gets a flow to each import, one id per pair', () => {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'C:\\samples\\source.exe');
    const target = trace.start(TARGET, 'C:\\samples\\target.exe');
    const info = tcpProtocolInfo(7);
    source.socket(S);
    source.duplicate(S, TARGET, info);
    target.importSocket(T, info);
    const second = target.importSocket(T + 4, info);
    const perfetto = perfettoEvents(trace.events);
    assert.equal(perfetto.filter((e) => e.flow_out).length, 1);
    const v1 = perfetto.filter((e) => e.ph === 's' || e.ph === 'f');
    assert.deepEqual(v1.map((e) => e.ph), ['s', 'f']);
    assert.equal(v1[0].id, v1[1].id);
    assert.notEqual(v1[0].id, perfetto.find((e) => e.flow_out)?.bind_id);
    const secondSlice = sliceOf(perfetto, second);
    assert.ok((v1[1].ts ?? -1) >= (secondSlice.ts ?? 0) && (v1[1].ts ?? 0) <= (secondSlice.ts ?? 0) + (secondSlice.dur ?? 0));
  });

  test('a call that never returned ends at its process exit', () => {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'C:\\samples\\source.exe');
    const hung = source.eventSelect(S, '0x100', 1);
    trace.events.splice(trace.events.findIndex((e) => e.kind === 'api' && e.phase === 'return' && e.callSeq === hung), 1);
    source.exit();
    const exit = trace.events[trace.events.length - 1];
    const slice = sliceOf(perfettoEvents(trace.events), hung);
    const call = trace.events.find((e) => e.seq === hung) as TraceEvent;
    assert.equal(slice.dur, (exit.timeNs - call.timeNs) / 1000);
    assert.ok(slice.args?.unfinished);
  });

  test('process start and exit and every finding are instants, a finding on the thread of its last event', () => {
    const { trace, target, targetSelect } = cancelledRegistration();
    const perfetto = perfettoEvents(trace.events);
    assert.equal(perfetto.filter((e) => e.name === 'process start').length, 2);
    assert.equal(perfetto.filter((e) => e.name === 'process exit').length, 2);
    const model = modelOf(trace.events);
    assert.equal(perfetto.filter((e) => e.cat?.startsWith('finding')).length, model.findings().length);
    const cancelled = perfetto.find((e) => e.ph === 'i' && e.args?.rule === 'registration-cancelled');
    const targetReturn = trace.events.find((e) => e.kind === 'api' && e.phase === 'return' && e.callSeq === targetSelect) as TraceEvent;
    assert.deepEqual([cancelled?.pid, cancelled?.tid, cancelled?.ts], [TARGET, target.tid, targetReturn.timeNs / 1000]);
    assert.equal(cancelled?.args?.severity, 'error');
    assert.match(String(cancelled?.args?.message), /cancelled the WSAEventSelect registration/);
  });
});

describe('Markdown report', () => {
  test('the timeline has Source, IPC and Target columns and the import row carries the IPC arrow', () => {
    const { header, events, model, duplicate, imported } = tenStep();
    const markdown = renderMarkdown(header, events, model);
    assert.ok(markdown.includes('| Source: source.exe (pid 364) | IPC | Target: target.exe (pid 512) |'));
    const exportRow = rowWith(markdown, `#${duplicate} \``);
    assert.equal(exportRow[0], `#${duplicate} \`WSADuplicateSocketW(s=0x1a4, dwProcessId=512) = 0\``);
    assert.deepEqual(exportRow.slice(1), ['', '']);
    const importRow = rowWith(markdown, `#${imported} \``);
    assert.equal(importRow[0], '');
    assert.equal(importRow[1], `==> WSAPROTOCOL_INFO (export #${duplicate} → import #${imported})`);
    assert.match(importRow[2], /^#\d+ `WSASocketW\(af=FROM_PROTOCOL_INFO, .*dwFlags=WSA_FLAG_OVERLAPPED\) = 0x2b8`$/);
  });

  test('every program call is one timeline row in its process column', () => {
    const { header, events, model } = tenStep();
    const markdown = renderMarkdown(header, events, model);
    for (const call of apiEvents(events).calls) {
      const row = rowWith(markdown, `#${call.seq} \``);
      assert.ok(row[call.pid === SOURCE ? 0 : 2].includes(call.api), `#${call.seq} in its process column`);
    }
  });

  test('findings are listed by socket with severity, rule, message and events, and marked on their rows', () => {
    const { trace, sourceSelect, targetSelect } = cancelledRegistration();
    const model = modelOf(trace.events);
    const markdown = renderMarkdown(trace.header(), trace.events, model);
    assert.ok(markdown.includes('### socket #1 (TCP)'));
    const finding = model.findings().find((f) => f.rule === 'registration-cancelled');
    assert.ok(finding);
    const line = markdown.split('\n').find((l) => l.startsWith('- **error** `registration-cancelled`'));
    assert.ok(line?.includes('cancelled the WSAEventSelect registration for FD_READ'));
    assert.ok(line?.includes(`events ${finding.events.map((s) => `#${s}`).join(', ')}`));
    assert.ok(rowWith(markdown, `#${sourceSelect} \``)[0].endsWith('⚠ registration-cancelled'));
    assert.ok(rowWith(markdown, `#${targetSelect} \``)[2].endsWith('⚠ registration-cancelled'));
  });

  test('the processes table gives pid, image, role and exit code', () => {
    const { header, events, model } = tenStep();
    const markdown = renderMarkdown(header, events, model);
    assert.deepEqual(rowWith(markdown, `| ${SOURCE} |`), [String(SOURCE), '`C:\\samples\\source.exe`', 'source', '0']);
    assert.deepEqual(rowWith(markdown, `| ${TARGET} |`), [String(TARGET), '`C:\\samples\\target.exe`', 'target', '0']);
  });

  test('user text cannot turn into HTML or table cells in the Markdown', () => {
    const { trace } = cancelledRegistration('C:\\apps\\<b>source|x.exe');
    const markdown = renderMarkdown(trace.header(), trace.events, modelOf(trace.events));
    const outsideCode = markdown.replace(/`[^`]*`/g, '');
    assert.doesNotMatch(outsideCode, /(^|[^\\])<b>/);
    assert.equal(escapeMarkdown('a *b* <i> [c](d) FD_READ _x_'), 'a \\*b\\* \\<i> \\[c\\](d) FD_READ \\_x\\_');
    const header = markdown.split('\n').find((l) => l.includes('| IPC |')) as string;
    assert.equal(cells(header).length, 3);
  });
});

describe('HTML report and lane diagram', () => {
  test('the lane diagram has a box per program call carrying its seq', () => {
    const { events, model } = tenStep();
    const svg = renderLaneSvg(events, model);
    const boxSeqs = [...svg.matchAll(/<g class="call[^"]*" data-seq="(\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(boxSeqs, apiEvents(events).calls.map((c) => c.seq));
    assert.equal([...svg.matchAll(/data-seq=/g)].length, boxSeqs.length);
  });

  test('an arrow runs from the export box to the import box across the IPC lane', () => {
    const { events, model, duplicate, imported } = tenStep();
    const svg = renderLaneSvg(events, model);
    const box = (seq: number) => {
      const m = new RegExp(`data-seq="${seq}"[^>]*>(?:<title>[^<]*</title>)<rect x="([\\d.]+)" y="([\\d.]+)" width="([\\d.]+)" height="([\\d.]+)"`).exec(svg);
      assert.ok(m, `box #${seq}`);
      const [x, y, w, h] = m.slice(1).map(Number);
      return { x, y, w, h };
    };
    const arrow = new RegExp(`<g class="handoff" data-export-seq="${duplicate}" data-import-seq="${imported}">.*?<path d="M([\\d.]+),([\\d.]+) C.* ([\\d.]+),([\\d.]+)" marker-end`).exec(svg);
    assert.ok(arrow, 'a handoff arrow');
    const [x1, y1, x2, y2] = arrow.slice(1).map(Number);
    const from = box(duplicate);
    const to = box(imported);
    assert.equal(x1, from.x + from.w);
    assert.ok(y1 > from.y && y1 < from.y + from.h);
    assert.equal(x2, to.x);
    assert.ok(y2 > to.y && y2 < to.y + to.h);
  });

  test('the cancelled registration and the finding are marked on their boxes with the message as tooltip', () => {
    const { trace, sourceSelect, targetSelect } = cancelledRegistration();
    const svg = renderLaneSvg(trace.events, modelOf(trace.events));
    const group = (seq: number) => new RegExp(`<g class="([^"]*)" data-seq="${seq}"[^>]*><title>([^<]*)</title>`).exec(svg);
    const cancelled = group(sourceSelect);
    assert.deepEqual(cancelled?.[1].split(' ').sort(), ['call', 'cancelled', 'error']);
    assert.match(cancelled?.[2] ?? '', /\[error\] registration-cancelled: WSAEventSelect in target\.exe/);
    assert.match(cancelled?.[2] ?? '', /Registration cancelled by WSAEventSelect \(#\d+, pid 512\)/);
    assert.equal(group(targetSelect)?.[1], 'call error');
  });

  test('a third process gets a lane of its own', () => {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'C:\\samples\\source.exe');
    const first = trace.start(TARGET, 'C:\\samples\\target.exe');
    const second = trace.start(OTHER, 'C:\\samples\\other.exe');
    source.socket(S);
    source.duplicate(S, TARGET, tcpProtocolInfo(1));
    source.duplicate(S, OTHER, tcpProtocolInfo(2));
    first.importSocket(T, tcpProtocolInfo(1));
    second.importSocket(T, tcpProtocolInfo(2));
    const svg = renderLaneSvg(trace.events, modelOf(trace.events));
    assert.equal([...svg.matchAll(/<rect class="lane/g)].length, 4);
    assert.equal([...svg.matchAll(/<g class="handoff"/g)].length, 2);
    const markdown = renderMarkdown(trace.header(), trace.events, modelOf(trace.events));
    assert.ok(markdown.includes('| Source: source.exe (pid 364) | IPC | Target: target.exe (pid 512) | Target: other.exe (pid 777) |'));
  });

  test('the HTML report is standalone and holds findings, processes and the lane diagram', () => {
    const { trace } = cancelledRegistration();
    const html = renderHtml(trace.header(), trace.events, modelOf(trace.events));
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.match(html, /<style>/);
    assert.doesNotMatch(html, /<script|<link|\bsrc=|\bhref=|url\((?!#)/);
    assert.match(html, /<li class="error" data-rule="registration-cancelled"/);
    assert.match(html, /<td>364<\/td><td><code>C:\\samples\\source\.exe<\/code><\/td><td>source<\/td><td>0<\/td>/);
    assert.match(html, /<svg [^>]*class="sockshare-lanes"/);
  });

  test('user text is escaped: an image path with <b> stays text', () => {
    const { trace } = cancelledRegistration('C:\\apps\\<b>source.exe');
    const html = renderHtml(trace.header(), trace.events, modelOf(trace.events));
    assert.ok(!html.includes('<b>'));
    assert.ok(html.includes('C:\\apps\\&lt;b&gt;source.exe'));
    const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1].toLowerCase()));
    const known = ['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'h3', 'section', 'dl', 'dt', 'dd', 'ul', 'li', 'span', 'code', 'p', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'div', 'details', 'summary', 'svg', 'defs', 'marker', 'path', 'g', 'rect', 'text'];
    assert.deepEqual([...tags].filter((t) => !known.includes(t)), []);
  });
});

describe('shared formatting', () => {
  test('formatCall shows descriptors in hex, Winsock constants by name and errors by name', () => {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'C:\\samples\\source.exe');
    p.socket(S);
    p.duplicate(S, 999, null, 10022);
    p.eventSelect(S, '0x100', 0x21);
    const { calls, returns } = apiEvents(trace.events);
    const formatted = calls.map((c) => formatCall(c, returns.get(c.seq)));
    assert.deepEqual(formatted, [
      'socket(af=AF_INET, type=SOCK_STREAM, protocol=IPPROTO_TCP) = 0x1a4',
      'WSADuplicateSocketW(s=0x1a4, dwProcessId=999) = SOCKET_ERROR (WSAEINVAL)',
      'WSAEventSelect(s=0x1a4, hEventObject=0x100, lNetworkEvents=FD_READ|FD_CLOSE) = 0',
    ]);
    assert.equal(formatCall(calls[0]), 'socket(af=AF_INET, type=SOCK_STREAM, protocol=IPPROTO_TCP) = ? (never returned)');
  });

  test('renderExport renders every format of the registry, each with its own file name extension', () => {
    const { header, events, model } = tenStep();
    for (const format of EXPORT_FORMATS) assert.ok(renderExport(format.id, header, events, model).length > 0, format.id);
    assert.deepEqual(EXPORT_FORMATS.map((f) => [f.id, f.extension]), [['perfetto', '.json'], ['markdown', '.md'], ['html', '.html']]);
    assert.doesNotThrow(() => JSON.parse(renderExport('perfetto', header, events, model)));
  });
});

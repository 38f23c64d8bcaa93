/** The reports put what needs attention first: lane headers in full, errors, warnings and handoffs before info findings, output on named tracks, counts in the right number. */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { modelOf } from '../../tracer/model/index';
import type { TraceEvent } from '../../tracer/trace/schema';
import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';
import { renderHtml, renderLaneSvg, renderMarkdown, renderPerfetto, type PerfettoEvent } from '../../tracer/export/index';
import { traceFacts } from '../../tracer/export/report';
import { wrapText } from '../../tracer/export/lanes';
import { S, SOURCE, T, TARGET, tenStepHandoff } from '../support/scenarios';

function tenStep() {
  const scenario = tenStepHandoff();
  return { ...scenario, events: scenario.trace.events, model: modelOf(scenario.trace.events), header: scenario.trace.header() };
}

function perfettoEvents(events: TraceEvent[]): PerfettoEvent[] {
  return (JSON.parse(renderPerfetto(events, modelOf(events))) as { traceEvents: PerfettoEvent[] }).traceEvents;
}

/** The cells of the Markdown table row containing `text`. */
function rowWith(markdown: string, text: string): string[] {
  const row = markdown.split('\n').find((line) => line.startsWith('|') && line.includes(text));
  assert.ok(row, `a table row containing ${text}`);
  return row.replace(/^\|\s?/, '').replace(/\s?\|$/, '').split(/ (?<!\\)\| ?/).map((c) => c.trim());
}

/** A trace that closes many sockets (info findings) around one handoff, like node-cluster's. */
function manyClosesOneHandoff(closes: number) {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\Program Files\\nodejs\\node.exe');
  const target = trace.start(TARGET, 'C:\\Program Files\\nodejs\\node.exe', SOURCE);
  source.startup();
  target.startup();
  for (let i = 0; i < closes; i++) {
    source.socket(0x100 + 4 * i);
    source.close(0x100 + 4 * i);
  }
  const info = tcpProtocolInfo(9);
  source.socket(S);
  source.connect(S);
  const duplicate = source.duplicate(S, TARGET, info);
  const imported = target.importSocket(T, info);
  const flip = target.call('ioctlsocket', { s: T, cmd: 0x8004667e, argp: '0x5ffe00', value: 1 }, { result: 0 });
  source.close(S);
  target.close(T);
  return { trace, duplicate, imported, flip };
}

describe('HTML report: what needs attention leads', () => {
  test('info findings are counted per rule in one collapsed block after the errors and warnings', () => {
    const { trace } = manyClosesOneHandoff(41);
    const html = renderHtml(trace.header(), trace.events, modelOf(trace.events));
    const findings = html.slice(html.indexOf('<section id="findings">'), html.indexOf('</section>', html.indexOf('<section id="findings">')));
    const details = findings.indexOf('<details class="info-findings">');
    assert.ok(details > 0, 'a collapsed info block');
    assert.doesNotMatch(findings, /<details class="info-findings" open/);
    assert.match(findings, /<summary>\d+ info: 42 socket-closed, 1 descriptor-closed<\/summary>/);
    assert.match(findings, /<details data-rule="socket-closed"><summary><code>socket-closed<\/code> \(42\)<\/summary>/);
    const warning = findings.indexOf('<li class="warning" data-rule="shared-state-changed"');
    const firstInfo = findings.indexOf('<li class="info"');
    assert.ok(warning > 0 && warning < details && details < firstInfo, 'the warning comes before the info block');
  });

  test('the one handoff is listed in its own section, export, import and status', () => {
    const { trace, duplicate, imported } = manyClosesOneHandoff(41);
    const html = renderHtml(trace.header(), trace.events, modelOf(trace.events));
    const row = new RegExp(`<tr data-export-seq="${duplicate}"><td>h1</td><td>#${duplicate}</td><td>node\\.exe \\(pid 364\\), descriptor 0x1a4</td><td>node\\.exe \\(pid 512\\)</td><td>socket #\\d+ \\(TCP[^<]*\\)</td><td>#${imported} by node\\.exe \\(pid 512\\): descriptor 0x2b8</td><td>imported</td></tr>`);
    assert.match(html, row);
    assert.ok(html.indexOf('<section id="handoffs">') < html.indexOf('<section id="processes">'));
  });

  test('a trace with only info findings says there are no errors or warnings', () => {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'C:\\samples\\source.exe');
    p.startup();
    p.socket(S);
    p.close(S);
    const html = renderHtml(trace.header(), trace.events, modelOf(trace.events));
    assert.match(html, /<p>No errors or warnings\.<\/p>/);
    assert.match(html, /<summary>1 info: 1 socket-closed<\/summary>/);
    assert.match(html, /<p>No handoffs\.<\/p>/);
  });

  test('lane headers show role, pid and the whole image name, wrapped and never cut', () => {
    const image = 'a-very-long-executable-name-for-a-shared-socket-worker-process.exe';
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, `C:\\apps\\${image}`);
    const target = trace.start(TARGET, 'C:\\apps\\target.exe', SOURCE);
    const info = tcpProtocolInfo(3);
    source.socket(S);
    source.duplicate(S, TARGET, info);
    target.importSocket(T, info);
    const svg = renderLaneSvg(trace.events, modelOf(trace.events));
    const titles = [...svg.matchAll(/<text class="lane-title"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    assert.deepEqual(titles, ['Source: pid 364', 'IPC', 'Target: pid 512']);
    const sourceLane = svg.slice(svg.indexOf(`<g class="lane-group" data-pid="${SOURCE}">`), svg.indexOf('</g>', svg.indexOf(`data-pid="${SOURCE}"`)));
    const imageLines = [...sourceLane.matchAll(/<text class="lane-image"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    assert.ok(imageLines.length > 1, 'the long name wraps');
    assert.equal(imageLines.join(''), image);
    assert.ok(imageLines.every((line) => line.length <= 38));
    assert.doesNotMatch(sourceLane, /…/);
    const box = /<g class="call[^"]*" data-seq="\d+"[^>]*><title>[^<]*<\/title><rect x="[\d.]+" y="([\d.]+)"/.exec(svg);
    const noteY = Math.max(...[...svg.matchAll(/<text class="lane-note" x="[\d.]+" y="([\d.]+)"/g)].map((m) => Number(m[1])));
    assert.ok(Number(box?.[1]) > noteY, 'the first box starts below the header');
  });

  test('wrapText breaks long names at separators and hard-cuts a name without any', () => {
    assert.deepEqual(wrapText('short.exe', 38), ['short.exe']);
    assert.deepEqual(wrapText('aaaa-bbbb-cccc', 10), ['aaaa-bbbb-', 'cccc']);
    assert.deepEqual(wrapText('abcdefghijkl', 5), ['abcde', 'fghij', 'kl']);
  });
});

describe('Markdown report: what needs attention leads', () => {
  test('info findings sit in a <details> block with counts per rule; the handoff has a table', () => {
    const { trace, duplicate } = manyClosesOneHandoff(3);
    const markdown = renderMarkdown(trace.header(), trace.events, modelOf(trace.events));
    const warning = markdown.indexOf('- **warning** `shared-state-changed`');
    const details = markdown.indexOf('<details>');
    assert.ok(warning > 0 && warning < details);
    assert.ok(markdown.includes('<summary>5 info: 4 socket-closed, 1 descriptor-closed</summary>'));
    const row = rowWith(markdown, `| h1 |`);
    assert.deepEqual(row.slice(0, 4), ['h1', `#${duplicate}`, 'node.exe (pid 364), descriptor 0x1a4', 'node.exe (pid 512)']);
    assert.equal(row[6], 'imported');
  });
});

describe('Perfetto export: program output', () => {
  function withOutput(pid: number) {
    const { trace } = tenStepHandoff();
    trace.events.push({ seq: trace.lastSeq + 1, timeNs: 1e9, pid, kind: 'output', stream: 'stdout', text: '\r\n[source] connected socket 0x2c\r\nmore\r\n' });
    return perfettoEvents(trace.events);
  }

  test('output the trace cannot attribute goes on a track named "program output", never "pid 0"', () => {
    const perfetto = withOutput(0);
    const names = perfetto.filter((e) => e.name === 'process_name').map((e) => String(e.args?.name));
    assert.ok(names.includes('program output'));
    assert.ok(names.every((n) => !/\bpid 0\b/.test(n)), names.join(', '));
    const output = perfetto.filter((e) => e.cat === 'output');
    assert.equal(output.length, 1);
    assert.equal(output[0].name, 'stdout: [source] connected socket 0x2c');
    assert.equal(output[0].args?.text, '\r\n[source] connected socket 0x2c\r\nmore\r\n');
    const track = perfetto.find((e) => e.name === 'process_name' && e.args?.name === 'program output');
    assert.equal(output[0].pid, track?.pid);
  });

  test('output of a known process goes on that process\'s track, and no extra track appears', () => {
    const perfetto = withOutput(SOURCE);
    const output = perfetto.filter((e) => e.cat === 'output');
    assert.deepEqual([output[0].pid, output[0].tid], [SOURCE, SOURCE + 4]);
    assert.deepEqual(perfetto.filter((e) => e.name === 'process_name').map((e) => e.pid), [SOURCE, TARGET]);
  });

  test('a trace without output has no program output track', () => {
    const perfetto = perfettoEvents(tenStep().events);
    assert.ok(!perfetto.some((e) => e.name === 'process_name' && e.args?.name === 'program output'));
  });
});

describe('counts are pluralised in the reports', () => {
  test('one program call, one error', () => {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'C:\\samples\\source.exe');
    p.duplicate(S, TARGET, null, 10038);
    const facts = new Map(traceFacts(trace.header(), trace.events, modelOf(trace.events)));
    assert.equal(facts.get('Events'), `${trace.events.length} (1 program call)`);
    assert.match(facts.get('Findings') ?? '', /^\d+ errors?\b/);
    assert.doesNotMatch(facts.get('Findings') ?? '', /\b1 errors\b/);
    assert.equal(new Map(traceFacts(tenStep().header, tenStep().events, tenStep().model)).get('Events')?.endsWith('program calls)'), true);
  });
});

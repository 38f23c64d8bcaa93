import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import { MAX_INFO_DIAGNOSTICS, diagnostics as diagnose } from '../../extension/language/diagnostics';
import { TraceDocumentIndex } from '../../extension/language/document-index';
import { hover as hoverOn } from '../../extension/language/hover';
import { codeLenses as lensesOf, symbols as outline } from '../../extension/language/navigation';
import { TraceBuilder } from '../../tracer/trace/builder';
import { OTHER, SOURCE, registrationCancelled } from '../support/scenarios';

const URI = 'file:///traces/test.sockshare.jsonl';
const SAMPLE = path.join(import.meta.dirname, '..', '..', 'samples', 'traces', 'event-select-cancel.sockshare.jsonl');

const cancelScenario = registrationCancelled;

/** The 0-based line of the event with this seq (a trace written one event a line). */
function lineOfSeq(text: string, seq: number): number {
  const line = text.split('\n').findIndex((l) => l.startsWith(`{"seq":${seq},`));
  assert.ok(line > 0, `no line for seq ${seq}`);
  return line;
}

function messageOf(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}

function byCode(diagnostics: Diagnostic[], code: string): Diagnostic[] {
  return diagnostics.filter((d) => d.code === code);
}

function onLine(diagnostics: Diagnostic[], line: number): Diagnostic[] {
  return diagnostics.filter((d) => d.range.start.line === line);
}

describe('language server: diagnostics', () => {
  it('puts registration-cancelled on the line that raised it, with the cancelled registration as related information (sample trace)', () => {
    const text = fs.readFileSync(SAMPLE, 'utf8');
    const diagnostics = diagnose(TraceDocumentIndex.fromText(URI, text));
    const [cancelled, ...more] = byCode(diagnostics, 'registration-cancelled');
    assert.equal(more.length, 0);
    // The target's WSAEventSelect (call 32, return 33) cancels the source's (call 23).
    assert.equal(cancelled.range.start.line, lineOfSeq(text, 33));
    assert.equal(cancelled.range.start.character, 0);
    assert.equal(cancelled.range.end.line, cancelled.range.start.line);
    assert.equal(cancelled.severity, DiagnosticSeverity.Error);
    assert.equal(cancelled.source, 'sockshare');
    assert.match(messageOf(cancelled), /^registration-cancelled: WSAEventSelect in event-select-cancel\.exe \(pid 328\)/);
    const related = cancelled.relatedInformation ?? [];
    assert.equal(related.length, 1, 'one other call is involved: the registration that was cancelled');
    assert.equal(related[0].location.uri, URI);
    assert.equal(related[0].location.range.start.line, lineOfSeq(text, 23));
    assert.match(related[0].message, /WSAEventSelect whose registration was cancelled .*pid 320/);
    // No format problems in a good trace; the info findings are hints.
    assert.deepEqual(byCode(diagnostics, 'trace-format'), []);
    assert.ok(byCode(diagnostics, 'socket-closed').every((d) => d.severity === DiagnosticSeverity.Hint));
  });

  it('words every other event of a finding from the model (builder trace)', () => {
    const { trace, register, cancel, create, imported } = cancelScenario();
    const index = TraceDocumentIndex.fromText(URI, trace.toJsonl());
    const [cancelled] = byCode(diagnose(index), 'registration-cancelled');
    assert.equal(cancelled.range.start.line, cancel + 1, 'the return of the cancelling call raised it (line = seq here)');
    assert.deepEqual(cancelled.relatedInformation?.map((r) => r.location.range.start.line), [register]);
    // The source's close leaves the socket open: the descriptor it closed was made by socket() at `create`.
    const [closed] = byCode(diagnose(index), 'descriptor-closed');
    assert.equal(closed.severity, DiagnosticSeverity.Hint);
    assert.deepEqual(closed.relatedInformation?.map((r) => [r.location.range.start.line, r.message]), [[create, 'the socket that created socket #1 (TCP ? -> 127.0.0.1:5000)']]);
    const [last] = byCode(diagnose(index), 'socket-closed');
    assert.deepEqual(last.relatedInformation?.map((r) => [r.location.range.start.line, r.message]), [[imported, 'the WSASocketW that imported descriptor 0x2b8 in target.exe (pid 512)']]);
  });

  it('reports malformed lines on their line, naming what is wrong, and still analyses the rest', () => {
    const { trace, cancel } = cancelScenario();
    const lines = trace.toJsonl().split('\n');
    lines[3] = '{"seq":3,"timeNs":3000,"kind":"module-load",'; // cut JSON
    lines[5] = lines[5].replace('"pid":512,', ''); // thread-start without pid
    lines[6] = lines[6].replace('"seq":6,', '"seq":2,'); // seq goes backwards
    lines.splice(7, 0, ''); // a blank line in the middle
    const text = lines.join('\n');
    const index = TraceDocumentIndex.fromText(URI, text);
    const diagnostics = diagnose(index);
    const format = byCode(diagnostics, 'trace-format');
    assert.deepEqual(format.map((d) => d.range.start.line), [3, 5, 6, 7]);
    assert.ok(format.every((d) => d.severity === DiagnosticSeverity.Error && d.source === 'sockshare'));
    assert.match(messageOf(format[0]), /^invalid JSON/);
    assert.match(messageOf(format[1]), /field "pid": missing, expected an integer/);
    assert.match(messageOf(format[2]), /seq 2 is not greater than the previous seq 4/);
    assert.match(messageOf(format[3]), /blank line in the middle of the trace/);
    // A wrong field's value is underlined, not the whole line.
    assert.equal(text.split('\n')[6].slice(format[2].range.start.character, format[2].range.end.character), '"seq":2');
    // Everything after the bad lines is analysed: the finding moved down one line with the blank line.
    assert.deepEqual(onLine(byCode(diagnostics, 'registration-cancelled'), cancel + 2).length, 1);
    assert.equal(index.eventCount, trace.events.length - 3);
  });

  it('stops at a bad header, reporting only it', () => {
    const { trace } = cancelScenario();
    const text = trace.toJsonl().replace('"format":"sockshare-trace"', '"format":"pcap"');
    const index = TraceDocumentIndex.fromText(URI, text);
    const diagnostics = diagnose(index);
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0].range.start.line, 0);
    assert.match(messageOf(diagnostics[0]), /not a sockshare trace: field "format" is "pcap"/);
    assert.equal(index.eventCount, 0);
    assert.deepEqual(outline(index), []);
    assert.deepEqual(lensesOf(index), []);
    assert.equal(hoverOn(index, 3), null);
  });

  it('reports an empty document and warns about a truncated last line', () => {
    const [empty] = diagnose(TraceDocumentIndex.fromText(URI, ''));
    assert.match(messageOf(empty), /empty file: no header line/);
    const { trace } = cancelScenario();
    const text = trace.toJsonl().trimEnd();
    const cut = text.slice(0, text.length - 10);
    const diagnostics = diagnose(TraceDocumentIndex.fromText(URI, cut));
    const [warning] = byCode(diagnostics, 'trace-format');
    assert.equal(warning.severity, DiagnosticSeverity.Warning);
    assert.equal(warning.range.start.line, cut.split('\n').length - 1);
    assert.match(messageOf(warning), /truncated last line/);
  });

  it('publishes every error and warning but caps info findings, saying how many were left out', () => {
    const trace = new TraceBuilder();
    const p = trace.start(SOURCE, 'C:\\samples\\churn.exe');
    p.startup();
    const sockets = MAX_INFO_DIAGNOSTICS + 50;
    for (let i = 0; i < sockets; i++) {
      p.socket(0x100 + 4 * i);
      p.close(0x100 + 4 * i);
    }
    const diagnostics = diagnose(TraceDocumentIndex.fromText(URI, trace.toJsonl()));
    const hints = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Hint);
    assert.equal(hints.length, MAX_INFO_DIAGNOSTICS);
    const [capped] = byCode(diagnostics, 'info-findings-capped');
    assert.equal(capped.range.start.line, 0);
    assert.match(messageOf(capped), /^50 more info findings/);
  });

  it('reads CRLF line ends like LF ones, without the \\r in any range', () => {
    const { trace, cancel } = cancelScenario();
    const crlf = trace.toJsonl().replace(/\n/g, '\r\n');
    const index = TraceDocumentIndex.fromText(URI, crlf);
    const [cancelled] = byCode(diagnose(index), 'registration-cancelled');
    assert.equal(cancelled.range.start.line, cancel + 1);
    assert.equal(cancelled.range.end.character, crlf.split('\r\n')[cancel + 1].length);
    assert.deepEqual(byCode(diagnose(index), 'trace-format'), []);
  });

  it('analyses in slices, and gives up when the text went stale', async () => {
    const { trace } = cancelScenario();
    const p = trace.start(OTHER, 'C:\\samples\\churn.exe');
    p.startup();
    for (let i = 0; i < 1000; i++) {
      p.socket(0x100 + 4 * i);
      p.close(0x100 + 4 * i);
    }
    const text = trace.toJsonl(); // several slices of 1024 lines
    const built = await TraceDocumentIndex.build(URI, text, { sliceMs: 0 });
    assert.deepEqual(built && diagnose(built), diagnose(TraceDocumentIndex.fromText(URI, text)));
    assert.equal(await TraceDocumentIndex.build(URI, text, { sliceMs: 0, isCancelled: () => true }), undefined);
  });
});

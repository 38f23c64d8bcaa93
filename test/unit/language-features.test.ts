import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { DocumentSymbol, MarkupContent, Range } from 'vscode-languageserver';
import { TraceDocumentIndex } from '../../extension/language/document-index';
import { propertyAt, propertySpan } from '../../extension/language/json-line';
import { hover as hoverOn } from '../../extension/language/hover';
import { REPLAY_COMMAND, codeLenses as lensesOf, definition as definitionAt, symbols as outline } from '../../extension/language/navigation';
import { registrationCancelled } from '../support/scenarios';

const URI = 'file:///traces/test.sockshare.jsonl';
const SAMPLE = path.join(import.meta.dirname, '..', '..', 'samples', 'traces', 'event-select-cancel.sockshare.jsonl');

/** The handoff with a cancelled registration; in a builder trace the event with seq N is on line N. */
function scenario() {
  const built = registrationCancelled();
  return { ...built, index: TraceDocumentIndex.fromText(URI, built.trace.toJsonl()) };
}

function markdown(index: TraceDocumentIndex, line: number): string {
  const hover = hoverOn(index, line);
  assert.ok(hover, `no hover on line ${line}`);
  return (hover.contents as MarkupContent).value;
}

/** The column of the value of `path` on the line (inside the value, past the key). */
function columnOf(index: TraceDocumentIndex, line: number, property: string): number {
  const span = propertySpan(index.lineText(line), property);
  assert.ok(span, `no ${property} on line ${line}`);
  return span.end - 1;
}

function within(inner: Range, outer: Range): boolean {
  return inner.start.line >= outer.start.line && inner.end.line <= outer.end.line;
}

describe('language server: hover', () => {
  it('shows the event and its socket as of that event, with both processes’ descriptors and the findings raised there', () => {
    const { index, cancel, register } = scenario();
    const onReturn = markdown(index, cancel + 1);
    assert.match(onReturn, /^\*\*event \d+\*\* · api return · target\.exe \(pid 512\) \\\[target\\\] tid 516/);
    assert.match(onReturn, /`WSAEventSelect\(s=0x2b8, hEventObject=0x88, lNetworkEvents=FD_READ\) = 0`/);
    assert.match(onReturn, /socket #1 \(TCP \? -> 127\.0\.0\.1:5000\)\*\* as of event/);
    assert.match(onReturn, /0x1a4 in source\.exe \(pid 364\): open, created by socket at event/);
    assert.match(onReturn, /0x2b8 in target\.exe \(pid 512\): open, imported from handoff h1 at event/);
    assert.match(onReturn, /- registration: WSAEventSelect FD_READ, event 0x88, by target\.exe \(pid 512\)/);
    assert.match(onReturn, new RegExp(`cancelled by WSAEventSelect in target\\.exe \\(pid 512\\) at event ${cancel}`));
    assert.match(onReturn, /- blocking mode: non-blocking/);
    assert.match(onReturn, /- shutdown: none/);
    assert.match(onReturn, /\*\*Findings raised here\*\*\n- \*\*error\*\* `registration-cancelled`/);
    // On the call line the call has not returned: the source's registration is still the live one.
    const onCall = markdown(index, cancel);
    assert.match(onCall, /before the call returns/);
    assert.match(onCall, new RegExp(`- registration: WSAEventSelect FD_READ\\|FD_CLOSE, event 0x44, by source\\.exe \\(pid 364\\) through 0x1a4 at event ${register}`));
    assert.match(onCall, new RegExp(`Returns on line ${cancel + 2}\\.`));
    assert.match(onCall, /registration-cancelled/, 'a call line lists the findings its return raised');
  });

  it('answers on the header and on process events, and not on lines that are not events', () => {
    const { index } = scenario();
    assert.match(markdown(index, 0), /^\*\*sockshare trace\*\* v1, recorded 2026-01-01T00:00:00\.000Z on win32 \(tracer 0\.1\.0\)\n\n\d+ events · 2 processes · 1 socket · 1 handoff · findings: 1 error, 2 info$/);
    assert.match(markdown(index, 1), /process-start source\.exe \(pid 364, parent pid 0\)/);
    const sample = TraceDocumentIndex.fromText(URI, fs.readFileSync(SAMPLE, 'utf8'));
    assert.match(markdown(sample, 25), /output on stdout: \[source\] WSAEventSelect/);
    assert.equal(hoverOn(index, index.lineCount - 1), null, 'the empty line after the last newline');
  });
});

describe('language server: go to definition', () => {
  it('goes from an import to the export that made its WSAPROTOCOL_INFO', () => {
    const { index, imported, duplicate } = scenario();
    const anywhere = definitionAt(index, imported, 3);
    assert.deepEqual(anywhere?.range.start.line, duplicate);
    assert.equal(anywhere?.uri, URI);
    const onInfo = definitionAt(index, imported, columnOf(index, imported, 'args.lpProtocolInfo.dwProviderReserved'));
    assert.equal(onInfo?.range.start.line, duplicate);
  });

  it('goes from a SOCKET value to the call that created that descriptor, and from a return to its call', () => {
    const { index, sourceClose, create, imported, duplicate } = scenario();
    assert.equal(definitionAt(index, sourceClose, columnOf(index, sourceClose, 'args.s'))?.range.start.line, create);
    assert.equal(definitionAt(index, duplicate, columnOf(index, duplicate, 'args.s'))?.range.start.line, create);
    // The import's return: its result is the descriptor the import created.
    assert.equal(definitionAt(index, imported + 1, columnOf(index, imported + 1, 'result'))?.range.start.line, imported);
    assert.equal(definitionAt(index, duplicate + 1, columnOf(index, duplicate + 1, 'callSeq'))?.range.start.line, duplicate);
    assert.equal(definitionAt(index, 1, 5), null, 'a process-start links nowhere');
  });

  it('works on the recorded sample: the import at event 30 comes from the export at event 28', () => {
    const index = TraceDocumentIndex.fromText(URI, fs.readFileSync(SAMPLE, 'utf8'));
    assert.equal(definitionAt(index, 30, 10)?.range.start.line, 28);
    assert.equal(definitionAt(index, 32, columnOf(index, 32, 'args.s'))?.range.start.line, 30);
  });

  it('finds the property under a column', () => {
    const line = '{"seq":5,"args":{"s":44,"info":{"chain":[1,2]}},"result":-1}';
    assert.equal(propertyAt(line, line.indexOf('44')), 'args.s');
    assert.equal(propertyAt(line, line.indexOf('"s"')), 'args.s');
    assert.equal(propertyAt(line, line.indexOf('2]')), 'args.info.chain[1]');
    assert.equal(propertyAt(line, line.indexOf('-1')), 'result');
    assert.equal(propertyAt(line, 0), undefined);
  });
});

describe('language server: symbols and code lenses', () => {
  it('lists processes with their threads and sockets with their descriptors', () => {
    const { index, create, imported } = scenario();
    const symbols = outline(index);
    const names = symbols.map((s) => s.name);
    assert.deepEqual(names, ['source.exe (pid 364) [source]', 'target.exe (pid 512) [target]', 'socket #1 (TCP ? -> 127.0.0.1:5000)']);
    const [source, target, socket] = symbols;
    assert.equal(source.selectionRange.start.line, 1, 'the process-start line');
    assert.equal(target.selectionRange.start.line, 4);
    assert.deepEqual(source.children?.map((c) => [c.name, c.range.start.line]), [['thread 368', 2]]);
    assert.equal(socket.selectionRange.start.line, create);
    const descriptors = socket.children as DocumentSymbol[];
    assert.deepEqual(descriptors.map((d) => [d.name, d.selectionRange.start.line]), [
      ['0x1a4 in source.exe (pid 364)', create],
      ['0x2b8 in target.exe (pid 512)', imported],
    ]);
    for (const parent of symbols) for (const child of parent.children ?? []) assert.ok(within(child.range, parent.range), `${child.name} inside ${parent.name}`);
  });

  it('puts "Replay from here" on export, import and finding lines, with the document and the seq', () => {
    const { index, duplicate, imported, cancel } = scenario();
    const lenses = lensesOf(index);
    assert.deepEqual(lenses.map((l) => l.range.start.line), [duplicate, imported, cancel]);
    for (const lens of lenses) {
      assert.equal(lens.command?.command, REPLAY_COMMAND);
      assert.equal(lens.command?.title, 'Replay from here');
      assert.deepEqual(lens.command?.arguments, [URI, lens.range.start.line], 'line = seq in a builder trace');
    }
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import {
  CodeLensRequest, createConnection, createProtocolConnection, DefinitionRequest, DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification, DocumentSymbolRequest, ExitNotification, HoverRequest, InitializedNotification,
  InitializeRequest, ProposedFeatures, PublishDiagnosticsNotification, ShutdownRequest, StreamMessageReader,
  StreamMessageWriter, TextDocumentSyncKind, type Location, type MarkupContent, type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver/node';
import { serveTraceDocuments } from '../../extension/language/connection';

const ROOT = path.join(import.meta.dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'samples', 'traces', 'event-select-cancel.sockshare.jsonl');
const SERVER = path.join(ROOT, 'dist', 'server.js');
const URI = 'file:///traces/event-select-cancel.sockshare.jsonl';
const TEXT = fs.readFileSync(SAMPLE, 'utf8');

/** Collects publishDiagnostics notifications; next() waits for the next one for URI. */
function diagnosticsOf(client: ProtocolConnection) {
  const queue: PublishDiagnosticsParams[] = [];
  const waiting: ((p: PublishDiagnosticsParams) => void)[] = [];
  client.onNotification(PublishDiagnosticsNotification.type, (params) => {
    if (params.uri !== URI) return;
    const resolve = waiting.shift();
    if (resolve) resolve(params);
    else queue.push(params);
  });
  return {
    next: (): Promise<PublishDiagnosticsParams> => {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no diagnostics within 10 s')), 10_000);
        waiting.push((p) => {
          clearTimeout(timer);
          resolve(p);
        });
      });
    },
  };
}

async function openSample(client: ProtocolConnection): Promise<ReturnType<typeof diagnosticsOf>> {
  const diagnostics = diagnosticsOf(client);
  client.listen();
  const init = await client.sendRequest(InitializeRequest.type, { processId: null, rootUri: null, capabilities: {} });
  assert.equal(init.capabilities.textDocumentSync, TextDocumentSyncKind.Incremental);
  await client.sendNotification(InitializedNotification.type, {});
  await client.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: URI, languageId: 'sockshare-trace', version: 1, text: TEXT } });
  return diagnostics;
}

function assertSampleDiagnostics(params: PublishDiagnosticsParams): void {
  const cancelled = params.diagnostics.filter((d) => d.code === 'registration-cancelled');
  assert.equal(cancelled.length, 1);
  assert.equal(cancelled[0].range.start.line, 33);
  assert.equal(cancelled[0].relatedInformation?.[0].location.range.start.line, 23);
}

describe('language server over LSP', () => {
  it('in process: diagnostics after open and after an incremental edit, and every request', async () => {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(ProposedFeatures.all, new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
    serveTraceDocuments(server, { debounceMs: 20 });
    const client = createProtocolConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    try {
      const diagnostics = await openSample(client);
      const first = await diagnostics.next();
      assert.equal(first.version, 1);
      assertSampleDiagnostics(first);

      const doc = { textDocument: { uri: URI } };
      const hover = await client.sendRequest(HoverRequest.type, { ...doc, position: { line: 33, character: 4 } });
      assert.match((hover?.contents as MarkupContent).value, /0x2c in event-select-cancel\.exe \(pid 320\)[\s\S]*0x34 in event-select-cancel\.exe \(pid 328\)/);
      const definition = (await client.sendRequest(DefinitionRequest.type, { ...doc, position: { line: 30, character: 20 } })) as Location;
      assert.equal(definition.range.start.line, 28);
      const symbols = await client.sendRequest(DocumentSymbolRequest.type, doc);
      assert.equal(symbols?.length, 5);
      const lenses = await client.sendRequest(CodeLensRequest.type, doc);
      assert.deepEqual(lenses?.map((l) => l.command?.arguments), [[URI, 28], [URI, 30], [URI, 32]]);

      // Breaking line 3 (an incremental change of one character) is reported; the finding further down stays.
      await client.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri: URI, version: 2 },
        contentChanges: [{ range: { start: { line: 3, character: 0 }, end: { line: 3, character: 1 } }, text: '[' }],
      });
      const second = await diagnostics.next();
      assert.equal(second.version, 2);
      const format = second.diagnostics.filter((d) => d.code === 'trace-format');
      assert.deepEqual(format.map((d) => [d.range.start.line, d.severity]), [[3, 1]]);
      assertSampleDiagnostics(second);
      await client.sendRequest(ShutdownRequest.type);
    } finally {
      client.dispose();
      server.dispose();
    }
  });

  it('the bundled server (dist/server.js --stdio) publishes diagnostics and exits on request', async () => {
    assert.ok(fs.existsSync(SERVER), `${SERVER} is not built: the test command builds it first (npm run build)`);
    const child = spawn(process.execPath, [SERVER, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const client = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    try {
      const diagnostics = await openSample(client);
      assertSampleDiagnostics(await diagnostics.next());
      await client.sendRequest(ShutdownRequest.type);
      await client.sendNotification(ExitNotification.type);
      assert.equal(await exited, 0);
    } finally {
      client.dispose();
      if (child.exitCode === null) child.kill();
    }
  });
});

/**
 * The language server on a 1,000,000-event trace (the benchmark's): the client names the file and the server reads it
 * from disk, publishes diagnostics while it analyses and all of them at the end, and answers hover and go to
 * definition at a line near the end. No timing is asserted (the benchmark measures).
 */

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import {
  createConnection, createProtocolConnection, DefinitionRequest, HoverRequest, InitializeRequest, LogMessageNotification, ProposedFeatures,
  PublishDiagnosticsNotification, ShutdownRequest, StreamMessageReader, StreamMessageWriter, type Location, type MarkupContent,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver/node';
import { CLOSE_TRACE_FILE, OPEN_TRACE_FILE, serveTraceDocuments } from '../../extension/language/connection';
import { largeTrace } from '../support/large-trace';

/** The last `bytes` of a file. */
function tail(file: string, bytes: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(bytes, size));
    fs.readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

describe('language server on a 1,000,000-event trace', () => {
  it('reads the file from disk: diagnostics in pages, then hover and definition at a late line', { timeout: 180_000 }, async () => {
    const file = largeTrace();
    const uri = pathToFileURL(file).href;
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createConnection(ProposedFeatures.all, new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
    serveTraceDocuments(server, { pageMs: 500 });
    const client = createProtocolConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
    const published: PublishDiagnosticsParams[] = [];
    client.onNotification(PublishDiagnosticsNotification.type, (params) => {
      published.push(params);
    });
    const analysed = new Promise<string>((resolve) =>
      client.onNotification(LogMessageNotification.type, ({ message }) => {
        if (message.startsWith('analysed')) resolve(message);
      }),
    );
    try {
      client.listen();
      await client.sendRequest(InitializeRequest.type, { processId: null, rootUri: null, capabilities: {} });
      await client.sendNotification(OPEN_TRACE_FILE, { uri });
      assert.match(await analysed, /\(from disk\): 1000000 events, 1000002 lines/);
      const last = published[published.length - 1];
      assert.ok(published.length >= 2, 'diagnostics came in pages before the last');
      assert.equal(last.uri, uri);
      assert.ok(last.diagnostics.some((d) => d.code === 'registration-cancelled'));
      assert.ok(published[0].diagnostics.length <= last.diagnostics.length);

      // Near the end of the file: event n is on line n (0-based, after the header); the monitor's closesocket is 999,996.
      const closeLine = 999_996;
      assert.match(tail(file, 1200), /"seq":999996,[^\n]*"api":"closesocket"/);
      const hover = await client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: closeLine, character: 10 } });
      assert.match((hover?.contents as MarkupContent).value, /closesocket/);
      const returnLine = closeLine + 1;
      const definition = (await client.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: { line: returnLine, character: 10 } })) as Location;
      assert.equal(definition.range.start.line, closeLine);

      await client.sendNotification(CLOSE_TRACE_FILE, { uri });
      await client.sendRequest(ShutdownRequest.type);
    } finally {
      client.dispose();
      server.dispose();
    }
  });
});

/**
 * The language server on a large trace (dist/server.js --stdio, driven over LSP): the client names the file
 * (sockshare/openTraceFile) and the server reads it from disk. Measures the time to the first page of diagnostics and
 * to all of them, hover and go-to-definition at random lines (late ones included), and the server's peak memory.
 * Prints one JSON line. Usage: node --import tsx scripts/bench/language-server.ts TRACE [POINTS]
 */

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection, DefinitionRequest, ExitNotification, HoverRequest, InitializedNotification, InitializeRequest,
  LogMessageNotification, NotificationType, PublishDiagnosticsNotification, ShutdownRequest, StreamMessageReader, StreamMessageWriter,
} from 'vscode-languageserver/node';
import { root } from '../lib/setup.mjs';

const OPEN_TRACE_FILE = new NotificationType<{ uri: string }>('sockshare/openTraceFile');

function peakRssMb(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const round = (n: number) => Number(n.toFixed(2));

async function main(): Promise<void> {
  const [trace, pointsText] = process.argv.slice(2);
  const points = Number(pointsText ?? 20);
  const server = spawn(process.execPath, [join(root, 'dist', 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const client = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  const uri = pathToFileURL(trace).href;
  let firstPageMs: number | undefined;
  let pages = 0;
  let diagnosticCount = 0;
  let started = 0;
  let lineCount = 0;
  const analysed = new Promise<number>((resolve) => {
    client.onNotification(LogMessageNotification.type, ({ message }) => {
      const match = /^analysed .*: (\d+) events, (\d+) lines, (\d+) diagnostics/.exec(message);
      if (!match) return;
      lineCount = Number(match[2]);
      resolve(performance.now() - started);
    });
  });
  client.onNotification(PublishDiagnosticsNotification.type, (params) => {
    if (params.uri !== uri) return;
    pages++;
    firstPageMs ??= performance.now() - started;
    diagnosticCount = params.diagnostics.length;
  });
  client.listen();
  await client.sendRequest(InitializeRequest.type, { processId: null, rootUri: null, capabilities: {} });
  await client.sendNotification(InitializedNotification.type, {});
  started = performance.now();
  await client.sendNotification(OPEN_TRACE_FILE, { uri });
  const diagnosticsMs = await analysed;

  let seed = 4242;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const hoverMs: number[] = [];
  const definitionMs: number[] = [];
  for (let i = 0; i < points; i++) {
    // Half the points in the last tenth of the file: the far end must be as quick as the start.
    const line = 1 + Math.floor((i % 2 === 0 ? 0.9 + random() * 0.1 : random()) * (lineCount - 2));
    const position = { line, character: 40 };
    let t = performance.now();
    await client.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
    hoverMs.push(performance.now() - t);
    t = performance.now();
    await client.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position });
    definitionMs.push(performance.now() - t);
  }
  const peak = peakRssMb(server.pid ?? 0);
  await client.sendRequest(ShutdownRequest.type);
  await client.sendNotification(ExitNotification.type);
  client.dispose();
  const result = {
    languageServerFirstPageMs: round(firstPageMs ?? diagnosticsMs),
    languageServerDiagnosticsMs: round(diagnosticsMs),
    languageServerPages: pages,
    languageServerDiagnostics: diagnosticCount,
    languageServerHoverMs: { median: round(median(hoverMs)), worst: round(Math.max(...hoverMs)) },
    languageServerDefinitionMs: { median: round(median(definitionMs)), worst: round(Math.max(...definitionMs)) },
    languageServerPeakRssMb: round(peak),
    points,
  };
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});

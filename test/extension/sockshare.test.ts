/// <reference types="mocha" />
/** The extension inside a real VS Code extension host: activation, debugging a recording, exports, the language server. */

import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

// The bundled suite runs from out/test/extension.
const ROOT = join(__dirname, '..', '..', '..');
const TRACES = join(ROOT, 'samples', 'traces');
const OUTPUT = join(ROOT, 'test-output', 'extension');
const EXTENSION_ID = 'sockshare.sockshare';

interface Stop {
  session: vscode.DebugSession;
  threadId: number;
  reason: string;
}

/** Resolves at the next `stopped` event the adapter sends (seen through a tracker on the real debug service). */
function nextStop(): Promise<Stop> {
  return new Promise((resolve) => {
    const registration = vscode.debug.registerDebugAdapterTrackerFactory('sockshare', {
      createDebugAdapterTracker: (session) => ({
        onDidSendMessage: (message: { type: string; event?: string; body?: { threadId: number; reason: string } }) => {
          if (message.type === 'event' && message.event === 'stopped' && message.body) {
            registration.dispose();
            resolve({ session, threadId: message.body.threadId, reason: message.body.reason });
          }
        },
      }),
    });
  });
}

async function variables(session: vscode.DebugSession, reference: number): Promise<{ name: string; value: string; variablesReference: number }[]> {
  return ((await session.customRequest('variables', { variablesReference: reference })) as { variables: { name: string; value: string; variablesReference: number }[] }).variables;
}

async function stopAllSessions(): Promise<void> {
  await vscode.debug.stopDebugging();
}

suite('sockshare in VS Code', () => {
  suiteSetup(() => mkdirSync(OUTPUT, { recursive: true }));
  teardown(stopAllSessions);

  test('the extension activates on a trace file, and its activation time is recorded', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    await vscode.window.showTextDocument(vscode.Uri.file(join(TRACES, 'handoff.sockshare.jsonl')));
    const exports = (await extension.activate()) as { activationMs: number };
    assert.equal(extension.isActive, true);
    assert.equal(typeof exports.activationMs, 'number');
    writeFileSync(join(OUTPUT, 'activation.json'), JSON.stringify({ activationMs: exports.activationMs }) + '\n');
  });

  test('a replay started with startDebugging stops at a function breakpoint, with the Socket scope listing both processes\' descriptors', async () => {
    const breakpoint = new vscode.FunctionBreakpoint('WSAEventSelect', true, 's == 0x34');
    vscode.debug.addBreakpoints([breakpoint]);
    try {
      const stopped = nextStop();
      const started = await vscode.debug.startDebugging(undefined, { type: 'sockshare', request: 'launch', name: 'Replay event-select-cancel', trace: join(TRACES, 'event-select-cancel.sockshare.jsonl') });
      assert.equal(started, true);
      const stop = await stopped;
      assert.equal(stop.reason, 'function breakpoint');
      const frames = ((await stop.session.customRequest('stackTrace', { threadId: stop.threadId })) as { stackFrames: { id: number; name: string }[] }).stackFrames;
      assert.match(frames[0].name, /^WSAEventSelect\(s=0x34/);
      const scopes = ((await stop.session.customRequest('scopes', { frameId: frames[0].id })) as { scopes: { name: string; variablesReference: number }[] }).scopes;
      assert.deepEqual(scopes.map((s) => s.name), ['Call', 'Descriptors', 'Socket', 'Handoffs', 'Findings']);
      const socket = await variables(stop.session, scopes[2].variablesReference);
      const descriptors = socket.find((v) => v.name === 'descriptors');
      assert.ok(descriptors && descriptors.variablesReference > 0);
      const held = await variables(stop.session, descriptors.variablesReference);
      const pids = new Set(held.map((d) => /\(pid (\d+)\)/.exec(d.name)?.[1]));
      assert.equal(pids.size, 2, `descriptors in two processes: ${held.map((d) => d.name).join(', ')}`);
      const overview = (await stop.session.customRequest('sharedSockets')) as { nodes: { label: string; children?: unknown[] }[] };
      assert.equal(overview.nodes[0].label, 'Sockets');
      assert.ok((overview.nodes[0].children ?? []).length > 0, 'the Shared Sockets view has the open socket');
    } finally {
      vscode.debug.removeBreakpoints([breakpoint]);
    }
  });

  test('"Replay from here" starts a replay on that event', async () => {
    const stopped = nextStop();
    await vscode.commands.executeCommand('sockshare.replayFromHere', vscode.Uri.file(join(TRACES, 'event-select-cancel.sockshare.jsonl')), 30);
    const stop = await stopped;
    assert.equal(stop.reason, 'goto');
    const frames = ((await stop.session.customRequest('stackTrace', { threadId: stop.threadId })) as { stackFrames: { name: string }[] }).stackFrames;
    assert.ok(frames.length > 0);
  });

  test('the export command writes each format', async () => {
    const trace = join(TRACES, 'event-select-cancel.sockshare.jsonl');
    for (const [format, file, check] of [
      ['html', 'export.html', /<svg/],
      ['markdown', 'export.md', /registration-cancelled/],
      ['perfetto', 'export.json', /"traceEvents"/],
    ] as const) {
      const output = join(OUTPUT, file);
      const written = await vscode.commands.executeCommand<string>('sockshare.exportTrace', format, output, trace);
      assert.equal(written, output);
      assert.ok(existsSync(output));
      assert.match(readFileSync(output, 'utf8'), check);
    }
  });

  test('the handoff diagram opens as a webview', async () => {
    const panel = await vscode.commands.executeCommand<vscode.WebviewPanel>('sockshare.showHandoffDiagram', join(TRACES, 'handoff.sockshare.jsonl'));
    assert.ok(panel);
    assert.match(panel.title, /Handoff diagram/);
    assert.match(panel.webview.html, /data-seq=/);
    panel.dispose();
  });

  test('the language server publishes the trace\'s findings as diagnostics on the event lines', async () => {
    const uri = vscode.Uri.file(join(TRACES, 'event-select-cancel.sockshare.jsonl'));
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    assert.equal(document.languageId, 'sockshare-trace');
    const deadline = Date.now() + 30_000;
    let diagnostics = vscode.languages.getDiagnostics(uri);
    while (!diagnostics.some((d) => String(d.code) === 'registration-cancelled') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      diagnostics = vscode.languages.getDiagnostics(uri);
    }
    const cancelled = diagnostics.find((d) => String(d.code) === 'registration-cancelled');
    assert.ok(cancelled, `diagnostics: ${diagnostics.map((d) => d.message).join(' | ')}`);
    assert.equal(cancelled.severity, vscode.DiagnosticSeverity.Error);
    assert.match(document.lineAt(cancelled.range.start.line).text, /"api":"WSAEventSelect"/);
  });
});

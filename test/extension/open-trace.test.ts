/// <reference types="mocha" />
/** "Open Trace for Replay…" with a trace editor active asks first: the active trace (first choice) or another one. */

import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';

// The bundled suite runs from out/test/extension.
const TRACE = join(__dirname, '..', '..', '..', 'samples', 'traces', 'handoff.sockshare.jsonl');

function nextSessionStart(): Promise<vscode.DebugSession> {
  return new Promise((resolve) => {
    const listener = vscode.debug.onDidStartDebugSession((session) => {
      listener.dispose();
      resolve(session);
    });
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

suite('Open Trace for Replay', () => {
  teardown(async () => {
    await vscode.debug.stopDebugging();
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  });

  test('with a trace editor active it asks, offering that trace first, and replays it once chosen', async () => {
    // Activated first: the question must not be mistaken for the time activation takes.
    await vscode.extensions.getExtension('sockshare.sockshare')?.activate();
    await vscode.window.showTextDocument(vscode.Uri.file(TRACE));
    const started = nextSessionStart();
    let settled = false;
    const command = Promise.resolve(vscode.commands.executeCommand('sockshare.openTrace')).finally(() => (settled = true));
    // Nothing starts while the question is open.
    await pause(1500);
    assert.equal(settled, false, 'the command waits for an answer instead of replaying the active editor at once');
    assert.equal(vscode.debug.activeDebugSession, undefined);
    // The quick pick may take a moment to show on a busy machine: accept until the replay starts (accepting with
    // nothing open does nothing).
    let session: vscode.DebugSession | undefined;
    void started.then((s) => (session = s));
    for (let tries = 0; !session && tries < 60; tries++) {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await pause(500);
    }
    assert.ok(session, 'the replay started once the first choice was accepted');
    await command;
    assert.equal(session.type, 'sockshare');
    assert.equal(session.configuration.trace, TRACE);
  });
});

/// <reference types="mocha" />
/**
 * A recording too large for the editor to hand to extensions (over 50 MB), opened before any other trace: the
 * language server still reads it from disk and publishes its findings. Runs first in its pass (files run in name
 * order), so no other trace has started the language client.
 */

import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { generate } from '../../scripts/bench/generate';

// The bundled suite runs from out/test/extension.
const ROOT = join(__dirname, '..', '..', '..');
const OUTPUT = join(ROOT, 'test-output', 'extension');
/** Above what VS Code syncs to extensions as a document. */
const SYNC_LIMIT_BYTES = 50 * 1024 * 1024;

suite('a recording too large to be a document', () => {
  test('opened first, in a tab only, it gets diagnostics from the language server reading it from disk', async function () {
    this.timeout(240_000);
    mkdirSync(OUTPUT, { recursive: true });
    const file = join(OUTPUT, 'too-large-to-sync.sockshare.jsonl');
    if (!existsSync(file) || statSync(file).size <= SYNC_LIMIT_BYTES) generate(file, 320_000);
    assert.ok(statSync(file).size > SYNC_LIMIT_BYTES, `the recording is over 50 MB (${statSync(file).size} bytes)`);
    const uri = vscode.Uri.file(file);
    assert.ok(!vscode.workspace.textDocuments.some((d) => d.languageId === 'sockshare-trace'), 'no trace document is open before');
    await vscode.commands.executeCommand('vscode.open', uri);
    assert.ok(!vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString()), 'the editor did not hand it to extensions as a document');
    const deadline = Date.now() + 180_000;
    let diagnostics = vscode.languages.getDiagnostics(uri);
    while (diagnostics.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      diagnostics = vscode.languages.getDiagnostics(uri);
    }
    assert.ok(diagnostics.some((d) => d.severity === vscode.DiagnosticSeverity.Error), `diagnostics on the large recording: ${diagnostics.length}`);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});

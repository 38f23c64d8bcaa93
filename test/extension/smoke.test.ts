// Proves the extension-host harness: this runs inside the real VS Code extension host, next to the extension under
// development. It checks presence only, not activation.
import * as assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import manifest from '../../package.json';

const extensionId = `${manifest.publisher}.${manifest.name}`;
// This file is bundled to out/test/extension/smoke.test.js: the repository is three folders up.
const repositoryRoot = join(__dirname, '..', '..', '..');

suite('extension host', () => {
  test(`the extension ${extensionId} under development is loaded`, () => {
    console.log(`VS Code ${vscode.version}, uiKind ${vscode.UIKind[vscode.env.uiKind]}, remoteName ${vscode.env.remoteName ?? 'none'}`);
    const ids = vscode.extensions.all.map((extension) => extension.id.toLowerCase());
    assert.ok(ids.includes(extensionId.toLowerCase()), `${extensionId} is not among the ${ids.length} extensions: ${ids.join(', ')}`);
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension, `vscode.extensions.getExtension('${extensionId}') returned undefined`);
    assert.equal(realpathSync(extension.extensionPath), realpathSync(repositoryRoot), 'the extension is not the development copy');
    assert.equal(extension.packageJSON.version, manifest.version);
  });
});

/** The handoff diagram: the trace as lanes (source | IPC | target), each hooked call a box; a click moves a replay there. */

import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { renderLaneSvg } from '../tracer/export/lanes';
import { modelOf } from '../tracer/model';
import { parseTraceText } from '../tracer/trace/reader';

let panel: vscode.WebviewPanel | undefined;

export async function showHandoffDiagram(traceFile: string, onEvent: (seq: number) => void): Promise<vscode.WebviewPanel> {
  const { events } = parseTraceText(await readFile(traceFile, 'utf8'), traceFile);
  const svg = renderLaneSvg(events, modelOf(events));
  if (!panel) {
    panel = vscode.window.createWebviewPanel('sockshare.handoffDiagram', 'Handoff diagram', vscode.ViewColumn.Beside, { enableScripts: true });
    panel.onDidDispose(() => (panel = undefined));
  }
  panel.title = `Handoff diagram: ${traceFile.split(/[\\/]/).pop()}`;
  panel.webview.onDidReceiveMessage((message: { seq?: number }) => {
    if (typeof message.seq === 'number') onEvent(message.seq);
  });
  const nonce = Math.random().toString(36).slice(2);
  panel.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>body{background:var(--vscode-editor-background);color:var(--vscode-editor-foreground);font-family:var(--vscode-font-family)} [data-seq]{cursor:pointer} .selected rect{stroke-width:3px}</style>
</head><body><p>Click a call to move the replay there.</p>${svg}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener('click', (e) => {
  const box = e.target.closest('[data-seq]');
  if (!box) return;
  document.querySelectorAll('.selected').forEach((n) => n.classList.remove('selected'));
  box.classList.add('selected');
  vscode.postMessage({ seq: Number(box.getAttribute('data-seq')) });
});
</script></body></html>`;
  panel.reveal(vscode.ViewColumn.Beside, true);
  return panel;
}

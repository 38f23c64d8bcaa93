// The real-browser end-to-end test: the packaged .vsix installed into the VS Code server (code-server's), the samples
// folder open in headless Chromium, a recording replayed with F5 from its editor, the Variables view showing the
// Socket scope with both processes' descriptors, the handoff diagram opened; screenshots under test-output/screenshots.
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { log, packageVersion, root, run } from './lib/setup.mjs';

async function main() {
  run(process.execPath, [join(root, 'scripts', 'package.mjs')]);
  const vsix = join(root, `sockshare-${packageVersion()}.vsix`);
  const { SERVER_MAIN, ensureCodeServer } = await import('./lib/code-server.mjs');
  ensureCodeServer();
  const wb = await import('./lib/workbench.mjs');
  const started = Date.now();
  const workbench = await wb.openWorkbench({
    folder: join(root, 'samples'),
    extensionDevelopmentPath: null,
    verbose: process.argv.includes('--verbose'),
    beforeStart: ({ extensionsDir, userDataDir }) => {
      const installed = spawnSync(process.execPath, [SERVER_MAIN, '--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir], { encoding: 'utf8' });
      if (installed.status !== 0 || !/successfully installed/.test(installed.stdout)) throw new Error(`installing ${relative(root, vsix)} failed: ${installed.stdout}${installed.stderr}`);
      log(`installed ${relative(root, vsix)}`);
    },
  });
  const { page } = workbench;
  try {
    await wb.waitForExplorerItem(page, 'traces', { timeout: 60_000 });
    // Open the recording from the explorer, then F5: the configuration provider replays the active trace.
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: /^traces$/ }).first().click();
    const file = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'event-select-cancel.sockshare.jsonl' }).first();
    await file.waitFor();
    await file.click();
    await wb.waitForText(page, '.tabs-container', 'event-select-cancel.sockshare.jsonl');
    await wb.screenshot(page, 'trace-editor.png');
    await wb.pressF5(page);
    await wb.waitForDebugToolbar(page, { timeout: 60_000 });
    // The "Event registration cancelled" filter is on by default: the replay stops at the target's WSAEventSelect.
    await wb.waitForCallStack(page, 'WSAEventSelect', { timeout: 60_000 });
    await page.locator('.debug-view-content .monaco-list-row', { hasText: /^Socket$/ }).first().click();
    await wb.waitForVariables(page, 'descriptors', { timeout: 30_000 });
    await page.locator('.debug-view-content .monaco-list-row', { hasText: /^descriptors/ }).first().click();
    await wb.waitForVariables(page, '0x2c in event-select-cancel.exe', { timeout: 30_000 });
    await wb.waitForVariables(page, '0x34 in event-select-cancel.exe', { timeout: 30_000 });
    const variables = await wb.screenshot(page, 'replay-socket-scope.png');
    await wb.runCommand(page, 'sockshare: Show Handoff Diagram');
    await page.locator('iframe.webview').first().waitFor({ timeout: 30_000 });
    // The webview's content lives in a nested frame: wait until the diagram's boxes are drawn there.
    const deadline = Date.now() + 30_000;
    let drawn = 0;
    while (Date.now() < deadline && drawn === 0) {
      for (const frame of page.frames()) drawn += await frame.locator('svg [data-seq]').count().catch(() => 0);
      if (drawn === 0) await page.waitForTimeout(250);
    }
    if (drawn === 0) throw new Error(`the handoff diagram drew no call boxes (frames: ${page.frames().map((f) => f.url()).join(', ')})`);
    log(`the handoff diagram shows ${drawn} call boxes`);
    const diagram = await wb.screenshot(page, 'handoff-diagram.png');
    log(`browser test passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots ${relative(root, variables)}, ${relative(root, diagram)}`);
  } catch (error) {
    await wb.screenshot(page, 'browser-failure.png').catch(() => {});
    throw error;
  } finally {
    await workbench.close();
  }
}

main().then(
  () => {
    console.log('browser: 1 passed, 0 failed');
    process.exit(0);
  },
  (error) => {
    log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    console.log('browser: 0 passed, 1 failed');
    process.exit(1);
  },
);

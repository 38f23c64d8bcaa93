// The real-browser end-to-end test: the packaged .vsix installed into the VS Code server (code-server's), the samples
// folder open in headless Chromium, a recording replayed with F5 from its editor: the stopped thread's top frame
// focused with its source open and the Call scope in Variables, the Socket scope with both processes' descriptors, the
// handoff diagram; then a recording whose images are on no machine (moved away) replayed the same way; then a sample
// server running under Wine outside the tracer, attached to from the process picker and stopped at WSAEventSelect with
// the sample's own frames in the CALL STACK (lib/browser-attach.mjs). Screenshots under test-output/screenshots.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { attachToRunningSample } from './lib/browser-attach.mjs';
import { log, packageVersion, root, run } from './lib/setup.mjs';

/** A copy of a recording as if made on another machine: its images in a folder and under a name found nowhere here. */
function movedAwayCopy(trace) {
  const dir = join(root, 'test-output', 'browser');
  mkdirSync(dir, { recursive: true });
  const text = readFileSync(trace, 'utf8').split('\n').map((line) => {
    if (!line.includes('"process-start"') && !line.includes('event-select-cancel.exe')) return line;
    const e = JSON.parse(line);
    if (e.kind === 'process-start') {
      e.image = 'C:\\builds\\elsewhere\\moved-away.exe';
      e.commandLine = e.commandLine.replace(/"?[^"]*event-select-cancel\.exe"?/, '"C:\\builds\\elsewhere\\moved-away.exe"');
    }
    if (e.caller?.module === 'event-select-cancel.exe') e.caller.module = 'moved-away.exe';
    return JSON.stringify(e);
  });
  const file = join(dir, 'moved-away.sockshare.jsonl');
  writeFileSync(file, text.join('\n'));
  return file;
}

/** File: Open File... in the web workbench is a quick input taking a path (the simple file dialog): type it, Enter. */
async function openFileByPath(wb, page, path) {
  await wb.press(page, 'F1');
  const input = page.locator(wb.SELECTORS.quickInputBox);
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  await input.fill('>File: Open File...');
  await page.locator(wb.SELECTORS.quickInputRows).filter({ hasText: /^File: Open File\.\.\./ }).first().click();
  // The dialog's box starts with the workspace folder's path: replace it with the file's.
  await page.waitForFunction((selector) => globalThis.document.querySelector(selector)?.value.startsWith('/'), wb.SELECTORS.quickInputBox, { timeout: 30_000 });
  // The dialog fills its box with the folder a moment after it opens, over what was typed: type until the path sticks.
  for (let tries = 0; ; tries++) {
    await input.fill(path);
    await page.waitForTimeout(500);
    if ((await input.inputValue()) === path) break;
    if (tries === 20) throw new Error(`the Open File box did not keep the path ${path}; it shows ${await input.inputValue()}`);
  }
  await page.keyboard.press('Enter');
}

/**
 * Waits for the call-in-context document to show its marked line. The web workbench now and then leaves a freshly
 * opened editor blank, or fails it ("could not be opened ... Try Again"); a user closes it and clicks the frame again,
 * and so does the test, at most three times, saying so (and the page's errors): the document is asked of the adapter
 * anew each time.
 */
/** The page's last errors (workbench.pageErrors), reported with a retry and with a failure. */
let pageErrors = [];

function logPageErrors() {
  if (pageErrors.length > 0) log(`the page's last errors:\n  ${pageErrors.join('\n  ')}`);
}

async function waitForCallDocument(wb, page, frameText) {
  const marked = /→\s#\d+/;
  for (let attempt = 0; ; attempt++) {
    try {
      return await wb.waitForText(page, '.editor-instance .view-lines', marked, { timeout: 15_000 });
    } catch (error) {
      if (attempt === 3) throw error;
    }
    const retry = page.getByRole('button', { name: 'Try Again' });
    const why = (await retry.isVisible().catch(() => false)) ? await page.locator('.monaco-editor-pane-placeholder').first().innerText().catch(() => '') : undefined;
    // Its tab is closed and the frame clicked again: the document is made anew (a blank one stays blank if re-shown).
    log(why === undefined ? 'the call document stayed blank: it is closed and its frame clicked again' : `the call document did not open (${why.replace(/\s+/g, ' ').trim()}): it is closed and its frame clicked again`);
    logPageErrors();
    const tab = page.locator('.tabs-container .tab.active');
    await tab.hover().catch(() => {});
    await tab.locator('.codicon-close').first().click().catch((closeError) => log(`closing its tab failed: ${closeError.message}`));
    await page.locator('.pane-body.debug-call-stack .monaco-list-row', { hasText: frameText }).first().click();
  }
}

/** The stop's top frame is the focused row of the Call Stack, its document is open, and Variables shows the Call scope. */
async function assertTopFrameFocused(wb, page, frameText, documentText, screenshotName) {
  await wb.waitForText(page, '.pane-body.debug-call-stack .monaco-list-row.focused, .pane-body.debug-call-stack .monaco-list-row.selected', frameText, { timeout: 30_000 });
  await wb.waitForText(page, '.tabs-container', documentText, { timeout: 30_000 });
  await waitForCallDocument(wb, page, frameText);
  await wb.waitForVariables(page, /^Call$/, { timeout: 30_000 });
  await wb.waitForVariables(page, 'lNetworkEvents', { timeout: 30_000 });
  return wb.screenshot(page, screenshotName);
}

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
    // As a user gets it: the Windows runtime and the Wine prefix come from settings, not from the environment.
    serverEnv: { SOCKSHARE_WINE_NODE: undefined, SOCKSHARE_WINEPREFIX: undefined, SOCKSHARE_WINE: undefined },
    beforeStart: ({ extensionsDir, userDataDir }) => {
      const installed = spawnSync(process.execPath, [SERVER_MAIN, '--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir], { encoding: 'utf8' });
      if (installed.status !== 0 || !/successfully installed/.test(installed.stdout)) throw new Error(`installing ${relative(root, vsix)} failed: ${installed.stdout}${installed.stderr}`);
      log(`installed ${relative(root, vsix)}`);
    },
  });
  const { page } = workbench;
  pageErrors = workbench.pageErrors;
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
    const focused = await assertTopFrameFocused(wb, page, 'WSAEventSelect', 'WSAEventSelect · pid', 'replay-top-frame.png');
    log(`the top frame is focused, its source open, Variables shows the Call scope (${relative(root, focused)})`);
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

    // A recording made elsewhere: its images are nowhere on this machine, and every frame still opens.
    await wb.press(page, 'Shift+F5');
    await wb.waitForDebugEnd(page, { timeout: 30_000 });
    const moved = movedAwayCopy(join(root, 'samples', 'traces', 'event-select-cancel.sockshare.jsonl'));
    await openFileByPath(wb, page, moved);
    await wb.waitForText(page, '.tabs-container', 'moved-away.sockshare.jsonl', { timeout: 30_000 });
    await wb.pressF5(page);
    await wb.waitForDebugToolbar(page, { timeout: 60_000 });
    await wb.waitForCallStack(page, 'moved-away.exe+0x', { timeout: 60_000 });
    const absent = await assertTopFrameFocused(wb, page, 'WSAEventSelect', 'WSAEventSelect · pid', 'replay-images-absent.png');
    await page.locator('.pane-body.debug-call-stack .monaco-list-row', { hasText: 'moved-away.exe+0x' }).first().click();
    await wb.waitForText(page, '.editor-instance .view-lines', /moved-away\.exe\sis\snot\son\sthis\smachine/, { timeout: 30_000 });
    log(`a recording whose images are absent replays with every frame open (${relative(root, absent)})`);
    await wb.press(page, 'Shift+F5');
    await wb.waitForDebugEnd(page, { timeout: 30_000 });

    // A program already running: attach to it from the process picker and stop at its WSAEventSelect.
    await attachToRunningSample(wb, workbench);
    log(`browser test passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots ${relative(root, variables)}, ${relative(root, diagram)}`);
  } catch (error) {
    await wb.screenshot(page, 'browser-failure.png').catch(() => {});
    logPageErrors();
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

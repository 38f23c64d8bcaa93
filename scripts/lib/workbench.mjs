// Drives the real VS Code web workbench (the VS Code 1.100.3 server from npm code-server, see code-server.mjs) in a
// headless Chromium through playwright-core, as a person would: the command palette, F5, the debug toolbar, the Call
// Stack and Variables views, screenshots. Every wait is for a specific element or text, never a fixed delay.
// scripts/check-workbench.mjs (`npm run test:workbench`) is the workbench check built on it.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ensureNpmPackages, log, root } from './setup.mjs';

export const SCREENSHOTS = join(root, 'test-output', 'screenshots');
const DEFAULT_TIMEOUT = 30_000;

export const SELECTORS = {
  workbench: '.monaco-workbench',
  explorerRows: '.explorer-folders-view .monaco-list-row',
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget .quick-input-box input',
  quickInputRows: '.quick-input-widget .quick-input-list .monaco-list-row',
  debugToolbar: '.debug-toolbar',
  callStack: '.pane-body.debug-call-stack',
  variables: '.pane-body.debug-variables',
  notifications: '.notifications-toasts .notification-toast',
};
const SUGGEST = '.editor-widget.suggest-widget.visible';

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Starts the VS Code server and a headless Chromium, and opens the workbench on `folder`. With
 * `extensionDevelopmentPath` (default: this repository) the window is an Extension Development Host running the
 * extension from source (dist/). Returns { server, browser, page, url, close() }; close() stops both and removes the
 * temporary state (unless keep).
 */
export async function openWorkbench({ folder = join(root, 'samples'), extensionDevelopmentPath = root, viewport = { width: 1600, height: 1000 }, verbose = false, keep = false, serverEnv = {}, beforeStart } = {}) {
  ensureNpmPackages();
  const { ensureCodeServer, startVsCodeServer, chromiumPath, CHROMIUM_ARGS, isolatedEnv, workbenchUrl } = await import('./code-server.mjs');
  ensureCodeServer();
  const temp = mkdtempSync(join(tmpdir(), 'sockshare-workbench-'));
  let server;
  let browser;
  const close = async () => {
    await browser?.close().catch(() => {});
    await server?.stop().catch(() => {});
    if (keep) log(`kept ${temp}`);
    else rmSync(temp, { recursive: true, force: true });
  };
  try {
    // e.g. install a .vsix into the extensions folder the server will use
    await beforeStart?.({ extensionsDir: join(temp, 'extensions'), userDataDir: join(temp, 'user-data') });
    server = await startVsCodeServer({
      folder,
      userDataDir: join(temp, 'user-data'),
      extensionsDir: join(temp, 'extensions'),
      serverDataDir: join(temp, 'server-data'),
      stateDir: serverStateDir(temp),
      echo: verbose,
      env: serverEnv,
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, env: isolatedEnv(join(temp, 'browser-env')), timeout: 60_000 });
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(DEFAULT_TIMEOUT);
    // The page's last errors, for a failure's report (an editor that "could not be opened" says why only there).
    const pageErrors = [];
    page.on('console', (message) => {
      if (verbose) process.stderr.write(`[page ${message.type()}] ${message.text()}\n`);
      if (message.type() === 'error' && pageErrors.push(message.text()) > 20) pageErrors.shift();
    });
    const url = workbenchUrl(server, { folder, ...(extensionDevelopmentPath ? { extensionDevelopmentPath } : {}) });
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await waitForWorkbench(page);
    return { server, browser, context, page, url, temp, close, pageErrors };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The folder whose home/ and tmp/ the VS Code server and its extension host get as HOME and TMPDIR (isolatedEnv). */
function serverStateDir(temp) {
  return join(temp, 'server-env');
}

/**
 * The TMPDIR the VS Code server, its extension host and what the extension starts run with. Debian's Wine keeps a
 * wineserver per TMPDIR: a Windows program started for the extension to see (in the process picker, say) runs with it.
 */
export function serverTmpDir(workbench) {
  return join(serverStateDir(workbench.temp), 'tmp');
}

/**
 * Waits until the workbench is restored: laid out, and its contributions created (through the smoke-test driver that
 * the server's --enable-smoke-test-driver installs as window.driver). A key pressed before that can be lost: F5
 * pressed as soon as the explorer showed did nothing.
 */
export async function waitForWorkbench(page, { timeout = 60_000 } = {}) {
  await page.locator(SELECTORS.workbench).waitFor({ state: 'visible', timeout });
  await page.waitForFunction('typeof globalThis.driver?.whenWorkbenchRestored === "function"', undefined, { timeout });
  await page.evaluate('globalThis.driver.whenWorkbenchRestored()');
  await page.locator('.part.activitybar').waitFor({ state: 'visible', timeout });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout });
}

/** Waits until an element matching `selector` shows `text` (a string: contained; a RegExp: matched). Returns its locator. */
export async function waitForText(page, selector, text, { timeout = DEFAULT_TIMEOUT } = {}) {
  const locator = page.locator(selector).filter({ hasText: text }).first();
  try {
    await locator.waitFor({ state: 'visible', timeout });
  } catch (error) {
    const seen = await page.locator(selector).allInnerTexts().catch(() => []);
    throw new Error(`timed out after ${timeout} ms waiting for ${selector} to show ${text}; it shows: ${JSON.stringify(seen.join(' | ').slice(0, 1500))}`, { cause: error });
  }
  return locator;
}

/** Waits for the explorer to list an entry named `name` (a row of the folder tree). */
export async function waitForExplorerItem(page, name, options = {}) {
  // The row's label is the file or folder name; match it whole, not as part of another name.
  return waitForText(page, SELECTORS.explorerRows, new RegExp(`^\\s*${escapeRegExp(name)}\\s*$`), options);
}

/** Opens a view by running its "focus" command from the palette, e.g. openView(page, 'Run and Debug'). */
export async function openView(page, name, options = {}) {
  await runCommand(page, `View: Show ${name}`, options);
}

/**
 * Runs a command from the command palette by its title as the palette shows it ("Debug: Start Debugging"). Waits
 * for the matching row before choosing it (pressing Enter before the row appears picks whatever is first).
 */
export async function runCommand(page, title, { timeout = DEFAULT_TIMEOUT } = {}) {
  await chooseCommand(page, title, timeout);
  await page.locator(SELECTORS.quickInput).waitFor({ state: 'hidden', timeout });
}

/** Opens the command palette (unless open) and clicks the command titled `title`; its widget may stay open after. */
async function chooseCommand(page, title, timeout) {
  const widget = page.locator(SELECTORS.quickInput);
  if (!(await widget.isVisible())) {
    await page.keyboard.press('F1');
    await widget.waitFor({ state: 'visible', timeout });
  }
  const input = page.locator(SELECTORS.quickInputBox);
  await input.fill(`>${title}`);
  // A command row's aria-label is its title, then ", <keybinding>" when it has one.
  const row = page.locator(SELECTORS.quickInputRows).filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) }).first();
  try {
    await row.waitFor({ state: 'visible', timeout });
  } catch (error) {
    const rows = await page.locator(SELECTORS.quickInputRows).allInnerTexts().catch(() => []);
    await page.keyboard.press('Escape');
    throw new Error(`the command palette has no command titled ${JSON.stringify(title)}; it lists: ${JSON.stringify(rows.slice(0, 20))}`, { cause: error });
  }
  await row.click();
}

/**
 * Waits until debuggers are registered (the `debuggersAvailable` context key): until then F5 only opens the Run and
 * Debug view, and that is the case for a few seconds after the workbench is restored, while the extension host starts.
 * Seen through the command palette, which lists "Debug: Start Debugging" only when debuggers are available.
 */
export async function waitForDebuggersAvailable(page, { timeout = 60_000 } = {}) {
  const deadline = Date.now() + timeout;
  const widget = page.locator(SELECTORS.quickInput);
  const row = page.locator(SELECTORS.quickInputRows).filter({ has: page.locator('.label-name', { hasText: /^Debug: Start Debugging$/ }) }).first();
  for (;;) {
    if (!(await widget.isVisible())) {
      await page.keyboard.press('F1');
      await widget.waitFor({ state: 'visible', timeout: DEFAULT_TIMEOUT });
    }
    await page.locator(SELECTORS.quickInputBox).fill('>Debug: Start Debugging');
    const found = await row.waitFor({ state: 'visible', timeout: 1_500 }).then(() => true, () => false);
    await page.keyboard.press('Escape');
    await widget.waitFor({ state: 'hidden', timeout: DEFAULT_TIMEOUT });
    if (found) return;
    if (Date.now() > deadline) throw new Error(`no debugger was registered within ${timeout} ms (the palette never listed "Debug: Start Debugging")`);
    await page.waitForTimeout(500);
  }
}

/**
 * Presses F5 (Start Debugging with the selected launch configuration) with the workbench focused, once debuggers
 * are available (pass { waitForDebuggers: false } to press it at once, e.g. to continue a stopped session).
 */
export async function pressF5(page, { waitForDebuggers = true, timeout = 60_000 } = {}) {
  if (waitForDebuggers) await waitForDebuggersAvailable(page, { timeout });
  await focusWorkbench(page);
  await page.keyboard.press('F5');
}

/** Presses a key or chord in the workbench, e.g. 'F10', 'Shift+F5'. */
export async function press(page, key) {
  await focusWorkbench(page);
  await page.keyboard.press(key);
}

async function focusWorkbench(page) {
  // Keybindings are handled by the workbench as long as focus is in it and not in a dialog/quick input.
  if (await page.locator(SELECTORS.quickInput).isVisible()) await page.keyboard.press('Escape');
  if (!(await page.evaluate('document.hasFocus()'))) await page.bringToFront();
}

/** Waits for the floating debug toolbar (a debug session is running). */
export async function waitForDebugToolbar(page, { timeout = DEFAULT_TIMEOUT } = {}) {
  const toolbar = page.locator(SELECTORS.debugToolbar);
  await toolbar.waitFor({ state: 'visible', timeout });
  return toolbar;
}

/** Waits until the debug toolbar is gone (the session ended). */
export async function waitForDebugEnd(page, { timeout = DEFAULT_TIMEOUT } = {}) {
  await page.locator(SELECTORS.debugToolbar).waitFor({ state: 'hidden', timeout });
}

/** Waits for the Call Stack view to show `text` (a thread, a frame: string contained or RegExp). */
export async function waitForCallStack(page, text, options = {}) {
  return waitForText(page, `${SELECTORS.callStack} .monaco-list-row`, text, options);
}

/** Waits for the Variables view to show `text` (a scope, a variable, a value). */
export async function waitForVariables(page, text, options = {}) {
  return waitForText(page, `${SELECTORS.variables} .monaco-list-row`, text, options);
}

/** Waits for a notification toast showing `text`. */
export async function waitForNotification(page, text, options = {}) {
  return waitForText(page, SELECTORS.notifications, text, options);
}

/**
 * Opens `folder` in the workbench's window, as File: Open Folder does in the web workbench (the window loads again on
 * the new folder, same server and extensions). Resolves once the workbench is restored.
 */
export async function openFolder(workbench, folder) {
  const url = new URL(workbench.url);
  url.searchParams.set('folder', resolve(folder));
  workbench.url = url.toString();
  await workbench.page.goto(workbench.url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  await waitForWorkbench(workbench.page);
}

/**
 * Run and Debug's "create a launch.json file" in a folder without one: chooses the debugger whose label matches
 * `debuggerLabel` when the workbench asks, and waits for launch.json to open in an editor.
 */
export async function createLaunchJson(page, debuggerLabel, { timeout = DEFAULT_TIMEOUT } = {}) {
  await openView(page, 'Run and Debug');
  const link = page.locator('.debug-pane .welcome-view-content a, .pane-body .welcome-view-content a', { hasText: 'create a launch.json file' }).first();
  await link.waitFor({ state: 'visible', timeout });
  await link.click();
  const tab = page.locator('.tabs-container .tab', { hasText: 'launch.json' }).first();
  // The row may carry VS Code's "Suggested" (a debugger of an active extension).
  const row = page.locator(SELECTORS.quickInputRows).filter({ hasText: new RegExp(`^\\s*${escapeRegExp(debuggerLabel)}\\s*(Suggested)?\\s*$`) }).first();
  // Either the debugger is asked for (a quick pick) or, with one candidate, launch.json opens at once.
  const asked = await Promise.race([row.waitFor({ state: 'visible', timeout }).then(() => true), tab.waitFor({ state: 'visible', timeout }).then(() => false)]).catch(() => undefined);
  if (asked === undefined) throw new Error(`"create a launch.json file" neither asked for a debugger nor opened launch.json within ${timeout} ms`);
  if (asked) await row.click();
  await waitForText(page, '.tabs-container .tab', 'launch.json', { timeout });
  // A moment after it opens, the workbench focuses launch.json and offers suggestions in "configurations": a command
  // palette opened before that would lose the focus and close. Wait for the focus and the suggestions (they come
  // together, so a few seconds at most for them), then close them.
  await page.locator('.editor-instance .monaco-editor.focused').waitFor({ state: 'visible', timeout });
  const suggest = page.locator(SUGGEST);
  if (await suggest.waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false)) {
    await page.keyboard.press('Escape');
    await suggest.waitFor({ state: 'hidden', timeout });
  }
}

/**
 * Debug: Add Configuration... in the open launch.json: the editor offers the debuggers' configuration snippets; the
 * one labelled `snippetLabel` is chosen (its first word typed to narrow the list), and launch.json is saved.
 */
export async function addLaunchConfiguration(page, snippetLabel, { timeout = DEFAULT_TIMEOUT } = {}) {
  await runCommand(page, 'Debug: Add Configuration...', { timeout });
  const suggest = page.locator(SUGGEST);
  await suggest.waitFor({ state: 'visible', timeout });
  await page.keyboard.type(snippetLabel.split(/[\s:]/)[0]);
  const rows = page.locator(`${SUGGEST} .monaco-list-row`);
  const wanted = rows.filter({ hasText: snippetLabel }).first();
  // Until the JSON language server has the debuggers' schema the editor offers only words: close the suggestions and
  // ask again (Ctrl+Space; pressed with the suggestions open it would only toggle their details).
  const deadline = Date.now() + timeout;
  while (!(await wanted.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false))) {
    if (Date.now() > deadline) {
      const seen = await rows.allInnerTexts().catch(() => []);
      throw new Error(`Add Configuration... offers no snippet ${JSON.stringify(snippetLabel)} within ${timeout} ms; it offers: ${JSON.stringify(seen.slice(0, 20))}`);
    }
    if (await suggest.isVisible()) await page.keyboard.press('Escape');
    await suggest.waitFor({ state: 'hidden', timeout });
    await page.keyboard.press('Control+Space');
  }
  await wanted.click();
  await suggest.waitFor({ state: 'hidden', timeout });
  await page.keyboard.press('Control+S');
  await page.locator('.tabs-container .tab.dirty', { hasText: 'launch.json' }).waitFor({ state: 'hidden', timeout });
}

/**
 * A function breakpoint, added as in the BREAKPOINTS view of Run and Debug: its "Add Function Breakpoint" (+) button,
 * the function's name typed in the box it opens, Enter. Waits for the breakpoint's row.
 */
export async function addFunctionBreakpoint(page, name, { timeout = DEFAULT_TIMEOUT } = {}) {
  await openView(page, 'Run and Debug', { timeout });
  const header = page.locator('.pane-header', { hasText: /^\s*Breakpoints/i }).first();
  await header.waitFor({ state: 'visible', timeout });
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  // The view's actions show while the pointer is over its header.
  await header.hover();
  await header.locator('.action-label[aria-label="Add Function Breakpoint"]').click({ timeout });
  const input = page.locator('.pane-body.debug-breakpoints .monaco-list-row .monaco-inputbox input').first();
  await input.waitFor({ state: 'visible', timeout });
  await input.fill(name);
  await input.press('Enter');
  return waitForText(page, '.pane-body.debug-breakpoints .monaco-list-row', new RegExp(`^\\s*${escapeRegExp(name)}\\s*$`, 'm'), { timeout });
}

/** Debug: Select and Start Debugging, then the launch configuration named `name` in the list it opens. */
export async function selectAndStartDebugging(page, name, { timeout = DEFAULT_TIMEOUT } = {}) {
  await chooseCommand(page, 'Debug: Select and Start Debugging', timeout);
  // The configurations replace the commands in the same widget, as the "debug " quick access: its box holds that
  // prefix, and the name is typed after it.
  await page.waitForFunction((selector) => globalThis.document.querySelector(selector)?.value.startsWith('debug '), SELECTORS.quickInputBox, { timeout });
  await pickQuickInputItem(page, `debug ${name}`, new RegExp(`^\\s*${escapeRegExp(name)}`), { timeout });
}

/**
 * Chooses an item of the open (or opening) quick pick as a user does: types `filter` in its box, waits for a row
 * matching `row` (string contained, RegExp matched against the row's text), moves the selection to it with the arrow
 * keys and presses Enter. With `title`, waits for the quick pick showing that title first (e.g. one that a command
 * opens after some work).
 */
export async function pickQuickInputItem(page, filter, row, { title, timeout = DEFAULT_TIMEOUT } = {}) {
  const widget = page.locator(SELECTORS.quickInput);
  try {
    if (title) await page.locator(`${SELECTORS.quickInput} .quick-input-title`, { hasText: title }).first().waitFor({ state: 'visible', timeout });
    await widget.waitFor({ state: 'visible', timeout });
  } catch (error) {
    throw new Error(`no quick pick${title ? ` titled ${title}` : ''} opened within ${timeout} ms`, { cause: error });
  }
  await page.locator(SELECTORS.quickInputBox).fill(filter);
  const rows = page.locator(SELECTORS.quickInputRows);
  const wanted = rows.filter({ hasText: row }).first();
  try {
    await wanted.waitFor({ state: 'visible', timeout });
  } catch (error) {
    // What it offers unfiltered says more than an empty list.
    await page.locator(SELECTORS.quickInputBox).fill('').catch(() => {});
    const seen = await rows.allInnerTexts().catch(() => []);
    throw new Error(`the quick pick, filtered by ${JSON.stringify(filter)}, shows no row matching ${row} within ${timeout} ms; unfiltered it lists: ${JSON.stringify(seen.slice(0, 20).map((r) => r.replace(/\s+/g, ' ')))}`, { cause: error });
  }
  const matches = (text) => (typeof row === 'string' ? text.includes(row) : row.test(text));
  for (let moves = 0; ; moves++) {
    const focused = page.locator(`${SELECTORS.quickInputRows}.focused`).first();
    const text = (await focused.innerText().catch(() => '')).replace(/\s+/g, ' ');
    if (matches(text)) break;
    if (moves === 50) throw new Error(`the quick pick's selection never reached the row matching ${row} (it is on ${JSON.stringify(text)})`);
    await page.keyboard.press('ArrowDown');
  }
  await page.keyboard.press('Enter');
  // Closed, or already showing what the choice opened next (its box no longer holds the filter).
  await page.waitForFunction(
    ({ widget: w, box, typed }) => {
      const element = globalThis.document.querySelector(w);
      return !element || globalThis.getComputedStyle(element).display === 'none' || globalThis.document.querySelector(box)?.value !== typed;
    },
    { widget: SELECTORS.quickInput, box: SELECTORS.quickInputBox, typed: filter },
    { timeout },
  );
}

/** Saves a PNG of the page (or of one element with `selector`) to `path` (relative: under test-output/screenshots). */
export async function screenshot(page, path, { selector } = {}) {
  const target = resolve(SCREENSHOTS, path);
  mkdirSync(dirname(target), { recursive: true });
  if (selector) await page.locator(selector).first().screenshot({ path: target });
  else await page.screenshot({ path: target });
  return target;
}

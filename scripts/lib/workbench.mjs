// Drives the real VS Code web workbench (the VS Code 1.100.3 server from npm code-server, see code-server.mjs) in a
// headless Chromium through playwright-core, as a person would: the command palette, F5, the debug toolbar, the Call
// Stack and Variables views, screenshots. Every wait is for a specific element or text, never a fixed delay.
//
// Run directly (`npm run test:workbench`), it is the workbench check: open the workbench on samples/, wait for the
// explorer to show `handoff`, save test-output/screenshots/workbench.png.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
      stateDir: join(temp, 'server-env'),
      echo: verbose,
      env: serverEnv,
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, env: isolatedEnv(join(temp, 'browser-env')), timeout: 60_000 });
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(DEFAULT_TIMEOUT);
    if (verbose) page.on('console', (message) => process.stderr.write(`[page ${message.type()}] ${message.text()}\n`));
    const url = workbenchUrl(server, { folder, ...(extensionDevelopmentPath ? { extensionDevelopmentPath } : {}) });
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await waitForWorkbench(page);
    return { server, browser, context, page, url, temp, close };
  } catch (error) {
    await close();
    throw error;
  }
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
  await widget.waitFor({ state: 'hidden', timeout });
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

/** Saves a PNG of the page (or of one element with `selector`) to `path` (relative: under test-output/screenshots). */
export async function screenshot(page, path, { selector } = {}) {
  const target = resolve(SCREENSHOTS, path);
  mkdirSync(dirname(target), { recursive: true });
  if (selector) await page.locator(selector).first().screenshot({ path: target });
  else await page.screenshot({ path: target });
  return target;
}

/** The workbench check: the workbench opens on samples/ with the extension loaded, and the explorer lists `handoff`. */
export async function checkWorkbench({ verbose = false } = {}) {
  const started = Date.now();
  const workbench = await openWorkbench({ folder: join(root, 'samples'), verbose });
  try {
    const opened = Date.now();
    await waitForExplorerItem(workbench.page, 'handoff', { timeout: 60_000 });
    const shot = await screenshot(workbench.page, 'workbench.png');
    log(`workbench check passed: the explorer shows handoff (workbench open in ${((opened - started) / 1000).toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s); screenshot ${relative(root, shot)}`);
  } catch (error) {
    await screenshot(workbench.page, 'workbench-failure.png').catch(() => {});
    throw error;
  } finally {
    await workbench.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  checkWorkbench({ verbose: process.argv.includes('--verbose') }).then(
    () => {
      console.log('workbench: 1 passed, 0 failed');
      process.exit(0);
    },
    (error) => {
      log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
      console.log('workbench: 0 passed, 1 failed');
      process.exit(1);
    },
  );
}

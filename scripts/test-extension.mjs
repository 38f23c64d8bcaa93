// Runs the extension-host test suite (test/extension, mocha) inside the real VS Code extension host: the VS Code 1.100.3
// server from npm code-server on this Node.js, its web workbench in a headless Chromium (Debian's, driven by
// playwright-core), opened with extensionDevelopmentPath = this repository and extensionTestsPath = the bundled suite.
// The suite's log is relayed to stdout and this exits with the suite's exit code.
//
// Expects the extension built (dist/, `npm run build`); bundles the suite itself (scripts/build-extension-tests.mjs);
// installs what it needs on a fresh machine (npm packages, Debian packages as root, code-server in .cache/code-server).
//
// Options: --grep <pattern> (only tests whose title matches), --folder <dir> (the workspace; default samples/),
//          --timeout <seconds> (the whole run; default 300), --verbose (the server's and the page's own output too),
//          --keep (keep the temporary folder with the server's and the browser's state).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { format, parseArgs } from 'node:util';
import { clearTimeout, setTimeout } from 'node:timers';
import { ensureNpmPackages, log, root } from './lib/setup.mjs';

const { values: options } = parseArgs({
  options: {
    grep: { type: 'string' },
    folder: { type: 'string', default: join(root, 'samples') },
    timeout: { type: 'string', default: process.env.SOCKSHARE_EXTENSION_TEST_TIMEOUT ?? '300' },
    verbose: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const timeoutMs = Number(options.timeout) * 1000;
const screenshots = join(root, 'test-output', 'screenshots');
const logsDir = join(root, 'test-output', 'extension-host-logs');
const seconds = (from) => `${((Date.now() - from) / 1000).toFixed(1)} s`;

/** One codeAutomationLog call as console.log prints it (mocha's reporter passes printf-style '%s'/'%d' arguments). */
function formatArgs(args) {
  const list = Array.isArray(args) ? args : [args];
  return format(...list);
}

async function main() {
  const started = Date.now();
  ensureNpmPackages();
  const { ensureCodeServer, startVsCodeServer, chromiumPath, CHROMIUM_ARGS, isolatedEnv, workbenchUrl } = await import('./lib/code-server.mjs');
  let step = Date.now();
  ensureCodeServer();
  const installTime = seconds(step);

  const { buildExtensionTests } = await import('./build-extension-tests.mjs');
  const suite = await buildExtensionTests();
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (manifest.main && !existsSync(join(root, manifest.main))) {
    log(`warning: ${manifest.main} is not built (npm run build): the extension is listed but cannot activate`);
  }

  rmSync(logsDir, { recursive: true, force: true });
  const temp = mkdtempSync(join(tmpdir(), 'sockshare-vscode-'));
  let server;
  let browser;
  let page;
  let exitCode = 1;
  try {
    step = Date.now();
    server = await startVsCodeServer({
      folder: options.folder,
      userDataDir: join(temp, 'user-data'),
      extensionsDir: join(temp, 'extensions'),
      serverDataDir: join(temp, 'server-data'),
      stateDir: join(temp, 'server-env'),
      echo: options.verbose,
      // Read by test/extension/index.ts inside the extension host.
      env: options.grep ? { SOCKSHARE_EXTENSION_TEST_GREP: options.grep } : {},
    });
    const serverTime = seconds(step);
    log(`VS Code server listening at ${server.url} (started in ${serverTime})`);

    step = Date.now();
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_ARGS,
      env: isolatedEnv(join(temp, 'browser-env')),
      timeout: 60_000,
    });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    page = await context.newPage();
    let finish;
    const finished = new Promise((resolveFinish) => {
      finish = resolveFinish;
    });
    await page.exposeFunction('codeAutomationLog', (_type, args) => {
      process.stdout.write(`${formatArgs(args)}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code, logs) => finish({ kind: 'exit', code, logs }));
    page.on('pageerror', (error) => {
      if (options.verbose) process.stderr.write(`[page error] ${error.message}\n`);
    });
    if (options.verbose) page.on('console', (message) => process.stderr.write(`[page ${message.type()}] ${message.text()}\n`));
    page.on('crash', () => finish({ kind: 'crash' }));
    browser.on('disconnected', () => finish({ kind: 'browser-gone' }));
    server.process.once('exit', (code, signal) => finish({ kind: 'server-gone', code: code ?? signal }));
    const timer = setTimeout(() => finish({ kind: 'timeout' }), Math.max(1000, timeoutMs - (Date.now() - started)));

    const url = workbenchUrl(server, {
      folder: options.folder,
      extensionDevelopmentPath: root,
      extensionTestsPath: suite.index,
    });
    log(`running the extension-host suite (${suite.tests.join(', ')}${options.grep ? `, grep ${JSON.stringify(options.grep)}` : ''})`);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    const result = await finished;
    clearTimeout(timer);
    const suiteTime = seconds(step);

    if (result.kind === 'exit') {
      exitCode = typeof result.code === 'number' ? result.code : 1;
      if (exitCode !== 0 && Array.isArray(result.logs) && result.logs.length > 0) {
        mkdirSync(logsDir, { recursive: true });
        for (const file of result.logs) {
          const target = join(logsDir, String(file.relativePath).replace(/\.\.+/g, '_'));
          mkdirSync(resolve(target, '..'), { recursive: true });
          writeFileSync(target, file.contents ?? '');
        }
        log(`the workbench's logs: ${relative(root, logsDir)}/`);
      }
    } else {
      exitCode = 1;
      const shot = await saveScreenshot(page, result.kind === 'timeout' ? 'extension-host-timeout.png' : 'extension-host-failure.png');
      const why = {
        timeout: `the extension-host suite did not finish within ${timeoutMs / 1000} s (--timeout, or SOCKSHARE_EXTENSION_TEST_TIMEOUT, in seconds)`,
        crash: 'the browser page crashed',
        'browser-gone': 'the browser exited',
        'server-gone': `the VS Code server exited (${result.code}) during the run`,
      }[result.kind];
      log(`FAILED: ${why}${shot ? `; screenshot: ${relative(root, shot)}` : ''}`);
      if (result.kind !== 'timeout' || options.verbose) process.stderr.write(`the server's last output:\n${server.output().slice(-3000)}\n`);
    }
    log(
      `extension-host suite exit code ${exitCode}; times: install check ${installTime}, server start ${serverTime}, ` +
        `browser + suite ${suiteTime}, total ${seconds(started)}`,
    );
  } finally {
    await browser?.close().catch(() => {});
    await server?.stop().catch(() => {});
    if (options.keep) log(`kept ${temp}`);
    else rmSync(temp, { recursive: true, force: true });
  }
  return exitCode;
}

async function saveScreenshot(page, name) {
  if (!page) return undefined;
  try {
    mkdirSync(screenshots, { recursive: true });
    const path = join(screenshots, name);
    await page.screenshot({ path, timeout: 15_000 });
    return path;
  } catch {
    return undefined;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);

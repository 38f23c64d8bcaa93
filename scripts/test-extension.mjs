// Runs the extension-host test suite (test/extension, mocha) inside the real VS Code extension host: the VS Code 1.100.3
// server from npm code-server on this Node.js, its web workbench in a headless Chromium (Debian's, driven by
// playwright-core). Two passes:
//   development: extensionDevelopmentPath = this repository, every suite (the "[installed .vsix]" one skips itself);
//   installed:   the .vsix (scripts/package.mjs) installed into the server's extensions folder, an empty extension as
//                the development path (the workbench runs tests only in an Extension Development Host), only the "[installed .vsix]" suite: a live session under Wine with nothing but the
//                `sockshare.wine.node` setting (SOCKSHARE_WINE_NODE and SOCKSHARE_WINEPREFIX are removed from the
//                server's environment; the suite gets the node.exe as SOCKSHARE_EXTENSION_TEST_WINE_NODE, and the
//                default prefix ~/.cache/sockshare/wine-prefix of the server's HOME is a link to the prepared one).
// The suite's log is relayed to stdout and this exits with 0 when every pass passed.
//
// Expects the extension built (dist/, `npm run build`); bundles the suite itself (scripts/build-extension-tests.mjs);
// installs what it needs on a fresh machine (npm packages, Debian packages as root, code-server in .cache/code-server;
// for the installed pass the Windows runtime, the samples and the Wine prefix).
//
// Options: --pass development|installed|both (default both), --grep <pattern> (only tests whose title matches; the
//          installed pass runs only when the pattern matches its suite or --pass installed is given),
//          --folder <dir> (the development pass's workspace; default samples/), --timeout <seconds> (each pass;
//          default 300), --verbose (the server's and the page's own output too), --keep (keep the temporary folders).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { format, parseArgs } from 'node:util';
import { clearTimeout, setTimeout } from 'node:timers';
import { ensureNpmPackages, log, packageVersion, root, run } from './lib/setup.mjs';

const { values: options } = parseArgs({
  options: {
    pass: { type: 'string', default: 'both' },
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
/** The installed pass's suite title (test/extension/live.test.ts). */
const INSTALLED_SUITE = '[installed .vsix] live tracing';
const INSTALLED_GREP = '\\[installed \\.vsix\\]';

/** One codeAutomationLog call as console.log prints it (mocha's reporter passes printf-style '%s'/'%d' arguments). */
function formatArgs(args) {
  const list = Array.isArray(args) ? args : [args];
  return format(...list);
}

/**
 * One run of the suite in a fresh server and browser. `developmentPath`: the extension under development (none: only
 * installed extensions); `beforeStart(folders)` prepares the temporary folder and may return { env, folder,
 * developmentPath }: extra server environment, the workspace folder to open instead of `folder`, the development path.
 */
async function runPass({ name, suite, folder, developmentPath, grep, beforeStart }) {
  const started = Date.now();
  const { startVsCodeServer, chromiumPath, CHROMIUM_ARGS, isolatedEnv, workbenchUrl } = await import('./lib/code-server.mjs');
  const temp = mkdtempSync(join(tmpdir(), 'sockshare-vscode-'));
  const extensionsDir = join(temp, 'extensions');
  const stateDir = join(temp, 'server-env');
  let step;
  let server;
  let browser;
  let page;
  let exitCode = 1;
  try {
    const prepared = (await beforeStart?.({ temp, extensionsDir, userDataDir: join(temp, 'user-data'), home: join(stateDir, 'home') })) ?? {};
    const workspace = prepared.folder ?? folder;
    const development = prepared.developmentPath ?? developmentPath;
    step = Date.now();
    server = await startVsCodeServer({
      folder: workspace,
      userDataDir: join(temp, 'user-data'),
      extensionsDir,
      serverDataDir: join(temp, 'server-data'),
      stateDir,
      echo: options.verbose,
      // Read by test/extension/index.ts inside the extension host.
      env: { ...(grep ? { SOCKSHARE_EXTENSION_TEST_GREP: grep } : {}), ...(prepared.env ?? {}) },
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
      folder: workspace,
      ...(development ? { extensionDevelopmentPath: development } : {}),
      extensionTestsPath: suite.index,
    });
    log(`${name} pass: running the extension-host suite (${suite.tests.join(', ')}${grep ? `, grep ${JSON.stringify(grep)}` : ''})`);
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    const result = await finished;
    clearTimeout(timer);
    const suiteTime = seconds(step);

    if (result.kind === 'exit') {
      exitCode = typeof result.code === 'number' ? result.code : 1;
      if (exitCode !== 0 && Array.isArray(result.logs) && result.logs.length > 0) {
        const passLogs = join(logsDir, name);
        mkdirSync(passLogs, { recursive: true });
        for (const file of result.logs) {
          const target = join(passLogs, String(file.relativePath).replace(/\.\.+/g, '_'));
          mkdirSync(resolve(target, '..'), { recursive: true });
          writeFileSync(target, file.contents ?? '');
        }
        log(`the workbench's logs: ${relative(root, logsDir)}/`);
      }
    } else {
      exitCode = 1;
      const shot = await saveScreenshot(page, `extension-host-${name}-${result.kind === 'timeout' ? 'timeout' : 'failure'}.png`);
      const why = {
        timeout: `the extension-host suite did not finish within ${timeoutMs / 1000} s (--timeout, or SOCKSHARE_EXTENSION_TEST_TIMEOUT, in seconds)`,
        crash: 'the browser page crashed',
        'browser-gone': 'the browser exited',
        'server-gone': `the VS Code server exited (${result.code}) during the run`,
      }[result.kind];
      log(`FAILED: ${why}${shot ? `; screenshot: ${relative(root, shot)}` : ''}`);
      if (result.kind !== 'timeout' || options.verbose) process.stderr.write(`the server's last output:\n${server.output().slice(-3000)}\n`);
    }
    log(`${name} pass: extension-host suite exit code ${exitCode}; times: server start ${serverTime}, browser + suite ${suiteTime}, total ${seconds(started)}`);
  } finally {
    await browser?.close().catch(() => {});
    await server?.stop().catch(() => {});
    if (options.keep) log(`kept ${temp}`);
    else rmSync(temp, { recursive: true, force: true });
  }
  return exitCode;
}

/** The installed pass's preparation: the .vsix, the Windows node.exe, the Wine prefix, the sample in a workspace. */
async function prepareInstalledPass() {
  run(process.execPath, [join(root, 'scripts', 'package.mjs')]);
  const vsix = join(root, `sockshare-${packageVersion()}.vsix`);
  let node = process.execPath;
  let prefix;
  if (process.platform !== 'win32') {
    const { ensureWindowsRuntime } = await import('./lib/win-runtime.mjs');
    node = process.env.SOCKSHARE_WINE_NODE || ensureWindowsRuntime();
    const { winePrefix } = await import('./lib/wine.mjs');
    prefix = process.env.SOCKSHARE_WINEPREFIX || winePrefix();
  }
  run(process.execPath, [join(root, 'scripts', 'build-samples.mjs')]);
  const { SERVER_MAIN } = await import('./lib/code-server.mjs');
  return async ({ temp, extensionsDir, userDataDir, home }) => {
    const installed = spawnSync(process.execPath, [SERVER_MAIN, '--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir], { encoding: 'utf8' });
    if (installed.status !== 0 || !/successfully installed/.test(installed.stdout)) throw new Error(`installing ${relative(root, vsix)} failed: ${installed.stdout}${installed.stderr}`);
    log(`installed ${relative(root, vsix)} into ${extensionsDir}`);
    // A workspace of its own: the recordings folder's default (.sockshare/recordings) lands there, not in samples/.
    const workspace = join(temp, 'workspace');
    mkdirSync(workspace, { recursive: true });
    copyFileSync(join(root, 'samples', 'handoff', 'handoff.exe'), join(workspace, 'handoff.exe'));
    if (prefix) {
      // The extension's default prefix under the server's HOME is the prepared one (creating a prefix takes ~10 s).
      mkdirSync(join(home, '.cache', 'sockshare'), { recursive: true });
      symlinkSync(resolve(prefix), join(home, '.cache', 'sockshare', 'wine-prefix'));
    }
    // The workbench runs extension tests only in an Extension Development Host: an empty extension stands in, and
    // sockshare itself is the installed copy.
    const host = join(temp, 'test-host');
    mkdirSync(host, { recursive: true });
    const hostManifest = { name: 'sockshare-installed-test-host', publisher: 'sockshare-tests', version: '0.0.0', engines: { vscode: '^1.100.0' } };
    writeFileSync(join(host, 'package.json'), `${JSON.stringify(hostManifest, null, 2)}\n`);
    return {
      folder: workspace,
      developmentPath: host,
      env: {
        SOCKSHARE_EXTENSION_TEST_INSTALLED: '1',
        SOCKSHARE_EXTENSION_TEST_WINE_NODE: node,
        SOCKSHARE_EXTENSION_TEST_EXTENSIONS_DIR: extensionsDir,
        // Undefined drops them from the server's (and so the extension host's) environment: only the setting counts.
        SOCKSHARE_WINE_NODE: undefined,
        SOCKSHARE_WINEPREFIX: undefined,
        SOCKSHARE_WINE: undefined,
      },
    };
  };
}

function grepMatches(pattern, title) {
  try {
    return new RegExp(pattern).test(title);
  } catch {
    return title.includes(pattern);
  }
}

async function main() {
  const started = Date.now();
  if (!['development', 'installed', 'both'].includes(options.pass)) throw new Error(`--pass must be development, installed or both, not ${options.pass}`);
  ensureNpmPackages();
  const { ensureCodeServer } = await import('./lib/code-server.mjs');
  ensureCodeServer();
  const { buildExtensionTests } = await import('./build-extension-tests.mjs');
  const suite = await buildExtensionTests();
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (manifest.main && !existsSync(join(root, manifest.main))) {
    log(`warning: ${manifest.main} is not built (npm run build): the extension is listed but cannot activate`);
  }
  rmSync(logsDir, { recursive: true, force: true });
  const codes = [];
  if (options.pass !== 'installed') {
    codes.push(await runPass({ name: 'development', suite, folder: options.folder, developmentPath: root, grep: options.grep }));
  }
  const installedWanted = options.pass === 'installed' || (options.pass === 'both' && (!options.grep || grepMatches(options.grep, INSTALLED_SUITE)));
  if (installedWanted) {
    const beforeStart = await prepareInstalledPass();
    codes.push(await runPass({ name: 'installed', suite, folder: options.folder, grep: options.grep ?? INSTALLED_GREP, beforeStart }));
  }
  const failed = codes.filter((code) => code !== 0).length;
  log(`extension-host: ${codes.length - failed} of ${codes.length} pass(es) passed in ${seconds(started)}`);
  return failed === 0 ? 0 : 1;
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

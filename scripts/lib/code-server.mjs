// The real VS Code server and web workbench for tests, offline: VS Code 1.100.3's server as shipped inside the npm
// package code-server@4.100.3 (the newest whose package accepts Node 20), run on this Node.js, and a headless Chromium
// from Debian's packages to open its workbench. Node builtins only: it runs before anything is installed.
//
// ensureCodeServer() installs code-server into .cache/code-server (its own npm prefix, idempotent, with a lock and a
// marker); startVsCodeServer() starts `lib/vscode/out/server-main.js` on a port with its own data folders;
// chromiumPath() is the browser for playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { URL, URLSearchParams } from 'node:url';
import { ensureDebianPackages, log, root, withDirectoryLock } from './setup.mjs';

export const CODE_SERVER_VERSION = '4.100.3';
/** The @vscode/ripgrep that code-server 4.100.3's lib/vscode/npm-shrinkwrap.json pins, and the ripgrep release it downloads. */
const VSCODE_RIPGREP_VERSION = '1.15.11';
const RIPGREP_ASSET = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';
/** Debian packages: kerberos (native module) needs libkrb5-dev + pkg-config; ripgrep stands in for the download; the browser. */
export const DEBIAN_PACKAGES = ['libkrb5-dev', 'pkg-config', 'ripgrep', 'chromium'];

/** Where code-server is installed. SOCKSHARE_CODE_SERVER_CACHE lets several clones share one install. */
export const CODE_SERVER_PREFIX = resolve(process.env.SOCKSHARE_CODE_SERVER_CACHE || join(root, '.cache', 'code-server'));
const PACKAGE_DIR = join(CODE_SERVER_PREFIX, 'node_modules', 'code-server');
/** The VS Code server's entry point inside code-server. */
export const SERVER_MAIN = join(PACKAGE_DIR, 'lib', 'vscode', 'out', 'server-main.js');
const MARKER = join(CODE_SERVER_PREFIX, '.sockshare-ready');
const LOCK = `${CODE_SERVER_PREFIX}.lock`;
const INSTALL_LOG = join(CODE_SERVER_PREFIX, 'install.log');

/** What the install was made for: a different Node.js ABI needs the native modules rebuilt. */
function markerContent() {
  return { codeServer: CODE_SERVER_VERSION, nodeAbi: process.versions.modules, platform: `${process.platform}-${process.arch}` };
}

function installed() {
  if (!existsSync(MARKER) || !existsSync(SERVER_MAIN)) return false;
  try {
    const marker = JSON.parse(readFileSync(MARKER, 'utf8'));
    const want = markerContent();
    return Object.keys(want).every((key) => marker[key] === want[key]);
  } catch {
    return false;
  }
}


function withInstallLock(action) {
  return withDirectoryLock(LOCK, { staleMs: 15 * 60_000, what: 'installing code-server' }, action);
}

function which(command) {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/**
 * @vscode/ripgrep downloads ripgrep from the internet in its postinstall, which fails here; it first looks in
 * $TMPDIR/vscode-ripgrep-cache-<version>/<asset>, so Debian's rg packed under that name is used instead.
 */
function prepareRipgrepCache(tmp) {
  const rg = which('rg') ?? '/usr/bin/rg';
  if (!existsSync(rg)) throw new Error(`ripgrep (rg) is missing: apt-get install -y ripgrep`);
  const cacheDir = join(tmp, `vscode-ripgrep-cache-${VSCODE_RIPGREP_VERSION}`);
  const stage = join(tmp, 'rg-stage');
  mkdirSync(cacheDir, { recursive: true });
  mkdirSync(stage, { recursive: true });
  copyFileSync(rg, join(stage, 'rg'));
  chmodSync(join(stage, 'rg'), 0o755);
  const packed = spawnSync('tar', ['-czf', join(cacheDir, RIPGREP_ASSET), '-C', stage, 'rg'], { encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(`packing ${rg} for @vscode/ripgrep failed: ${packed.stderr}`);
}

/** The folder holding include/node/node.h for this Node.js, so native modules build without downloading headers. */
function nodeHeadersDir() {
  for (const candidate of [resolve(dirname(process.execPath), '..'), '/usr', '/usr/local']) {
    if (existsSync(join(candidate, 'include', 'node', 'node.h'))) return candidate;
  }
  return undefined;
}

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function install() {
  const started = Date.now();
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the code-server test harness supports linux-x64 only (this is ${process.platform}-${process.arch})`);
  }
  if (Number(process.versions.node.split('.')[0]) !== 20) {
    throw new Error(`code-server ${CODE_SERVER_VERSION} needs Node.js 20 (this is ${process.version})`);
  }
  ensureDebianPackages(DEBIAN_PACKAGES);
  log(`installing code-server ${CODE_SERVER_VERSION} into ${CODE_SERVER_PREFIX} (compiles native modules: about 1.5 minutes; log: ${INSTALL_LOG})`);
  // A half-made install from an interrupted run: start over.
  rmSync(CODE_SERVER_PREFIX, { recursive: true, force: true });
  mkdirSync(CODE_SERVER_PREFIX, { recursive: true });
  // Everything the install writes (npm's cache, node-gyp, the ripgrep stand-in, $HOME-relative caches) goes into this
  // scratch folder, removed afterwards; npm still reads the user's npm config (registry, CA file, nodedir).
  const scratch = join(CODE_SERVER_PREFIX, '.install-tmp');
  const home = join(scratch, 'home');
  const tmp = join(scratch, 'tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  prepareRipgrepCache(tmp);
  writeFileSync(join(CODE_SERVER_PREFIX, 'package.json'), `${JSON.stringify({ name: 'sockshare-code-server', private: true }, null, 2)}\n`);
  const userconfig = process.env.npm_config_userconfig || process.env.NPM_CONFIG_USERCONFIG || join(homedir(), '.npmrc');
  const headers = process.env.npm_config_nodedir || process.env.NPM_CONFIG_NODEDIR || nodeHeadersDir();
  const env = {
    ...process.env,
    HOME: home,
    TMPDIR: tmp,
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_CONFIG_HOME: join(home, '.config'),
    npm_config_userconfig: userconfig,
    npm_config_cache: join(scratch, 'npm-cache'),
    npm_config_devdir: join(scratch, 'node-gyp'),
    // node-pty's install runs `npx node-gyp`: with the machine's `yes=false` npx refuses to fetch it.
    npm_config_yes: 'true',
    // As root, code-server's postinstall refuses to run without it.
    npm_config_unsafe_perm: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...(headers ? { npm_config_nodedir: headers } : {}),
  };
  // Scripts run by an outer `npm run` see its npm_* variables (npm_config_prefix, npm_package_*...); drop them.
  for (const key of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_prefix$|config_global$|config_local_prefix$)/i.test(key)) delete env[key];
  }
  const out = openSync(INSTALL_LOG, 'w');
  let result;
  try {
    result = spawnSync(
      'npm',
      ['install', '--prefix', CODE_SERVER_PREFIX, '--unsafe-perm', '--no-save', '--no-package-lock', '--loglevel', 'warn', `code-server@${CODE_SERVER_VERSION}`],
      { cwd: CODE_SERVER_PREFIX, env, stdio: ['ignore', out, out], timeout: 20 * 60_000 },
    );
  } finally {
    closeSync(out);
  }
  const failed = result.error ? result.error.message : result.status !== 0 ? `exited with ${result.status ?? result.signal}` : undefined;
  if (failed || !existsSync(SERVER_MAIN)) {
    throw new Error(`npm install code-server@${CODE_SERVER_VERSION} ${failed ?? `left no ${SERVER_MAIN}`}; the end of ${INSTALL_LOG}:\n${tail(INSTALL_LOG, 40)}`);
  }
  rmSync(scratch, { recursive: true, force: true });
  writeFileSync(MARKER, `${JSON.stringify({ ...markerContent(), installed: new Date().toISOString(), seconds: (Date.now() - started) / 1000 })}\n`);
  log(`code-server ${CODE_SERVER_VERSION} installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Installs what the VS Code server and browser tests need, once: the Debian packages (as root) and code-server in
 * .cache/code-server. Returns the path of the VS Code server's server-main.js.
 */
export function ensureCodeServer() {
  if (installed()) {
    // The browser may have gone (a new machine with the cache folder kept): the Debian step is cheap when present.
    ensureDebianPackages(DEBIAN_PACKAGES);
    return SERVER_MAIN;
  }
  withInstallLock(() => {
    if (!installed()) install();
  });
  return SERVER_MAIN;
}

/** Debian's Chromium (SOCKSHARE_CHROMIUM overrides), for playwright-core's executablePath. */
export function chromiumPath() {
  const candidates = [process.env.SOCKSHARE_CHROMIUM, '/usr/bin/chromium', '/usr/lib/chromium/chromium'].filter(Boolean);
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`Chromium is missing (looked for ${candidates.join(', ')}): apt-get install -y chromium`);
  return found;
}

/** Chromium's flags for a headless, quiet, offline run (playwright-core adds its own on top). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=Translate,MediaRouter',
];

/**
 * An environment that keeps a program's state out of the home folder and /tmp: HOME, XDG_* and TMPDIR inside `dir`.
 * (Short paths matter: the server puts Unix sockets in its temp folder.)
 */
export function isolatedEnv(dir, extra = {}) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (/^(npm_|VSCODE_|ELECTRON_)/i.test(key)) delete env[key];
  const dirs = {
    HOME: join(dir, 'home'),
    TMPDIR: join(dir, 'tmp'),
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
    XDG_CACHE_HOME: join(dir, 'home', '.cache'),
    XDG_DATA_HOME: join(dir, 'home', '.local', 'share'),
    XDG_STATE_HOME: join(dir, 'home', '.local', 'state'),
  };
  for (const value of Object.values(dirs)) mkdirSync(value, { recursive: true });
  return { ...env, ...dirs, ...extra };
}

/**
 * Starts the VS Code server on 127.0.0.1 (port 0, the default, picks a free one) with the smoke-test driver on, so a
 * workbench opened with `?payload=[["extensionTestsPath",...]]` runs extension tests. Its state lives in the given
 * folders, and HOME, XDG_* and TMPDIR in `stateDir` (default: beside userDataDir). Resolves once it listens.
 * @returns {Promise<{url: string, port: number, process: import('node:child_process').ChildProcess, output: () => string, stop: () => Promise<void>}>}
 */
export async function startVsCodeServer({ port = 0, folder, userDataDir, extensionsDir, serverDataDir, stateDir, env = {}, args = [], timeoutMs = 60_000, echo = false } = {}) {
  if (!userDataDir || !extensionsDir) throw new Error('startVsCodeServer needs userDataDir and extensionsDir');
  const main = ensureCodeServer();
  const state = stateDir ?? join(dirname(resolve(userDataDir)), 'server-env');
  const serverData = serverDataDir ?? join(dirname(resolve(userDataDir)), 'server-data');
  for (const dir of [userDataDir, extensionsDir, serverData]) mkdirSync(dir, { recursive: true });
  const serverArgs = [
    main,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--enable-smoke-test-driver',
    '--disable-workspace-trust',
    '--telemetry-level', 'off',
    '--user-data-dir', resolve(userDataDir),
    '--server-data-dir', serverData,
    '--extensions-dir', resolve(extensionsDir),
    ...(folder ? ['--default-folder', resolve(folder)] : []),
    ...args,
  ];
  const child = spawn(process.execPath, serverArgs, { cwd: state, env: isolatedEnv(state, env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const onData = (chunk) => {
    const text = chunk.toString();
    output += text;
    if (output.length > 1_000_000) output = output.slice(-500_000);
    if (echo) process.stderr.write(text.replace(/^/gm, '[vscode-server] '));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = false;
  const exitPromise = new Promise((resolveExit) => child.once('exit', (code, signal) => {
    exited = true;
    resolveExit({ code, signal });
  }));
  const actualPort = await new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`the VS Code server did not listen within ${timeoutMs / 1000} s; its output:\n${output.slice(-4000)}`));
    }, timeoutMs);
    const check = () => {
      const match = /Extension host agent listening on (\d+)/.exec(output);
      if (match) {
        cleanup();
        resolvePort(Number(match[1]));
      }
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`the VS Code server exited (${code ?? signal}) before listening; its output:\n${output.slice(-4000)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout.on('data', check);
    child.once('exit', onExit);
    check();
  }).catch(async (error) => {
    killGroup(child, 'SIGKILL');
    throw error;
  });
  const url = `http://127.0.0.1:${actualPort}`;
  return {
    url,
    port: actualPort,
    process: child,
    output: () => output,
    async stop() {
      if (exited) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(timer);
      // The extension host and the other processes it started are in its process group.
      killGroup(child, 'SIGKILL');
    },
  };
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * The workbench URL for a folder, optionally running extension tests: `vscode-remote://127.0.0.1:PORT/abs/path` for
 * extensionDevelopmentPath and extensionTestsPath (the server's own file system).
 */
export function workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath } = {}) {
  const authority = new URL(server.url).host;
  const remote = (path) => `vscode-remote://${authority}${resolve(path)}`;
  const params = new URLSearchParams();
  if (folder) params.set('folder', resolve(folder));
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  if (payload.length > 0) params.set('payload', JSON.stringify(payload));
  return `${server.url}/?${params.toString()}`;
}

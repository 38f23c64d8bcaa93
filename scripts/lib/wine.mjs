// Runs Windows programs under Wine on Linux: installs wine64 + mingw when missing, keeps one prefix for the project
// under .cache/wine-prefix, and runs programs there with their stdio going through files. Node builtins only.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { ensureDebianPackages, log, root, withDirectoryLock } from './setup.mjs';

export const WINE64 = '/usr/lib/wine/wine64';
export const WINESERVER = '/usr/lib/wine/wineserver';
export const MINGW_GCC = 'x86_64-w64-mingw32-gcc';
export const WINE_PACKAGES = ['wine64', 'gcc-mingw-w64-x86-64'];
const APT_COMMAND = `apt-get update && apt-get install -y --no-install-recommends ${WINE_PACKAGES.join(' ')}`;

const PREFIX = join(root, '.cache', 'wine-prefix');
const MARKER = join(PREFIX, '.sockshare-ready');
const LOCK = `${PREFIX}.lock`;

/** The mingw compiler's path, or undefined when it is not installed. */
export function mingwGcc() {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, MINGW_GCC);
    if (dir && existsSync(candidate)) return candidate;
  }
  return existsSync(join('/usr/bin', MINGW_GCC)) ? join('/usr/bin', MINGW_GCC) : undefined;
}

function toolsPresent() {
  return existsSync(WINE64) && existsSync(WINESERVER) && mingwGcc() !== undefined;
}

/** Installs wine64 and the x86_64 mingw compiler when either is missing (as root); otherwise says which command to run. */
export function ensureWineTools() {
  if (toolsPresent()) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`Wine (${WINE64}) or the mingw compiler (${MINGW_GCC}) is missing; install them as root with: ${APT_COMMAND}`);
  }
  const started = Date.now();
  ensureDebianPackages(WINE_PACKAGES);
  if (!toolsPresent()) throw new Error(`after installing ${WINE_PACKAGES.join(' ')}, ${WINE64} or ${MINGW_GCC} is still missing; try: ${APT_COMMAND}`);
  log(`wine64 and mingw installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The environment for running programs in the project's prefix (headless, quiet). */
export function wineEnv(extra = {}) {
  return { ...process.env, WINEPREFIX: PREFIX, WINEDEBUG: '-all', DISPLAY: '', WAYLAND_DISPLAY: '', ...extra };
}


function withPrefixLock(action) {
  return withDirectoryLock(LOCK, { staleMs: 5 * 60_000, what: 'creating the Wine prefix' }, action);
}

function wineSync(args, env, what) {
  const result = spawnSync(WINE64, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 180_000 });
  if (result.error) throw new Error(`${what}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what} exited with ${result.status ?? result.signal}:\n${result.stdout}${result.stderr}`);
}

/** The project's Wine prefix (.cache/wine-prefix), created once (wineboot -i, then Windows 10 mode) and reused. */
export function winePrefix() {
  ensureWineTools();
  if (existsSync(MARKER)) return PREFIX;
  return withPrefixLock(() => {
    if (existsSync(MARKER)) return PREFIX;
    const started = Date.now();
    log(`creating the Wine prefix ${PREFIX}`);
    // A half-made prefix from an interrupted run: start over.
    if (existsSync(PREFIX)) {
      spawnSync(WINESERVER, ['-k'], { env: wineEnv(), stdio: 'ignore' });
      rmSync(PREFIX, { recursive: true, force: true });
    }
    mkdirSync(PREFIX, { recursive: true });
    // No Mono / Gecko installers: there is no display and no internet to fetch them.
    const env = wineEnv({ WINEDLLOVERRIDES: 'mscoree,mshtml=' });
    wineSync(['wineboot', '-i'], env, 'wine64 wineboot -i');
    // Without Windows 10 mode, Windows node.exe refuses to start (exit code 216).
    wineSync(['winecfg', '/v', 'win10'], env, 'wine64 winecfg /v win10');
    spawnSync(WINESERVER, ['-w'], { env, stdio: 'ignore', timeout: 60_000 });
    const version = spawnSync(WINE64, ['--version'], { env, encoding: 'utf8' }).stdout?.trim() ?? 'unknown';
    writeFileSync(MARKER, `${JSON.stringify({ wine: version, windows: 'win10', created: new Date().toISOString() })}\n`);
    log(`Wine prefix ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${version})`);
    return PREFIX;
  });
}

/**
 * Runs a Windows program under Wine in the project's prefix and resolves with its exit code and output.
 * stdout/stderr go to files, not pipes: Windows programs' stdio on Linux pipes can misbehave under Wine.
 * On timeout the whole process group (the program and the children it started) is killed and code is null.
 */
export function runUnderWine(exe, args = [], { timeoutMs = 60_000, cwd, env } = {}) {
  winePrefix();
  const dir = mkdtempSync(join(tmpdir(), 'sockshare-wine-'));
  const outPath = join(dir, 'stdout.txt');
  const errPath = join(dir, 'stderr.txt');
  // Append mode: the program and the children it spawns share these files.
  const out = openSync(outPath, 'a');
  const err = openSync(errPath, 'a');
  const started = Date.now();
  const running = new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(WINE64, [exe, ...args], { cwd: cwd ?? root, env: wineEnv(env), stdio: ['ignore', out, err], detached: true });
    } catch (error) {
      closeSync(out);
      closeSync(err);
      rmSync(dir, { recursive: true, force: true });
      reject(error);
      return;
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    let done = false;
    const finish = (code, signal, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      closeSync(out);
      closeSync(err);
      const result = {
        code: timedOut ? null : code,
        signal: signal ?? null,
        timedOut,
        ms: Date.now() - started,
        stdout: readFileSync(outPath, 'utf8'),
        stderr: readFileSync(errPath, 'utf8'),
      };
      rmSync(dir, { recursive: true, force: true });
      if (error) reject(Object.assign(error, result));
      else resolve(result);
    };
    child.once('error', (error) => finish(null, null, error));
    child.once('exit', (code, signal) => finish(code, signal));
  });
  // What the program has printed so far, while it runs (a test's diagnosis of a server that stopped answering).
  running.outputSoFar = () => {
    try {
      return readFileSync(outPath, 'utf8') + readFileSync(errPath, 'utf8');
    } catch {
      return '';
    }
  };
  return running;
}

/** Stops the prefix's wineserver and every program still running in it. */
export function stopWineServer() {
  if (!existsSync(WINESERVER) || !existsSync(PREFIX)) return;
  spawnSync(WINESERVER, ['-k'], { env: wineEnv(), stdio: 'ignore', timeout: 30_000 });
}

/** A Linux path as Wine's Z: drive names it, for arguments a Windows program opens itself (e.g. node.exe's script). */
export function winPath(linuxPath) {
  return `Z:${resolve(linuxPath).replace(/\//g, '\\')}`;
}

/** Where the prefix lives (it may not exist yet). */
export const WINE_PREFIX_PATH = PREFIX;

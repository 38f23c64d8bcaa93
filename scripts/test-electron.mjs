// The same extension-host suite on the VS Code desktop build, through @vscode/test-electron: for machines that can
// download VS Code (a developer's machine, a CI with internet). Here, with only the npm registry reachable, the
// download fails and `npm test` runs the suite in the VS Code server instead (scripts/test-extension.mjs).
import { join } from 'node:path';
import { ensureBuilt, ensureNpmPackages, log, root } from './lib/setup.mjs';

try {
  ensureNpmPackages();
  ensureBuilt();
  const { buildExtensionTests, outDir } = await import('./build-extension-tests.mjs');
  await buildExtensionTests();
  const { runTests } = await import('@vscode/test-electron');
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: join(outDir, 'index'),
    launchArgs: [join(root, 'samples'), '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (error) {
  log(`extension-host suite on VS Code desktop failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

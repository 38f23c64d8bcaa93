// Bundles the extension-host test suite for VS Code's extension host with esbuild: test/extension/index.ts and every
// test/extension/*.test.ts -> out/test/extension/*.js (CommonJS, Node). `vscode` comes from the extension host and
// `mocha` from the repository's node_modules at run time (index.js and the tests must share one mocha).
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'test', 'extension');
export const outDir = join(root, 'out', 'test', 'extension');

export async function buildExtensionTests() {
  if (!existsSync(join(sourceDir, 'index.ts'))) throw new Error(`missing ${relative(root, join(sourceDir, 'index.ts'))}`);
  const tests = readdirSync(sourceDir).filter((file) => file.endsWith('.test.ts')).sort();
  if (tests.length === 0) throw new Error(`no *.test.ts in ${relative(root, sourceDir)}`);
  // Bundles of deleted tests must not run: start from an empty folder.
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(sourceDir, 'index.ts'), ...tests.map((file) => join(sourceDir, file))],
    outdir: outDir,
    outbase: sourceDir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    external: ['vscode', 'mocha', 'koffi'],
    logLevel: 'warning',
    absWorkingDir: root,
  });
  if (result.errors.length > 0) throw new Error(`${result.errors.length} error(s)`);
  console.log(`built the extension-host suite: index + ${tests.length} test file(s) -> ${relative(root, outDir)}`);
  return { outDir, index: join(outDir, 'index'), tests };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildExtensionTests().catch((error) => {
    console.error(`build-extension-tests failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}

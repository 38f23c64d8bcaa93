// Every test, from a fresh clone: installs what it needs, then type-checks, lints, builds and runs the suites.
import { ensureBuilt, ensureNpmPackages, log, root, run } from './lib/setup.mjs';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const suite = (dir) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f));

const npx = (tool, args) => run(process.execPath, [join(root, 'node_modules', '.bin', tool), ...args]);

try {
  ensureNpmPackages();
  log('type-check');
  npx('tsc', ['-p', '.', '--noEmit']);
  log('lint');
  npx('eslint', ['.']);
  log('build');
  ensureBuilt();
  log('unit tests');
  run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...suite('test/unit')]);
  log('all tests passed');
} catch (error) {
  log(String(error instanceof Error ? error.message : error));
  process.exit(1);
}

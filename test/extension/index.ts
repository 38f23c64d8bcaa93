// The extension-host test suite's entry point: VS Code loads this bundle (out/test/extension/index.js) inside the real
// extension host, with the extension under development loaded, and calls run(). Every bundled *.test.js beside it is
// run with mocha's TDD interface (suite/test/suiteSetup/teardown: globals, or imported from 'mocha'). Run by
// scripts/test-extension.mjs.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'tdd',
    reporter: 'spec',
    color: false,
    // Debug sessions under Wine take seconds; a single test may take up to a minute.
    timeout: Number(process.env.SOCKSHARE_EXTENSION_TEST_TIMEOUT_MS ?? 60_000),
    ...(process.env.SOCKSHARE_EXTENSION_TEST_GREP ? { grep: process.env.SOCKSHARE_EXTENSION_TEST_GREP } : {}),
  });
  const files = readdirSync(__dirname)
    .filter((file) => file.endsWith('.test.js'))
    .sort();
  for (const file of files) mocha.addFile(join(__dirname, file));
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const stats = runner.stats;
        // The closing line the test harness and CI read: 'N passed, N failed'.
        console.log(`extension-host: ${stats?.passes ?? 0} passed, ${failures} failed${stats?.pending ? `, ${stats.pending} skipped` : ''}`);
        if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
        else if (files.length === 0 || (stats?.tests ?? 0) === 0) reject(new Error(`no extension-host test ran (files: ${files.join(', ') || 'none'})`));
        else resolve();
      });
    } catch (error) {
      reject(error);
    }
  });
}

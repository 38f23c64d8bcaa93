// The workbench check (npm run test:workbench): the VS Code server and a real browser open samples/ with the
// extension loaded, and the explorer lists `handoff`. A screenshot goes to test-output/screenshots/workbench.png.
import { join, relative } from 'node:path';
import { log, root } from './lib/setup.mjs';
import { openWorkbench, screenshot, waitForExplorerItem } from './lib/workbench.mjs';

async function checkWorkbench({ verbose = false } = {}) {
  const started = Date.now();
  const workbench = await openWorkbench({ folder: join(root, 'samples'), verbose });
  try {
    const opened = Date.now();
    await waitForExplorerItem(workbench.page, 'handoff', { timeout: 60_000 });
    const shot = await screenshot(workbench.page, 'workbench.png');
    log(`workbench check passed: the explorer shows handoff (workbench open in ${((opened - started) / 1000).toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s); screenshot ${relative(root, shot)}`);
  } catch (error) {
    await screenshot(workbench.page, 'workbench-failure.png').catch(() => {});
    throw error;
  } finally {
    await workbench.close();
  }
}

checkWorkbench({ verbose: process.argv.includes('--verbose') }).then(
  () => {
    console.log('workbench: 1 passed, 0 failed');
    process.exit(0);
  },
  (error) => {
    log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    console.log('workbench: 0 passed, 1 failed');
    process.exit(1);
  },
);

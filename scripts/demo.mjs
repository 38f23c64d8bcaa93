// The main job on a bundled default: builds the `handoff` sample (the ten-step handoff of the Winsock docs), records
// it under the tracer (inside Wine on Linux), prints each hooked call and the findings, then the summary, and writes
// the HTML, Markdown and Perfetto exports to test-output/demo/. Installs what it needs first.
// Where live capture cannot run (no root to install Wine), it checks and exports the bundled recording instead.
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureBuilt, ensureNpmPackages, log, root, run } from './lib/setup.mjs';

const out = join(root, 'test-output', 'demo');
const cli = (args, options = {}) => run(process.execPath, [join(root, 'dist', 'cli.js'), ...args], options);

/** The environment for a live capture, or undefined (with the reason logged) when it cannot run here. */
async function liveEnvironment() {
  if (process.platform === 'win32') return { ...process.env };
  try {
    const { ensureWineTools, winePrefix } = await import('./lib/wine.mjs');
    const { ensureWindowsRuntime } = await import('./lib/win-runtime.mjs');
    ensureWineTools();
    const node = ensureWindowsRuntime();
    return { ...process.env, SOCKSHARE_WINEPREFIX: winePrefix(), SOCKSHARE_WINE_NODE: node };
  } catch (error) {
    log(`live capture is not possible here: ${error instanceof Error ? error.message : error}`);
    return undefined;
  }
}

async function main() {
  ensureNpmPackages();
  ensureBuilt();
  mkdirSync(out, { recursive: true });
  const env = await liveEnvironment();
  let trace = join(root, 'samples', 'traces', 'handoff.sockshare.jsonl');
  if (env) {
    run(process.execPath, [join(root, 'scripts', 'build-samples.mjs'), 'handoff']);
    trace = join(out, 'handoff.sockshare.jsonl');
    log(`recording samples/handoff/handoff.exe under the tracer -> ${relative(root, trace)}`);
    // record exits 1 when the trace has error findings: the handoff sample has none.
    cli(['record', '--out', trace, '--', join(root, 'samples', 'handoff', 'handoff.exe')], { env });
  } else {
    log(`checking the bundled recording ${relative(root, trace)}`);
    cli(['check', trace]);
  }
  log('summary');
  cli(['summary', trace]);
  for (const [format, file] of [['html', 'handoff.html'], ['markdown', 'handoff.md'], ['perfetto', 'handoff.perfetto.json']]) {
    cli(['export', trace, '--format', format, '-o', join(out, file)]);
  }
  log(`done: open ${relative(root, join(out, 'handoff.html'))}, or load ${relative(root, join(out, 'handoff.perfetto.json'))} in ui.perfetto.dev`);
}

main().catch((error) => {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

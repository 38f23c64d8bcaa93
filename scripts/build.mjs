// Bundles every entry point that exists into dist/ with esbuild: the CLI always; the extension, the debug adapter
// and the language server once their sources are there. Exits non-zero on the first error.
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** `optional` entries are skipped while their source file does not exist yet. */
const ENTRIES = [
  { source: 'tracer/cli.ts', output: 'cli.js', optional: false, executable: true },
  // The tracer agent: runs on Windows Node.js (natively, or Windows node.exe under Wine).
  { source: 'tracer/win32/agent.ts', output: 'agent.js', optional: false },
  // Lists the Windows processes an attach can name (run where the agent runs, for the same reason).
  { source: 'tracer/win32/process-list.ts', output: 'process-list.js', optional: false },
  { source: 'extension/extension.ts', output: 'extension.js', optional: true },
  // Loaded by the extension when first needed (activation stays cheap).
  { source: 'extension/commands.ts', output: 'commands.js', optional: true },
  { source: 'extension/language-client.ts', output: 'language-client.js', optional: true },
  { source: 'adapter/session.ts', output: 'session.js', optional: true },
  { source: 'adapter/main.ts', output: 'adapter.js', optional: true },
  { source: 'extension/server.ts', output: 'server.js', optional: true },
];

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  // vscode is provided by the editor; koffi carries a native module and is loaded from node_modules.
  external: ['vscode', 'koffi'],
  logLevel: 'warning',
  absWorkingDir: root,
};

async function main() {
  mkdirSync(dist, { recursive: true });
  let built = 0;
  for (const entry of ENTRIES) {
    const source = join(root, entry.source);
    if (!existsSync(source)) {
      if (!entry.optional) throw new Error(`missing entry point ${entry.source}`);
      console.log(`skip  ${entry.source} (not there yet)`);
      continue;
    }
    const outfile = join(dist, entry.output);
    const result = await build({
      ...common,
      entryPoints: [source],
      outfile,
      ...(entry.executable ? { banner: { js: '#!/usr/bin/env node' } } : {}),
      metafile: true,
    });
    if (result.errors.length > 0) throw new Error(`${entry.source}: ${result.errors.length} error(s)`);
    if (entry.executable) chmodSync(outfile, 0o755);
    const bytes = result.metafile.outputs[relative(root, outfile).split('\\').join('/')]?.bytes ?? 0;
    console.log(`built ${entry.source} -> ${relative(root, outfile)} (${(bytes / 1024).toFixed(1)} KiB)`);
    built++;
  }
  console.log(`build: ${built} bundle(s) in ${relative(process.cwd(), dist) || '.'}`);
}

main().catch((error) => {
  console.error(`build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

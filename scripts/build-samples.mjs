// Builds the C samples: samples/<name>/*.c + samples/common/*.c -> samples/<name>/<name>.exe with mingw-w64.
// Installs wine64 + mingw first when missing (as root). Skips a sample whose .exe is newer than its sources.
// Usage: node scripts/build-samples.mjs [name...]   (default: every sample folder with C sources)
// Node builtins only: it runs on a fresh clone before npm packages exist.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { root } from './lib/setup.mjs';
import { ensureWineTools, mingwGcc } from './lib/wine.mjs';

export const SAMPLES_DIR = join(root, 'samples');
const COMMON_DIR = join(SAMPLES_DIR, 'common');
// DWARF 4: Wine's dbghelp reads DWARF 2-4 only, and the agent symbolizes stack frames with it (gcc 11+ defaults to 5).
const FLAGS = ['-g', '-gdwarf-4', '-O0', '-Wall', '-static-libgcc'];
const LIBS = ['-lws2_32'];

const filesIn = (dir, pattern) => (existsSync(dir) ? readdirSync(dir).filter((f) => pattern.test(f)).sort().map((f) => join(dir, f)) : []);

/** Every sample folder with C sources: { name, dir, exe, sources, inputs }. */
export function cSamples() {
  const common = filesIn(COMMON_DIR, /\.c$/);
  const commonInputs = [...common, ...filesIn(COMMON_DIR, /\.h$/)];
  return readdirSync(SAMPLES_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'common')
    .map((e) => {
      const dir = join(SAMPLES_DIR, e.name);
      const own = filesIn(dir, /\.c$/);
      return { name: e.name, dir, exe: join(dir, `${e.name}.exe`), sources: [...own, ...common], inputs: [...own, ...filesIn(dir, /\.h$/), ...commonInputs, fileURLToPath(import.meta.url)], own };
    })
    .filter((s) => s.own.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
}

function upToDate(sample) {
  if (!existsSync(sample.exe)) return false;
  const built = statSync(sample.exe).mtimeMs;
  return sample.inputs.every((f) => statSync(f).mtimeMs < built);
}

function compile(gcc, sample) {
  const args = [...FLAGS, '-o', sample.exe, ...sample.sources, ...LIBS];
  return new Promise((resolve) => {
    const child = spawn(gcc, args, { cwd: sample.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (error) => resolve({ ok: false, output: `${gcc}: ${error.message}` }));
    child.on('close', (code) => resolve({ ok: code === 0, output, command: `${gcc} ${args.map((a) => (isAbsolute(a) ? relative(sample.dir, a) : a)).join(' ')}` }));
  });
}

/**
 * Builds the samples (all, or those named). Resolves with one result per sample: { name, exe, status: 'built' | 'up to date' | 'failed', output, ms }.
 * `print` gets one line per sample.
 */
export async function buildSamples(names = [], print = (line) => process.stdout.write(`${line}\n`)) {
  ensureWineTools();
  const gcc = mingwGcc();
  const all = cSamples();
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length) throw new Error(`no C sample named ${unknown.join(', ')} under ${relative(root, SAMPLES_DIR)}/`);
  const chosen = names.length ? all.filter((s) => names.includes(s.name)) : all;
  const results = new Array(chosen.length);
  let next = 0;
  const worker = async () => {
    while (next < chosen.length) {
      const i = next++;
      const sample = chosen[i];
      const started = Date.now();
      if (upToDate(sample)) {
        results[i] = { name: sample.name, exe: sample.exe, status: 'up to date', output: '', ms: 0 };
        continue;
      }
      const { ok, output, command } = await compile(gcc, sample);
      if (!ok) rmSync(sample.exe, { force: true });
      results[i] = { name: sample.name, exe: sample.exe, status: ok ? 'built' : 'failed', output: ok ? output : `${command}\n${output}`, ms: Date.now() - started };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(availableParallelism(), chosen.length)) }, worker));
  for (const r of results) {
    const where = relative(root, r.exe);
    if (r.status === 'built') print(`built      ${r.name.padEnd(24)} ${where} (${(r.ms / 1000).toFixed(1)} s)${r.output.trim() ? ' with warnings' : ''}`);
    else if (r.status === 'up to date') print(`up to date ${r.name.padEnd(24)} ${where}`);
    else print(`FAILED     ${r.name.padEnd(24)} ${where}`);
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // No top-level await: this module is also imported from CommonJS (the benchmark, the tests).
  buildSamples(process.argv.slice(2))
    .then((results) => {
      for (const r of results) if (r.output.trim()) process.stderr.write(`--- ${r.name}:\n${r.output.trim()}\n`);
      if (results.some((r) => r.status === 'failed')) process.exit(1);
    })
    .catch((error) => {
      process.stderr.write(`[sockshare] build-samples: ${error instanceof Error ? error.message : error}\n`);
      process.exit(1);
    });
}

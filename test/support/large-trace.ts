/**
 * The benchmark's 1,000,000-event trace (scripts/bench/generate.ts) for the tests that run on a large recording:
 * generated once into the checkout's .cache/bench/ and reused (by `npm run bench` too) while the generator is unchanged.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const LARGE_TRACE_EVENTS = 1_000_000;
/** The monitor process the generator starts first; its only WSACleanup is among the trace's last events. */
export const MONITOR_PID = 900;

const ROOT = join(import.meta.dirname, '..', '..');

/** The path of the large trace, generating it first if there is no current copy. */
export function largeTrace(): string {
  const dir = join(ROOT, '.cache', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `trace-${LARGE_TRACE_EVENTS}.jsonl`);
  const generated = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'bench', 'generate.ts'), file, String(LARGE_TRACE_EVENTS)], { cwd: ROOT, encoding: 'utf8' });
  if (generated.status !== 0) throw new Error(`generating ${file} failed: ${generated.stderr}`);
  return file;
}

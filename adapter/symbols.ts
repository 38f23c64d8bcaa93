/**
 * Caller frames as source lines: a module+offset from the trace, mapped through the executable's DWARF line table
 * (mingw's -g) with addr2line. Only where the executable is on this machine (adapter/local-files finds it) and addr2line
 * is installed.
 */

import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { IMAGE_HEADER_PROBE_BYTES, classifyImage } from '../tracer/win32/pe';

export interface SourceLine {
  file: string;
  line: number;
}

const ADDR2LINE = ['x86_64-w64-mingw32-addr2line', 'addr2line'];
const cache = new Map<string, SourceLine | null>();

/** The preferred load address the executable was linked for (ASLR may move it; offsets are relative to it). */
function imageBase(file: string): bigint | undefined {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(IMAGE_HEADER_PROBE_BYTES);
    const image = classifyImage(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
    return image.kind === 'pe' ? image.imageBase : undefined;
  } finally {
    closeSync(fd);
  }
}

/** The source line (as the DWARF names it) of the call instruction before a return address at `offset` in the local executable `file`. */
export function callerLine(file: string, offset: number): SourceLine | undefined {
  const key = `${file}:${offset}`;
  const known = cache.get(key);
  if (known !== undefined) return known ?? undefined;
  let found: SourceLine | null = null;
  try {
    const base = existsSync(file) ? imageBase(file) : undefined;
    if (base !== undefined) {
      // The return address follows the call: the byte before it belongs to the call instruction.
      const address = `0x${(base + BigInt(offset - 1)).toString(16)}`;
      for (const tool of ADDR2LINE) {
        try {
          const out = execFileSync(tool, ['-e', file, address], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
          const m = /^(.*):(\d+)/.exec(out);
          if (m && m[1] !== '??' && Number(m[2]) > 0) found = { file: m[1], line: Number(m[2]) };
          break;
        } catch {
          continue;
        }
      }
    }
  } catch {
    found = null;
  }
  cache.set(key, found);
  return found ?? undefined;
}

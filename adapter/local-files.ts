/**
 * Where a recording's files are on this machine. A trace names the programs' images as the recording machine saw
 * them (under Wine: Z:\work\x\source.exe) and their DWARF names the sources where they were built; a replay elsewhere
 * maps those paths with `sourceFileMap` (as cppdbg's), else looks for the file by name in the search folders (the
 * trace's folder and the workspace). Each lookup is reported once, so the user learns what was mapped and what not.
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface LocalFileOptions {
  /** Recorded path prefix → local folder, e.g. {"Z:\\work\\main": "/home/me/sockshare"} or {"/work/main": "C:\\src"}. */
  sourceFileMap?: Record<string, string>;
  /** Folders searched (by file name, a few levels deep) for files neither found as recorded nor mapped. */
  searchPaths?: string[];
}

export type LookupHow = 'as recorded' | 'mapped' | 'found by name' | 'not found';

export interface Lookup {
  recorded: string;
  local?: string;
  how: LookupHow;
}

/** Folders deeper than this under a search path are not searched; a search visits at most MAX_VISITED entries. */
const MAX_DEPTH = 4;
const MAX_VISITED = 20_000;
const SKIPPED_FOLDERS = new Set(['node_modules', '.git', '.cache', 'dist', 'out']);

/** A Windows path under Wine (Z:\work\x.exe) as the host path it names (/work/x.exe); other paths as they are. */
export function hostPath(recorded: string): string {
  if (process.platform === 'win32') return recorded;
  const m = /^[zZ]:(\\.*)$/.exec(recorded);
  return m ? m[1].replace(/\\/g, '/') : recorded;
}

/** Slashes one way and no trailing slash, for comparing prefixes written either way. */
function normal(path: string): string {
  return path.replace(/\\/g, '/').replace(/\/+$/, '');
}

/** The recorded path's last component, whichever separator it was written with. */
export function fileNameOf(recorded: string): string {
  return recorded.split(/[\\/]/).pop() ?? recorded;
}

export class LocalFiles {
  private readonly lookups = new Map<string, Lookup>();
  private readonly reported = new Set<string>();
  private readonly map: [string, string][];
  private readonly searchPaths: string[];

  constructor(options: LocalFileOptions = {}, traceFile?: string) {
    // Longest prefix first, so a specific mapping wins over a general one.
    this.map = Object.entries(options.sourceFileMap ?? {})
      .map(([from, to]): [string, string] => [normal(from), to])
      .sort((a, b) => b[0].length - a[0].length);
    const folders = [...(traceFile ? [dirname(resolve(traceFile))] : []), ...(options.searchPaths ?? [])];
    this.searchPaths = [...new Set(folders.map((f) => resolve(f)))];
  }

  /** The local copy of a recorded file: as recorded, through the map, or found by name; cached. */
  locate(recorded: string): Lookup {
    const known = this.lookups.get(recorded);
    if (known) return known;
    const lookup = this.lookUp(recorded);
    this.lookups.set(recorded, lookup);
    return lookup;
  }

  /** A lookup's one-line report the first time it is asked for, else undefined. */
  reportOnce(lookup: Lookup, what: string): string | undefined {
    if (this.reported.has(lookup.recorded)) return undefined;
    this.reported.add(lookup.recorded);
    const name = fileNameOf(lookup.recorded);
    switch (lookup.how) {
      case 'as recorded':
        return undefined;
      case 'mapped':
        return `${what} ${name}: recorded at ${lookup.recorded}, mapped by sourceFileMap to ${lookup.local}`;
      case 'found by name':
        return `${what} ${name}: recorded at ${lookup.recorded}, found by name at ${lookup.local}`;
      case 'not found':
        return `${what} ${name}: recorded at ${lookup.recorded}, not found on this machine (searched ${this.searchPaths.join(', ') || 'no folder'}); its frames show the call in context. A "sourceFileMap" launch attribute maps the recorded folder to a local one.`;
    }
  }

  private lookUp(recorded: string): Lookup {
    const asRecorded = hostPath(recorded);
    if (isFile(asRecorded)) return { recorded, local: asRecorded, how: 'as recorded' };
    const mapped = this.mapped(recorded);
    if (mapped && isFile(mapped)) return { recorded, local: mapped, how: 'mapped' };
    const found = this.findByName(fileNameOf(recorded));
    if (found) return { recorded, local: found, how: 'found by name' };
    return { recorded, how: 'not found' };
  }

  /** The recorded path with the longest matching sourceFileMap prefix replaced (Windows and host spellings tried). */
  private mapped(recorded: string): string | undefined {
    for (const spelling of new Set([normal(recorded), normal(hostPath(recorded))])) {
      for (const [from, to] of this.map) {
        const matches = spelling.toLowerCase() === from.toLowerCase() || spelling.toLowerCase().startsWith(from.toLowerCase() + '/');
        if (!matches) continue;
        const rest = spelling.slice(from.length).split('/').filter(Boolean);
        return join(to, ...rest);
      }
    }
    return undefined;
  }

  /** Breadth-first through the search folders, nearest match first; file names compare without case (Windows). */
  private findByName(name: string): string | undefined {
    const wanted = name.toLowerCase();
    let visited = 0;
    for (const root of this.searchPaths) {
      let level = [root];
      for (let depth = 0; depth <= MAX_DEPTH && level.length > 0; depth++) {
        const next: string[] = [];
        for (const folder of level) {
          let entries;
          try {
            entries = readdirSync(folder, { withFileTypes: true });
          } catch {
            continue;
          }
          for (const entry of entries) {
            if (++visited > MAX_VISITED) return undefined;
            if (entry.isFile() && entry.name.toLowerCase() === wanted) return join(folder, entry.name);
            if (entry.isDirectory() && !entry.name.startsWith('.') && !SKIPPED_FOLDERS.has(entry.name)) next.push(join(folder, entry.name));
          }
        }
        level = next;
      }
    }
    return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

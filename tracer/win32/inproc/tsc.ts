/**
 * The stubs stamp records with rdtsc; the trace's time is the agent's clock (nanoseconds since the recording started).
 * The agent reads the TSC itself (rdtsc in a page of its own, called through koffi: one machine, one TSC) next to its
 * clock at each drain, and maps a record's TSC to trace time linearly between the first and the latest such pair.
 */

import koffi from 'koffi';
import { MEM_COMMIT, MEM_RESERVE, PAGE_EXECUTE_READWRITE } from './api-extra';
import { type ChunkClock, tscToNs } from './ring-chunk';

const kernel32 = koffi.load('kernel32.dll');
const VirtualAlloc = kernel32.func('void * __stdcall VirtualAlloc(uintptr_t address, uintptr_t size, uint32_t type, uint32_t protect)');
/** rdtsc; shl rdx, 32; or rax, rdx; ret */
const RDTSC = [0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0, 0xc3];
const ReadTsc = koffi.proto('uint64_t __stdcall ReadTsc()');

let code: unknown;

/** The TSC now, read on this machine (a number: exact below 2^53, some 38 days of a 2.7 GHz TSC). */
export function readTsc(): number {
  if (code === undefined) {
    code = VirtualAlloc(0n, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_EXECUTE_READWRITE);
    koffi.encode(code, koffi.array('uint8_t', RDTSC.length), RDTSC);
  }
  return Number(koffi.call(code, ReadTsc));
}

export class TscClock {
  private first?: { tsc: number; ns: number };
  /** The first and the latest pair: the map a ring chunk carries. */
  private map?: ChunkClock;

  /** Notes the TSC next to the trace clock's `ns`. */
  sample(ns: number): void {
    const tsc = readTsc();
    this.first ??= { tsc, ns };
    this.map = [this.first.tsc, this.first.ns, tsc, ns];
  }

  pairs(): ChunkClock | undefined {
    return this.map;
  }

  /** A record's TSC in trace time; undefined until two samples some time apart give the rate. */
  toNs(tsc: number): number | undefined {
    return tscToNs(this.map, tsc);
  }
}

/** TSC ticks as nanoseconds, at the rate the clock has seen (undefined before it knows it). */
export function ticksToNs(clock: TscClock, ticks: number): number | undefined {
  const zero = clock.toNs(0);
  const then = clock.toNs(ticks);
  return zero === undefined || then === undefined ? undefined : then - zero;
}

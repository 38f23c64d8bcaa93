/**
 * Generates the benchmark trace: many source/target process pairs handing sockets over, overlapping in time,
 * written as JSONL in chunks. Usage: node --import tsx scripts/bench/generate.ts OUT_FILE [EVENTS]
 * Reuses OUT_FILE when its sidecar OUT_FILE.meta.json names this GENERATOR_VERSION and event count.
 */

import * as fs from 'node:fs';
import { TraceBuilder, tcpProtocolInfo, type ProcessHandle } from '../../tracer/trace/builder';
import { mulberry32 } from '../../test/support/random';

/** Bump when the generated trace changes, so cached copies are regenerated. */
export const GENERATOR_VERSION = 4;
const SEED = 0x50c45ae;
const CONCURRENT_PAIRS = 48;
const FLUSH_EVENTS = 16_384;
/** Largest number of events one pair can still emit: new pairs stop starting this close to the target. */
const PAIR_RESERVE = 340;

const FD_READ = 0x01, FD_WRITE = 0x02, FD_CLOSE = 0x20;
const FIONREAD = 0x4004667f;
const WSA_FLAG_OVERLAPPED = 0x01;

type Bug = 'none' | 'cancel' | 'keep-open' | 'no-overlapped' | 'never-imported' | 'dup-failed' | 'reuse';
const BUGS: Bug[] = ['cancel', 'keep-open', 'no-overlapped', 'never-imported', 'dup-failed', 'reuse'];
/** Chance that one connection carries one of the deliberate bugs. */
const BUG_RATE = 0.004;


type Task = Generator<void, void, void>;

class Generation {
  readonly trace = new TraceBuilder(250);
  readonly rng = mulberry32(SEED);
  private nextPid = 1000;
  private nextUnique = 1;
  bugs = 0;

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng() * (hi - lo + 1));
  }

  pid(): number {
    return (this.nextPid += 4);
  }

  uniqueInfo() {
    return tcpProtocolInfo(this.nextUnique++);
  }

  /** Steps the tasks in random order until all are done (one step = one call or one process event). */
  *interleave(tasks: Task[]): Task {
    const live = [...tasks];
    while (live.length > 0) {
      const i = Math.floor(this.rng() * live.length);
      if (live[i].next().done) live.splice(i, 1);
      else yield;
    }
  }

  /** A front-end (server accepting, or client connecting) that hands each connection to its worker process. */
  *pair(monitorPid: number): Task {
    const server = this.rng() < 0.7;
    const src = this.trace.start(this.pid(), server ? 'C:\\svc\\frontend.exe' : 'C:\\svc\\dialer.exe', monitorPid);
    yield;
    src.startup();
    yield;
    let handle = 0x100;
    const listener = (handle += 4);
    if (server) {
      src.socket(listener);
      yield;
      src.call('setsockopt', { s: listener, level: 0xffff, optname: 0x0004, optval: 1, optlen: 4 }, { result: 0 });
      yield;
      src.call('bind', { s: listener, name: `0.0.0.0:${8000 + (src.pid % 1000)}`, namelen: 16 }, { result: 0 });
      yield;
      src.call('listen', { s: listener, backlog: 128 }, { result: 0 });
      yield;
    }
    const tgt = this.trace.start(this.pid(), 'C:\\svc\\worker.exe', src.pid);
    yield;
    tgt.startup();
    yield;
    let targetHandle = 0x200;
    const connections: Task[] = [];
    for (let k = this.int(3, 9); k > 0; k--) {
      const bug = this.rng() < BUG_RATE ? BUGS[Math.floor(this.rng() * BUGS.length)] : 'none';
      if (bug !== 'none') this.bugs++;
      connections.push(this.connection(src, tgt, server ? listener : undefined, (handle += 4), (targetHandle += 8), bug));
    }
    yield* this.interleave(connections);
    if (server) {
      src.close(listener);
      yield;
    }
    src.call('WSACleanup', {}, { result: 0 });
    yield;
    tgt.call('WSACleanup', {}, { result: 0 });
    yield;
    tgt.exit();
    yield;
    src.exit();
  }

  /** One connection: accept or connect, set options, duplicate, import in the worker, close the source copy, serve, close. */
  *connection(src: ProcessHandle, tgt: ProcessHandle, listener: number | undefined, s: number, t: number, bug: Bug): Task {
    if (listener !== undefined) {
      src.call('accept', { s: listener, addr: '0x5ffc80', addrlen: '0x5ffc7c' }, { result: s, out: { addr: `10.0.${this.int(0, 255)}.${this.int(1, 254)}:${this.int(1024, 65535)}` } });
    } else {
      src.wsaSocket(s, WSA_FLAG_OVERLAPPED);
      yield;
      src.connect(s, `10.1.${this.int(0, 255)}.${this.int(1, 254)}:443`);
    }
    yield;
    src.call('setsockopt', { s, level: 6, optname: 1, optval: 1, optlen: 4 }, { result: 0 });
    yield;
    if (bug === 'dup-failed') {
      src.duplicate(s, 4, null, 10022);
      yield;
      src.close(s);
      return;
    }
    const info = this.uniqueInfo();
    src.duplicate(s, tgt.pid, info);
    yield;
    if (bug === 'never-imported') {
      src.close(s);
      return;
    }
    tgt.importSocket(t, info, bug === 'no-overlapped' ? 0 : WSA_FLAG_OVERLAPPED);
    yield;
    if (bug === 'reuse') {
      tgt.importSocket(t + 4, info, WSA_FLAG_OVERLAPPED);
      yield;
      tgt.close(t + 4);
      yield;
    }
    const event = `0x${(0x300 + t).toString(16)}`;
    if (bug === 'cancel') {
      // The front-end keeps watching the socket it handed over; the worker's registration cancels its own.
      src.eventSelect(s, '0x2c4', FD_READ | FD_CLOSE);
      yield;
      tgt.eventSelect(t, event, FD_READ | FD_WRITE | FD_CLOSE);
      yield;
    }
    if (bug !== 'keep-open') {
      src.close(s);
      yield;
    }
    tgt.eventSelect(t, event, FD_READ | FD_WRITE | FD_CLOSE);
    yield;
    tgt.call('setsockopt', { s: t, level: 0xffff, optname: 0x1002, optval: 65536, optlen: 4 }, { result: 0 });
    yield;
    for (let polls = this.int(0, 4); polls > 0; polls--) {
      tgt.call('ioctlsocket', { s: t, cmd: FIONREAD, argp: '0x6ffa10' }, { result: 0, out: { argp: this.int(0, 4096) } });
      yield;
    }
    tgt.call('shutdown', { s: t, how: 1 }, { result: 0 });
    yield;
    tgt.eventSelect(t, event, 0);
    yield;
    tgt.close(t);
  }

  /** A metrics process that polls its own UDP socket now and then; it also pads the trace to the exact count. */
  monitorStart(): ProcessHandle {
    const monitor = this.trace.start(900, 'C:\\svc\\monitor.exe', 4);
    monitor.startup();
    monitor.call('socket', { af: 2, type: 2, protocol: 17 }, { result: 0x50 });
    return monitor;
  }

  monitorPoll(monitor: ProcessHandle): void {
    monitor.call('ioctlsocket', { s: 0x50, cmd: FIONREAD, argp: '0x4ff9a0' }, { result: 0, out: { argp: 0 } });
  }
}

export function generate(file: string, targetEvents: number): { events: number; bugs: number } {
  const gen = new Generation();
  const { trace } = gen;
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  const flush = (all = false) => {
    if (!all && trace.events.length < FLUSH_EVENTS) return;
    const lines = trace.events.splice(0).map((e) => JSON.stringify(e));
    fs.writeSync(fd, lines.join('\n') + '\n');
  };
  fs.writeSync(fd, JSON.stringify({ ...trace.header(), capture: { generator: 'sockshare bench', generatorVersion: GENERATOR_VERSION } }) + '\n');
  const monitor = gen.monitorStart();
  // Every pair emits an even number of events, so the padding below lands exactly on targetEvents.
  const closing = 4 + 1; // close + WSACleanup calls, then the exit
  const active: Task[] = [];
  const startNew = () => trace.lastSeq + (active.length + 1) * PAIR_RESERVE + closing < targetEvents;
  while (startNew() && active.length < CONCURRENT_PAIRS) active.push(gen.pair(monitor.pid));
  while (active.length > 0) {
    const i = Math.floor(gen.rng() * active.length);
    if (active[i].next().done) {
      active.splice(i, 1);
      if (startNew()) active.push(gen.pair(monitor.pid));
    }
    if (gen.rng() < 0.002) gen.monitorPoll(monitor);
    flush();
  }
  while (trace.lastSeq + closing < targetEvents) gen.monitorPoll(monitor);
  monitor.close(0x50);
  monitor.call('WSACleanup', {}, { result: 0 });
  monitor.exit();
  const events = trace.lastSeq;
  flush(true);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  return { events, bugs: gen.bugs };
}

interface Meta {
  generatorVersion: number;
  events: number;
  bytes: number;
  bugs: number;
}

function cached(file: string, targetEvents: number): Meta | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(`${file}.meta.json`, 'utf8')) as Meta;
    const ok = meta.generatorVersion === GENERATOR_VERSION && meta.events === targetEvents && fs.statSync(file).size === meta.bytes;
    return ok ? meta : undefined;
  } catch {
    return undefined;
  }
}

if (process.argv[1]?.endsWith('generate.ts')) {
  const file = process.argv[2];
  const targetEvents = Number(process.argv[3] ?? 1_000_000);
  if (!file || !Number.isInteger(targetEvents) || targetEvents < 1000 || targetEvents % 2 !== 0) {
    console.error('usage: generate.ts OUT_FILE [EVENTS (even, >= 1000)]');
    process.exit(2);
  }
  let meta = cached(file, targetEvents);
  if (meta) {
    console.log(`trace: reusing ${file} (${meta.events} events, generator v${GENERATOR_VERSION})`);
  } else {
    const started = performance.now();
    const { events, bugs } = generate(file, targetEvents);
    meta = { generatorVersion: GENERATOR_VERSION, events, bytes: fs.statSync(file).size, bugs };
    fs.writeFileSync(`${file}.meta.json`, JSON.stringify(meta, null, 2) + '\n');
    console.log(`trace: generated ${file} (${events} events, ${bugs} deliberate bugs, ${(meta.bytes / 1048576).toFixed(1)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (meta.events !== targetEvents) {
    console.error(`generator produced ${meta.events} events, expected ${targetEvents}`);
    process.exit(1);
  }
}

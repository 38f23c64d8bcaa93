// Benchmark: generates (or reuses) a 1,000,000-event trace in .cache/bench/, then measures
//  (a) model throughput: ShareModel.apply over events already in memory, best and median of 3 -> modelEventsPerSec,
//      the model's compact history and peak RSS (bundled first, as dist/ is, so the figures are the shipped code's)
//  (b) `sockshare check FILE --json` as a child process, beside the JSON-parse floor (reading the same file and
//      JSON.parse of every line, nothing else), alternately, CHECK_ROUNDS times: wall time and peak RSS of each,
//      medians -> checkSeconds, parseFloorSeconds, checkOverFloor
//  (c) the debugger's Timeline over the whole trace: checkpoints, their memory, a step back's latency
// Prints one line per metric and, as the last line, one JSON object with every number. Targets are reported,
// not asserted: >= 2,000,000 events/s, check <= 1.5x the parse floor, < 300 MB.
import { spawn, spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { ensureNpmPackages } from './lib/setup.mjs';
import { existsSync, mkdirSync, openSync, closeSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EVENTS = Number(process.env.SOCKSHARE_BENCH_EVENTS ?? 1_000_000);
const cacheDir = join(root, '.cache', 'bench');
const traceFile = join(cacheDir, `trace-${EVENTS}.jsonl`);
const cli = join(root, 'dist', 'cli.js');
const TARGET_EVENTS_PER_SEC = 2_000_000;
const TARGET_CHECK_OVER_FLOOR = 1.5;
const TARGET_RSS_MB = 300;
const CHECK_ROUNDS = Number(process.env.SOCKSHARE_BENCH_CHECK_ROUNDS ?? 3);
const bundleDir = join(cacheDir, 'bundle');

/** Bundles scripts/bench/NAME.ts like scripts/build.mjs bundles dist/ (no name-keeping helpers), returns the path. */
async function bundled(name) {
  const outfile = join(bundleDir, `${name}.js`);
  await build({ entryPoints: [join(root, 'scripts', 'bench', `${name}.ts`)], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', absWorkingDir: root });
  return outfile;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs a node script to completion with inherited output; throws on a non-zero exit. */
function runNode(args, what) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status ?? result.signal})`);
}

/** Runs a node script and returns its stdout's last line parsed as JSON (stderr passes through). */
function runNodeJson(args, what) {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status ?? result.signal})`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** Spawns `node dist/cli.js check FILE --json > /dev/null`, returns exit code, peak RSS (KiB) and wall seconds. */
function measureCheck() {
  return measureNode([cli, 'check', traceFile, '--json'], 'check');
}

/** Spawns node with `args` (stdout to /dev/null), returns exit code, peak RSS (KiB) and wall seconds. */
function measureNode(scriptArgs, what) {
  // SOCKSHARE_BENCH_RSS=resource-usage forces the fallback even where /usr/bin/time exists.
  const useTime = existsSync('/usr/bin/time') && process.env.SOCKSHARE_BENCH_RSS !== 'resource-usage';
  const preload = pathToFileURL(join(root, 'scripts', 'bench', 'maxrss.mjs')).href;
  const nodeArgs = [...(useTime ? [] : ['--import', preload]), ...scriptArgs];
  const [command, args] = useTime ? ['/usr/bin/time', ['-f', 'maxrss-kb %M', process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const devNull = openSync('/dev/null', 'w');
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', devNull, 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      closeSync(devNull);
      const match = /maxrss-kb (\d+)\s*$/.exec(stderr);
      // /usr/bin/time reports the child's exit status through its own; check exits 1 when the trace has errors.
      if (!match || (code !== 0 && code !== 1)) {
        reject(new Error(`${what} failed (exit ${code}):\n${stderr}`));
        return;
      }
      // What else the child said (reader warnings), without /usr/bin/time's note about the exit status.
      const rest = stderr
        .slice(0, match.index)
        .split('\n')
        .filter((line) => line.trim() !== '' && !/^Command exited with non-zero status \d+$/.test(line))
        .join('\n');
      if (rest) process.stderr.write(`${rest}\n`);
      resolve({ code, maxRssKb: Number(match[1]), seconds, via: useTime ? '/usr/bin/time -f %M' : 'process.resourceUsage().maxRSS' });
    });
  });
}

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main() {
  ensureNpmPackages();
  mkdirSync(cacheDir, { recursive: true });
  runNode(['--import', 'tsx', join('scripts', 'bench', 'generate.ts'), traceFile, String(EVENTS)], 'trace generation');
  const traceMb = statSync(traceFile).size / 1048576;

  const modelScript = await bundled('model');
  const model = runNodeJson(['--expose-gc', '--max-old-space-size=6144', modelScript, traceFile, '3'], 'model benchmark');
  const meets = (ok) => (ok ? 'meets' : 'MISSES');
  console.log(`model throughput: ${fmt(model.modelEventsPerSec)} events/s best, ${fmt(model.modelMedianEventsPerSec)} median of ${model.runs} (${fmt(model.bestSeconds, 3)} s for ${fmt(model.events)} events; ${fmt(model.findings)} findings) — ${meets(model.modelEventsPerSec >= TARGET_EVENTS_PER_SEC)} the >= ${fmt(TARGET_EVENTS_PER_SEC)} events/s target`);
  console.log(`model memory:     history ${fmt(model.historyMb, 1)} MB (closed sockets, descriptors, handoffs, findings), the model's heap and buffers ${fmt(model.modelHeapMb, 1)} MB; peak RSS ${fmt(model.modelPeakRssMb)} MB with the ${fmt(model.events)} events preloaded`);

  if (!existsSync(cli)) runNode([join('scripts', 'build.mjs')], 'build');
  // check and the floor under it, alternately, so both see the same machine.
  const floorScript = await bundled('parse-floor');
  const rounds = [];
  for (let round = 0; round < CHECK_ROUNDS; round++) {
    const floor = await measureNode([floorScript, traceFile], 'parse floor');
    const reader = await measureNode([floorScript, traceFile, '--reader'], 'trace reader');
    const check = await measureCheck();
    rounds.push({ floor, reader, check, ratio: check.seconds / floor.seconds });
    console.log(`  round ${round + 1}/${CHECK_ROUNDS}: check ${fmt(check.seconds, 2)} s, ${fmt(check.maxRssKb / 1024)} MB; read + JSON.parse ${fmt(floor.seconds, 2)} s, ${fmt(floor.maxRssKb / 1024)} MB; the reader (and its validation) ${fmt(reader.seconds, 2)} s; ${fmt(check.seconds / floor.seconds, 2)}x`);
  }
  const check = { code: rounds[rounds.length - 1].check.code, via: rounds[0].check.via, seconds: median(rounds.map((r) => r.check.seconds)), maxRssKb: median(rounds.map((r) => r.check.maxRssKb)) };
  const parseFloorSeconds = median(rounds.map((r) => r.floor.seconds));
  const parseFloorRssMb = median(rounds.map((r) => r.floor.maxRssKb)) / 1024;
  const checkOverFloor = median(rounds.map((r) => r.ratio));
  const readerSeconds = median(rounds.map((r) => r.reader.seconds));
  const checkPeakRssMb = check.maxRssKb / 1024;
  console.log(`check peak RSS:   ${fmt(checkPeakRssMb, 1)} MB median (${check.via}; trace ${fmt(traceMb, 1)} MB on disk; the parse floor ${fmt(parseFloorRssMb, 1)} MB) — ${meets(checkPeakRssMb < TARGET_RSS_MB)} the < ${TARGET_RSS_MB} MB target`);
  console.log(`check wall time:  ${fmt(check.seconds, 2)} s median (${fmt(EVENTS / check.seconds)} events/s end to end, exit ${check.code}) for ${relative(root, cli)} check ${relative(root, traceFile)} --json`);
  console.log(`parse floor:      ${fmt(parseFloorSeconds, 2)} s median to read the same file and JSON.parse every line; check takes ${fmt(checkOverFloor, 2)}x that (median of the rounds' ratios) — ${meets(checkOverFloor <= TARGET_CHECK_OVER_FLOOR)} the <= ${TARGET_CHECK_OVER_FLOOR}x target`);
  console.log(`                  where check's time goes (medians): reading and parsing ${fmt(parseFloorSeconds, 2)} s, the reader's validation ${fmt(readerSeconds - parseFloorSeconds, 2)} s, the model and the output ${fmt(check.seconds - readerSeconds, 2)} s`);

  const timelineScript = await bundled('timeline');
  const timeline = runNodeJson(['--expose-gc', '--max-old-space-size=6144', timelineScript, traceFile, '30'], 'timeline benchmark');
  console.log(`timeline:         ${timeline.checkpoints} checkpoints, one every ${fmt(timeline.checkpointInterval)} events (~${fmt(timeline.checkpointMb, 1)} MB estimated); model + checkpoints ${fmt(timeline.timelineHeapMb, 1)} MB after the whole trace (walked in ${fmt(timeline.walkSeconds, 2)} s); the model at a random point ${fmt(timeline.stepBackMedianMs, 1)} ms median (worst ${fmt(timeline.stepBackWorstMs, 1)}); peak RSS ${fmt(timeline.timelinePeakRssMb)} MB with the events preloaded`);

  // Replay in the debug adapter: open to the first stop, step / step back / refresh latency, peak memory.
  if (!existsSync(join(root, 'dist', 'adapter.js'))) runNode([join('scripts', 'build.mjs')], 'build');
  const replay = runNodeJson(['--import', 'tsx', join('scripts', 'bench', 'replay-dap.ts'), traceFile, '30'], 'replay benchmark');
  const sm = replay.stepMs;
  console.log(`replay open:      ${fmt(replay.replayOpenMs, 1)} ms to the first stop — ${meets(replay.replayOpenMs < 1000)} the < 1000 ms goal`);
  console.log(`replay latency:   step ${sm.stepMedian} ms median (worst ${sm.stepWorst}), step back ${sm.stepBackMedian} (worst ${sm.stepBackWorst}), scopes+variables ${sm.refreshMedian} (worst ${sm.refreshWorst}) over ${replay.points} random points — ${meets(Math.max(sm.stepMedian, sm.stepBackMedian, sm.refreshMedian) < 20)} the < 20 ms goal (medians)`);
  console.log(`replay peak RSS:  ${fmt(replay.replayPeakRssMb, 1)} MB (the adapter, after walking the whole trace) — ${meets(replay.replayPeakRssMb < TARGET_RSS_MB)} the < ${TARGET_RSS_MB} MB goal`);
  const ls = runNodeJson(['--import', 'tsx', join('scripts', 'bench', 'language-server.ts'), traceFile, '20'], 'language server benchmark');
  console.log(`language server:  diagnostics ${fmt(ls.languageServerDiagnosticsMs / 1000, 1)} s after open (first page ${fmt(ls.languageServerFirstPageMs / 1000, 1)} s, ${fmt(ls.languageServerDiagnosticsMs / 1000 / check.seconds, 1)}x check), hover ${ls.languageServerHoverMs.median} ms median (worst ${ls.languageServerHoverMs.worst}), definition ${ls.languageServerDefinitionMs.median} ms, peak ${fmt(ls.languageServerPeakRssMb, 1)} MB — ${meets(ls.languageServerPeakRssMb < TARGET_RSS_MB && ls.languageServerDiagnosticsMs / 1000 <= 2 * check.seconds)} the < ${TARGET_RSS_MB} MB and 2x-check goals`);

  // What tracing costs per hooked call on the live path (Win32 debug API, int3 breakpoints), under Wine on Linux.
  let hooks = { hookOverheadUs: null };
  try {
    if (!existsSync(join(root, 'dist', 'agent.js'))) runNode([join('scripts', 'build.mjs')], 'build');
    hooks = runNodeJson(['--import', 'tsx', join('scripts', 'bench', 'hooks.ts')], 'hook overhead benchmark');
    console.log(`hook overhead:    ${hooks.hookOverheadUs} us per recorded call in-process, median of 5 (best ${hooks.hookOverheadBestUs}; loops ${hooks.inprocessLoopMs.join(', ')} ms for ${fmt(hooks.inprocessCalls)} calls, ${hooks.recordedInprocess} recorded, ${hooks.lostInprocess} lost) — ${meets(hooks.hookOverheadUs <= 0.1)} the <= 0.1 us goal`);
    console.log(`                  the tracer spends ${hooks.tracerUsPerRecord} us per record (read, decode, write) outside the program`);
    console.log(`                  with --stacks: ${hooks.hookOverheadStacksUs} us per call in-process (${hooks.inprocessStackUsPerCall} us for the stack capture), the tracer ${hooks.tracerUsPerRecordWithStacks} us per record (${hooks.inprocessStackSymbolizeUs} us symbolizing a stack)`);
    console.log(`                  on breakpoints a stack costs ${fmt(hooks.stackCaptureUsPerCall, 1)} us per call (${fmt(hooks.stackWalkUsPerCall, 1)} us the agent's walk and symbols)`);
    console.log(`                  ${fmt(hooks.hookOverheadInt3Us, 1)} us per call with breakpoints (${hooks.debugEventsPerCall} debug events a call: ${hooks.handleUsPerCall} us handling, ${hooks.waitUsPerCall} us waiting for the debuggee, ${hooks.continueUsPerCall} us continuing); in-process is ${hooks.ratio}x cheaper`);
  } catch (error) {
    console.log(`hook overhead:    not measured (${error instanceof Error ? error.message : error})`);
  }

  // A busy server under the tracer (node-http-cluster: requests/s untraced, with Wine's own socket logging, in-process,
  // with breakpoints) and a burst of a million cheap calls under the in-process path, under Wine on Linux.
  let server = { serverUntracedReqPerSec: null };
  try {
    server = runNodeJson(['--import', 'tsx', join('scripts', 'bench', 'server.ts')], 'server benchmark');
    // `rateRatio`: the variant's median rate over untraced's; `ratio`: the median of the rounds' own ratios.
    const vs = (value, rateRatio, ratio, ratios) =>
      ratios
        ? `${fmt(value, 1)} requests/s (${fmt(rateRatio * 100, 1)}% of untraced's median; the rounds' own ratios ${ratios.map((r) => fmt(r * 100, 0)).join(' / ')}%, median ${fmt(ratio * 100, 1)}%)`
        : `${fmt(value, 1)} requests/s (${fmt(rateRatio * 100, 1)}% of untraced)`;
    console.log(`server untraced:  ${fmt(server.serverUntracedReqPerSec, 1)} requests/s (node-http-cluster: ${fmt(server.serverRequests)} requests, ${server.serverConcurrency} at a time, a connection each; median of ${server.serverRounds} rounds run side by side: ${server.serverUntracedRuns.map((r) => fmt(r, 0)).join(' / ')})`);
    for (const retry of server.serverRunsRetried ?? []) console.log(`                  round ${retry.round}, ${retry.variant}: run once more after Wine failed to start a process (${retry.wineSaid})`);
    console.log(`server +winsock:  ${vs(server.serverWinsockLogReqPerSec, server.serverWinsockLogRateRatio, server.serverWinsockLogRatio, server.serverWinsockLogRatios)} with WINEDEBUG=+winsock (${fmt(server.serverWinsockLogMb, 1)} MB of log to a file)`);
    console.log(`server inprocess: ${vs(server.serverInprocessReqPerSec, server.serverInprocessRateRatio, server.serverInprocessRatio, server.serverInprocessRatios)} under record --capture inprocess printing every call (${fmt(server.serverInprocessEvents)} events) — ${meets(server.serverInprocessRateRatio >= 0.9)} the 90% goal`);
    console.log(`                  ${vs(server.serverInprocessQuietReqPerSec, server.serverInprocessQuietRateRatio, server.serverInprocessQuietRatio, server.serverInprocessQuietRatios)} with --quiet — ${meets(server.serverInprocessQuietRateRatio >= 0.9)} the 90% goal`);
    const paired = server.serverInprocessQuietPairedRatio;
    if (paired) console.log(`                  --quiet, the rounds' own ratios: geometric mean ${fmt(paired.mean * 100, 1)}%, 95% interval ${fmt(paired.low * 100, 1)}–${fmt(paired.high * 100, 1)}%`);
    console.log(`                  ${vs(server.serverAttachedOnlyReqPerSec, server.serverAttachedOnlyRateRatio, server.serverAttachedOnlyRatio, server.serverAttachedOnlyRatios)} with --quiet and only WSAStartup hooked (being traced, no call recorded)`);
    console.log(`                  ${vs(server.serverIdleDebuggerReqPerSec, server.serverIdleDebuggerRateRatio, server.serverIdleDebuggerRatio, server.serverIdleDebuggerRatios)} under a debugger that does nothing (scripts/bench/idle-debugger.c: being debugged, no tracer)`);
    if (server.serverLateAttachRuns) {
      const late = server.serverLateAttachPairedRatio;
      console.log(`server attached:  ${vs(server.serverLateAttachReqPerSec, server.serverLateAttachRateRatio, server.serverLateAttachRatio, server.serverLateAttachRatios)} started untraced, then record --attach (its three processes) --capture inprocess --quiet (${fmt(server.serverLateAttachEvents)} events)${late ? `; rounds' geometric mean ${fmt(late.mean * 100, 1)}%, 95% interval ${fmt(late.low * 100, 1)}–${fmt(late.high * 100, 1)}%` : ''}`);
    }
    const names = { winsock: '+winsock', inprocess: 'printing every call', quiet: '--quiet', attached: 'only WSAStartup hooked', debugged: 'the do-nothing debugger', lateAttach: 'attached to the running server' };
    // node-http-cluster gives no after-first-second rate for runs of 2 s or less (null here).
    const steady = Object.entries(server.serverSteadyRateRatios).map(([variant, r]) => `${names[variant] ?? variant} ${r === null ? 'n/a' : `${fmt(r * 100, 1)}%`}`);
    if (server.serverUntracedSteadyReqPerSec === null) console.log(`                  after each run's first second: not measured (untraced runs of 2 s or less)`);
    else console.log(`                  after each run's first second: untraced ${fmt(server.serverUntracedSteadyReqPerSec, 1)} requests/s; ${steady.join(', ')} of it`);
    console.log(`server int3:      ${vs(server.serverBreakpointsReqPerSec, server.serverBreakpointsRatio)} under record with breakpoints (${fmt(server.serverBreakpointRequests)} requests, ${fmt(server.serverBreakpointsEvents)} events)`);
    console.log(`burst:            ${fmt(server.burstCalls)} calls on ${server.burstThreads} threads under record --capture inprocess: ${fmt(server.burstCallsRecorded)} calls recorded, ${fmt(server.burstRecordsLost)} records lost, ${fmt(server.burstWallSeconds, 1)} s, record exit ${server.burstRecordExitCode}; the agent: ${server.burstAgentEnd}`);
  } catch (error) {
    console.log(`server:           not measured (${error instanceof Error ? error.message : error})`);
  }

  console.log(
    JSON.stringify({
      events: model.events,
      modelEventsPerSec: model.modelEventsPerSec,
      modelMedianEventsPerSec: model.modelMedianEventsPerSec,
      modelBestSeconds: Number(model.bestSeconds.toFixed(4)),
      modelHistoryMb: model.historyMb,
      modelHeapMb: model.modelHeapMb,
      modelPeakRssMb: model.modelPeakRssMb,
      checkPeakRssMb: Number(checkPeakRssMb.toFixed(1)),
      checkSeconds: Number(check.seconds.toFixed(3)),
      checkExitCode: check.code,
      parseFloorSeconds: Number(parseFloorSeconds.toFixed(3)),
      parseFloorPeakRssMb: Number(parseFloorRssMb.toFixed(1)),
      checkOverFloor: Number(checkOverFloor.toFixed(2)),
      readerSeconds: Number(readerSeconds.toFixed(3)),
      checkRounds: rounds.map((r) => ({ checkSeconds: Number(r.check.seconds.toFixed(3)), floorSeconds: Number(r.floor.seconds.toFixed(3)), readerSeconds: Number(r.reader.seconds.toFixed(3)), checkRssMb: Math.round(r.check.maxRssKb / 1024), floorRssMb: Math.round(r.floor.maxRssKb / 1024) })),
      timelineCheckpoints: timeline.checkpoints,
      timelineCheckpointInterval: timeline.checkpointInterval,
      timelineCheckpointMb: timeline.checkpointMb,
      timelineHeapMb: timeline.timelineHeapMb,
      timelineStepBackMs: timeline.stepBackMedianMs,
      findings: model.findings,
      traceMb: Number(traceMb.toFixed(1)),
      replayOpenMs: replay.replayOpenMs,
      stepMs: replay.stepMs,
      replayPeakRssMb: replay.replayPeakRssMb,
      ...ls,
      ...hooks,
      ...server,
    }),
  );
}

main().catch((error) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

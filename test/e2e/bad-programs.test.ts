import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LiveCapture } from '../../tracer/capture/live';
import { resolveRuntime } from '../../tracer/capture/runtime';
import { readTraceFile } from '../../tracer/trace/reader';
import { ROOT, agentFolders, isRunning, processesMentioning, readableCopy, runAgentOn, runCli, sampleExe, scratchDir, unprivilegedPrefix, waitUntil, writePe32Program } from './support';

/** A Linux program found on PATH (Wine would run it as a Linux process, outside the debugger). */
function linuxProgram(): string {
  const found = spawnSync('sh', ['-c', 'command -v ls'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(found, 'ls is on PATH');
  return found;
}

/** After a run with TMPDIR = tmp: no agent folder left there, and no agent process whose command line names tmp. */
async function assertNothingLeft(tmp: string): Promise<void> {
  assert.deepEqual(agentFolders(tmp), [], 'no sockshare-agent-* folder left');
  const tag = basename(tmp);
  assert.ok(await waitUntil(() => processesMentioning(tag).length === 0, 5000), `no agent process left: ${processesMentioning(tag).join(', ')}`);
}

describe('record refuses what it cannot trace, at once, with exit 2', () => {
  const tmp = scratchDir('bad-programs');
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const handoff = () => sampleExe('handoff');
  const cases: { name: string; args: () => string[]; message: RegExp; unprivileged?: boolean }[] = [
    { name: 'a Linux program', args: () => ['--out', join(tmp, 'ls.jsonl'), '--', linuxProgram()], message: /cannot start .*ls: not a Windows executable: a Linux \(ELF\) program/ },
    { name: 'a directory', args: () => ['--out', join(tmp, 'dir.jsonl'), '--', tmp], message: /cannot start .*: it is a directory, not a program/ },
    {
      name: 'a 32-bit PE',
      args: () => {
        const pe32 = join(tmp, 'x86.exe');
        writePe32Program(pe32);
        return ['--out', join(tmp, 'x86.jsonl'), '--', pe32];
      },
      message: /cannot start .*x86\.exe: wrong architecture: a Windows program built for 32-bit x86 \(PE32\)/,
    },
    {
      name: 'a text file',
      args: () => {
        const text = join(tmp, 'notes.exe');
        writeFileSync(text, 'not a program\n');
        return ['--out', join(tmp, 'text.jsonl'), '--', text];
      },
      message: /cannot start .*notes\.exe: not a Windows executable: no MZ header/,
    },
    { name: '--out in a missing folder', args: () => ['--out', join(tmp, 'missing', 't.jsonl'), '--', handoff()], message: /--out: the folder .*missing does not exist/ },
    { name: '--out onto a directory', args: () => ['--out', tmp, '--', handoff()], message: /--out: .* is a directory/ },
    {
      name: '--out in a folder that cannot be written',
      args: () => {
        const readOnly = join(tmp, 'read-only');
        mkdirSync(readOnly, { recursive: true });
        chmodSync(tmp, 0o755);
        chmodSync(readOnly, 0o555);
        return ['--out', join(readOnly, 't.jsonl'), '--', readableCopy(handoff(), tmp)];
      },
      message: /--out: cannot write .*read-only.t\.jsonl: permission denied/,
      unprivileged: true,
    },
    {
      name: 'a program that cannot be read',
      args: () => {
        const locked = join(tmp, 'locked.exe');
        writeFileSync(locked, readFileSync(handoff()));
        chmodSync(tmp, 0o755);
        chmodSync(locked, 0o000);
        return ['--out', join(tmp, 'locked.jsonl'), '--', locked];
      },
      message: /cannot start .*locked\.exe: permission denied: the file cannot be read/,
      unprivileged: true,
    },
  ];
  for (const c of cases) {
    const prefix = c.unprivileged ? unprivilegedPrefix() : [];
    // Root reads and writes whatever the permissions say: these run as an unprivileged user (setpriv) when this is root.
    it(`${c.name}: exit 2 within 10 s, says so, leaves nothing behind`, async () => {
      assert.ok(prefix, 'as root, these run as another user with setpriv (util-linux), which must be installed');
      const run = runCli(['record', ...c.args()], tmp, prefix);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, c.message);
      assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
      await assertNothingLeft(tmp);
    });
  }
});

describe('the agent fails fast when a program does not start under the debugger', () => {
  const tmp = scratchDir('refused-by-agent');
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('a Linux program (Wine runs it outside the debugger): the agent says so and exits 2, with no trace left', async () => {
    const run = await runAgentOn(linuxProgram());
    const error = run.messages.find((m) => m.t === 'error');
    assert.match(error?.t === 'error' ? error.message : '', /not a Windows executable \(CreateProcessW gave no process handle: Wine ran it as a Linux program/);
    assert.equal(run.exitCode, 2);
    assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
    assert.equal(run.traceLeft, false, 'no header-only trace');
  });

  it('a directory and a 32-bit PE: CreateProcessW fails and the Win32 error is named', async () => {
    const pe32 = join(tmp, 'x86.exe');
    writePe32Program(pe32);
    for (const program of [tmp, pe32]) {
      const run = await runAgentOn(program);
      const error = run.messages.find((m) => m.t === 'error');
      assert.match(error?.t === 'error' ? error.message : '', /cannot start .*: .*\(CreateProcessW: Win32 error \d+/);
      assert.equal(run.exitCode, 2);
      assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
    }
  });
});

describe('ending a run leaves no agent process and no agent folder', () => {
  const scratch = scratchDir('ending');
  after(() => rmSync(scratch, { recursive: true, force: true }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} on record held at a stop: the programs are killed, the trace kept, exit ${signal === 'SIGINT' ? 130 : 143}`, async () => {
      const tmp = scratchDir(`signal-${signal}`);
      const trace = join(tmp, 'interrupted.sockshare.jsonl');
      // stdin stays open and silent: the stop is held until the signal.
      const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'record', '--out', trace, '--stop-on', 'WSADuplicateSocketW', '--', sampleExe('handoff')], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      assert.ok(await waitUntil(() => stderr.includes('stopped at WSADuplicateSocketW'), 60_000), `held at the stop: ${stderr}`);
      const sent = Date.now();
      child.kill(signal);
      const code = await exited;
      assert.ok(Date.now() - sent < 10_000, `ended ${Date.now() - sent} ms after ${signal}`);
      assert.equal(code, signal === 'SIGINT' ? 130 : 143, stderr);
      assert.match(stderr, new RegExp(`interrupted \\(${signal}\\): the traced programs were killed; the trace so far is in`));
      const onDisk = await readTraceFile(trace);
      assert.ok(onDisk.events.some((e) => e.kind === 'api' && e.api === 'WSADuplicateSocketW'), 'the trace holds the call it stopped at');
      assert.ok(onDisk.events.some((e) => e.kind === 'process-exit'), 'the killed programs exited in the trace');
      await assertNothingLeft(tmp);
      rmSync(tmp, { recursive: true, force: true });
    });
  }

  it('LiveCapture.stop() at a stop ends the agent process and removes its folder', async () => {
    const capture = new LiveCapture({ runtime: resolveRuntime('auto'), launches: [{ program: sampleExe('handoff') }], traceFile: join(scratch, 'stop.sockshare.jsonl'), stopOn: ['WSADuplicateSocketW'], tracerVersion: 'e2e' });
    capture.on('stopped', () => capture.stop());
    await capture.start();
    const folder = capture.agentFolder;
    const pid = capture.agentPid;
    assert.ok(folder && existsSync(folder) && isRunning(pid));
    const end = await capture.finished;
    assert.ok(end.events > 0);
    assert.ok(await waitUntil(() => !isRunning(pid), 5000), `agent ${pid} still running`);
    assert.equal(existsSync(folder), false, `${folder} removed`);
    assert.deepEqual(processesMentioning(basename(folder)), []);
  });

  it('LiveCapture.stop() kills an agent that does not answer, after the grace period', async () => {
    let frozen: number | undefined;
    const capture = new LiveCapture({ runtime: resolveRuntime('auto'), launches: [{ program: sampleExe('handoff') }], traceFile: join(scratch, 'frozen.sockshare.jsonl'), stopOn: ['WSADuplicateSocketW'], tracerVersion: 'e2e' });
    capture.on('stopped', () => {
      // The agent is frozen (SIGSTOP): it cannot obey the kill command; SIGKILL still ends it.
      frozen = capture.agentPid;
      if (frozen !== undefined) process.kill(frozen, 'SIGSTOP');
      capture.stop();
    });
    await capture.start();
    const folder = capture.agentFolder;
    const stopped = Date.now();
    const end = await capture.finished;
    assert.ok(frozen !== undefined, 'the capture stopped');
    assert.ok(Date.now() - stopped < 15_000, `ended ${Date.now() - stopped} ms after the stop`);
    assert.match(end.error ?? '', /killed \(SIGKILL\)/);
    assert.ok(await waitUntil(() => !isRunning(frozen), 5000), `agent ${frozen} still running`);
    assert.ok(folder && !existsSync(folder), `${folder} removed`);
  });

  it('LiveCapture.stop() while the agent is still starting kills it', async () => {
    const capture = new LiveCapture({ runtime: resolveRuntime('auto'), launches: [{ program: sampleExe('handoff') }], traceFile: join(scratch, 'early.sockshare.jsonl'), tracerVersion: 'e2e' });
    const starting = capture.start();
    await waitUntil(() => capture.agentPid !== undefined, 5000);
    const folder = capture.agentFolder;
    const pid = capture.agentPid;
    capture.stop();
    await assert.rejects(starting, /the capture was stopped before the tracer agent started/);
    await capture.finished;
    assert.ok(await waitUntil(() => !isRunning(pid), 5000), `agent ${pid} still running`);
    assert.ok(folder && !existsSync(folder), `${folder} removed`);
  });
});

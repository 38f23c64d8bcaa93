import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { main } from '../../tracer/cli';
import { tcpProtocolInfo, TraceBuilder } from '../../tracer/trace/builder';
import { S, SOURCE, T, TARGET, tenStepHandoff } from '../support/scenarios';

const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockshare-cli-'));
after(() => fs.rmSync(tempDir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(tempDir, name);
  fs.writeFileSync(file, text);
  return file;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (text: string) => ((stdout += text), true) },
    stderr: { write: (text: string) => ((stderr += text), true) },
  });
  return { code, stdout, stderr };
}

/** The ten-step handoff, then both processes register for events on their descriptor: the target's cancels the source's. */
function cancelledRegistration(): TraceBuilder {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\samples\\source.exe');
  const target = trace.start(TARGET, 'C:\\samples\\target.exe', SOURCE);
  source.startup();
  target.startup();
  const info = tcpProtocolInfo(0x3c);
  source.wsaSocket(S, 0x01);
  source.connect(S);
  source.duplicate(S, TARGET, info);
  target.importSocket(T, info, 0x01);
  source.eventSelect(S, '0x2c4', 0x21);
  target.eventSelect(T, '0x3d0', 0x21);
  source.close(S);
  target.close(T);
  source.exit();
  target.exit();
  return trace;
}

const good = write('good.jsonl', tenStepHandoff().trace.toJsonl());
const bad = write('bad.jsonl', cancelledRegistration().toJsonl());

describe('sockshare check', () => {
  test('exits 0 on the ten-step handoff and hides info findings without --verbose', async () => {
    const r = await run('check', good);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.doesNotMatch(r.stdout, /descriptor-closed/);
    assert.match(r.stdout, /^0 errors, 0 warnings, 2 info \(2 info not shown; --verbose shows them\)$/m);
  });

  test('--verbose shows info findings under their socket', async () => {
    const r = await run('check', good, '--verbose');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^socket #1 \(TCP [^\n]*\)$/m);
    assert.match(r.stdout, /^ {2}info {5}descriptor-closed: /m);
    assert.match(r.stdout, /^ {2}info {5}socket-closed: /m);
    assert.match(r.stdout, /^0 errors, 0 warnings, 2 info$/m);
  });

  test('exits 1 on an error finding and prints it with its events', async () => {
    const r = await run('check', bad);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    const heading = lines.findIndex((l) => /^socket #1 \(TCP/.test(l));
    assert.ok(heading >= 0, r.stdout);
    const error = lines.findIndex((l) => /^ {2}error {4}registration-cancelled: WSAEventSelect in target\.exe \(pid 512\)/.test(l));
    assert.ok(error > heading, r.stdout);
    assert.match(lines[error + 1], /^ +events: \d+(, \d+)+$/);
    assert.match(r.stdout, /^1 error, 1 warning, 2 info \(2 info not shown; --verbose shows them\)$/m);
  });

  test('--json prints exactly {"findings":[{rule, severity, message, events}]}, info included', async () => {
    const r = await run('check', bad, '--json');
    assert.equal(r.code, 1);
    const parsed = JSON.parse(r.stdout) as { findings: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(parsed), ['findings']);
    assert.ok(parsed.findings.length >= 3);
    for (const f of parsed.findings) {
      assert.deepEqual(Object.keys(f), ['rule', 'severity', 'message', 'events']);
      assert.equal(typeof f['message'], 'string');
      assert.ok(Array.isArray(f['events']) && f['events'].every((e) => typeof e === 'number'));
    }
    const rules = parsed.findings.map((f) => `${f['severity']} ${f['rule']}`);
    assert.ok(rules.includes('error registration-cancelled'), rules.join());
    assert.ok(rules.some((r) => r.startsWith('info ')), rules.join());
    const good = JSON.parse((await run('check', '--json', path.join(tempDir, 'good.jsonl'))).stdout) as { findings: unknown[] };
    assert.equal(good.findings.length, 2);
  });

  test('exits 2 naming file and line on a malformed trace', async () => {
    const lines = tenStepHandoff().trace.toJsonl().split('\n');
    lines[2] = lines[2].replace(/"pid":\d+/, '"pid":"abc"');
    const file = write('malformed.jsonl', lines.join('\n'));
    const r = await run('check', file);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(`${file}:3:`), r.stderr);
    assert.match(r.stderr, /pid/);
  });

  test('exits 2 naming the file when it does not exist', async () => {
    const missing = path.join(tempDir, 'nope.jsonl');
    const r = await run('check', missing);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.includes(missing), r.stderr);
  });

  test('a truncated last line is a warning on stderr and keeps the exit code', async () => {
    const text = tenStepHandoff().trace.toJsonl() + '{"seq":999,"timeNs":1,"ki';
    const r = await run('check', write('truncated.jsonl', text));
    assert.equal(r.code, 0);
    assert.match(r.stderr, /warning: .*truncated\.jsonl:\d+: truncated last line/);
  });
});

describe('sockshare summary', () => {
  test('lists both processes, the socket with its descriptors, the handoff and the tally', async () => {
    const r = await run('summary', good);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pid 364 +source +started at event 1 .*source\.exe/);
    assert.match(r.stdout, /pid 512 +target +started at event \d+ by pid 364 .*target\.exe/);
    assert.match(r.stdout, /^ {2}socket #1 \(TCP [^\n]*\): created at event \d+ by WSASocketW in source\.exe \(pid 364\), closed at event \d+$/m);
    assert.match(r.stdout, /descriptor 0x1a4 in source\.exe \(pid 364\) +from WSASocketW +opened at event \d+ +closed at event \d+ by closesocket/);
    assert.match(r.stdout, /descriptor 0x2b8 in target\.exe \(pid 512\) +imported \(handoff h1\) +opened at event \d+ +closed at event \d+ by closesocket/);
    assert.match(r.stdout, /h1: event \d+ WSADuplicateSocketW, source\.exe \(pid 364\) -> target\.exe \(pid 512\)/);
    assert.match(r.stdout, /imports: event \d+ by target\.exe \(pid 512\) -> descriptor 0x2b8/);
    assert.match(r.stdout, /^Findings: 0 errors, 0 warnings, 2 info$/m);
  });
});

describe('counts in check and summary agree in number', () => {
  /** One error (a WSADuplicateSocket that fails) and one warning (FIONBIO set through the imported descriptor). */
  function oneErrorOneWarning(): string {
    const trace = new TraceBuilder();
    const source = trace.start(SOURCE, 'C:\\samples\\source.exe');
    const target = trace.start(TARGET, 'C:\\samples\\target.exe', SOURCE);
    source.startup();
    target.startup();
    const info = tcpProtocolInfo(0x51);
    source.socket(S);
    source.call('bind', { s: S, name: '127.0.0.1:0', namelen: 16 }, { result: 0 });
    source.call('listen', { s: S, backlog: 1 }, { result: 0 });
    source.duplicate(S, TARGET, info);
    target.importSocket(T, info);
    target.call('ioctlsocket', { s: T, cmd: 0x8004667e, argp: '0x5ffe00', value: 1 }, { result: 0 });
    source.duplicate(S, 999, null, 10022);
    return write('one-each.jsonl', trace.toJsonl());
  }

  test('check and summary print "1 error, 1 warning", never "1 errors"', async () => {
    const file = oneErrorOneWarning();
    const check = await run('check', file);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^1 error, 1 warning, \d+ info/m);
    const summary = await run('summary', file);
    assert.match(summary.stdout, /^Findings: 1 error, 1 warning, \d+ info$/m);
    for (const text of [check.stdout, summary.stdout]) assert.doesNotMatch(text, /\b1 (errors|warnings|events|records)\b/);
  });

  test('summary says a listener bound to port 0 got its port from the system, not port 0', async () => {
    const summary = await run('summary', oneErrorOneWarning());
    assert.match(summary.stdout, /socket #1 \(TCP 127\.0\.0\.1:0 listening, port chosen by the system\)/);
  });
});

describe('sockshare export', () => {
  for (const format of ['perfetto', 'markdown', 'html']) {
    test(`writes the ${format} export to the -o file`, async () => {
      const out = path.join(tempDir, `export-${format}.out`);
      const r = await run('export', bad, '--format', format, '-o', out);
      assert.equal(r.code, 0, r.stderr);
      const text = fs.readFileSync(out, 'utf8');
      assert.ok(text.length > 0);
      if (format === 'perfetto') JSON.parse(text);
      if (format === 'html') assert.match(text, /<html/i);
      if (format !== 'perfetto') assert.match(text, /registration-cancelled|Event registration cancelled/);
    });
  }

  test('a missing or unknown --format is a usage error', async () => {
    const out = path.join(tempDir, 'never.out');
    let r = await run('export', good, '-o', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing option --format/);
    assert.match(r.stderr, /usage: sockshare export TRACE --format/);
    r = await run('export', good, '--format', 'pdf', '-o', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown format 'pdf'/);
    r = await run('export', good, '--format', 'html');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing option -o FILE/);
    assert.equal(fs.existsSync(out), false);
  });
});

describe('usage and help', () => {
  test('an unknown command exits 2 with the usage', async () => {
    const r = await run('frobnicate', good);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
    assert.match(r.stderr, /usage: sockshare <command>/);
  });

  test('an unknown option exits 2 naming it, with the command usage', async () => {
    const r = await run('check', good, '--bogus');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /check: unknown option '--bogus'/);
    assert.match(r.stderr, /usage: sockshare check TRACE/);
  });

  test('a missing argument or option value exits 2 naming it', async () => {
    let r = await run('check');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /check: missing argument TRACE/);
    r = await run('export', good, '-o');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /export: option '--output' needs a value/);
    r = await run('summary', good, 'extra');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unexpected argument 'extra'/);
    r = await run();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing command/);
  });

  test('--help lists the commands', async () => {
    const r = await run('--help');
    assert.equal(r.code, 0);
    for (const command of ['check', 'export', 'summary', 'help']) assert.match(r.stdout, new RegExp(`^ {2}${command} `, 'm'));
  });

  for (const command of ['check', 'export', 'summary']) {
    test(`${command} --help and help ${command} print its usage`, async () => {
      const a = await run(command, '--help');
      const b = await run('help', command);
      assert.equal(a.code, 0);
      assert.equal(b.code, 0);
      assert.match(a.stdout, new RegExp(`^usage: sockshare ${command} TRACE`));
      assert.equal(a.stdout, b.stdout);
    });
  }

  test('help of an unknown command exits 2', async () => {
    const r = await run('help', 'replay');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /help: unknown command 'replay'/);
  });

  test('record without --out, with an unknown API, a missing program or --stacks on breakpoints exits 2 and says which', async () => {
    const noOut = await run('record', '--', 'prog.exe');
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /record: missing --out TRACE/);
    const badApi = await run('record', '--out', 't.jsonl', '--stop-on', 'WSADuplicateSocketW,recvfromx', '--', 'prog.exe');
    assert.equal(badApi.code, 2);
    assert.match(badApi.stderr, /'recvfromx' is not a hooked API/);
    const missing = await run('record', '--out', 't.jsonl', '--', '/nonexistent/prog.exe');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot start \/nonexistent\/prog\.exe: no such file/);
    const badRuntime = await run('record', '--out', 't.jsonl', '--runtime', 'dos', '--', 'prog.exe');
    assert.equal(badRuntime.code, 2);
    assert.match(badRuntime.stderr, /--runtime must be auto, windows or wine, not 'dos'/);
    const stacksOnBreakpoints = await run('record', '--out', 't.jsonl', '--stacks', '--', 'prog.exe');
    assert.equal(stacksOnBreakpoints.code, 2);
    assert.match(stacksOnBreakpoints.stderr, /--stacks is for --capture inprocess \(the breakpoint path always records stacks\)/);
  });
});

test('run as a program, the entry point exits with the check result', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', 'tracer', 'cli.ts'), 'check', bad], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /registration-cancelled/);
});

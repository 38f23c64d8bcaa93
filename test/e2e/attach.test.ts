/**
 * Attaching to a server started outside the tracer: prefork.exe --serve listens, waits for a file before it starts
 * its workers, and the tracer attaches to it by pid first. The workers it then starts are traced too (followed at
 * CreateProcessInternalW), the trace holds their imports and no error or warning, and after the detach the server
 * still answers.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertPreforkTrace, eventsSoFar, startServingPrefork } from './attach-server';
import { ROOT, waitUntil } from './support';

for (const mode of ['breakpoints', 'inprocess'] as const) {
  describe(`record --attach PID (${mode})`, () => {
    it('traces a running pre-fork server and the workers it starts, then detaches and leaves it serving', { timeout: 240_000 }, async () => {
      const server = await startServingPrefork();
      const traceFile = join(server.dir, 'attach.sockshare.jsonl');
      const record = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'record', '--out', traceFile, '--capture', mode, '--attach', String(server.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      record.stderr.on('data', (chunk) => (stderr += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => record.on('exit', (code) => resolve(code)));
      try {
        // Hooked once ws2_32's LOAD_DLL event (one per module already loaded) is handled.
        assert.ok(await waitUntil(() => eventsSoFar(traceFile).some((e) => e.kind === 'module-load' && e.pid === server.pid), 60_000), `the tracer attached: ${stderr}`);
        server.go();
        const imported = () => eventsSoFar(traceFile).filter((e) => e.kind === 'api' && e.phase === 'return' && e.api === 'WSASocketW' && e.pid !== server.pid).length >= 2;
        assert.ok(await waitUntil(imported, 60_000), `both workers imported under the tracer: ${stderr}`);
        assert.match(await server.ask('hello'), /^server-[AB]$/, 'a worker answers while traced');
        record.kill('SIGINT');
        assert.equal(await exited, 0, `record ends with check's status after the detach: ${stderr}`);
        assert.match(stderr, /detached \(SIGINT\)/);
        await assertPreforkTrace(traceFile, server.pid, mode);
        // Detached: the server's workers still answer, with no tracer.
        assert.match(await server.ask('after'), /^server-[AB]$/, 'a worker answers after the detach');
      } finally {
        if (record.exitCode === null) record.kill('SIGKILL');
        const end = await server.stop();
        assert.equal(end.code, 0, `the server ran to its end after the detach: ${end.stdout}`);
      }
    });
  });
}

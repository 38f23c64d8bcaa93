/**
 * The processes an attach can name: a program started under Wine outside the tracer (same prefix) is listed with
 * its pid, parent, image and command line, as the Windows process lister sees it.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { runUnderWine } from '../../scripts/lib/wine.mjs';
import { listWindowsProcesses } from '../../tracer/capture/processes';
import { resolveRuntime } from '../../tracer/capture/runtime';
import { windowsNode } from './support';

describe('listing the Windows processes of the prefix', () => {
  it('a Windows node.exe started outside the tracer is listed with its image and command line', { timeout: 90_000 }, async () => {
    const marker = `sockshare-list-${randomBytes(4).toString('hex')}`;
    // Runs 15 s, then exits by itself; the marker is in its command line.
    const running = runUnderWine(windowsNode(), ['-e', `setTimeout(() => {}, 15000) // ${marker}`], { timeoutMs: 60_000 });
    try {
      let found;
      for (let tries = 0; tries < 20 && !found; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const processes = await listWindowsProcesses(resolveRuntime('auto'));
        assert.ok(processes.some((p) => /services\.exe$/i.test(p.image ?? p.name)), 'the prefix\'s own services are listed');
        found = processes.find((p) => p.commandLine?.includes(marker));
      }
      assert.ok(found, `the program with ${marker} in its command line is listed`);
      assert.match(found.name, /^node\.exe$/i);
      assert.match(found.image ?? '', /node\.exe$/i);
      assert.ok(found.pid > 0 && found.threads > 0);
    } finally {
      await running.catch(() => undefined);
    }
  });
});

/**
 * The Windows processes the tracer can attach to: dist/process-list.js run where the agent runs (on Windows, this
 * Node.js; on Linux, Windows node.exe in the Wine prefix, which sees that prefix's processes only).
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WindowsProcess } from '../win32/process-list';
import { packageRoot, type AgentRuntime } from './runtime';

export type { WindowsProcess };

const LIST_TIMEOUT_MS = 30_000;

export async function listWindowsProcesses(runtime: AgentRuntime): Promise<WindowsProcess[]> {
  const script = join(packageRoot(), 'dist', 'process-list.js');
  if (!existsSync(script)) throw new Error(`the process lister is not built (${script}): run npm run build`);
  const folder = mkdtempSync(join(tmpdir(), 'sockshare-processes-'));
  const out = join(folder, 'processes.json');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      // stdio ignored: Windows node.exe under Wine cannot use a Linux pipe; the list comes back in a file.
      const child = spawn(runtime.command, [...runtime.args, runtime.toAgentPath(script), runtime.toAgentPath(out)], { env: runtime.env, stdio: 'ignore', windowsHide: true });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`listing the Windows processes took over ${LIST_TIMEOUT_MS / 1000} s`));
      }, LIST_TIMEOUT_MS);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    if (!existsSync(out)) throw new Error(`listing the Windows processes failed (exit ${code}) without a word`);
    const answer = JSON.parse(readFileSync(out, 'utf8')) as { processes?: WindowsProcess[]; error?: string };
    if (answer.error || !answer.processes) throw new Error(`listing the Windows processes failed: ${answer.error ?? `exit ${code}`}`);
    return answer.processes;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

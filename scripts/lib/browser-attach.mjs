// The real-browser test's attach part: a sample server runs under Wine outside the tracer, and the user attaches to it
// from the workbench as the issue asks ("attaches to a running sample from the process picker and shows that stack"):
// a launch.json made from the extension's configurations, a function breakpoint on WSAEventSelect, the attach
// configuration started, the server picked in the process picker by typing its name, a request sent to it; at the stop
// the CALL STACK shows WSAEventSelect, the sample's function that called it at its .c line, and main. Disconnect
// detaches: the server goes on serving.
//
// The server is samples/stack-walk in its --serve mode: it waits for each request with WSAEventSelect, made in its own
// function answer_request (called from serve, called from main), and its build carries DWARF 4 lines.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout } from 'node:timers';
import { ask } from './ask.mjs';
import { log, root } from './setup.mjs';

const SAMPLE = 'stack-walk';
const SOURCE = join(root, 'samples', SAMPLE, `${SAMPLE}.c`);
/** Things that depend on Wine (a process start, a process list, an attach) get this long on a loaded 2-core machine. */
const WINE_WAIT = 60_000;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(check, timeout) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(200);
  }
  return check();
}

/**
 * Starts `<sample>.exe --serve DIR` as a plain Wine program (no tracer), in the prefix the tracer is set to use and
 * with the TMPDIR the extension runs with (`tmpDir`: Debian's Wine has one wineserver per TMPDIR, and the tracer sees
 * the processes of its own wineserver only), and waits for the "PID PORT" it writes. The Wine process has its own
 * process group, so kill() ends it and anything it started.
 */
async function startServer(dir, tmpDir) {
  const { WINE64, wineEnv, winePrefix, winPath } = await import('./wine.mjs');
  winePrefix();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const output = join(dir, 'output.txt');
  const out = openSync(output, 'a');
  const child = spawn(WINE64, [join(root, 'samples', SAMPLE, `${SAMPLE}.exe`), '--serve', winPath(dir)], { cwd: root, env: wineEnv({ TMPDIR: tmpDir }), stdio: ['ignore', out, out], detached: true });
  closeSync(out);
  let exit;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  const server = {
    child,
    exited,
    running: () => exit === undefined,
    output: () => (existsSync(output) ? readFileSync(output, 'utf8') : ''),
    kill() {
      if (exit !== undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    },
  };
  const info = join(dir, 'server.txt');
  if (!(await waitUntil(() => existsSync(info) || exit !== undefined, WINE_WAIT))) {
    server.kill();
    throw new Error(`${SAMPLE}.exe --serve wrote no ${relative(root, info)} within ${WINE_WAIT / 1000} s; its output: ${server.output()}`);
  }
  if (exit !== undefined) throw new Error(`${SAMPLE}.exe --serve exited (${exit.code ?? exit.signal}) before listening; its output: ${server.output()}`);
  const [pid, port] = readFileSync(info, 'utf8').trim().split(/\s+/).map(Number);
  return { ...server, pid, port };
}

/** The line of the sample's source that makes the WSAEventSelect call the breakpoint stops at (1-based). */
function callLine() {
  const lines = readFileSync(SOURCE, 'utf8').split('\n');
  const index = lines.findIndex((line) => /WSAEventSelect\(conn,/.test(line));
  if (index < 0) throw new Error(`${relative(root, SOURCE)} has no WSAEventSelect(conn, ...) call`);
  return index + 1;
}

/**
 * Sends requests to the server until the session stops at WSAEventSelect: a request that comes before the tracer has
 * hooked ws2_32 in the server is answered without a stop, as it would be for a user who sends one too early, so
 * another is sent. Returns the pending request of the stop (answered once the server runs on).
 */
async function requestUntilStopped(wb, page, port) {
  const deadline = Date.now() + WINE_WAIT;
  let sent = 0;
  let answered = 0;
  let pending;
  for (;;) {
    if (!pending) {
      sent++;
      const request = { text: `request ${sent}`, done: false, answer: undefined, error: undefined };
      request.promise = ask(port, request.text, 5 * WINE_WAIT).then(
        (answer) => Object.assign(request, { done: true, answer }),
        (error) => Object.assign(request, { done: true, error }),
      );
      pending = request;
    }
    const stopped = await page.locator(`${wb.SELECTORS.callStack} .monaco-list-row`, { hasText: /^WSAEventSelect\(/ }).first().waitFor({ state: 'visible', timeout: 2_000 }).then(() => true, () => false);
    if (stopped) return pending;
    if (!(await page.locator(wb.SELECTORS.debugToolbar).isVisible())) {
      const notices = await page.locator(wb.SELECTORS.notifications).allInnerTexts().catch(() => []);
      throw new Error(`the attach session ended before it stopped at WSAEventSelect (${sent} requests sent, ${answered} answered); notifications: ${JSON.stringify(notices.join(' | ').slice(0, 1500))}`);
    }
    if (pending.done) {
      if (pending.error) throw new Error(`the server failed ${JSON.stringify(pending.text)} while attached: ${pending.error.message}`);
      answered++;
      pending = undefined;
    }
    if (Date.now() > deadline) {
      const rows = await page.locator(`${wb.SELECTORS.callStack} .monaco-list-row`).allInnerTexts().catch(() => []);
      throw new Error(`the attached session did not stop at WSAEventSelect within ${WINE_WAIT / 1000} s (${sent} requests sent, ${answered} answered without a stop); the CALL STACK shows: ${JSON.stringify(rows.join(' | ').slice(0, 1500))}`);
    }
  }
}

/** The CALL STACK row showing `name`, and its text: the frame, then its source's file name and line. */
async function callStackRow(wb, page, name, what) {
  try {
    const row = await wb.waitForCallStack(page, name, { timeout: 30_000 });
    return { row, text: (await row.innerText()).replace(/\s+/g, ' ').trim() };
  } catch (error) {
    throw new Error(`the CALL STACK does not show ${what}: ${error.message}`, { cause: error });
  }
}

/**
 * The attach part, in the workbench `workbench` (the .vsix installed): opens a fresh folder, attaches to a running
 * stack-walk.exe --serve through the process picker, checks the stack at WSAEventSelect and the detach.
 */
export async function attachToRunningSample(wb, workbench) {
  const started = Date.now();
  const { page } = workbench;
  const { ensureWindowsRuntime } = await import('./win-runtime.mjs');
  const { winePrefix } = await import('./wine.mjs');
  const { buildSamples } = await import('../build-samples.mjs');
  const built = await buildSamples([SAMPLE], (line) => log(line.trim()));
  if (built.some((r) => r.status === 'failed')) throw new Error(`building samples/${SAMPLE} failed: ${built.map((r) => r.output).join('\n')}`);

  // The project a user opens to attach from: its settings name the Windows node.exe that runs the tracer under Wine
  // and the Wine prefix the server runs in (Wine shows a program only the processes of its own prefix). No welcome
  // walkthrough: in an empty folder it opens at startup and takes the focus back from the command palette.
  const folder = join(root, 'test-output', 'browser', 'attach-workspace');
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(folder, '.vscode'), { recursive: true });
  const settings = { 'sockshare.wine.node': ensureWindowsRuntime(), 'sockshare.wine.prefix': winePrefix(), 'workbench.startupEditor': 'none', 'git.openRepositoryInParentFolders': 'never' };
  writeFileSync(join(folder, '.vscode', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);

  const server = await startServer(join(root, 'test-output', 'browser', 'attach-server'), wb.serverTmpDir(workbench));
  try {
    log(`${SAMPLE}.exe --serve runs under Wine: pid ${server.pid}, port ${server.port}`);
    const before = await ask(server.port, 'before', WINE_WAIT);
    if (before !== 'served: before') throw new Error(`the server answered ${JSON.stringify(before)} before the attach`);

    await wb.openFolder(workbench, folder);
    await wb.waitForDebuggersAvailable(page);
    // A launch.json (Run and Debug's "create a launch.json file", the sockshare debugger), then the attach
    // configuration the extension contributes, added with Debug: Add Configuration...
    await wb.createLaunchJson(page, 'sockshare: Windows shared sockets');
    await wb.addLaunchConfiguration(page, 'sockshare: Attach to a running process');
    await wb.waitForText(page, '.editor-instance .view-lines', /"processId":\s*"\$\{command:pickProcess\}"/, { timeout: 30_000 });
    await wb.addFunctionBreakpoint(page, 'WSAEventSelect');

    // Start the attach configuration; its processId is ${command:pickProcess}: pick the server by its name and pid.
    await wb.selectAndStartDebugging(page, 'Attach to a process');
    await wb.pickQuickInputItem(page, `${SAMPLE}.exe`, new RegExp(`${SAMPLE}\\.exe.*pid ${server.pid} ·`), { title: 'sockshare: attach to a process', timeout: WINE_WAIT });
    await wb.waitForDebugToolbar(page, { timeout: WINE_WAIT });
    log(`attaching to pid ${server.pid} from the process picker`);

    const held = await requestUntilStopped(wb, page, server.port);
    if (held.done) throw new Error(`the server answered ${JSON.stringify(held.text)} (${held.answer ?? held.error?.message}) though the session shows it stopped at WSAEventSelect`);
    const line = callLine();
    const top = await callStackRow(wb, page, /^WSAEventSelect\(/, 'the hooked call WSAEventSelect on top');
    const caller = await callStackRow(wb, page, new RegExp(`^${SAMPLE}\\.exe!answer_request\\+0x[0-9a-f]+`), `the sample's answer_request, the function that called WSAEventSelect`);
    if (!new RegExp(`${SAMPLE}\\.c\\s*${line}\\b`).test(caller.text)) throw new Error(`the CALL STACK's answer_request row should name ${SAMPLE}.c at line ${line} (the WSAEventSelect call); it shows ${JSON.stringify(caller.text)}`);
    const main = await callStackRow(wb, page, new RegExp(`^${SAMPLE}\\.exe!main\\+0x[0-9a-f]+`), `the sample's main`);
    if (!new RegExp(`${SAMPLE}\\.c\\s*\\d+`).test(main.text)) throw new Error(`the CALL STACK's main row should name ${SAMPLE}.c; it shows ${JSON.stringify(main.text)}`);
    log(`stopped at WSAEventSelect in the attached server: ${top.text} | ${caller.text} | ${main.text}`);
    // The caller's frame opens the sample's source at the call.
    await caller.row.click();
    await wb.waitForText(page, '.tabs-container .tab.active', `${SAMPLE}.c`, { timeout: 30_000 });
    const shot = await wb.screenshot(page, 'attach-call-stack.png');

    // Disconnect: an attach detaches by default, and the server answers the held request and the next ones.
    await wb.press(page, 'Shift+F5');
    await wb.waitForDebugEnd(page, { timeout: WINE_WAIT });
    // The attach's recording is saved in the workspace's recordings folder, and the user is told where.
    await wb.waitForNotification(page, /recording.*attach-workspace.*\.sockshare\.jsonl/i, { timeout: 30_000 }).catch(async (error) => {
      throw new Error(`no notification named the attach's recording: ${error instanceof Error ? error.message : error}`);
    });
    await held.promise;
    if (held.answer !== `served: ${held.text}`) throw new Error(`after the detach the server answered the held request with ${JSON.stringify(held.answer ?? held.error?.message)}`);
    const after = await ask(server.port, 'after', WINE_WAIT);
    if (after !== 'served: after') throw new Error(`after the detach the server answered ${JSON.stringify(after)}`);
    if (!server.running()) throw new Error(`the server exited after the detach: ${server.output()}`);
    log(`detached: the server still serves; the attach part took ${((Date.now() - started) / 1000).toFixed(1)} s (${relative(root, shot)})`);
  } finally {
    server.kill();
    const gone = await Promise.race([server.exited.then(() => true), sleep(30_000).then(() => false)]);
    if (!gone) log(`${SAMPLE}.exe --serve (unix pid ${server.child.pid}) did not exit within 30 s of SIGKILL`);
  }
}

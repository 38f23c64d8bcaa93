/**
 * Checks made on the host before the tracer agent starts, so that a program it cannot trace or a trace it cannot
 * write fails at once with a message naming the path, instead of inside the agent (or, under Wine, not at all: Wine
 * starts a Linux program given to CreateProcessW as a Linux process that the debugger never hears of).
 */

import { closeSync, openSync, readSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { IMAGE_FILE_MACHINE_AMD64, IMAGE_HEADER_PROBE_BYTES, classifyImage } from '../win32/pe';

/** A program or output path the capture cannot use; the message says which and why. */
export class PreflightError extends Error {
  override name = 'PreflightError';
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function readHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(IMAGE_HEADER_PROBE_BYTES);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Throws a PreflightError unless `program` is a readable x64 Windows executable (PE32+, AMD64, not a DLL):
 * "cannot start PATH: REASON". The Unix execute bit is not asked for: Wine and Windows both start a PE file without it.
 */
export function checkProgram(program: string): void {
  const path = resolve(program);
  const fail = (reason: string): never => {
    throw new PreflightError(`cannot start ${path}: ${reason}`);
  };
  let head: Buffer;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) fail('it is a directory, not a program');
    if (!stat.isFile()) fail('not a regular file');
    head = readHead(path);
  } catch (error) {
    if (error instanceof PreflightError) throw error;
    const code = errnoOf(error);
    if (code === 'ENOENT') return fail('no such file');
    if (code === 'ENOTDIR') return fail('a folder on its path is a file');
    if (code === 'EACCES' || code === 'EPERM') return fail('permission denied: the file cannot be read');
    return fail(error instanceof Error ? error.message : String(error));
  }
  const image = classifyImage(head);
  if (image.kind === 'not-pe') return fail(`not a Windows executable: ${image.what}; sockshare traces x64 Windows programs (.exe)`);
  if (image.machine !== IMAGE_FILE_MACHINE_AMD64 || !image.pe32Plus) {
    return fail(`wrong architecture: a Windows program built for ${image.machineName} (${image.pe32Plus ? 'PE32+' : 'PE32'}); sockshare traces x64 (PE32+) Windows programs only`);
  }
  if (image.dll) fail('a DLL, not a program');
}

/**
 * Throws a PreflightError unless the trace can be written at `traceFile`: its folder exists, it is not a folder, and
 * it can be opened for writing (tried for real: permissions, read-only file systems and root's rights all count).
 */
export function checkTraceOutput(traceFile: string, option = '--out'): void {
  const path = resolve(traceFile);
  const folder = dirname(path);
  const fail = (reason: string): never => {
    throw new PreflightError(`${option}: ${reason}`);
  };
  try {
    if (!statSync(folder).isDirectory()) fail(`${folder} is not a folder (so ${path} cannot be written)`);
  } catch (error) {
    if (error instanceof PreflightError) throw error;
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') fail(`the folder ${folder} does not exist`);
    fail(`cannot use the folder ${folder}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let existed = true;
  try {
    if (statSync(path).isDirectory()) fail(`${path} is a directory; give a file name (e.g. ${path}/trace.sockshare.jsonl)`);
  } catch (error) {
    if (error instanceof PreflightError) throw error;
    existed = false;
  }
  try {
    // An existing trace is opened without truncating it (it is emptied at the run's first event); a new one is created
    // exclusively and removed again, so nothing is left behind if the run does not start.
    closeSync(openSync(path, existed ? 'r+' : 'wx'));
    if (!existed) unlinkSync(path);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') fail(`cannot write ${path}: permission denied${code === 'EROFS' ? ' (read-only file system)' : ''}`);
    fail(`cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

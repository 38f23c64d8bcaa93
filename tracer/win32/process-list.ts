/**
 * Lists the Windows processes this Windows Node.js can see (under Wine: those of the same prefix, the same
 * wineserver): pid, parent pid, image path and command line, for attaching by pid. Its own entry point (dist/
 * process-list.js), run like the agent: node process-list.js OUT.json — the list is written to OUT.json, since
 * Windows node.exe under Wine cannot write to a Linux pipe.
 */

import { writeFileSync } from 'node:fs';
import koffi from 'koffi';
import { win } from './api';

export interface WindowsProcess {
  pid: number;
  parentPid: number;
  /** The executable's file name (PROCESSENTRY32W.szExeFile). */
  name: string;
  /** The full image path, when the process can be opened for a limited query. */
  image?: string;
  commandLine?: string;
  threads: number;
}

const kernel32 = koffi.load('kernel32.dll');
/** What only listing needs; the calls the capture engine shares come from api.ts. */
const api = {
  ...win,
  CreateToolhelp32Snapshot: kernel32.func('uintptr_t __stdcall CreateToolhelp32Snapshot(uint32_t flags, uint32_t pid)'),
  Process32FirstW: kernel32.func('int32_t __stdcall Process32FirstW(uintptr_t snapshot, _Inout_ uint8_t *entry)'),
  Process32NextW: kernel32.func('int32_t __stdcall Process32NextW(uintptr_t snapshot, _Inout_ uint8_t *entry)'),
  OpenProcess: kernel32.func('uintptr_t __stdcall OpenProcess(uint32_t access, int32_t inherit, uint32_t pid)'),
  GetCurrentProcessId: kernel32.func('uint32_t __stdcall GetCurrentProcessId()'),
};

const TH32CS_SNAPPROCESS = 0x2;
const INVALID_HANDLE_VALUE = 0xffffffffffffffffn;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const PROCESS_QUERY_INFORMATION = 0x400;
const PROCESS_VM_READ = 0x10;
/** NtQueryInformationProcess class: PROCESS_BASIC_INFORMATION, PebBaseAddress at 8. */
const PROCESS_BASIC_INFORMATION = 0;
/** x64: PEB.ProcessParameters at 0x20; RTL_USER_PROCESS_PARAMETERS.CommandLine (UNICODE_STRING) at 0x70. */
const PEB_PROCESS_PARAMETERS = 0x20;
const PARAMETERS_COMMAND_LINE = 0x70;
/** NtQueryInformationProcess class: a UNICODE_STRING header followed by the command line itself. */
const PROCESS_COMMAND_LINE_INFORMATION = 60;

/**
 * PROCESSENTRY32W on x64: dwSize@0, cntUsage@4, th32ProcessID@8, th32DefaultHeapID@16 (ULONG_PTR),
 * th32ModuleID@24, cntThreads@28, th32ParentProcessID@32, pcPriClassBase@36, dwFlags@40, szExeFile[260]@44;
 * 568 bytes with the struct's 8-byte alignment.
 */
const ENTRY = { size: 568, pid: 8, threads: 28, parentPid: 32, exeFile: 44, exeFileChars: 260 };

function utf16z(bytes: Buffer, offset: number, maxChars: number): string {
  const text = bytes.toString('utf16le', offset, offset + maxChars * 2);
  const end = text.indexOf('\0');
  return end < 0 ? text : text.slice(0, end);
}

function imagePath(process: bigint): string | undefined {
  const name = new Uint16Array(1024);
  const size = [name.length];
  return api.QueryFullProcessImageNameW(process, 0, name, size) ? Buffer.from(name.buffer).toString('utf16le', 0, size[0] * 2) : undefined;
}

function read(process: bigint, address: bigint, length: number): Buffer | undefined {
  const bytes = Buffer.alloc(length);
  return api.ReadProcessMemory(process, address, bytes, length, 0) ? bytes : undefined;
}

function commandLine(pid: number, limited: bigint): string | undefined {
  const info = Buffer.alloc(64 * 1024);
  // UNICODE_STRING: Length (bytes) @0, MaximumLength @2, Buffer pointer @8; the text follows the header here.
  if (api.NtQueryInformationProcess(limited, PROCESS_COMMAND_LINE_INFORMATION, info, info.length, 0) === 0) return info.toString('utf16le', 16, 16 + info.readUInt16LE(0));
  // Wine 8 lacks that class: read it from the process's PEB.
  const process = BigInt(api.OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, 0, pid));
  if (process === 0n) return undefined;
  try {
    const basic = Buffer.alloc(48);
    if (api.NtQueryInformationProcess(process, PROCESS_BASIC_INFORMATION, basic, basic.length, 0) !== 0) return undefined;
    const peb = read(process, basic.readBigUInt64LE(8) + BigInt(PEB_PROCESS_PARAMETERS), 8);
    const parameters = peb?.readBigUInt64LE(0);
    const text = parameters ? read(process, parameters + BigInt(PARAMETERS_COMMAND_LINE), 16) : undefined;
    if (!text) return undefined;
    return read(process, text.readBigUInt64LE(8), text.readUInt16LE(0))?.toString('utf16le');
  } finally {
    api.CloseHandle(process);
  }
}

export function listProcesses(): WindowsProcess[] {
  const snapshot = BigInt(api.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
  if (snapshot === INVALID_HANDLE_VALUE) throw new Error('CreateToolhelp32Snapshot failed');
  const self = api.GetCurrentProcessId();
  const found: WindowsProcess[] = [];
  try {
    const entry = Buffer.alloc(ENTRY.size);
    entry.writeUInt32LE(ENTRY.size, 0);
    for (let more = api.Process32FirstW(snapshot, entry); more; more = api.Process32NextW(snapshot, entry)) {
      const pid = entry.readUInt32LE(ENTRY.pid);
      if (pid === 0 || pid === self) continue;
      const process: WindowsProcess = { pid, parentPid: entry.readUInt32LE(ENTRY.parentPid), name: utf16z(entry, ENTRY.exeFile, ENTRY.exeFileChars), threads: entry.readUInt32LE(ENTRY.threads) };
      const handle = BigInt(api.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid));
      if (handle !== 0n) {
        process.image = imagePath(handle);
        process.commandLine = commandLine(pid, handle);
        api.CloseHandle(handle);
      }
      found.push(process);
    }
  } finally {
    api.CloseHandle(snapshot);
  }
  return found;
}

if (require.main === module) {
  const out = process.argv[2];
  try {
    const list = listProcesses();
    writeFileSync(out, JSON.stringify({ processes: list }));
  } catch (error) {
    writeFileSync(out, JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    process.exitCode = 2;
  }
}

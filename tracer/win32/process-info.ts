/** What a new debuggee is: its image path, its parent and its command line, read from the process itself. */

import { win } from './api';
import { PARAMS_COMMAND_LINE, PEB_PROCESS_PARAMETERS } from './layouts';
import type { TracedProcess } from './traced-process';

export interface NewProcessInfo {
  image: string;
  parentPid: number;
  commandLine: string;
}

const ProcessBasicInformation = 0;

export function describeNewProcess(process: TracedProcess): NewProcessInfo {
  const name = new Uint16Array(1024);
  const size = [name.length];
  const image = win.QueryFullProcessImageNameW(process.handle, 0, name, size) ? Buffer.from(name.buffer, 0, size[0] * 2).toString('utf16le') : '';
  // PROCESS_BASIC_INFORMATION: PebBaseAddress at 8, InheritedFromUniqueProcessId at 40.
  const basic = Buffer.alloc(48);
  let parentPid = 0;
  let commandLine = '';
  if (win.NtQueryInformationProcess(process.handle, ProcessBasicInformation, basic, basic.length, 0) === 0) {
    parentPid = Number(basic.readBigUInt64LE(40));
    const peb = basic.readBigUInt64LE(8);
    const params = process.readU64(peb + BigInt(PEB_PROCESS_PARAMETERS));
    const unicode = params === undefined ? undefined : process.read(params + BigInt(PARAMS_COMMAND_LINE), 16);
    if (unicode) commandLine = process.readWideString(unicode.readBigUInt64LE(8), unicode.readUInt16LE(0));
  }
  return { image, parentPid, commandLine };
}

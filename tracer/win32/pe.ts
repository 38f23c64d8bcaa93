/**
 * Reading PE images: a loaded one (a DLL mapped in a debuggee: its size, its own name and its export table), and an
 * executable file's headers (is it a program this tracer can start).
 */

/** Reads `length` bytes at a relative virtual address of the image. */
export type ImageReader = (rva: number, length: number) => Buffer;

export interface ImageExports {
  /** The DLL's name from its export directory (e.g. "WS2_32.dll"). */
  name: string;
  sizeOfImage: number;
  /** Exported name → RVA of the function. */
  functions: Map<string, number>;
}

const IMAGE_NT_SIGNATURE = 0x00004550;
const PE32_PLUS_MAGIC = 0x20b;

function readAsciiz(read: ImageReader, rva: number, max = 256): string {
  const bytes = read(rva, max);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('latin1');
}

/**
 * Parses the export directory: always the DLL's name and size; its functions only when `wanted(name)` says so
 * (each read is a round trip to the debuggee: the names of kernel32's 1,600 exports are not worth it).
 * Returns undefined for a non-PE32+ image.
 */
export function readImageExports(read: ImageReader, wanted: (dllName: string) => ReadonlySet<string> | undefined = () => undefined): ImageExports | undefined {
  const dos = read(0, 0x40);
  if (dos.readUInt16LE(0) !== 0x5a4d) return undefined; // "MZ"
  const nt = dos.readUInt32LE(0x3c);
  const headers = read(nt, 24 + 112 + 8);
  if (headers.readUInt32LE(0) !== IMAGE_NT_SIGNATURE) return undefined;
  const optional = 24;
  if (headers.readUInt16LE(optional) !== PE32_PLUS_MAGIC) return undefined;
  const sizeOfImage = headers.readUInt32LE(optional + 56);
  // DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT] of a PE32+ optional header.
  const exportRva = headers.readUInt32LE(optional + 112);
  const exportSize = headers.readUInt32LE(optional + 116);
  const functions = new Map<string, number>();
  if (exportRva === 0) return { name: '', sizeOfImage, functions };
  const dir = read(exportRva, 40);
  const name = readAsciiz(read, dir.readUInt32LE(12));
  const names = wanted(name);
  if (!names) return { name, sizeOfImage, functions };
  // The tables and the name strings usually lie inside the export directory: read it in one go.
  const block = read(exportRva, exportSize);
  const at = (rva: number, length: number) => (rva >= exportRva && rva + length <= exportRva + exportSize ? block.subarray(rva - exportRva, rva - exportRva + length) : read(rva, length));
  const functionCount = dir.readUInt32LE(20);
  const nameCount = dir.readUInt32LE(24);
  const addresses = at(dir.readUInt32LE(28), functionCount * 4);
  const nameTable = at(dir.readUInt32LE(32), nameCount * 4);
  const ordinals = at(dir.readUInt32LE(36), nameCount * 2);
  for (let i = 0; i < nameCount; i++) {
    const exported = readAsciiz(at, nameTable.readUInt32LE(i * 4), 64);
    if (names !== EVERY_EXPORT && !names.has(exported)) continue;
    const rva = addresses.readUInt32LE(ordinals.readUInt16LE(i * 2) * 4);
    // An RVA inside the export directory is a forwarder string, not code.
    if (rva >= exportRva && rva < exportRva + exportSize) continue;
    functions.set(exported, rva);
  }
  return { name, sizeOfImage, functions };
}

/** Passed as readImageExports' wanted set: every named export (to name stack frames in system DLLs). */
export const EVERY_EXPORT: ReadonlySet<string> = new Set<string>();

/** Exports sorted by RVA, for finding the function an address lies in. */
export type ExportTable = readonly { readonly name: string; readonly rva: number }[];

export function sortedExports(functions: ReadonlyMap<string, number>): ExportTable {
  return [...functions].map(([name, rva]) => ({ name, rva })).sort((a, b) => a.rva - b.rva);
}

/**
 * The nearest export at or below `rva`: the best name a DLL without symbols gives a code address (the function may
 * be an unexported one after it; callers show the offset, as debuggers do with export-only symbols).
 */
export function nearestExport(table: ExportTable, rva: number): { name: string; offset: number } | undefined {
  let low = 0;
  let high = table.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (table[mid].rva <= rva) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found < 0 ? undefined : { name: table[found].name, offset: rva - table[found].rva };
}

/** IMAGE_FILE_HEADER.Machine values worth naming in a message. */
const MACHINE_NAMES: Record<number, string> = {
  0x014c: '32-bit x86',
  0x8664: 'x64',
  0xaa64: 'ARM64',
  0x01c4: '32-bit ARM',
  0x0200: 'Itanium',
};
export const IMAGE_FILE_MACHINE_AMD64 = 0x8664;
const PE32_MAGIC = 0x10b;
/** IMAGE_FILE_HEADER.Characteristics: the image is a DLL, not a program CreateProcess can start. */
const IMAGE_FILE_DLL = 0x2000;
/** Enough of a file's start for the DOS header, and NT headers within the first 4 KB (where linkers put them). */
export const IMAGE_HEADER_PROBE_BYTES = 4096;

/** What a file's first bytes say about it as a program to start. */
export type ImageKind =
  | { kind: 'pe'; machine: number; machineName: string; pe32Plus: boolean; dll: boolean; subsystem: number; imageBase: bigint }
  | { kind: 'not-pe'; what: string };

/** Names the machine of an IMAGE_FILE_HEADER (e.g. "32-bit x86", or "machine 0x1234"). */
export function machineName(machine: number): string {
  return MACHINE_NAMES[machine] ?? `machine 0x${machine.toString(16)}`;
}

/**
 * Reads the headers of an executable file from its first bytes (at least the DOS header and the NT headers'
 * start): "MZ", e_lfanew at 0x3c, "PE\0\0", IMAGE_FILE_HEADER (Machine, Characteristics), OptionalHeader.Magic.
 */
export function classifyImage(head: Buffer): ImageKind {
  if (head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) return { kind: 'not-pe', what: 'a Linux (ELF) program' };
  if (head.length >= 2 && head.toString('latin1', 0, 2) === '#!') return { kind: 'not-pe', what: 'a script (#!)' };
  if (head.length < 2 || head.readUInt16LE(0) !== 0x5a4d) return { kind: 'not-pe', what: head.length === 0 ? 'an empty file' : 'no MZ header' };
  if (head.length < 0x40) return { kind: 'not-pe', what: 'an MZ file cut short (no complete DOS header)' };
  const nt = head.readUInt32LE(0x3c);
  // Signature (4) + IMAGE_FILE_HEADER (20) + OptionalHeader.Magic (2) .. Subsystem at optional + 68 (both formats).
  if (nt + 24 + 70 > head.length) return { kind: 'not-pe', what: 'an MZ file with no PE header in reach (a DOS program, or cut short)' };
  if (head.readUInt32LE(nt) !== IMAGE_NT_SIGNATURE) return { kind: 'not-pe', what: 'an MZ file with no PE signature (a DOS or 16-bit program)' };
  const machine = head.readUInt16LE(nt + 4);
  const characteristics = head.readUInt16LE(nt + 22);
  const magic = head.readUInt16LE(nt + 24);
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) return { kind: 'not-pe', what: `a PE file with an unknown optional-header magic 0x${magic.toString(16)}` };
  const pe32Plus = magic === PE32_PLUS_MAGIC;
  // OptionalHeader.ImageBase: the preferred load address (a ULONGLONG at +24 in PE32+, a DWORD at +28 in PE32).
  const imageBase = pe32Plus ? head.readBigUInt64LE(nt + 24 + 24) : BigInt(head.readUInt32LE(nt + 24 + 28));
  return { kind: 'pe', machine, machineName: machineName(machine), pe32Plus, dll: (characteristics & IMAGE_FILE_DLL) !== 0, subsystem: head.readUInt16LE(nt + 24 + 68), imageBase };
}

/** IMAGE_SYMBOL: 18 bytes; Type 0x20 is a function (DT_FCN << 4); storage class 2 external, 3 static. */
const COFF_SYMBOL_SIZE = 18;
const COFF_FUNCTION_TYPE = 0x20;
const COFF_EXTERNAL = 2;
const COFF_STATIC = 3;

/**
 * The functions a PE file's COFF symbol table names (mingw keeps one unless stripped), name → RVA: the names of a
 * program whose debug information dbghelp cannot read (Wine's reads DWARF 2-4, not gcc's default DWARF 5).
 * `read(offset, length)` reads the file (a short buffer past its end); only the headers and the table are read.
 * Empty when the file has no symbol table.
 */
export function readCoffFunctions(read: (offset: number, length: number) => Buffer): Map<string, number> {
  const functions = new Map<string, number>();
  const head = read(0, IMAGE_HEADER_PROBE_BYTES);
  if (head.length < 0x40 || head.readUInt16LE(0) !== 0x5a4d) return functions;
  const nt = head.readUInt32LE(0x3c);
  if (nt + 24 > head.length || head.readUInt32LE(nt) !== IMAGE_NT_SIGNATURE) return functions;
  const sectionCount = head.readUInt16LE(nt + 6);
  const symbolTable = head.readUInt32LE(nt + 12);
  const symbolCount = head.readUInt32LE(nt + 16);
  const sections = nt + 24 + head.readUInt16LE(nt + 20);
  if (symbolTable === 0 || symbolCount === 0 || sections + 40 * sectionCount > head.length) return functions;
  const symbols = read(symbolTable, symbolCount * COFF_SYMBOL_SIZE);
  const stringsSize = read(symbolTable + symbols.length, 4);
  if (symbols.length < symbolCount * COFF_SYMBOL_SIZE || stringsSize.length < 4) return functions;
  const strings = read(symbolTable + symbols.length, stringsSize.readUInt32LE(0));
  // IMAGE_SECTION_HEADER: 40 bytes, VirtualAddress at 12.
  const sectionRva = (number: number) => head.readUInt32LE(sections + 40 * (number - 1) + 12);
  for (let i = 0; i < symbolCount; i++) {
    const at = i * COFF_SYMBOL_SIZE;
    const section = symbols.readInt16LE(at + 12);
    const storage = symbols.readUInt8(at + 16);
    if (symbols.readUInt16LE(at + 14) === COFF_FUNCTION_TYPE && section > 0 && section <= sectionCount && (storage === COFF_EXTERNAL || storage === COFF_STATIC)) {
      // A short name is inline (up to 8 bytes, NUL-padded); a long one is an offset into the string table.
      const offset = symbols.readUInt32LE(at) === 0 ? symbols.readUInt32LE(at + 4) : -1;
      const name = offset >= 0 ? strings.toString('latin1', offset, strings.indexOf(0, offset)) : symbols.toString('latin1', at, at + 8).replace(/\0.*$/, '');
      functions.set(name, sectionRva(section) + symbols.readUInt32LE(at + 8));
    }
    i += symbols.readUInt8(at + 17); // its aux records
  }
  return functions;
}

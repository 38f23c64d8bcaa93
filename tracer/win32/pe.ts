/** Reading a loaded PE image (a DLL mapped in a debuggee): its size, its own name and its export table. */

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
    if (!names.has(exported)) continue;
    const rva = addresses.readUInt32LE(ordinals.readUInt16LE(i * 2) * 4);
    // An RVA inside the export directory is a forwarder string, not code.
    if (rva >= exportRva && rva < exportRva + exportSize) continue;
    functions.set(exported, rva);
  }
  return { name, sizeOfImage, functions };
}

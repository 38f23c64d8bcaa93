/**
 * In-process capture: the kernel32 and ntdll entry points api.ts does not bind (memory allocation and protection in
 * the debuggee, the section a ring is shared through). Same conventions as api.ts: handles and addresses are
 * uintptr_t (BigInt in koffi 3).
 */

import koffi from 'koffi';

const kernel32 = koffi.load('kernel32.dll');
const ntdll = koffi.load('ntdll.dll');

export const MEM_COMMIT = 0x1000;
export const MEM_RESERVE = 0x2000;
export const PAGE_READWRITE = 0x04;
export const PAGE_EXECUTE_READ = 0x20;
export const PAGE_EXECUTE_READWRITE = 0x40;
export const FILE_MAP_ALL_ACCESS = 0xf001f;
/** SECTION_INHERIT ViewUnmap: the view is not inherited by the debuggee's children. */
export const VIEW_UNMAP = 2;

export const winExtra = {
  VirtualAllocEx: kernel32.func('uintptr_t __stdcall VirtualAllocEx(uintptr_t process, uintptr_t address, uintptr_t size, uint32_t type, uint32_t protect)'),
  VirtualProtectEx: kernel32.func('int32_t __stdcall VirtualProtectEx(uintptr_t process, uintptr_t address, uintptr_t size, uint32_t protect, _Out_ uint32_t *old)'),
  CreateFileMappingW: kernel32.func('uintptr_t __stdcall CreateFileMappingW(uintptr_t file, uintptr_t attributes, uint32_t protect, uint32_t sizeHigh, uint32_t sizeLow, uintptr_t name)'),
  MapViewOfFile: kernel32.func('uintptr_t __stdcall MapViewOfFile(uintptr_t section, uint32_t access, uint32_t offsetHigh, uint32_t offsetLow, uintptr_t size)'),
  UnmapViewOfFile: kernel32.func('int32_t __stdcall UnmapViewOfFile(uintptr_t address)'),
  /** `base` and `viewSize`: 8-byte buffers, in and out. */
  NtMapViewOfSection: ntdll.func('int32_t __stdcall NtMapViewOfSection(uintptr_t section, uintptr_t process, _Inout_ uint8_t *base, uintptr_t zeroBits, uintptr_t commitSize, uintptr_t offset, _Inout_ uint8_t *viewSize, uint32_t inherit, uint32_t type, uint32_t protect)'),
  /** `tid`: a 4-byte buffer, out. */
  CreateRemoteThread: kernel32.func('uintptr_t __stdcall CreateRemoteThread(uintptr_t process, uintptr_t attributes, uintptr_t stackSize, uintptr_t start, uintptr_t parameter, uint32_t flags, _Out_ uint8_t *tid)'),
  QueryPerformanceCounter: kernel32.func('int32_t __stdcall QueryPerformanceCounter(_Out_ int64_t *count)'),
  QueryPerformanceFrequency: kernel32.func('int32_t __stdcall QueryPerformanceFrequency(_Out_ int64_t *freq)'),
};

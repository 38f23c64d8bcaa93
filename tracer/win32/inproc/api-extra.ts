/**
 * In-process capture: the kernel32 entry points api.ts does not bind (memory allocation and protection in the
 * debuggee). Same conventions as api.ts: handles and addresses are uintptr_t (BigInt in koffi 3).
 */

import koffi from 'koffi';

const kernel32 = koffi.load('kernel32.dll');

export const MEM_COMMIT = 0x1000;
export const MEM_RESERVE = 0x2000;
export const PAGE_READWRITE = 0x04;
export const PAGE_EXECUTE_READ = 0x20;
export const PAGE_EXECUTE_READWRITE = 0x40;

export const winExtra = {
  VirtualAllocEx: kernel32.func('uintptr_t __stdcall VirtualAllocEx(uintptr_t process, uintptr_t address, uintptr_t size, uint32_t type, uint32_t protect)'),
  VirtualProtectEx: kernel32.func('int32_t __stdcall VirtualProtectEx(uintptr_t process, uintptr_t address, uintptr_t size, uint32_t protect, _Out_ uint32_t *old)'),
  QueryPerformanceCounter: kernel32.func('int32_t __stdcall QueryPerformanceCounter(_Out_ int64_t *count)'),
  QueryPerformanceFrequency: kernel32.func('int32_t __stdcall QueryPerformanceFrequency(_Out_ int64_t *freq)'),
};

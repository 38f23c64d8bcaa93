/**
 * Recorded call stacks: the `stack` field's validation, the export-table naming of system DLL frames, and the labels
 * the CALL STACK gives frames.
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stackFrameLabel } from '../../adapter/frames';
import { validateEvent } from '../../tracer/trace/validate';
import { nearestExport, sortedExports } from '../../tracer/win32/pe';

const call = (stack: unknown) => ({ seq: 3, timeNs: 10, kind: 'api', phase: 'call', pid: 4, tid: 8, api: 'closesocket', args: { s: 44 }, caller: { module: 'a.exe', offset: 16 }, stack });

describe('the stack field of api call events', () => {
  test('frames with and without symbols are accepted', () => {
    const stack = [
      { module: 'a.exe', offset: 16, function: 'main', functionOffset: 12, file: 'Z:\\src\\a.c', line: 48 },
      { module: 'kernel32.dll', offset: 163401, function: 'BaseThreadInitThunk', functionOffset: 9 },
      { module: '?', offset: 4096 },
    ];
    assert.deepEqual((validateEvent(call(stack)) as { stack: unknown }).stack, stack);
  });

  test('a trace without stacks is still valid', () => {
    const event = call(undefined) as Record<string, unknown>;
    delete event.stack;
    validateEvent(event);
  });

  for (const [what, stack, field] of [
    ['not an array', { module: 'a.exe' }, 'stack'],
    ['a frame that is not an object', [7], 'stack[0]'],
    ['a frame without a module', [{ offset: 1 }], 'stack[0].module'],
    ['a negative offset', [{ module: 'a.exe', offset: 1 }, { module: 'b.dll', offset: -1 }], 'stack[1].offset'],
    ['a line that is not a positive integer', [{ module: 'a.exe', offset: 1, file: 'a.c', line: 0 }], 'stack[0].line'],
    ['a file without a line', [{ module: 'a.exe', offset: 1, file: 'a.c' }], 'stack[0].line'],
    ['a function name that is not a string', [{ module: 'a.exe', offset: 1, function: 5 }], 'stack[0].function'],
  ] as const) {
    test(`${what} is an error naming ${field}`, () => {
      assert.throws(() => validateEvent(call(stack)), (error: Error & { field?: string }) => {
        assert.equal(error.field, field);
        assert.match(error.message, new RegExp(`field "${field.replace(/[[\].]/g, '\\$&')}"`));
        return true;
      });
    });
  }
});

describe('naming a frame from an export table', () => {
  const table = sortedExports(new Map([['Sleep', 0x2000], ['BaseThreadInitThunk', 0x1000], ['SleepEx', 0x2100]]));

  test('the nearest export at or below the address, with the offset from it', () => {
    assert.deepEqual(nearestExport(table, 0x1009), { name: 'BaseThreadInitThunk', offset: 9 });
    assert.deepEqual(nearestExport(table, 0x2000), { name: 'Sleep', offset: 0 });
    assert.deepEqual(nearestExport(table, 0x2024), { name: 'Sleep', offset: 0x24 });
    assert.deepEqual(nearestExport(table, 0x9000), { name: 'SleepEx', offset: 0x6f00 });
  });

  test('below the first export there is no name', () => {
    assert.equal(nearestExport(table, 0x800), undefined);
    assert.equal(nearestExport([], 0x800), undefined);
  });
});

describe('frame labels', () => {
  test('module!function+0xoff, or module+0xoff without a function', () => {
    assert.equal(stackFrameLabel({ module: 'a.exe', offset: 0x1859, function: 'target', functionOffset: 0xc9 }), 'a.exe!target+0xc9');
    assert.equal(stackFrameLabel({ module: 'a.exe', offset: 0x13ae }), 'a.exe+0x13ae');
  });
});

// tensor() from a plain array (issue 15 item 10): anything but a number is refused with the value and
// its index (Float32Array.from would make 'a' or undefined a silent NaN); NaN and ±Infinity are
// numbers and kept; typed arrays are taken as they are.
import { describe, it, expect, beforeAll } from 'vitest';
import { tensor } from '../../engine/index.js';
import { testBackends, useBackend } from '../harness.js';

for (const backend of testBackends()) describe(`tensor() values on ${backend}`, () => {
  beforeAll(() => useBackend(backend));

  it('refuses strings, undefined, null, booleans and objects, naming the value and index', () => {
    const cases: [unknown[], string][] = [
      [[1, 'a', 3], "tensor: value 'a' at index 1 is not a number (string)"],
      [[1, 2, undefined], 'tensor: value undefined at index 2 is not a number (undefined)'],
      [[null, 1, 2], 'tensor: value null at index 0 is not a number (null)'],
      [[1, true, 2], 'tensor: value true at index 1 is not a number (boolean)'],
      [[1, 2, {}], 'tensor: value [object Object] at index 2 is not a number (object)'],
    ];
    for (const [values, msg] of cases) {
      expect(() => tensor(values as number[], [3]), msg).toThrow(msg);
      expect(() => tensor(values as number[], [3], { dtype: 'i32' }), msg).toThrow(msg);
    }
    // A hole in a sparse array is undefined.
    const sparse = [1, 2, 3];
    delete (sparse as unknown[])[1];
    expect(() => tensor(sparse, [3])).toThrow('tensor: value undefined at index 1 is not a number');
  });

  it('keeps NaN and ±Infinity, and takes typed arrays', async () => {
    const t = tensor([NaN, Infinity, -Infinity, 1.5], [4]);
    expect([...(await t.toArray())]).toEqual([NaN, Infinity, -Infinity, 1.5]);
    t.dispose();
    const u = tensor(Uint8Array.of(1, 2, 255), [3]);
    expect([...(await u.toArray())]).toEqual([1, 2, 255]);
    u.dispose();
  });
});

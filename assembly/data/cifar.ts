// CIFAR-10 / CIFAR-100 binary records: <label byte(s)><1024 R><1024 G><1024 B>, 32×32 row-major
// planes. CIFAR-100 has two label bytes (coarse 0..19, fine 0..99). Splits the records into one
// planar image array (N×3×32×32) and one or two label arrays, checking every label's range.

import { fail, alloc, setResult } from "./common";

const IMG: usize = 3072;

/** Results: 0 = images, 1 = labels (fine for CIFAR-100), 2 = coarse labels (or 0), 3 = count. */
export function cifar_parse(p: usize, n: usize, labelBytes: i32): void {
  if (labelBytes != 1 && labelBytes != 2) fail("labelBytes must be 1 (CIFAR-10) or 2 (CIFAR-100), got {a}", -1, labelBytes);
  const rec = IMG + <usize>labelBytes;
  if (n == 0) fail("empty file", 0);
  if (n % rec != 0) fail("size {a} is not a multiple of the {b}-byte record (truncated or not CIFAR)", <i32>n, <i32>n, <i32>rec);
  const count = n / rec;
  const images = alloc(count * IMG);
  const labels = alloc(count);
  const coarse = labelBytes == 2 ? alloc(count) : 0;
  for (let i: usize = 0; i < count; i++) {
    const r = p + i * rec;
    if (labelBytes == 1) {
      const l = load<u8>(r);
      if (l > 9) fail("label {a} out of range 0..9 in record {b}", <i32>(i * rec), l, <i32>i);
      store<u8>(labels + i, l);
    } else {
      const c = load<u8>(r);
      const f = load<u8>(r + 1);
      if (c > 19) fail("coarse label {a} out of range 0..19 in record {b}", <i32>(i * rec), c, <i32>i);
      if (f > 99) fail("fine label {a} out of range 0..99 in record {b}", <i32>(i * rec + 1), f, <i32>i);
      store<u8>(coarse + i, c);
      store<u8>(labels + i, f);
    }
    memory.copy(images + i * IMG, r + <usize>labelBytes, IMG);
  }
  setResult(0, <i32>images);
  setResult(1, <i32>labels);
  setResult(2, <i32>coarse);
  setResult(3, <i32>count);
}

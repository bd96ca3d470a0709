// IDX files (MNIST, Fashion-MNIST): big-endian header `0 0 type ndims`, ndims u32 sizes, then the
// data. Only unsigned bytes (type 0x08) are read; the data size must equal the product of the sizes.
//
// Not handled: the other IDX element types (int8/16/32, float, double) — refused with a message.

import { fail, setResult, be32 } from "./common";

/** Results: 0 = data offset, 1 = ndims, 2.. = sizes. */
export function idx_parse(p: usize, n: usize): void {
  if (n < 4) fail("truncated: {a} bytes, shorter than the 4-byte magic number", 0, <i32>n);
  if (load<u8>(p) != 0 || load<u8>(p + 1) != 0) fail("wrong magic number (not an IDX file)", 0);
  const type = <i32>load<u8>(p + 2);
  const nd = <i32>load<u8>(p + 3);
  if (type != 8) fail("element type 0x{a} not supported (only unsigned bytes, 0x08)", 2, type);
  if (nd < 1 || nd > 4) fail("{a} dimensions (expected 1 to 4)", 3, nd);
  const hdr: usize = 4 + (<usize>nd) * 4;
  if (n < hdr) fail("truncated header", <i32>n);
  let total: u64 = 1;
  for (let i = 0; i < nd; i++) {
    const d = be32(p + 4 + <usize>(i * 4));
    total *= <u64>d;
    if (total > 0xffffffff) fail("sizes multiply to more than 4 GiB (absurd header)", 4 + i * 4);
    setResult(2 + i, <i32>d);
  }
  if (<u64>(n - hdr) != total) fail("holds {a} bytes of data, the header says {b}", <i32>hdr, <i32>(n - hdr), <i32>total);
  setResult(0, <i32>hdr);
  setResult(1, nd);
}

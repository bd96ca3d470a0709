// tar archives (POSIX ustar and pax, GNU long names and base-256 sizes): an index of the entries, the
// data left in place. Every header is checked (checksum, octal fields, size against the archive end).
//
// Output: one record of 6 i32 per entry: name pointer, name length, data pointer, size, type flag,
// header offset. Names are ustar prefix + "/" + name, or the pax `path`, or the GNU long name; the
// pointers are into the archive or into a name area allocated here.
//
// Not handled: sparse files, multi-volume archives, pax keys other than `path` and `size`.

import { fail, alloc, setResult } from "./common";

let base: usize = 0;

function octal(p: usize, n: usize, what: string): u64 {
  // GNU base-256: the high bit of the first byte set, big-endian binary follows.
  if (load<u8>(p) & 0x80) {
    let v: u64 = <u64>(load<u8>(p) & 0x7f);
    for (let i: usize = 1; i < n; i++) {
      if (v >> 55) fail(what, <i32>(p - base));
      v = (v << 8) | <u64>load<u8>(p + i);
    }
    return v;
  }
  let v: u64 = 0;
  let i: usize = 0;
  while (i < n && load<u8>(p + i) == 32) i++;
  let digits = 0;
  for (; i < n; i++) {
    const c = load<u8>(p + i);
    if (c == 0 || c == 32) break;
    if (c < 48 || c > 55) fail(what, <i32>(p + i - base));
    if (v >> 60) fail(what, <i32>(p - base));
    v = (v << 3) | <u64>(c - 48);
    digits++;
  }
  return v;
}

@inline function strlenN(p: usize, n: usize): usize {
  let i: usize = 0;
  while (i < n && load<u8>(p + i) != 0) i++;
  return i;
}

/** Indexes the tar archive at [p, p+n). Results: 0 = records pointer, 1 = entry count. */
export function tar_index(p: usize, n: usize): void {
  base = p;
  const end = p + n;
  const maxEntries = n / 512 + 1;
  const recs = alloc(maxEntries * 24);
  let count: usize = 0;
  let q = p;
  // Pending long name (pax path or GNU 'L') for the next entry; 0 = none.
  let longName: usize = 0;
  let longLen: usize = 0;
  let paxSize: i64 = -1;
  let zeros = 0;
  if (n < 512) fail("not a tar archive (shorter than one 512-byte header)", 0);
  while (q + 512 <= end) {
    // Two zero blocks end the archive (one is accepted at the very end).
    let allZero = true;
    for (let i: usize = 0; i < 512; i += 8) if (load<u64>(q + i) != 0) { allZero = false; break; }
    if (allZero) {
      zeros++;
      q += 512;
      if (zeros == 2) break;
      continue;
    }
    if (zeros > 0) fail("data after an end-of-archive block", <i32>(q - p));
    let sum: u32 = 0;
    for (let i: usize = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : <u32>load<u8>(q + i);
    const stored = octal(q + 148, 8, "bad header checksum field");
    if (<u64>sum != stored) {
      if (count == 0) fail("not a tar archive (header checksum mismatch)", <i32>(q - p));
      fail("corrupt tar header (checksum mismatch)", <i32>(q - p));
    }
    let size = octal(q + 124, 12, "bad size field in tar header");
    if (paxSize >= 0) {
      size = <u64>paxSize;
      paxSize = -1;
    }
    const type = <i32>load<u8>(q + 156);
    const data = q + 512;
    if (size > <u64>(end - data)) fail("truncated: entry needs {a} bytes, the archive has {b} left", <i32>(q - p), <i32>min<u64>(size, 0x7fffffff), <i32>(end - data));
    const padded = (<usize>size + 511) & ~(<usize>511);
    if (type == 120 || type == 103) {
      // pax extended header: records "len key=value\n".
      if (type == 120) {
        let r = data;
        const rend = data + <usize>size;
        while (r < rend) {
          let len: usize = 0;
          let s = r;
          while (s < rend && load<u8>(s) >= 48 && load<u8>(s) <= 57) {
            len = len * 10 + <usize>(load<u8>(s) - 48);
            if (len > <usize>size) fail("bad pax record length", <i32>(s - p));
            s++;
          }
          if (len == 0 || s >= rend || load<u8>(s) != 32 || len > rend - r) fail("bad pax record", <i32>(r - p));
          const kv = s + 1;
          const recEnd = r + len - 1; // before the newline
          if (kv + 5 <= recEnd && load<u32>(kv) == 0x68746170 && load<u8>(kv + 4) == 61) {
            longName = kv + 5;
            longLen = recEnd - longName;
          } else if (kv + 5 <= recEnd && load<u32>(kv) == 0x657a6973 && load<u8>(kv + 4) == 61) {
            let v: i64 = 0;
            for (let t = kv + 5; t < recEnd; t++) {
              const c = load<u8>(t);
              if (c < 48 || c > 57 || v > 0xffffffffff) fail("bad pax size", <i32>(t - p));
              v = v * 10 + <i64>(c - 48);
            }
            paxSize = v;
          }
          r += len;
        }
      }
      q = data + padded;
      continue;
    }
    if (type == 76) {
      // GNU long name: the data is the name of the next entry.
      longName = data;
      longLen = strlenN(data, <usize>size);
      q = data + padded;
      continue;
    }
    let namePtr: usize;
    let nameLen: usize;
    if (longName) {
      namePtr = longName;
      nameLen = longLen;
      longName = 0;
    } else {
      const nlen = strlenN(q, 100);
      const isUstar = load<u32>(q + 257) == 0x61747375 && load<u8>(q + 261) == 114; // "ustar"
      const plen = isUstar ? strlenN(q + 345, 155) : 0;
      if (plen > 0) {
        namePtr = alloc(plen + 1 + nlen);
        memory.copy(namePtr, q + 345, plen);
        store<u8>(namePtr + plen, 47);
        memory.copy(namePtr + plen + 1, q, nlen);
        nameLen = plen + 1 + nlen;
      } else {
        namePtr = q;
        nameLen = nlen;
      }
    }
    if (count >= maxEntries) fail("too many entries", <i32>(q - p));
    const rec = recs + count * 24;
    store<i32>(rec, <i32>namePtr);
    store<i32>(rec + 4, <i32>nameLen);
    store<i32>(rec + 8, <i32>data);
    store<i32>(rec + 12, <i32>size);
    store<i32>(rec + 16, type);
    store<i32>(rec + 20, <i32>(q - p));
    count++;
    // Directories, links and devices have no data blocks worth reading, but their size still counts.
    q = data + padded;
  }
  // A partial header at the end is truncation; a short tail of zeros (missing end blocks) is not.
  if (zeros < 2 && q < end) {
    for (let z = q; z < end; z++) if (load<u8>(z) != 0) fail("truncated: incomplete tar header at the end", <i32>(q - p));
  }
  setResult(0, <i32>recs);
  setResult(1, <i32>count);
}

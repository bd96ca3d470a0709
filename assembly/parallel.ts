// Per-call state of a kernel instance: which share of the call it computes, how many shares the call
// is cut into, and where the scratch memory of the thread running it starts.
//
// Every thread (the caller and each worker of engine/backends/wasm_threads.ts) has its own instance of
// the module over one shared memory, so these module globals are per thread. A call on n threads is
// cut into n shares; whichever thread claims share s runs the kernel after `set_thread(s, n, its
// scratch)`. In the single-threaded build they stay 0, 1 and the arena pointer.
//
// Determinism rule for every kernel: a share is a set of *output* elements (rows, tiles, images,
// channels), never a slice of a reduction axis, and the arithmetic for one output element is the same
// whichever share or thread computes it. So results are bit-identical for any thread count.
//
// Not handled here: waking and joining threads (JS side, with Atomics on a control block).

let tid_: i32 = 0;
let nthreads_: i32 = 1;
let scratch_: usize = 0;

/** Called by the backend before it runs share `tid` of `nthreads` on some thread. */
export function set_thread(tid: i32, nthreads: i32, scratch: usize): void {
  tid_ = tid;
  nthreads_ = nthreads;
  scratch_ = scratch;
}

/** The share this instance computes (0 … threadCount() − 1). */
@inline export function threadIndex(): i32 {
  return tid_;
}

/** The number of shares the current call is cut into (its thread count). */
@inline export function threadCount(): i32 {
  return nthreads_;
}

/** The running thread's scratch block (`<name>_scratch` export bytes, 64-byte aligned). */
@inline export function scratchBase(): usize {
  return scratch_;
}

/** Result of `share`: this thread's half-open range [shareLo, shareHi). */
export let shareLo: i32 = 0;
export let shareHi: i32 = 0;

/**
 * Splits [0, total) into threadCount() contiguous ranges whose boundaries are multiples of `align`
 * (except the end), as evenly as possible in units of `align`; stores this share's range.
 */
export function share(total: i32, align: i32): void {
  const nt = nthreads_;
  if (nt <= 1) {
    shareLo = 0;
    shareHi = total;
    return;
  }
  const units = (total + align - 1) / align;
  const per = units / nt;
  const rem = units % nt;
  const t = tid_;
  const start = t * per + min<i32>(t, rem);
  const count = per + (t < rem ? 1 : 0);
  shareLo = min<i32>(total, start * align);
  shareHi = min<i32>(total, (start + count) * align);
}

/** Result of `share2`: this share's ranges [lo0, hi0) of the first and [lo1, hi1) of the second dimension. */
export let lo0: i32 = 0;
export let hi0: i32 = 0;
export let lo1: i32 = 0;
export let hi1: i32 = 0;

/**
 * Splits one of two output dimensions over the shares: the first ([0, total0), boundaries multiples
 * of align0) when `first`, else the second; the other dimension stays whole.
 */
export function share2(first: bool, total0: i32, align0: i32, total1: i32, align1: i32): void {
  lo0 = 0;
  hi0 = total0;
  lo1 = 0;
  hi1 = total1;
  if (first) {
    share(total0, align0);
    lo0 = shareLo;
    hi0 = shareHi;
  } else {
    share(total1, align1);
    lo1 = shareLo;
    hi1 = shareHi;
  }
}

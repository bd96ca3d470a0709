// Channel padding (twin of wgsl/pad.wgsl; op in engine/ops/pad.ts). x [N,C,HW] → y [N,before+C+after,HW].
// Threads split the batch.

import { share, shareHi, shareLo } from './parallel';

export function pad_channels_fwd(x: usize, y: usize, N: i32, C: i32, HW: i32, before: i32, after: i32): void {
  const Cy = before + C + after;
  const plane = <usize>HW << 2;
  share(N, 1);
  for (let n = shareLo; n < shareHi; n++) {
    const yn = y + <usize>(n * Cy) * plane;
    memory.fill(yn, 0, <usize>before * plane);
    memory.copy(yn + <usize>before * plane, x + <usize>(n * C) * plane, <usize>C * plane);
    memory.fill(yn + <usize>(before + C) * plane, 0, <usize>after * plane);
  }
}

export function pad_channels_bwd(dy: usize, dx: usize, N: i32, C: i32, HW: i32, before: i32, after: i32): void {
  const Cy = before + C + after;
  const plane = <usize>HW << 2;
  share(N, 1);
  for (let n = shareLo; n < shareHi; n++) memory.copy(dx + <usize>(n * C) * plane, dy + <usize>(n * Cy + before) * plane, <usize>C * plane);
}

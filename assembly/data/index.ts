// The data module (build/data.wasm): decoders and augmentation for datasets/, built apart from the
// engine's kernels so that workers decoding data never share memory with tensors. Each family has
// its own file; datasets/<family>.ts is the host side of the same name.

export { arena_reset, arena_alloc, arena_used, set_limits, result, crc32 } from "./common";
export { inflate_raw, inflate_zlib, gunzip } from "./inflate";
export { jpeg_decode } from "./jpeg";
export { png_decode } from "./png";
export { tar_index } from "./tar";
export { idx_parse } from "./idx";
export { cifar_parse } from "./cifar";
export { augment_one } from "./augment";

/** Traps on purpose: lets tests check that a trap becomes a clean error and the instance survives. */
export function trap_for_tests(): void {
  unreachable();
}

// glibc's malloc and real-size models. glibc raises its mmap threshold (up to 32 MiB) each time a
// mapped block is freed; after that, ONNX Runtime's per-update activation buffers (tens of MB for
// a 0.5B model) come from heap arenas that are never given back, and the process's peak grows
// past the graph's own. A fixed threshold stops that. Measured (`npm run bench -- memory`,
// Qwen2.5-0.5B shape, one 8 × 256-token LoRA GRPO update with the rollout engine loaded): peak RSS
// 4 555 MB with glibc's default, 3 672 MB at 4 MiB, 3 343 MB at 128 KiB; but 128 KiB made the
// built-in model's steps 1.5× slower (every small buffer mapped and unmapped), 4 MiB did not
// (`npm run bench -- step-cost`, same medians within noise). So hosts start the engine at 4 MiB.

/** The mmap threshold the engine runs with on glibc, in bytes. */
export const ENGINE_MMAP_THRESHOLD_BYTES = 4 * 2 ** 20;

/**
 * Variables a host adds to the engine's environment: the fixed threshold on Linux, unless the
 * user set one already or asked for glibc's own behaviour with METIS_MALLOC=default. Empty when
 * there is nothing to add (glibc reads them once, at process start, so they cannot be set later).
 */
export function engineMallocEnv(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): Record<string, string> {
  if (platform !== "linux" || env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.METIS_MALLOC === "default") return {};
  return { MALLOC_MMAP_THRESHOLD_: String(ENGINE_MMAP_THRESHOLD_BYTES) };
}

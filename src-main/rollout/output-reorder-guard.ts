// Several sequences decoding in ONE llama.cpp context read each other's logits unless this guard
// is installed. The cause, in node-llama-cpp 3.21.1 and the llama.cpp it bundles:
//
// - node-llama-cpp never sets `kv_unified`, so a context of n sequences has n KV streams and
//   llama.cpp splits each batch with `split_equal` (sequences grouped by id), not in batch order.
// - node-llama-cpp adds sequences to a batch in the order they asked for their next token, which
//   follows the order their previous sampling finished: not sorted by id. The outputs then come
//   out of order, and llama.cpp records row swaps to apply lazily on the next read of the logits
//   (`output_reorder()`, called by every `llama_get_logits*`; ggml-org/llama.cpp#14853).
// - After a decode, node-llama-cpp samples every sequence at once, each `sampleToken` an async
//   worker on its own libuv thread, each reading the logits: several threads then run
//   `output_reorder()` on the same rows at once, swapping rows twice or half-way. A sequence
//   samples from another's logits. Measured with node-llama-cpp alone (the built-in model, 128
//   sequences × 32 greedy tokens): 82, 128 and 125 of 128 generations differed from
//   single-sequence decoding in 3 of 5 runs with libuv's 4 threads, 0 in 3 runs with
//   UV_THREADPOOL_SIZE=1 and 0 in 4 runs with this guard.
//
// The guard lets the first `sampleToken` after each decode run alone (it applies the swaps and
// clears them); the rest then run concurrently, reading rows that no longer move. It patches
// the one context's native handle, an internal of node-llama-cpp: where that is not shaped as
// expected (another library version) it reports false and the caller must not batch.
import type { LlamaContext } from "node-llama-cpp";

type NativeCall = (...args: unknown[]) => unknown;

/** Install the guard on `context`; false when this node-llama-cpp version is not shaped as expected. */
export function guardOutputReorder(context: LlamaContext): boolean {
  const native = (context as unknown as { _ctx?: Record<string, unknown> })._ctx;
  const decodeBatch = native?.decodeBatch;
  const sampleToken = native?.sampleToken;
  if (!native || typeof decodeBatch !== "function" || typeof sampleToken !== "function") return false;
  const decode = (decodeBatch as NativeCall).bind(native);
  const sample = (sampleToken as NativeCall).bind(native);
  /** A decode has run since swaps were last applied. */
  let reorderPending = false;
  /** The sampleToken call that is applying them, which every other call waits for. */
  let applying: Promise<unknown> | null = null;
  try {
    // The native methods are read-only on the prototype: shadow them on this instance.
    Object.defineProperty(native, "decodeBatch", {
      configurable: true,
      value: async (...args: unknown[]) => {
        const result = await decode(...args);
        reorderPending = true;
        return result;
      },
    });
    Object.defineProperty(native, "sampleToken", {
      configurable: true,
      value: async (...args: unknown[]) => {
        while (applying) await applying.catch(() => undefined);
        if (!reorderPending) return sample(...args);
        const call = Promise.resolve(sample(...args));
        applying = call;
        try {
          const result = await call;
          reorderPending = false;
          return result;
        } finally {
          applying = null;
        }
      },
    });
  } catch {
    return false;
  }
  return true;
}

// How many threads the engine's native libraries get, from the cores this process may use.
// Measured on the 2-core VM: llama.cpp fastest at 1 thread per context with 8 contexts decoding
// at once, ONNX Runtime's update at 2 intra-op threads (bench/results/rollout-*.json,
// train-step-*.json); on larger machines the same rule spreads the cores instead of leaving a
// fixed 1 or 2.
import { availableParallelism } from "node:os";

/** ONNX Runtime's intra-op threads cap: past 16 an update's small kernels gain nothing measurable. */
const MAX_UPDATE_THREADS = 16;

/** llama.cpp threads per rollout context: the cores shared among the `parallel` contexts decoding at once, at least 1. */
export function rolloutThreadsFor(parallel: number, cores: number = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, parallel)));
}

/** ONNX Runtime intra-op threads for an update: one per core, 1 to 16. */
export function updateThreadsFor(cores: number = availableParallelism()): number {
  return Math.min(MAX_UPDATE_THREADS, Math.max(1, cores));
}

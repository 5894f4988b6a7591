// node-llama-cpp (pinned at 3.21.1) caches every LoRA adapter it loads by path until the model
// is disposed, and has no public call to free one. After every context that used an adapter is
// disposed, this frees it through the model's cache entry. Where the cache is not shaped as
// expected (another library version), it reports false and the caller reloads the model instead.
import path from "node:path";
import type { LlamaModel } from "node-llama-cpp";

interface AdapterHandle {
  dispose(): Promise<void>;
  readonly disposed: boolean;
}

function adapterCache(model: LlamaModel): Map<string, AdapterHandle> | null {
  const cache = (model as unknown as { _loraAdapters?: unknown })._loraAdapters;
  return cache instanceof Map ? (cache as Map<string, AdapterHandle>) : null;
}

/** Free the adapter loaded from `filePath`. Returns false when this library version offers no way. */
export async function releaseAdapter(model: LlamaModel, filePath: string): Promise<boolean> {
  const cache = adapterCache(model);
  if (!cache) return false;
  const key = path.resolve(process.cwd(), filePath);
  const handle = cache.get(key);
  if (!handle) return true;
  if (typeof handle.dispose !== "function") return false;
  cache.delete(key);
  if (!handle.disposed) await handle.dispose();
  return true;
}

/** How many adapters the model holds in memory (for tests and the RSS bench); -1 when unknown. */
export function loadedAdapterCount(model: LlamaModel): number {
  return adapterCache(model)?.size ?? -1;
}

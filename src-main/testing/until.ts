// Polling for tests that watch an engine's events or files.

/** Poll `get` every 20 ms until it returns a truthy value (returned), or throw after `ms`. */
export async function until<T>(get: () => T | undefined | false, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

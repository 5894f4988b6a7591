import { describe, expect, it } from "vitest";
import type { LlamaContext } from "node-llama-cpp";
import { guardOutputReorder } from "./output-reorder-guard.js";

/**
 * Stands in for node-llama-cpp's native context: methods read-only on the prototype, as the
 * addon's are; each sampleToken resolves when the test releases it, and records what ran at once.
 */
class FakeNative {
  running = 0;
  /** Calls that were running when each call started. */
  overlaps: number[] = [];
  release: (() => void)[] = [];
  fail = new Set<number>();
  calls = 0;
  decodeBatch(): Promise<void> {
    return Promise.resolve();
  }
  sampleToken(): Promise<number> {
    const n = this.calls++;
    this.overlaps.push(this.running);
    this.running++;
    return new Promise((resolve, reject) =>
      this.release.push(() => {
        this.running--;
        if (this.fail.has(n)) reject(new Error(`sample ${n} failed`));
        else resolve(n);
      }),
    );
  }
}
for (const name of ["decodeBatch", "sampleToken"] as const) Object.defineProperty(FakeNative.prototype, name, { writable: false });

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
function contextOver(native: FakeNative): LlamaContext {
  return { _ctx: native } as unknown as LlamaContext;
}

describe("guardOutputReorder", () => {
  it("after a decode, the first sample runs alone and the rest then run together", async () => {
    const native = new FakeNative();
    expect(guardOutputReorder(contextOver(native))).toBe(true);
    const ctx = native as unknown as { decodeBatch(): Promise<void>; sampleToken(): Promise<number> };
    await ctx.decodeBatch();
    const samples = [ctx.sampleToken(), ctx.sampleToken(), ctx.sampleToken()];
    await tick();
    expect(native.calls).toBe(1); // the others wait for the one applying the reorder
    native.release.shift()!();
    await tick();
    expect(native.calls).toBe(3);
    expect(native.overlaps).toEqual([0, 0, 1]);
    native.release.splice(0).forEach((r) => r());
    expect(await Promise.all(samples)).toEqual([0, 1, 2]);
    // Without a new decode nothing is pending: samples run at once.
    const more = [ctx.sampleToken(), ctx.sampleToken()];
    await tick();
    expect(native.overlaps.slice(3)).toEqual([0, 1]);
    native.release.splice(0).forEach((r) => r());
    await Promise.all(more);
  });

  it("when the first sample fails, the next one runs alone in its place", async () => {
    const native = new FakeNative();
    guardOutputReorder(contextOver(native));
    const ctx = native as unknown as { decodeBatch(): Promise<void>; sampleToken(): Promise<number> };
    await ctx.decodeBatch();
    native.fail.add(0);
    const samples = [ctx.sampleToken(), ctx.sampleToken(), ctx.sampleToken()].map((p) => p.catch((e: Error) => e.message));
    await tick();
    native.release.shift()!();
    await tick();
    expect(native.calls).toBe(2);
    native.release.shift()!();
    await tick();
    expect(native.calls).toBe(3);
    native.release.shift()!();
    expect(await Promise.all(samples)).toEqual(["sample 0 failed", 1, 2]);
    expect(native.overlaps).toEqual([0, 0, 0]);
  });

  it("reports false for a context not shaped as expected", () => {
    expect(guardOutputReorder({} as LlamaContext)).toBe(false);
    expect(guardOutputReorder({ _ctx: { decodeBatch: () => undefined } } as unknown as LlamaContext)).toBe(false);
  });
});

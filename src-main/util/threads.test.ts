import { describe, expect, it } from "vitest";
import { rolloutThreadsFor, updateThreadsFor } from "./threads.js";

describe("threads from the core count", () => {
  it("shares the cores among rollout contexts, never below one thread", () => {
    expect(rolloutThreadsFor(8, 2)).toBe(1); // this VM: 8 contexts on 2 cores
    expect(rolloutThreadsFor(8, 16)).toBe(2); // the GPU machine's 16 cores
    expect(rolloutThreadsFor(8, 64)).toBe(8);
    expect(rolloutThreadsFor(1, 16)).toBe(16);
    expect(rolloutThreadsFor(0, 4)).toBe(4);
  });

  it("gives the update one thread per core, 1 to 16", () => {
    expect(updateThreadsFor(2)).toBe(2);
    expect(updateThreadsFor(1)).toBe(1);
    expect(updateThreadsFor(12)).toBe(12);
    expect(updateThreadsFor(128)).toBe(16);
  });
});

import { describe, expect, it } from "vitest";
import { engineMallocEnv, ENGINE_MMAP_THRESHOLD_BYTES } from "./malloc-env.js";

describe("engineMallocEnv", () => {
  it("fixes glibc's mmap threshold at 4 MiB on Linux", () => {
    expect(engineMallocEnv({}, "linux")).toEqual({ MALLOC_MMAP_THRESHOLD_: String(ENGINE_MMAP_THRESHOLD_BYTES) });
    expect(ENGINE_MMAP_THRESHOLD_BYTES).toBe(4194304);
  });

  it("keeps the user's own setting, honours METIS_MALLOC=default, and adds nothing off Linux", () => {
    expect(engineMallocEnv({ MALLOC_MMAP_THRESHOLD_: "131072" }, "linux")).toEqual({});
    expect(engineMallocEnv({ METIS_MALLOC: "default" }, "linux")).toEqual({});
    expect(engineMallocEnv({}, "darwin")).toEqual({});
    expect(engineMallocEnv({}, "win32")).toEqual({});
  });
});

// Result files name the model they measured by content, since the built-in model keeps its path when retrained.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileDigest, writeResult } from "./write-result.js";

describe("writeResult", () => {
  it("records the model file's digest beside its path, and none for a path that is not a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "write-result-"));
    const written: string[] = [];
    try {
      const model = join(dir, "m.gguf");
      writeFileSync(model, "weights v1");
      const first = fileDigest(model);
      expect(first).toMatch(/^[0-9a-f]{16}$/);
      written.push(writeResult("test-digest", { model }));
      writeFileSync(model, "weights v2");
      written.push(writeResult("test-digest", { model }));
      written.push(writeResult("test-digest", { model: join(dir, "missing.gguf") }));
      const [a, b, c] = written.map((p) => JSON.parse(readFileSync(p, "utf8")) as { modelSha256?: string });
      expect(a!.modelSha256).toBe(first);
      expect(b!.modelSha256).not.toBe(first);
      expect(c!.modelSha256).toBeUndefined();
    } finally {
      for (const p of written) rmSync(p, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

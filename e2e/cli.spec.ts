// The `metis` command as users run it: the package's bin over the built output.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";

const dir = mkdtempSync(join(tmpdir(), "metis-e2e-"));
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));
const metis = (...args: string[]): string => execFileSync(process.execPath, ["bin/metis.js", ...args], { encoding: "utf8" });

test("bin/metis.js makes a model, describes it and generates from it", () => {
  const model = join(dir, "tiny.gguf");
  expect(metis("make-model", "--arch", "llama", "--seed", "2", "--out", model)).toContain("wrote");
  expect(JSON.parse(metis("info", model, "--json"))).toMatchObject({ architecture: "llama", kind: "model" });
  const out = JSON.parse(metis("generate", "--model", model, "--prompt", "Hello", "-n", "2", "--max-tokens", "4", "--json")) as { completions: unknown[] };
  expect(out.completions).toHaveLength(2);
});

// The `metis` command as users run it: the package's bin over the built output.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

test("metis train says what it trains, counts steps with an ETA, resumes a finished run as finished, and scores code in the sandbox", () => {
  const runs = join(dir, "runs");
  const trained = spawnSync(process.execPath, ["bin/metis.js", "train", "--scheduler", "uniform", "--steps", "2", "--batch", "2", "--group", "2", "--max-tokens", "16", "--runs", runs], { encoding: "utf8" });
  expect(trained.status).toBe(0);
  expect(trained.stderr).toMatch(/training .*\n {2}model .*metis-tiny\.gguf\n {2}dataset .*synthetic-train\.jsonl/);
  expect(trained.stderr).toMatch(/uniform, steps 0\/2, 2 prompts × 2 completions/);
  expect(trained.stderr).toMatch(/step 2\/2 .* ETA 0 s/);
  const runDir = /Resume with: metis train --resume (\S+)/.exec(trained.stdout)![1]!;
  expect(metis("train", "--resume", runDir)).toContain("already finished after 2 steps");
  writeFileSync(join(dir, "add.py"), "def add(a, b):\n    return a + b\n");
  expect(metis("score", "--reward", "code", "--language", "python", "--entry-point", "add", "--answer", "assert add(2, 3) == 5", "--completion", join(dir, "add.py")).trim()).toBe("1");
});

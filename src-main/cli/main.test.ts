import { describe, expect, it } from "vitest";
import { readModelInfo } from "../model/model-info.js";
import { useTempDir } from "../testing/temp-dir.js";
import type { GenerateOutput } from "./generate-command.js";
import { main } from "./main.js";

const tmp = useTempDir();

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const code = await main(argv, (s) => (out += s + "\n"), (s) => (err += s + "\n"));
  return { code, out, err };
}

describe("metis CLI", () => {
  it("make-model → info → generate", async () => {
    const model = tmp.path("m.gguf");
    const made = await run("make-model", "--arch", "qwen2", "--layers", "1", "--dim", "32", "--heads", "4", "--kv-heads", "2", "--vocab", "bytes", "--type", "F16", "--seed", "3", "--out", model, "--json");
    expect(made.code).toBe(0);
    expect(JSON.parse(made.out)).toMatchObject({ path: model, type: "F16", spec: { arch: "qwen2", layers: 1, dim: 32 } });

    const info = await run("info", model, "--json");
    expect(info.code).toBe(0);
    expect(JSON.parse(info.out)).toEqual(JSON.parse(JSON.stringify(readModelInfo(model))));
    const text = await run("info", model);
    expect(text.out).toMatch(/architecture\s+qwen2/);
    expect(text.out).toMatch(/tokenizer\s+gpt2 \/ qwen2, 257 tokens/);

    const gen = await run("generate", "--model", model, "--prompt", "Hi", "-n", "3", "--max-tokens", "5", "--seed", "2", "--json");
    expect(gen.code).toBe(0);
    const output = JSON.parse(gen.out) as GenerateOutput;
    expect(output.completions).toHaveLength(3);
    for (const c of output.completions) {
      expect(c.tokens.length).toBeLessThanOrEqual(5);
      expect(["eos", "stop", "length"]).toContain(c.finishReason);
      expect(typeof c.text).toBe("string");
    }
    expect(output.tokensPerSecond).toBeGreaterThan(0);
    const again = JSON.parse((await run("generate", "--model", model, "--prompt", "Hi", "-n", "3", "--max-tokens", "5", "--seed", "2", "--json")).out) as GenerateOutput;
    expect(again.completions).toEqual(output.completions);
  });

  it("check-equivalence compares llama.cpp with the training graph", async () => {
    const model = tmp.path("eq.gguf");
    await run("make-model", "--arch", "llama", "--seed", "5", "--out", model);
    const r = await run("check-equivalence", "--model", model, "--json");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { maxAbsDiff: number; prompts: { prompt: string; maxAbsDiff: number }[] };
    expect(report.prompts.length).toBeGreaterThan(3);
    expect(report.maxAbsDiff).toBeLessThan(1e-3);
    expect((await run("check-equivalence", "--model", model)).out).toMatch(/max \|Δ log p\| over all prompts and tokens: \d/);
  });

  it("reports usage mistakes with exit code 2 and the command's usage", async () => {
    const bad = await run("make-model", "--arch", "llama", "--out", tmp.path("x.gguf"), "--layers", "two");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--layers expects an integer ≥ 1 ≤ 65536, found "two"/);
    expect(bad.err).toMatch(/usage: metis make-model/);
    expect((await run("generate", "--prompt", "x")).err).toMatch(/--model is required/);
    expect((await run("info", "--frobnicate")).code).toBe(2);
    expect((await run("nope")).err).toMatch(/unknown command "nope"/);
    expect((await run("--help")).out).toMatch(/make-model/);
  });

  it("reports bad files with exit code 1 and the file name", async () => {
    const missing = await run("info", tmp.path("absent.gguf"));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("absent.gguf: cannot open");
    const gen = await run("generate", "--model", tmp.path("absent.gguf"), "--prompt", "x");
    expect(gen.code).toBe(1);
    expect(gen.err).toContain("absent.gguf");
  });
});

describe("metis score", () => {
  it("scores with built-in rewards and with a user's JS reward file, in the sandbox", async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(tmp.path("c.txt"), "so the total is #### 1,234");
    const math = await run("score", "--reward", "math", "--completion", tmp.path("c.txt"), "--answer", "1234", "--json");
    expect(JSON.parse(math.out)).toEqual({ reward: 1 });
    writeFileSync(tmp.path("len.js"), "function reward(completion, row) { return completion.length > 10 ? 1 : 0.5; }");
    expect((await run("score", "--reward", tmp.path("len.js"), "--completion", tmp.path("c.txt"))).out.trim()).toBe("1");
    writeFileSync(tmp.path("evil.js"), "function reward() { return require('fs'); }");
    const evil = await run("score", "--reward", tmp.path("evil.js"), "--completion", tmp.path("c.txt"));
    expect(evil.code).toBe(1);
    expect(evil.err).toMatch(/user reward failed: .*require/);
    writeFileSync(tmp.path("fc.txt"), '{"name": "f", "arguments": {"x": 1}}');
    expect((await run("score", "--reward", "fc", "--completion", tmp.path("fc.txt"), "--answer", '[{"f": {"x": [1]}}]')).out.trim()).toBe("1");
  });

  it("checks code completions against the sandbox in either language, with the reason for a failure", async () => {
    const { existsSync, writeFileSync } = await import("node:fs");
    writeFileSync(tmp.path("good.py"), "def add(a, b):\n    return a + b\n");
    const tests = "assert add(2, 3) == 5";
    expect(JSON.parse((await run("score", "--reward", "code", "--language", "python", "--entry-point", "add", "--answer", tests, "--completion", tmp.path("good.py"), "--json")).out)).toEqual({ reward: 1 });
    writeFileSync(tmp.path("evil.py"), `import os\nos.system("id > ${tmp.path("pwned")}")\ndef add(a, b):\n    return a + b\n`);
    const evil = await run("score", "--reward", "code", "--language", "python", "--entry-point", "add", "--answer", tests, "--completion", tmp.path("evil.py"), "--json");
    expect(JSON.parse(evil.out)).toMatchObject({ reward: 0, reason: expect.stringContaining("error") });
    expect(existsSync(tmp.path("pwned"))).toBe(false);
    writeFileSync(tmp.path("loop.js"), "x => { for (;;) {} }");
    expect((await run("score", "--reward", "code", "--language", "javascript", "--answer", "f(1)", "--completion", tmp.path("loop.js"))).out.trim()).toBe("0 (timeout: timed out after 1000 ms)");
    expect((await run("score", "--reward", "code", "--language", "ruby", "--answer", "f(1)", "--completion", tmp.path("loop.js"))).code).toBe(2);
  }, 60_000);
});

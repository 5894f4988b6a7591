import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { CompareRow } from "../eval/compare.js";
import type { EvalReport } from "../eval/evaluate.js";
import { readGguf } from "../gguf/reader.js";
import { readLoraGguf, writeLoraGguf } from "../model/lora-file.js";
import { readModelInfo } from "../model/model-info.js";
import { randomLora } from "../model/random-lora.js";
import { DEFAULT_TINY_SPEC } from "../model/tiny-model.js";
import { DEFAULT_PRETRAIN } from "../pretrain/pretrain.js";
import { resolveRftConfig } from "../rft/rft-config.js";
import { RftRun } from "../rft/rft-run.js";
import { resolveSampling } from "../rollout/sampling.js";
import { useTempDir } from "../testing/temp-dir.js";
import { readSafetensors } from "../util/safetensors.js";
import { EXPORT_FORMATS } from "./export-command.js";
import type { GenerateOutput } from "./generate-command.js";
import { COMMANDS, main } from "./main.js";
import { formatDefault } from "./options.js";

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

  it("make-model --preset takes a real model's shape, vocabulary size and chat template; options given win", async () => {
    const model = tmp.path("preset.gguf");
    const made = await run("make-model", "--preset", "smollm2-360m", "--layers", "1", "--dim", "60", "--ffn", "64", "--out", model, "--json");
    expect(made.code).toBe(0);
    expect(JSON.parse(made.out)).toMatchObject({ spec: { arch: "llama", layers: 1, dim: 60, heads: 15, kvHeads: 5, ffn: 64, vocabSize: 49152, chatTemplate: true, tiedEmbeddings: true, ropeFreqBase: 100_000 } });
    expect((await run("info", model)).out).toMatch(/49152 tokens/);
    const none = await run("make-model", "--out", tmp.path("none.gguf"));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/--arch or --preset/);
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

/** The help line of `--name` (or `-n`) in a command's help text. */
function helpLine(help: string, option: string): string {
  const line = help.split("\n").find((l) => new RegExp(`^  (-\\w, )?${option}( |$)`).test(l));
  if (!line) throw new Error(`no help line for ${option} in:\n${help}`);
  return line;
}

describe("metis --help and metis <command> --help", () => {
  it("metis --help lists every command with its one-line summary", async () => {
    const { code, out } = await run("--help");
    expect(code).toBe(0);
    expect(COMMANDS.map((c) => c.spec.name)).toEqual(expect.arrayContaining(["info", "generate", "make-model", "check-equivalence", "train", "eval", "export", "score", "pretrain", "serve"]));
    for (const { spec } of COMMANDS) expect(out).toMatch(new RegExp(`^  ${spec.name} +${spec.summary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
  });

  it("every command's --help and -h print its usage, then each option on its own line with description and default", async () => {
    for (const { spec } of COMMANDS) {
      const help = await run(spec.name, "--help");
      expect(help.code).toBe(0);
      expect((await run(spec.name, "-h")).out).toBe(help.out);
      expect((await run("help", spec.name)).out).toBe(help.out);
      expect(help.out.startsWith(`usage: metis ${spec.name}`)).toBe(true);
      for (const [name, o] of Object.entries(spec.options)) {
        const line = helpLine(help.out, name.length === 1 ? `-${name}` : `--${name}`);
        expect(line).toContain(o.description);
        const shown = formatDefault(o);
        expect(line.endsWith(shown === "required" ? "(required)" : `(default ${shown})`)).toBe(true);
      }
      expect(help.out).toMatch(/^ {2}-h, --help +show this help$/m);
    }
  });

  it("shows the defaults the code uses: the run config's schema, DEFAULT_PRETRAIN, DEFAULT_TINY_SPEC, the sampler's", async () => {
    const rft = resolveRftConfig({ model: "m", dataset: "d" });
    const train = (await run("train", "--help")).out;
    for (const [option, value] of [["--steps", rft.steps], ["--batch", rft.batchSize], ["--group", rft.groupSize], ["--lr", rft.learningRate], ["--max-tokens", rft.maxTokens], ["--seed", rft.seed], ["--checkpoint-every", rft.checkpointEvery], ["--scheduler", rft.scheduler]] as const) {
      expect(helpLine(train, option)).toMatch(new RegExp(`\\(default ${String(value).replace(".", "\\.")}\\)$`));
    }
    expect(helpLine(train, "--steps")).toMatch(/^ {2}--steps N +optimizer steps \(with --resume: the new total\) \(default 100\)$/);
    const pretrain = (await run("pretrain", "--help")).out;
    for (const [option, value] of [["--steps", DEFAULT_PRETRAIN.steps], ["--batch", DEFAULT_PRETRAIN.batch], ["--lr", DEFAULT_PRETRAIN.lr], ["--dim", DEFAULT_PRETRAIN.dim], ["--calibrate-steps", DEFAULT_PRETRAIN.calibrateSteps], ["--typo-share", DEFAULT_PRETRAIN.typoShare]] as const) {
      expect(helpLine(pretrain, option)).toContain(`(default ${value})`);
    }
    expect(helpLine(pretrain, "--mix")).toContain(`(default ${Object.entries(DEFAULT_PRETRAIN.familyWeights).map(([f, w]) => `${f}=${w}`).join(",")})`);
    const generate = (await run("generate", "--help")).out;
    const sampling = resolveSampling();
    expect(helpLine(generate, "--top-p")).toContain(`(default ${sampling.topP})`);
    expect(helpLine(generate, "--temperature")).toContain(`(default ${sampling.temperature})`);
    expect(helpLine(generate, "-n")).toMatch(/^ {2}-n N +completions to sample \(default 1\)$/);
    const makeModel = (await run("make-model", "--help")).out;
    expect(helpLine(makeModel, "--layers")).toContain(`(default ${DEFAULT_TINY_SPEC.layers})`);
    expect(helpLine(makeModel, "--arch")).toMatch(/--arch llama\|qwen2\|qwen3 +architecture \(required without --preset\) \(default the preset.s\)$/);
    expect(helpLine(makeModel, "--preset")).toMatch(/one of qwen2.5-0.5b, qwen2.5-1.5b, llama-3.2-1b, smollm2-360m \(default none\)$/);
    expect(helpLine((await run("eval", "--help")).out, "--max-tokens")).toContain(`(default ${rft.maxTokens})`);
  });

  it("a command left to its defaults uses the defaults its help shows", async () => {
    const help = (await run("make-model", "--help")).out;
    const shown = (option: string): number => Number(/\(default (\d+)\)$/.exec(helpLine(help, option))![1]);
    const made = JSON.parse((await run("make-model", "--arch", "llama", "--out", tmp.path("defaults.gguf"), "--json")).out) as { type: string; spec: Record<string, number | string> };
    expect(made.spec).toMatchObject({ layers: shown("--layers"), dim: shown("--dim"), heads: shown("--heads"), kvHeads: shown("--kv-heads"), ffn: shown("--ffn"), contextLength: shown("--context"), seed: shown("--seed") });
    expect(helpLine(help, "--type")).toContain(`(default ${made.type})`);
  });

  it("unknown options and bad values are still usage errors (exit 2) with the usage line", async () => {
    const unknown = await run("eval", "--model", "m", "--dataset", "d", "--frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/metis eval: Unknown option '--frobnicate'/);
    expect(unknown.err).toContain("usage: metis eval --model FILE --dataset FILE [--lora FILE] [--compare]");
    expect(unknown.err).toContain("Run `metis eval --help`");
    const steps = await run("train", "--steps", "0");
    expect(steps.code).toBe(2);
    expect(steps.err).toMatch(/--steps expects an integer ≥ 1 ≤ 1000000, found "0"/);
    const scheduler = await run("train", "--scheduler", "fifo");
    expect(scheduler.err).toMatch(/--scheduler expects one of metis, uniform, dapo, greso, mopps, pcl, found "fifo"/);
    const mix = await run("pretrain", "--mix", "poetry=1", "--datasets", tmp.path("never-written"));
    expect(mix.code).toBe(2);
    expect(mix.err).toMatch(/--mix expects family=weight pairs/);
    expect(existsSync(tmp.path("never-written"))).toBe(false);
    expect((await run("eval", "--model", "m", "--dataset", "d", "--compare")).err).toMatch(/--compare needs --lora/);
  });
});

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const MODEL = root("resources/models/metis-tiny.gguf");

describe("metis export and metis eval --compare, on a one-step run", () => {
  let runDir = "";
  let rank = 0;
  beforeAll(async () => {
    const run = await RftRun.create(tmp.path("runs"), { model: MODEL, dataset: root("resources/datasets/synthetic-train.jsonl"), scheduler: "uniform", steps: 1, batchSize: 2, groupSize: 2, maxTokens: 8, seed: 4 });
    await run.run();
    runDir = run.store.dir;
    rank = run.currentConfig.loraRank;
    await run.dispose();
  }, 120_000);

  it("writes each format the app offers where --out says, and each reads back", async () => {
    expect([...EXPORT_FORMATS]).toEqual(["gguf-lora", "peft", "merged-gguf"]);
    const lora = await run("export", "--run", runDir, "--format", "gguf-lora", "--out", tmp.path("adapter.gguf"));
    expect(lora.code).toBe(0);
    expect(lora.out).toMatch(new RegExp(`^wrote ${tmp.path("adapter.gguf")} \\(\\d+\\.\\d\\d MiB\\)`));
    const adapter = readLoraGguf(tmp.path("adapter.gguf"));
    expect(adapter.rank).toBe(rank);
    expect(adapter.tensors.length).toBeGreaterThan(0);
    // The values are the newest checkpoint's (the run wrote one when it finished).
    const state = readSafetensors(join(runDir, "checkpoints", "step-0000001", "state.safetensors")).tensors;
    for (const t of adapter.tensors) {
      expect(t.a).toEqual(state.get(`param:${t.target}.lora_a`)!.data);
      expect(t.b).toEqual(state.get(`param:${t.target}.lora_b`)!.data);
    }

    const peft = JSON.parse((await run("export", "--run", runDir, "--format", "peft", "--out", tmp.path("peft"), "--json")).out) as { path: string; bytes: number; format: string };
    expect(peft).toMatchObject({ path: tmp.path("peft"), format: "peft" });
    const config = JSON.parse(readFileSync(join(peft.path, "adapter_config.json"), "utf8")) as { r: number; peft_type: string };
    expect(config).toMatchObject({ r: rank, peft_type: "LORA" });
    const tensors = readSafetensors(join(peft.path, "adapter_model.safetensors")).tensors;
    expect([...tensors.keys()].some((k) => k.endsWith("self_attn.q_proj.lora_A.weight"))).toBe(true);
    expect(peft.bytes).toBeGreaterThan(tensors.size * 4);

    const merged = await run("export", "--run", runDir, "--format", "merged-gguf", "--out", tmp.path("merged.gguf"));
    expect(merged.code).toBe(0);
    const base = readModelInfo(MODEL), info = readModelInfo(tmp.path("merged.gguf"));
    expect(info).toMatchObject({ kind: "model", architecture: base.architecture, parameters: base.parameters });
    // Nothing is written into the run's own exports/ folder when --out is given.
    expect(existsSync(join(runDir, "exports"))).toBe(false);
  }, 60_000);

  it("says clearly what is wrong: a missing run, a folder that is not a run, an unknown format, an unwritable target", async () => {
    const missing = await run("export", "--run", tmp.path("no-such-run"), "--format", "peft", "--out", tmp.path("x"));
    expect(missing).toMatchObject({ code: 1, err: expect.stringContaining(`${tmp.path("no-such-run")}: no such run directory`) });
    mkdirSync(tmp.path("not-a-run"));
    expect((await run("export", "--run", tmp.path("not-a-run"), "--format", "peft", "--out", tmp.path("x"))).err).toContain("no run.json (not a run directory)");
    const format = await run("export", "--run", runDir, "--format", "onnx", "--out", tmp.path("x"));
    expect(format.code).toBe(2);
    expect(format.err).toContain('--format expects one of gguf-lora, peft, merged-gguf, found "onnx"');
    expect((await run("export", "--run", runDir, "--format", "peft")).err).toContain("--out is required");
    const noFolder = await run("export", "--run", runDir, "--format", "gguf-lora", "--out", tmp.path("absent/a.gguf"));
    expect(noFolder).toMatchObject({ code: 1, err: expect.stringContaining(`cannot write ${tmp.path("absent/a.gguf")}: the folder ${tmp.path("absent")} does not exist`) });
    writeFileSync(tmp.path("plain-file"), "x");
    expect((await run("export", "--run", runDir, "--format", "gguf-lora", "--out", tmp.path("plain-file/a.gguf"))).err).toContain(`${tmp.path("plain-file")} is not a folder`);
    expect((await run("export", "--run", runDir, "--format", "peft", "--out", tmp.path("plain-file"))).err).toContain("it is a file, and a PEFT export is a directory");
    mkdirSync(tmp.path("a-dir"));
    expect((await run("export", "--run", runDir, "--format", "merged-gguf", "--out", tmp.path("a-dir"))).err).toContain(`it is a directory; give a file name, e.g. ${join(tmp.path("a-dir"), "merged.gguf")}`);
  });

  // Root may write anywhere, so a read-only folder only stops other users.
  it.skipIf(process.getuid?.() === 0)("refuses a read-only folder before exporting", async () => {
    mkdirSync(tmp.path("read-only"));
    chmodSync(tmp.path("read-only"), 0o500);
    const r = await run("export", "--run", runDir, "--format", "gguf-lora", "--out", tmp.path("read-only/a.gguf"));
    expect(r).toMatchObject({ code: 1, err: expect.stringContaining(`the folder ${tmp.path("read-only")} is not writable`) });
  });

  it("eval --compare: base and adapter on the same rows and seeds, the same numbers as two separate evals", async () => {
    // An adapter that visibly changes the model (a one-step run may not), so base and adapter differ.
    const adapter = tmp.path("compare-adapter.gguf");
    const tensors = readGguf(MODEL).tensors.map((t) => ({ name: t.name, dims: [...t.dims], values: new Float32Array(0) }));
    writeLoraGguf(adapter, randomLora({ metadata: new Map(), tensors }, { arch: "llama", rank: 4, alpha: 8, targets: ["attn_q", "attn_v", "ffn_down"], bStd: 0.5, seed: 3 }));
    // A few cheap rows of two families (math and function-call rewards need no sandbox).
    const rows = readFileSync(root("resources/datasets/synthetic-test.jsonl"), "utf8").split("\n").filter((l) => /"family":"(arithmetic|function-call)"/.test(l));
    const dataset = tmp.path("compare.jsonl");
    writeFileSync(dataset, [...rows.filter((l) => l.includes('"arithmetic"')).slice(0, 3), ...rows.filter((l) => l.includes('"function-call"')).slice(0, 3)].join("\n") + "\n");
    // Room for a whole function call (~45 bytes), so the base model passes some and the adapter's changes show.
    const common = ["--model", MODEL, "--dataset", dataset, "--samples", "3", "--max-tokens", "64", "--seed", "7"];
    const compared = await run("eval", ...common, "--lora", adapter, "--compare", "--json");
    expect(compared.code).toBe(0);
    const result = JSON.parse(compared.out) as { rows: CompareRow[]; base: EvalReport["overall"]; adapter: EvalReport["overall"] };
    const base = JSON.parse((await run("eval", ...common, "--json")).out) as EvalReport;
    const tuned = JSON.parse((await run("eval", ...common, "--lora", adapter, "--json")).out) as EvalReport;
    expect(result.base).toEqual(base.overall);
    expect(result.adapter).toEqual(tuned.overall);
    expect(tuned.overall).not.toEqual(base.overall);
    const overall = result.rows.at(-1)!;
    expect(overall).toMatchObject({ family: null, items: 6 });
    expect(overall.base).toBeCloseTo(base.overall.passRate, 12);
    expect(overall.adapter).toBeCloseTo(tuned.overall.passRate, 12);
    for (const row of result.rows.slice(0, -1)) {
      const cell = (r: EvalReport): number => r.cells.find((c) => c.family === row.family && c.difficulty === row.difficulty)!.passRate;
      expect(row.base).toBeCloseTo(cell(base), 12);
      expect(row.adapter).toBeCloseTo(cell(tuned), 12);
      expect(row.delta).toBeCloseTo(cell(tuned) - cell(base), 12);
    }
    const text = await run("eval", ...common, "--lora", adapter, "--compare");
    expect(text.out).toContain("| family | difficulty | items | base | adapter | Δ (points) | items ↑ / ↓ |");
    expect(text.out).toMatch(/^\| all \| {2}\| 6 \| /m);
    expect(text.out).toMatch(/^base: {4}6 items × 3 samples: pass rate/m);
    expect(text.out).toMatch(/^adapter: 6 items × 3 samples: pass rate/m);
  }, 120_000);
});

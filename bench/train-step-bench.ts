// Policy-update cost on llama-architecture factory models (~1M and ~10M parameters), batch 8 × 128
// tokens: LoRA GRPO steps (what RL runs) and full-parameter SFT steps (what pretraining runs).
// Each configuration runs in its own process so its peak RSS is its own.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { writeModelGguf } from "../src-main/model/model-file.js";
import { makeTinyModel } from "../src-main/model/tiny-model.js";
import { loadLlamaWeights } from "../src-main/train/llama/llama-weights.js";
import { PolicyModel } from "../src-main/train/llama/policy-model.js";
import type { ExecutionProvider } from "../src-main/train/ort-session.js";
import { Rng } from "../src-main/util/rng.js";
import { median } from "../src-main/util/stats.js";
import { writeResult } from "./write-result.js";

const MODELS = {
  "1M": { arch: "llama", layers: 4, dim: 128, heads: 4, kvHeads: 2, ffn: 384, vocab: "bytes", seed: 1 },
  "10M": { arch: "llama", layers: 8, dim: 320, heads: 8, kvHeads: 4, ffn: 864, vocab: "bytes", seed: 1 },
} as const;
type ModelKey = keyof typeof MODELS;
type Mode = "lora-grpo" | "full-sft";


/** One configuration, in this process; prints its JSON result as the last line. */
async function runOne(modelKey: ModelKey, mode: Mode, provider: ExecutionProvider, threads: number, steps: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "metis-bench-"));
  try {
    const path = join(dir, "m.gguf");
    writeModelGguf(path, makeTinyModel(MODELS[modelKey]), "F32");
    const weights = loadLlamaWeights(path);
    const parameters = weights.rows.reduce((n, r) => n + r.shape.reduce((a, b) => a * b, 1), 0);
    const rng = new Rng(3);
    const [b, t] = [8, 128];
    const sequences = Array.from({ length: b }, () => ({ tokens: Array.from({ length: t }, () => rng.int(256)), completionStart: 32 }));
    const t0 = performance.now();
    const model = mode === "lora-grpo"
      ? await PolicyModel.create(weights, { kind: "lora", lora: { rank: 16, alpha: 32, targets: ["q", "k", "v", "o", "gate", "up", "down"] }, seed: 1 }, { kind: "grpo", policy: { clipLow: 0.2, clipHigh: 0.28, aggregation: "token-mean", klCoef: 0 } }, { provider, threads })
      : await PolicyModel.create(weights, { kind: "full" }, { kind: "sft" }, { provider, threads });
    const createMs = performance.now() - t0;
    const trainable = Object.values(model.trainables()).reduce((n, v) => n + v.length, 0);
    const actualProvider = model.engine.provider;
    const advantages = Array.from({ length: b }, (_, i) => (i % 2 ? 1 : -1));
    const forwardMs: number[] = [];
    const stepMs: number[] = [];
    for (let s = 0; s < steps + 2; s++) {
      const f0 = performance.now();
      const oldLogp = await model.logProbs(sequences);
      const f1 = performance.now();
      await model.update(sequences, mode === "lora-grpo" ? { advantages, oldLogp } : null);
      const f2 = performance.now();
      if (s >= 2) {
        forwardMs.push(f1 - f0);
        stepMs.push(f2 - f1);
      }
    }
    await model.dispose();
    const step = median(stepMs);
    return {
      model: modelKey, mode, provider: actualProvider, requestedProvider: provider, threads, parameters, trainable, batch: { sequences: b, tokens: t }, steps,
      sessionCreateMs: Math.round(createMs),
      forwardMs: Math.round(median(forwardMs) * 10) / 10,
      stepMs: Math.round(step * 10) / 10,
      tokensPerSecond: Math.round((b * t) / (step / 1000)),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run the train-step benchmark; returns the result file. */
export async function trainStepBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, options: { one: { type: "string" }, provider: { type: "string", default: "cpu" }, threads: { type: "string", default: "2" }, steps: { type: "string", default: "8" }, models: { type: "string", default: "1M,10M" } } });
  const provider = values.provider as ExecutionProvider;
  if (values.one) {
    const [modelKey, mode] = values.one.split(":") as [ModelKey, Mode];
    console.log(JSON.stringify(await runOne(modelKey, mode, provider, Number(values.threads), Number(values.steps))));
    return "";
  }
  const runs: Record<string, unknown>[] = [];
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  for (const modelKey of values.models.split(",") as ModelKey[]) {
    for (const mode of ["lora-grpo", "full-sft"] as Mode[]) {
      const out = execFileSync(process.execPath, ["--import", "tsx", main, "train-step", "--one", `${modelKey}:${mode}`, "--provider", provider, "--threads", values.threads, "--steps", values.steps], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
      const run = JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;
      console.log(JSON.stringify(run));
      runs.push(run);
    }
  }
  return writeResult(`train-step-${provider}`, { runs });
}

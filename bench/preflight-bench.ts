// Calibration of the pre-flight memory and time estimate (src-main/engine/memory-estimate.ts).
// Each point makes a factory model (`metis make-model`) and runs a short `metis train` under
// `/usr/bin/time -v` in its own process (peak RSS is the whole process: node, ORT sessions,
// llama.cpp model and contexts), reading step times and update tokens from the run's
// metrics.jsonl. Points marked `fit` determine the estimate's coefficients (`--fit` prints the
// least-squares fit); the others are held out and only compared.
//
//   npm run bench -- preflight [--points a,b] [--from FILE[,FILE…]] [--fit]
//
// `--from` re-uses the measurements of earlier results (only the estimates are recomputed);
// `--fit` prints the coefficients fitted to the `fit` points (copy them into CALIBRATION).
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { CALIBRATION, estimateRun, fitCalibration, readModelShape, type CalibrationMeasurement } from "../src-main/engine/memory-estimate.js";
import { writeResult } from "./write-result.js";

const CLI = fileURLToPath(new URL("../out/main/cli.js", import.meta.url));

/** One calibration point: a factory model and the `metis train` settings run on it. */
export interface CalibrationPoint {
  name: string;
  /** Used to fit the coefficients (false: held out, compared only). */
  fit: boolean;
  model: string[];
  train: { batch: number; group: number; maxTokens: number; loraRank?: number; microBatchTokens?: number };
}

const QWEN = ["--arch", "qwen2", "--type", "F16"];
/** Sizes from 3M to ~500M parameters; the settings vary batch, tokens and vocabulary. */
export const POINTS: CalibrationPoint[] = [
  { name: "3M", fit: true, model: [...QWEN, "--layers", "4", "--dim", "256", "--heads", "4", "--kv-heads", "2", "--ffn", "688"], train: { batch: 2, group: 4, maxTokens: 32 } },
  { name: "23M", fit: true, model: [...QWEN, "--layers", "8", "--dim", "512", "--heads", "8", "--kv-heads", "2", "--ffn", "1408"], train: { batch: 2, group: 4, maxTokens: 32 } },
  { name: "73M", fit: true, model: [...QWEN, "--layers", "12", "--dim", "768", "--heads", "12", "--kv-heads", "2", "--ffn", "2048"], train: { batch: 2, group: 4, maxTokens: 32 } },
  { name: "181M", fit: true, model: [...QWEN, "--layers", "16", "--dim", "1024", "--heads", "16", "--kv-heads", "4", "--ffn", "2816"], train: { batch: 2, group: 4, maxTokens: 32 } },
  { name: "23M-tokens", fit: true, model: [...QWEN, "--layers", "8", "--dim", "512", "--heads", "8", "--kv-heads", "2", "--ffn", "1408"], train: { batch: 4, group: 8, maxTokens: 128 } },
  { name: "23M-vocab32k", fit: true, model: [...QWEN, "--layers", "8", "--dim", "512", "--heads", "8", "--kv-heads", "2", "--ffn", "1408", "--vocab", "bytes", "--vocab-size", "32000"], train: { batch: 4, group: 8, maxTokens: 64 } },
  { name: "73M-update-heldout", fit: false, model: [...QWEN, "--layers", "12", "--dim", "768", "--heads", "12", "--kv-heads", "2", "--ffn", "2048"], train: { batch: 2, group: 8, maxTokens: 64, microBatchTokens: 1024 } },
  // Qwen2.5-0.5B's shape and vocabulary: trained block by block (its held weights exceed 256 MiB, as 181M's do).
  { name: "0.5B-preset-heldout", fit: false, model: ["--preset", "qwen2.5-0.5b", "--type", "F16"], train: { batch: 2, group: 4, maxTokens: 32 } },
  { name: "73M-vocab16k-heldout", fit: false, model: [...QWEN, "--layers", "12", "--dim", "768", "--heads", "12", "--kv-heads", "2", "--ffn", "2048", "--vocab", "bytes", "--vocab-size", "16000"], train: { batch: 4, group: 4, maxTokens: 96, loraRank: 32, microBatchTokens: 2048 } },
];

/**
 * A dataset whose rewards vary for a random model, so every step runs an update (a math dataset
 * scores a random model 0 everywhere and no update, the memory that matters, would run):
 * a continuous reward any number earns, 0 without one.
 */
function calibrationDataset(path: string): number {
  const prompts = Array.from({ length: 16 }, (_, i) => `Q: name a number near ${i + 5}\nA:`);
  writeFileSync(path, prompts.map((prompt, i) => JSON.stringify({ id: `cal-${i}`, prompt, reward: { kind: "continuous", target: i + 5, scale: 1000 } })).join("\n") + "\n");
  // Prompt tokens at most: one per byte (a byte vocabulary) and a BOS.
  return Math.max(...prompts.map((p) => Buffer.byteLength(p))) + 1;
}

/** Run one point in child processes; returns its measurement. */
function measure(p: CalibrationPoint, dir: string, dataset: string, promptTokens: number): CalibrationMeasurement & { name: string; fit: boolean } {
  const modelPath = join(dir, `${p.name}.gguf`);
  execFileSync("nice", ["-n", "19", process.execPath, CLI, "make-model", ...p.model, "--out", modelPath], { stdio: "ignore" });
  const runs = join(dir, `runs-${p.name}`);
  mkdirSync(runs);
  const t = p.train;
  const args = ["--model", modelPath, "--dataset", dataset, "--scheduler", "uniform", "--steps", "2", "--batch", String(t.batch), "--group", String(t.group), "--max-tokens", String(t.maxTokens), "--runs", runs];
  // Pre-flight off (its baseline sample and refusal are not what is measured), where the CLI has it.
  if (/--no-baseline/.test(execFileSync(process.execPath, [CLI, "train", "--help"], { encoding: "utf8" }))) args.push("--no-baseline", "--force");
  if (t.loraRank) args.push("--lora-rank", String(t.loraRank));
  if (t.microBatchTokens) args.push("--micro-batch-tokens", String(t.microBatchTokens));
  const r = spawnSync("nice", ["-n", "19", "/usr/bin/time", "-v", process.execPath, CLI, "train", ...args], { encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`${p.name}: metis train failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(r.stderr)?.[1] ?? "0";
  const wallS = wall.split(":").reduce((a, x) => a * 60 + Number(x), 0);
  const runDir = join(runs, readdirSync(runs)[0]!);
  const steps = readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { stepMs: number; rolloutTokens: number; info: Record<string, number> });
  return {
    name: p.name,
    fit: p.fit,
    shape: readModelShape(modelPath),
    settings: { batchSize: t.batch, groupSize: t.group, maxTokens: t.maxTokens, loraRank: t.loraRank ?? 16, microBatchTokens: t.microBatchTokens ?? 8192, promptTokens },
    peakRssMB: rssKb / 1024,
    wallS,
    stepMs: steps.map((s) => s.stepMs),
    rolloutMs: steps.map((s) => s.info["time/rolloutMs"] ?? 0),
    rolloutTokens: steps.map((s) => s.rolloutTokens),
    updateMs: steps.map((s) => s.info["time/updateMs"] ?? 0),
    trainTokens: steps.map((s) => s.info["train/trainTokens"] ?? 0),
  };
}

export async function preflightBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({ args: argv, options: { points: { type: "string" }, from: { type: "string" }, fit: { type: "boolean", default: false } } });
  let measured: (CalibrationMeasurement & { name: string; fit: boolean })[];
  if (values.from) {
    // Several files (comma-separated) are merged: points measured in separate sessions.
    measured = values.from.split(",").flatMap((f) => (JSON.parse(readFileSync(f, "utf8")) as { points: (CalibrationMeasurement & { name: string; fit: boolean })[] }).points);
  } else {
    const wanted = values.points ? new Set(values.points.split(",")) : null;
    const dir = mkdtempSync(join(tmpdir(), "metis-preflight-"));
    try {
      const dataset = join(dir, "calibration.jsonl");
      const promptTokens = calibrationDataset(dataset);
      measured = [];
      // Each point is appended as it is measured: a later failure loses nothing.
      const partial = fileURLToPath(new URL(`./results/preflight-partial-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`, import.meta.url));
      for (const p of POINTS.filter((x) => !wanted || wanted.has(x.name))) {
        let m: ReturnType<typeof measure>;
        try {
          m = measure(p, dir, dataset, promptTokens);
        } catch (e) {
          console.error(`${p.name}: ${(e as Error).message}`);
          continue;
        }
        appendFileSync(partial, JSON.stringify(m) + "\n");
        console.log(`${m.name}: ${(m.shape.parameters / 1e6).toFixed(1)}M params, peak RSS ${m.peakRssMB.toFixed(0)} MB, steps ${m.stepMs.map((s) => s.toFixed(0)).join(" / ")} ms, train tokens ${m.trainTokens.join(" / ")}`);
        measured.push(m);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (values.fit) console.log(JSON.stringify(fitCalibration(measured.filter((m) => m.fit)), null, 2));
  // The pre-flight's estimate (a full update at the worst-case lengths) and the estimate at the
  // positions the update actually trained on (what the fit sees).
  const points = measured.map((m) => {
    const e = estimateRun(m.shape, m.settings);
    const seqLen = m.settings.promptTokens + m.settings.maxTokens;
    const atMeasured = estimateRun(m.shape, m.settings, undefined, Math.min(Math.max(...m.trainTokens), Math.max(seqLen, m.settings.microBatchTokens)));
    const seconds = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length / 1000;
    return {
      ...m,
      estimate: { peakRssMB: e.memory.totalMB, peakRssMBAtMeasuredTokens: atMeasured.memory.totalMB, stepSeconds: e.time.stepSeconds, stepSecondsAtMeasuredTokens: atMeasured.time.stepSeconds, setupSeconds: e.time.setupSeconds },
      measuredStepSeconds: seconds(m.stepMs),
      rssError: e.memory.totalMB / m.peakRssMB - 1,
      rssErrorAtMeasuredTokens: atMeasured.memory.totalMB / m.peakRssMB - 1,
    };
  });
  for (const p of points) console.log(`${p.name.padEnd(22)} ${p.fit ? "fit " : "held"} measured ${p.peakRssMB.toFixed(0).padStart(6)} MB  estimated ${p.estimate.peakRssMB.toFixed(0).padStart(6)} MB (${(p.rssError * 100).toFixed(1)} %), at measured tokens ${p.estimate.peakRssMBAtMeasuredTokens.toFixed(0).padStart(6)} MB (${(p.rssErrorAtMeasuredTokens * 100).toFixed(1)} %)  step ${p.measuredStepSeconds.toFixed(1)} s, estimated ${p.estimate.stepSecondsAtMeasuredTokens.toFixed(1)} s (worst case ${p.estimate.stepSeconds.toFixed(1)} s)`);
  return writeResult("preflight", { calibration: CALIBRATION, points });
}

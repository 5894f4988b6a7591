// Rollout throughput: the engine (concurrent one-sequence contexts) against the simplest
// single-sequence loop through node-llama-cpp for the same work; thread and parallelism sweeps;
// LoRA adapter swap time and RSS over 200 swaps; the two decodings (pool of one-sequence
// contexts against one batched context) at 8 / 32 / 64 / 128 concurrent sequences.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getLlama, type Token } from "node-llama-cpp";
import { writeLoraGguf } from "../src-main/model/lora-file.js";
import { writeModelGguf, type ModelDescription } from "../src-main/model/model-file.js";
import { MODEL_PRESETS } from "../src-main/model/model-presets.js";
import { randomLora } from "../src-main/model/random-lora.js";
import { makeTinyModel, type TinyModelSpec } from "../src-main/model/tiny-model.js";
import { RolloutEngine, type Decoding } from "../src-main/rollout/rollout-engine.js";
import { completionSeed } from "../src-main/rollout/sampling.js";
import { median } from "../src-main/util/stats.js";
import { writeResult } from "./write-result.js";

const PROMPTS = ["The answer is", "Once upon a time", "def add(a, b):", "Question: 12 + 7 =", "Translate: bonjour", "List three colors:", "SELECT * FROM", "Dear team,"];
const SAMPLING = { temperature: 1, topP: 1, topK: 0, minP: 0, seed: 1 };

interface Workload { prompts: number; group: number; maxTokens: number }

const REPEATS = 3;

/**
 * The run with the median throughput of `repeats`, after one warm-up batch of the same shape
 * (contexts of the full size, caches); also the warm-up's time, which includes creating them.
 */
async function engineRun(modelPath: string, w: Workload, threads: number, parallel: number, decoding: Decoding = "pool", repeats = REPEATS): Promise<{ tokens: number; ms: number; tokensPerSecond: number; warmupMs: number }> {
  const engine = await RolloutEngine.load({ modelPath, threads, parallel, decoding });
  try {
    const warmup = await engine.generate(PROMPTS.slice(0, w.prompts), w.group, { ...SAMPLING, maxTokens: 4 });
    const runs: { tokens: number; ms: number; tokensPerSecond: number }[] = [];
    for (let r = 0; r < repeats; r++) {
      const batch = await engine.generate(PROMPTS.slice(0, w.prompts), w.group, { ...SAMPLING, maxTokens: w.maxTokens });
      runs.push({ tokens: batch.generatedTokens, ms: batch.wallMs, tokensPerSecond: batch.tokensPerSecond });
    }
    return { ...runs.sort((a, b) => a.tokensPerSecond - b.tokensPerSecond)[Math.floor(repeats / 2)]!, warmupMs: Math.round(warmup.wallMs) };
  } finally {
    await engine.dispose();
  }
}

const SEQUENCE_COUNTS = "8,32,64,128";

/**
 * Pool against batched decoding with `n` sequences at once (8 prompts × n/8 samples, one job
 * each): tokens/s of both, and RSS after each (contexts of the pool are per sequence). The pool
 * runs `n` one-sequence contexts; batched, one context of `n` sequences.
 */
async function decodingRun(modelPath: string, opts: DecodingOptions): Promise<Record<string, unknown>[]> {
  const { maxTokens, threads, repeats } = opts;
  const rows: Record<string, unknown>[] = [];
  for (const n of opts.sequences) {
    const w: Workload = { prompts: 8, group: n / 8, maxTokens };
    const row: Record<string, unknown> = { sequences: n, workload: w, loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100) };
    const pool = await engineRun(modelPath, w, 1, n, "pool", repeats);
    row.pool = { threads: 1, ...roundRun(pool) };
    for (const t of threads) {
      const batched = await engineRun(modelPath, w, t, n, "batched", repeats);
      row[`batchedThreads${t}`] = roundRun(batched);
      row[`batchedThreads${t}OverPool`] = Math.round((batched.tokensPerSecond / pool.tokensPerSecond) * 100) / 100;
    }
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}

function roundRun(r: { tokens: number; ms: number; tokensPerSecond: number; warmupMs: number }): Record<string, number> {
  return { tokens: r.tokens, ms: Math.round(r.ms), tokensPerSecond: Math.round(r.tokensPerSecond * 10) / 10, warmupMs: r.warmupMs };
}

/**
 * Both decodings on the built-in model and on a factory model of SmolLM2-360M's width and
 * vocabulary (49 152) cut to `layers` blocks, F16: the shape a user brings, small enough to
 * sweep on 2 cores.
 */
interface DecodingOptions { maxTokens: number; layers: number; threads: number[]; repeats: number; models: string[]; sequences: number[] }

async function decodingBench(dir: string, opts: DecodingOptions): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  if (opts.models.includes("builtin")) {
    const modelPath = fileURLToPath(new URL("../resources/models/metis-tiny.gguf", import.meta.url));
    console.log(`decoding: built-in model, ${opts.sequences.join(" / ")} sequences …`);
    out.push({ model: "metis-tiny (built-in, 1.67M)", weights: "as shipped", rows: await decodingRun(modelPath, opts) });
  }
  if (opts.models.includes("factory")) {
    const spec = { ...MODEL_PRESETS["smollm2-360m"], layers: opts.layers, seed: 1 };
    const model = makeTinyModel(spec);
    const modelPath = join(dir, "smollm2-shape.gguf");
    writeModelGguf(modelPath, model, "F16");
    const parameters = model.tensors.reduce((n, t) => n + t.values.length, 0);
    const name = `smollm2-360m shape cut to ${opts.layers} layers (${(parameters / 1e6).toFixed(1)}M, vocab ${spec.vocabSize}, chat template)`;
    console.log(`decoding: ${name}, ${opts.sequences.join(" / ")} sequences …`);
    out.push({ model: name, weights: "F16", rows: await decodingRun(modelPath, opts) });
  }
  return out;
}

/** One context, one sequence, one completion after another: what a first implementation would do. */
async function naiveRun(modelPath: string, w: Workload): Promise<{ tokens: number; ms: number; tokensPerSecond: number }> {
  const llama = await getLlama({ gpu: "auto", build: "never", logLevel: "error" as never, progressLogs: false, skipDownload: true } as never);
  const model = await llama.loadModel({ modelPath, gpuLayers: llama.gpu ? "auto" : 0 });
  const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
  const seq = context.getSequence();
  try {
    const t0 = performance.now();
    let tokens = 0;
    for (let p = 0; p < w.prompts; p++) {
      const prompt = model.tokenize(PROMPTS[p]!);
      const input = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos, ...prompt] : prompt;
      for (let g = 0; g < w.group; g++) {
        await seq.clearHistory();
        let n = 0;
        for await (const token of seq.evaluate(input as Token[], { ...SAMPLING, seed: completionSeed(SAMPLING.seed, p, g), yieldEogToken: true })) {
          n++;
          if (model.isEogToken(token) || n >= w.maxTokens) break;
        }
        tokens += n;
      }
    }
    const ms = performance.now() - t0;
    return { tokens, ms, tokensPerSecond: tokens / (ms / 1000) };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

const ADAPTER_TARGETS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];

/**
 * Swap in a new adapter file `swaps` times (each followed by a small batch, which makes
 * llama.cpp load it), after `warmup` swaps: recreating contexts grows RSS once, to a plateau,
 * through allocator caching. RSS is sampled after a GC every 25 swaps.
 */
async function swapRun(modelPath: string, model: ModelDescription, dir: string, swaps: number, warmup: number): Promise<Record<string, unknown>> {
  const engine = await RolloutEngine.load({ modelPath, parallel: 2 });
  const swapMs: number[] = [];
  const rssMiB: { swap: number; rss: number }[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const rss = (): number => {
    gc?.();
    return Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10;
  };
  let adapterBytes = 0;
  const batchAfterSwapMs: number[] = [];
  const batchWithoutSwapMs: number[] = [];
  try {
    for (let v = -warmup; v <= swaps; v++) {
      const path = join(dir, `adapter-${v + warmup}.gguf`);
      adapterBytes = writeLoraGguf(path, randomLora(model, { arch: "llama", rank: 16, alpha: 32, targets: ADAPTER_TARGETS, bStd: 0.02, seed: v + warmup }));
      const { ms } = await engine.setAdapter(path);
      const t0 = performance.now();
      await engine.generate(PROMPTS.slice(0, 2), 2, { ...SAMPLING, maxTokens: 4 });
      if (v > 0) batchAfterSwapMs.push(performance.now() - t0);
      rmSync(path);
      if (v > 0) swapMs.push(ms);
      if (v >= 0 && v % 25 === 0) rssMiB.push({ swap: v, rss: rss() });
      if (engine.loadedAdapters > 1) throw new Error(`${engine.loadedAdapters} adapters loaded after swap ${v}`);
    }
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await engine.generate(PROMPTS.slice(0, 2), 2, { ...SAMPLING, maxTokens: 4 });
      batchWithoutSwapMs.push(performance.now() - t0);
    }
  } finally {
    await engine.dispose();
  }
  swapMs.sort((a, b) => a - b);
  return {
    swaps,
    warmupSwaps: warmup,
    gcBeforeSample: gc !== undefined,
    adapterFileBytes: adapterBytes,
    swapMs: { median: swapMs[Math.floor(swapMs.length / 2)], p95: swapMs[Math.floor(swapMs.length * 0.95)], max: swapMs.at(-1) },
    // The swap itself only frees the old adapter and the contexts; the next batch recreates
    // contexts and loads the new file: its extra time over a batch without a swap is the real cost.
    batchAfterSwapMedianMs: median(batchAfterSwapMs),
    batchWithoutSwapMedianMs: median(batchWithoutSwapMs),
    rssMiB,
    rssGrowthMiB: Math.round((rssMiB.at(-1)!.rss - rssMiB[0]!.rss) * 10) / 10,
    rssGrowthIfAdaptersLeakedMiB: Math.round(((swaps * adapterBytes) / 2 ** 20) * 10) / 10,
  };
}

/**
 * Run the rollout benchmark; returns the result file. `--only decoding` runs just the pool
 * against batched comparison (`--decoding-max-tokens`, `--decoding-layers`, `--decoding-threads
 * 1,2`, `--decoding-repeats`, `--decoding-models builtin,factory`, `--decoding-sequences 8,32`;
 * counts are multiples of 8).
 */
export async function rolloutBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      swaps: { type: "string", default: "200" },
      warmup: { type: "string", default: "200" },
      only: { type: "string" },
      "decoding-max-tokens": { type: "string", default: "32" },
      "decoding-layers": { type: "string", default: "4" },
      "decoding-threads": { type: "string", default: "1" },
      "decoding-repeats": { type: "string", default: "3" },
      "decoding-models": { type: "string", default: "builtin,factory" },
      "decoding-sequences": { type: "string", default: SEQUENCE_COUNTS },
    },
  });
  if (values.only !== undefined && values.only !== "decoding") throw new Error(`--only takes "decoding", found ${values.only}`);
  const dir = mkdtempSync(join(tmpdir(), "metis-bench-"));
  try {
    const decodingOptions = {
      maxTokens: Number(values["decoding-max-tokens"]),
      layers: Number(values["decoding-layers"]),
      threads: values["decoding-threads"].split(",").map(Number),
      repeats: Number(values["decoding-repeats"]),
      models: values["decoding-models"].split(","),
      sequences: values["decoding-sequences"].split(",").map(Number),
    };
    if (values.only === "decoding") {
      const decoding = await decodingBench(dir, decodingOptions);
      return writeResult("rollout", { decoding, decodingOptions, loadAverageAtEnd: loadavg() });
    }
    const models: { name: string; spec: Omit<Partial<TinyModelSpec>, "arch"> & { arch: string } }[] = [
      { name: "tiny-llama-2x64 (factory default, 0.1M)", spec: { arch: "llama", seed: 1 } },
      { name: "small-llama-4x256 (3.5M)", spec: { arch: "llama", layers: 4, dim: 256, heads: 8, kvHeads: 4, ffn: 704, seed: 1 } },
    ];
    const main: Workload = { prompts: 8, group: 8, maxTokens: 64 };
    const results: Record<string, unknown>[] = [];
    let swapModel: { path: string; model: ModelDescription } | null = null;
    for (const m of models) {
      const model = makeTinyModel(m.spec);
      const path = join(dir, `${m.spec.arch}-${results.length}.gguf`);
      writeModelGguf(path, model, "F16");
      swapModel ??= { path, model };
      console.log(`${m.name}: engine vs single-sequence loop, 8×8×64 …`);
      const engine = await engineRun(path, main, 1, 8);
      const naive = await naiveRun(path, main);
      const parallel: Record<string, number> = {};
      for (const p of [1, 2, 4, 8, 16]) parallel[p] = Math.round((await engineRun(path, main, 1, p)).tokensPerSecond);
      // Two threads per context were measured 30–40× slower here: use a small workload.
      const small: Workload = { prompts: 1, group: 4, maxTokens: 16 };
      const threads1 = await engineRun(path, small, 1, 4);
      const threads2 = await engineRun(path, small, 2, 4);
      results.push({
        model: m.name,
        weights: "F16",
        workload: main,
        engine: { threads: 1, parallel: 8, ...engine },
        singleSequenceLoop: naive,
        engineOverLoop: Math.round((engine.tokensPerSecond / naive.tokensPerSecond) * 100) / 100,
        tokensPerSecondByParallel: parallel,
        threads: { workload: small, "1": Math.round(threads1.tokensPerSecond), "2": Math.round(threads2.tokensPerSecond) },
      });
      console.log(JSON.stringify(results.at(-1)));
    }
    const swaps = Number(values.swaps);
    console.log(`adapter swaps ×${swaps} after ${values.warmup} warm-up swaps …`);
    const swap = await swapRun(swapModel!.path, swapModel!.model, dir, swaps, Number(values.warmup));
    console.log(JSON.stringify(swap));
    const decoding = await decodingBench(dir, decodingOptions);
    return writeResult("rollout", { results, adapterSwaps: { model: models[0]!.name, rank: 16, ...swap }, decoding, decodingOptions, loadAverageAtEnd: loadavg() });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Exports of a run's latest checkpoint: the LoRA adapter as llama.cpp GGUF, as a PEFT directory,
// or merged into a full GGUF.
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { RunStore } from "../store/run-store.js";
import { exportLoraGguf, exportPeft, mergeLora, writeMergedGguf } from "../train/llama/export.js";
import { loadLlamaWeights } from "../train/llama/llama-weights.js";
import { loraTargetShapes, type LoraConfig, type LoraPair } from "../train/llama/lora.js";
import { readSafetensors } from "../util/safetensors.js";

/** The LoRA pairs a checkpoint holds (shapes from the model, values from the file, all finite). */
function checkpointPairs(checkpoint: string, weights: ReturnType<typeof loadLlamaWeights>, lora: LoraConfig): LoraPair[] {
  const { tensors } = readSafetensors(join(checkpoint, "state.safetensors"));
  return loraTargetShapes(weights.config, lora).map((p) => {
    const a = tensors.get(`param:${p.base}.lora_a`), b = tensors.get(`param:${p.base}.lora_b`);
    if (!a || !b) throw new Error(`${checkpoint}: missing LoRA tensors for ${p.base}`);
    if (a.data.length !== p.nIn * lora.rank || b.data.length !== p.nOut * lora.rank) throw new Error(`${checkpoint}: LoRA tensors for ${p.base} have the wrong size`);
    if (!a.data.every(Number.isFinite) || !b.data.every(Number.isFinite)) throw new Error(`${checkpoint}: LoRA tensors for ${p.base} hold non-finite values`);
    return { ...p, a: a.data, b: b.data };
  });
}

/** The LoRA pairs of the newest checkpoint that reads back whole (a damaged one falls back to the previous), with the run's model and LoRA settings. */
async function newestPairs(runDir: string): Promise<{ checkpoint: string; pairs: LoraPair[]; weights: ReturnType<typeof loadLlamaWeights>; lora: LoraConfig; model: string }> {
  const store = await RunStore.open(runDir);
  const candidates = store.checkpointCandidates();
  if (candidates.length === 0) throw new Error(`${runDir}: no checkpoint to export yet`);
  const c = store.run.data.config;
  const weights = loadLlamaWeights(c.model);
  const lora = { rank: c.loraRank, alpha: c.loraAlpha, targets: c.loraTargets };
  // A damaged newest checkpoint must not block (or poison) the export: fall back to the previous one.
  const failures: string[] = [];
  for (const dir of candidates) {
    try {
      return { checkpoint: dir, pairs: checkpointPairs(dir, weights, lora), weights, lora, model: c.model };
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  throw new Error(`${runDir}: no checkpoint could be read for export:\n${failures.join("\n")}`);
}

/** Write the adapter of the newest readable checkpoint to `to` (llama.cpp GGUF); returns the loop step it was saved after. */
export async function writeLatestAdapter(runDir: string, to: string): Promise<{ step: number }> {
  const { checkpoint, pairs, weights, lora } = await newestPairs(runDir);
  exportLoraGguf(to, weights.config, lora, pairs);
  return { step: Number(/step-(\d+)/.exec(basename(checkpoint))![1]) };
}

/** Write the export of the newest checkpoint that reads back whole to `to` (by default next to the run, in exports/) and return its path. */
export async function exportRun(runDir: string, format: "gguf-lora" | "peft" | "merged-gguf", to?: string): Promise<string> {
  const { checkpoint, pairs, weights, lora, model } = await newestPairs(runDir);
  const out = join(runDir, "exports");
  if (to === undefined) mkdirSync(out, { recursive: true });
  const step = basename(checkpoint).replace(/\.old$/, "");
  if (format === "gguf-lora") {
    const path = to ?? join(out, `adapter-${step}.gguf`);
    exportLoraGguf(path, weights.config, lora, pairs);
    return path;
  }
  if (format === "peft") {
    const path = to ?? join(out, `peft-${step}`);
    exportPeft(path, weights.config, lora, pairs, basename(model));
    return path;
  }
  const path = to ?? join(out, `merged-${step}.gguf`);
  writeMergedGguf(path, weights, mergeLora(weights, lora, pairs));
  return path;
}


// Exports of a run's latest checkpoint: the LoRA adapter as llama.cpp GGUF, as a PEFT directory,
// or merged into a full GGUF.
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { RunStore } from "../store/run-store.js";
import { exportLoraGguf, exportPeft, mergeLora, writeMergedGguf } from "../train/llama/export.js";
import { loadLlamaWeights } from "../train/llama/llama-weights.js";
import { loraTargetShapes, type LoraPair } from "../train/llama/lora.js";
import { readSafetensors } from "../util/safetensors.js";

/** Write the export next to the run (exports/) and return its path. */
export async function exportRun(runDir: string, format: "gguf-lora" | "peft" | "merged-gguf"): Promise<string> {
  const store = await RunStore.open(runDir);
  const checkpoint = store.latestCheckpoint();
  if (!checkpoint) throw new Error(`${runDir}: no checkpoint to export yet`);
  const c = store.run.data.config;
  const weights = loadLlamaWeights(c.model);
  const lora = { rank: c.loraRank, alpha: c.loraAlpha, targets: c.loraTargets };
  const { tensors } = readSafetensors(join(checkpoint, "state.safetensors"));
  // Shapes come from the model; values from the checkpoint.
  const pairs: LoraPair[] = loraTargetShapes(weights.config, lora).map((p) => {
    const a = tensors.get(`param:${p.base}.lora_a`), b = tensors.get(`param:${p.base}.lora_b`);
    if (!a || !b) throw new Error(`${checkpoint}: missing LoRA tensors for ${p.base}`);
    return { ...p, a: a.data, b: b.data };
  });
  const out = join(runDir, "exports");
  mkdirSync(out, { recursive: true });
  const step = basename(checkpoint);
  if (format === "gguf-lora") {
    const path = join(out, `adapter-${step}.gguf`);
    exportLoraGguf(path, weights.config, lora, pairs);
    return path;
  }
  if (format === "peft") {
    const path = join(out, `peft-${step}`);
    exportPeft(path, weights.config, lora, pairs, basename(c.model));
    return path;
  }
  const path = join(out, `merged-${step}.gguf`);
  writeMergedGguf(path, weights, mergeLora(weights, lora, pairs));
  return path;
}


// Tiny model and adapter files on disk for tests.
import { writeLoraGguf } from "../model/lora-file.js";
import { writeModelGguf, type ModelDescription, type WeightType } from "../model/model-file.js";
import { randomLora, type RandomLoraOptions } from "../model/random-lora.js";
import { makeTinyModel, type TinyModelSpec } from "../model/tiny-model.js";

/** Write a tiny model to `path`; returns its description. */
export function writeTinyModel(path: string, spec: Omit<Partial<TinyModelSpec>, "arch"> & { arch: string }, type: WeightType = "F32"): ModelDescription {
  const model = makeTinyModel(spec);
  writeModelGguf(path, model, type);
  return model;
}

/** Write a random adapter for `model` to `path`. */
export function writeRandomLora(path: string, model: ModelDescription, options: Partial<RandomLoraOptions> & { bStd: number }): void {
  writeLoraGguf(path, randomLora(model, { arch: "llama", rank: 4, alpha: 8, targets: ["attn_q", "attn_v", "ffn_up"], seed: 5, ...options }));
}

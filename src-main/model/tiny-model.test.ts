import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Keys } from "../gguf/constants.js";
import { metaNumber, metaString } from "../gguf/metadata.js";
import { readGguf } from "../gguf/reader.js";
import { useTempDir } from "../testing/temp-dir.js";
import { writeModelGguf } from "./model-file.js";
import { readModelInfo } from "./model-info.js";
import { makeTinyModel, resolveTinySpec } from "./tiny-model.js";

const tmp = useTempDir();
const names = (arch: string, extra = {}): string[] => makeTinyModel({ arch, layers: 1, ...extra }).tensors.map((t) => t.name);

describe("tiny model factory", () => {
  it("is deterministic for a seed", () => {
    writeModelGguf(tmp.path("a.gguf"), makeTinyModel({ arch: "qwen2", seed: 4 }));
    writeModelGguf(tmp.path("b.gguf"), makeTinyModel({ arch: "qwen2", seed: 4 }));
    writeModelGguf(tmp.path("c.gguf"), makeTinyModel({ arch: "qwen2", seed: 5 }));
    expect(readFileSync(tmp.path("a.gguf")).equals(readFileSync(tmp.path("b.gguf")))).toBe(true);
    expect(readFileSync(tmp.path("a.gguf")).equals(readFileSync(tmp.path("c.gguf")))).toBe(false);
  });

  it("gives each architecture its own tensors", () => {
    const common = ["token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "output_norm.weight", "output.weight"];
    expect(names("llama").sort()).toEqual([...common].sort());
    expect(names("qwen2").sort()).toEqual([...common, "blk.0.attn_q.bias", "blk.0.attn_k.bias", "blk.0.attn_v.bias"].sort());
    expect(names("qwen3").sort()).toEqual([...common, "blk.0.attn_q_norm.weight", "blk.0.attn_k_norm.weight"].sort());
    expect(names("llama", { tiedEmbeddings: true })).not.toContain("output.weight");
  });

  it("writes GQA shapes and hyper-parameters llama.cpp reads", () => {
    const model = makeTinyModel({ arch: "qwen3", dim: 64, heads: 8, kvHeads: 2, headDim: 16, ffn: 96, vocab: "bytes" });
    const shape = (n: string): number[] => model.tensors.find((t) => t.name === n)!.dims;
    expect(shape("blk.0.attn_q.weight")).toEqual([64, 8 * 16]);
    expect(shape("blk.0.attn_k.weight")).toEqual([64, 2 * 16]);
    expect(shape("blk.0.attn_output.weight")).toEqual([8 * 16, 64]);
    expect(shape("blk.0.ffn_down.weight")).toEqual([96, 64]);
    expect(shape("blk.0.attn_q_norm.weight")).toEqual([16]);
    writeModelGguf(tmp.path("q3.gguf"), model, "F16");
    const file = readGguf(tmp.path("q3.gguf"));
    expect(metaNumber(file, "qwen3.attention.head_count_kv")).toBe(2);
    expect(metaNumber(file, "qwen3.attention.key_length")).toBe(16);
    expect(metaString(file, Keys.tokenizer.model)).toBe("gpt2");
    const info = readModelInfo(tmp.path("q3.gguf"));
    expect(info.parameters).toBe(model.tensors.reduce((n, t) => n + t.values.length, 0));
    expect(info.mainType).toBe("F16");
    expect(info.tensorTypes.F32).toBeGreaterThan(0); // norms stay F32
  });

  it("rejects impossible shapes with a readable error", () => {
    expect(() => resolveTinySpec({ arch: "gpt2" })).toThrow(/unknown architecture "gpt2"/);
    expect(() => resolveTinySpec({ arch: "llama", heads: 4, kvHeads: 3 })).toThrow(/multiple of kvHeads/);
    expect(() => resolveTinySpec({ arch: "llama", dim: 60, heads: 8 })).toThrow(/head width 7.5/);
    expect(() => resolveTinySpec({ arch: "llama", headDim: 32 })).toThrow(/only qwen3/);
    expect(() => resolveTinySpec({ arch: "llama", layers: 0 })).toThrow(/layers must be a positive integer/);
  });
});

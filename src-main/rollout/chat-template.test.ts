// Instruct models are prompted through their own chat template; base models and the built-in
// model get the raw text; the tokens a run trains on are the rendered prompt's.
import { writeFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { main } from "../cli/main.js";
import { useTempDir } from "../testing/temp-dir.js";
import { writeTinyModel } from "../testing/tiny-files.js";
import { RolloutEngine } from "./rollout-engine.js";

const tmp = useTempDir();
const chatModel = (): string => {
  const path = tmp.path("chat.gguf");
  writeTinyModel(path, { arch: "qwen2", layers: 1, dim: 32, heads: 4, kvHeads: 2, ffn: 64, vocab: "bytes", vocabSize: 2000, chatTemplate: true, seed: 4 });
  return path;
};

describe("chat templates", () => {
  it("render a prompt as one user turn and the assistant's opening, special tokens as single ids", async () => {
    const engine = await RolloutEngine.load({ modelPath: chatModel() });
    try {
      expect(engine.usesChatTemplate).toBe(true);
      const tokens = engine.promptTokens("Q: 2+3=?");
      expect(engine.detokenizeWithSpecials(tokens)).toBe("<|im_start|>user\nQ: 2+3=?<|im_end|>\n<|im_start|>assistant\n");
      const imStart = engine.tokenize("<|im_start|>");
      expect(tokens.filter((t) => t === tokens[0]).length).toBe(2);
      expect(engine.detokenizeWithSpecials([tokens[0]!])).toBe("<|im_start|>");
      // Plain tokenize does not parse specials: the text stays text.
      expect(imStart.length).toBeGreaterThan(1);
      const batch = await engine.generate(["Q: 2+3=?"], 2, { temperature: 1, maxTokens: 6, seed: 1 });
      expect(batch.completions[0]![0]!.promptTokens).toEqual(tokens);
    } finally {
      await engine.dispose();
    }
  });

  it("stay off when asked (raw) and refuse chat for a model without a template", async () => {
    const path = chatModel();
    const raw = await RolloutEngine.load({ modelPath: path, promptFormat: "raw" });
    try {
      expect(raw.usesChatTemplate).toBe(false);
      expect(raw.promptTokens("Q: 2+3=?")).toEqual(raw.tokenize("Q: 2+3=?"));
    } finally {
      await raw.dispose();
    }
    const base = tmp.path("base.gguf");
    writeTinyModel(base, { arch: "qwen2", layers: 1, dim: 32, heads: 4, kvHeads: 2, ffn: 64, vocab: "bytes", seed: 4 });
    const auto = await RolloutEngine.load({ modelPath: base });
    expect(auto.usesChatTemplate).toBe(false);
    await auto.dispose();
    await expect(RolloutEngine.load({ modelPath: base, promptFormat: "chat" })).rejects.toThrow(/has no chat template/);
  });

  it("a chat-template model trains end to end through metis train", async () => {
    const model = chatModel();
    const dataset = tmp.path("rows.jsonl");
    const rows = [2, 3, 4, 5].map((k) => ({ id: `r${k}`, prompt: `Q: ${k}+1=?\nA:`, reward: { kind: "math", answer: String(k + 1) } }));
    writeFileSync(dataset, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    let out = "", err = "";
    // The header and step lines go straight to stderr.
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((err += String(chunk)), true));
    const code = await main(["train", "--model", model, "--dataset", dataset, "--scheduler", "uniform", "--steps", "2", "--batch", "2", "--group", "4", "--max-tokens", "8", "--runs", tmp.path("runs")], (s) => (out += s + "\n"), (s) => (err += s + "\n"));
    stderr.mockRestore();
    expect(code).toBe(0);
    expect(out + err).toMatch(/prompts through the model's chat template/);
    expect(out + err).toMatch(/step 2\/2/);
  }, 120_000);
});

import { appendFileSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useTempDir } from "../testing/temp-dir.js";
import { MAX_SAMPLE_CHARS, SAMPLES_FILE, SamplesLog, SamplesReader, clipText, type StepSamples } from "./samples-file.js";

const tmp = useTempDir();
let n = 0;
const runDir = (): string => {
  const dir = tmp.path(`run-${n++}`);
  mkdirSync(dir);
  return dir;
};

const step = (s: number, text = `answer ${s}`): StepSamples => ({
  step: s,
  prompts: [
    { id: "p1", completions: [{ text, reward: 1, advantage: 0.7, finishReason: "eos" }, { text: "wrong", reward: 0, advantage: -0.7, finishReason: "length" }] },
    { id: "p2", completions: [{ text: "x", reward: null, advantage: null, finishReason: "eos" }] },
  ],
});

describe("samples file", () => {
  it("reads back each step by number, with rewards and advantages; a redone step reads as its last line", () => {
    const dir = runDir();
    const log = new SamplesLog(dir);
    for (let s = 1; s <= 5; s++) expect(log.append(step(s))).toBe(true);
    const reader = new SamplesReader();
    expect(reader.read(dir, 3)).toEqual(step(3));
    expect(reader.read(dir, 6)).toBeNull();
    // Resumed from a checkpoint at step 3: steps 4 and 5 run again; a new log (a new thread) appends.
    const again = new SamplesLog(dir);
    again.append(step(4, "second try"));
    expect(reader.read(dir, 4)!.prompts[0]!.completions[0]!.text).toBe("second try");
    expect(reader.read(dir, 5)!.prompts[0]!.completions[0]!.text).toBe("answer 5");
  });

  it("cuts long texts to their head and tail, and stops growing at its size bound", () => {
    const dir = runDir();
    const long = `${"a".repeat(3000)}THE END`;
    expect(clipText(long)).toMatch(/^a{800}\n… \[1807 characters cut\] …\na{393}THE END$/);
    expect(clipText(long).length).toBeLessThan(MAX_SAMPLE_CHARS + 50);
    const log = new SamplesLog(dir, 10_000);
    let recorded = 0;
    for (let s = 1; s <= 20; s++) if (log.append(step(s, long))) recorded++;
    const size = statSync(join(dir, SAMPLES_FILE)).size;
    expect(recorded).toBeGreaterThan(1);
    expect(recorded).toBeLessThan(20);
    expect(size).toBeLessThan(10_000 + 2 * MAX_SAMPLE_CHARS + 1000); // at most one line past the bound
    const reader = new SamplesLog(dir, 10_000);
    expect(reader.append(step(21))).toBe(false); // a new writer sees the bound too
    expect(new SamplesReader().read(dir, 1)!.prompts[0]!.completions[0]!.text).toMatch(/THE END$/);
    expect(new SamplesReader().read(dir, recorded + 1)).toBeNull();
  });

  it("writes the judgment prompts' shared start once per step and reads each prompt whole", () => {
    const dir = runDir();
    const shared = "Judge variance.\n1+1= => 0.00\n7*8= => 0.25\n";
    const judged: StepSamples = {
      step: 1,
      prompts: ["3+4=", "9*9="].map((q, i) => ({
        id: `q${i}`,
        completions: [{ text: "7", reward: 1, advantage: 0, finishReason: "eos" }],
        judgment: { prompt: `${shared}New: ${q}\nA:`, answers: [{ text: " 0.12", predicted: 0.12 }, { text: " ?", predicted: null }], predicted: 0.12 },
      })),
    };
    new SamplesLog(dir).append(judged);
    const line = readFileSync(join(dir, SAMPLES_FILE), "utf8");
    expect(line.split(shared.replaceAll("\n", "\\n")).length - 1).toBe(1);
    expect(new SamplesReader().read(dir, 1)).toEqual(judged);
  });

  it("indexes only new bytes, waits for a line being written, and skips a line cut by a crash", () => {
    const dir = runDir();
    const path = join(dir, SAMPLES_FILE);
    const reader = new SamplesReader();
    new SamplesLog(dir).append(step(1));
    expect(reader.read(dir, 1)).toEqual(step(1));
    const line2 = JSON.stringify(step(2)) + "\n";
    appendFileSync(path, line2.slice(0, 20)); // half written
    expect(reader.read(dir, 2)).toBeNull();
    appendFileSync(path, line2.slice(20));
    expect(reader.read(dir, 2)).toEqual(step(2));
    appendFileSync(path, JSON.stringify(step(3)).slice(0, 30)); // the process died mid-line
    new SamplesLog(dir).append(step(4));
    expect(reader.read(dir, 3)).toBeNull();
    expect(reader.read(dir, 4)).toEqual(step(4));
    expect(reader.read(dir, 1)).toEqual(step(1));
  });
});

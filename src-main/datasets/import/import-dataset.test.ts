import { copyFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { scoreCompletion } from "../../rewards/score.js";
import { useTempDir } from "../../testing/temp-dir.js";
import { importDataset, UnrecognisedFieldsError } from "./import-dataset.js";
import { DatasetFileError } from "./read-records.js";

const tmp = useTempDir();
// Samples of the public files, inside the repository (src-main/testing/fixtures/README.md).
const fixture = (p: string): string => new URL(`../../testing/fixtures/${p}`, import.meta.url).pathname;

describe("importing the public datasets (fixture samples)", () => {
  it("GSM8K (JSONL), detected, every row scorable by its own reference, the file untouched", async () => {
    const path = fixture("gsm8k/test.jsonl");
    const before = statSync(path).mtimeMs;
    const r = await importDataset(path);
    expect(r.preset).toBe("gsm8k");
    expect(r.errors).toEqual([]);
    expect(r.rows).toHaveLength(100);
    expect(r.rows[0]!.prompt).toMatch(/^Question: Janet/);
    for (const row of r.rows.slice(0, 50)) expect(await scoreCompletion(row.reward, row.reference!)).toBe(1);
    expect(statSync(path).mtimeMs).toBe(before);
  });

  it("HumanEval (gzipped JSONL) as Python code rows", async () => {
    const r = await importDataset(fixture("humaneval/HumanEval.jsonl.gz"));
    expect(r.preset).toBe("humaneval");
    expect(r.errors).toEqual([]);
    expect(r.rows).toHaveLength(21);
    expect(r.rows[0]).toMatchObject({ id: "HumanEval/0", reward: { kind: "code", language: "python", entryPoint: "has_close_elements" } });
  });

  it.each(["simple_python", "multiple", "parallel"])("BFCL %s with its ground truth; ground truths score 1", async (name) => {
    const r = await importDataset(fixture(`bfcl/BFCL_v4_${name}.json`));
    expect(r.preset).toBe("bfcl");
    expect(r.errors).toEqual([]);
    expect(r.rows).toHaveLength(60);
    expect(r.rows[0]!.prompt).toMatch(/^Tools: .*\nQ: .+\nA:$/s);
    const row = r.rows[0]!;
    if (row.reward.kind !== "function-call") throw new Error("expected a function-call row");
    const calls = row.reward.expected.map((e) => {
      const [fn, params] = Object.entries(e)[0]!;
      return { name: fn, arguments: Object.fromEntries(Object.entries(params).filter(([, v]) => v[0] !== "").map(([k, v]) => [k, v[0]])) };
    });
    expect(await scoreCompletion(row.reward, JSON.stringify(calls))).toBe(1);
  });
});

describe("formats, mappings and errors", () => {
  it("BFCL with its answer file given beside it (an upload's copy has no sibling), and a clear error without one", async () => {
    const questions = tmp.path("0b1f-BFCL_v4_simple_python.json");
    copyFileSync(fixture("bfcl/BFCL_v4_simple_python.json"), questions);
    await expect(importDataset(questions)).rejects.toThrow(/BFCL ground truth not found: expected .*0b1f-BFCL_v4_simple_python\.answer\.json \(give the answer file with the questions\)/);
    const answers = tmp.path("7c2e-BFCL_v4_simple_python.answer.json");
    copyFileSync(fixture("bfcl/BFCL_v4_simple_python.answer.json"), answers);
    const r = await importDataset(questions, "detect", { answers });
    expect(r).toMatchObject({ preset: "bfcl", errors: [], records: 60 });
    expect(r.rows).toHaveLength(60);
  });

  it("bad lines are skipped and listed with their line; the rest is imported", async () => {
    const path = tmp.path("mixed.jsonl");
    writeFileSync(path, ['{"question": "1+1", "answer": "#### 2"}', '{"question": ', "[1, 2]", '{"question": "2+2", "answer": "#### 4"}', ""].join("\n"));
    const r = await importDataset(path);
    expect(r.preset).toBe("gsm8k");
    expect(r.rows.map((x) => x.prompt)).toEqual(["Question: 1+1\nAnswer:", "Question: 2+2\nAnswer:"]);
    expect(r.records).toBe(4);
    expect(r.errors.map((e) => e.line)).toEqual([2, 3]);
    expect(r.errors[0]!.message).toMatch(/^not valid JSON/);
    expect(r.errors[1]!.message).toBe("each line must be a JSON object");
    const csv = tmp.path("ragged.csv");
    writeFileSync(csv, 'q,a\n"1+1",2\n"2+2",4,extra\n"3+3",6\n');
    const c = await importDataset(csv, { mapping: { prompt: "{q}", reward: { kind: "math", answer: "a" } } });
    expect(c.rows.map((x) => x.prompt)).toEqual(["1+1", "3+3"]);
    expect(c.errors.map((e) => e.line)).toEqual([3]);
  });


  it("CSV with a custom mapping; invalid records reported with their line", async () => {
    const path = tmp.path("sums.csv");
    writeFileSync(path, 'q,a\n"1+1",2\n"2+2",4\n"3+3",\n');
    const r = await importDataset(path, { mapping: { prompt: "Q: {q}=?\nA:", reward: { kind: "math", answer: "a" } } });
    expect(r.rows.map((x) => x.prompt)).toEqual(["Q: 1+1=?\nA:", "Q: 2+2=?\nA:", "Q: 3+3=?\nA:"]);
    expect(await scoreCompletion(r.rows[1]!.reward, " 4")).toBe(1);
    const bad = await importDataset(path, { mapping: { prompt: "{question}", reward: { kind: "math", answer: "a" } } });
    expect(bad.rows).toEqual([]);
    expect(bad.errors[0]).toEqual({ line: 2, message: 'missing field "question" (the record has q, a)' });
  });

  it("Parquet", async () => {
    const path = tmp.path("sums.parquet");
    const buffer = parquetWriteBuffer({ columnData: [{ name: "question", data: ["5+5", "6+1"] }, { name: "answer", data: ["#### 10", "#### 7"] }] });
    writeFileSync(path, Buffer.from(buffer));
    const r = await importDataset(path);
    expect(r.preset).toBe("gsm8k");
    expect(r.rows.map((x) => x.reward)).toEqual([{ kind: "math", answer: "#### 10" }, { kind: "math", answer: "#### 7" }]);
  });

  it("JSON arrays, with lines of each object", async () => {
    const path = tmp.path("rows.json");
    writeFileSync(path, '[\n  {"question": "1+1", "answer": "#### 2"},\n  {"question": 5, "answer": "no final answer"}\n]\n');
    const r = await importDataset(path, { preset: "gsm8k" });
    expect(r.rows).toHaveLength(2);
    const bad = await importDataset(path, { mapping: { prompt: "{nope}", reward: { kind: "math", answer: "answer" } } });
    expect(bad.errors.map((e) => e.line)).toEqual([2, 3]);
  });

  it("unreadable files name the file and line; unrecognised fields are listed for a mapping", async () => {
    writeFileSync(tmp.path("broken.jsonl"), '{"question": \n[]\n');
    await expect(importDataset(tmp.path("broken.jsonl"))).rejects.toThrow(/broken\.jsonl:1: no readable records \(2 bad lines; first: not valid JSON/);
    await expect(importDataset(tmp.path("x.txt"))).rejects.toThrow(DatasetFileError);
    writeFileSync(tmp.path("odd.jsonl"), '{"foo": 1, "bar": "x"}\n');
    const e = await importDataset(tmp.path("odd.jsonl")).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(UnrecognisedFieldsError);
    expect((e as UnrecognisedFieldsError).message).toMatch(/odd\.jsonl:1: no preset recognises these fields \(foo, bar\)/);
    expect((e as UnrecognisedFieldsError).fields).toEqual(["foo", "bar"]);
    expect(readFileSync(tmp.path("broken.jsonl"), "utf8")).toContain('{"question": \n');
  });
});

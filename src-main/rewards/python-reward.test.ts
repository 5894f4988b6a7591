import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { pythonCodeReward } from "./code-reward.js";
import { closePythonSandbox } from "./python-sandbox.js";
import { fixturePath } from "../testing/fixtures.js";

afterAll(() => closePythonSandbox());

interface HumanEvalRow { task_id: string; prompt: string; canonical_solution: string; test: string; entry_point: string }
const rows = gunzipSync(readFileSync(fixturePath("humaneval/HumanEval.jsonl.gz"))).toString("utf8").trim().split("\n").map((l) => JSON.parse(l) as HumanEvalRow);

describe("Python code reward (Pyodide sandbox)", () => {
  it("HumanEval canonical solutions pass; broken ones fail", async () => {
    const sample = rows; // every 8th problem of the set: 21
    for (const row of sample) {
      const tests = `${row.test}\ncheck(${row.entry_point})\n`;
      expect(await pythonCodeReward(row.canonical_solution, row.entry_point, tests, row.prompt, 30_000), row.task_id).toBe(1);
      expect(await pythonCodeReward("    return None\n", row.entry_point, tests, row.prompt, 30_000), row.task_id).toBe(0);
    }
  }, 120_000);
});

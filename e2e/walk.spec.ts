// Issue 13's "Done when", walked as a user would in Chromium against `metis serve`: the three
// shared datasets imported by one drop (GSM8K, HumanEval, BFCL with its answer file), a hand-made
// CSV through the mapping editor, a run measured on a chosen evaluation set, a heatmap cell's
// completions, the base-vs-adapter table, Try it, two runs compared (two series, read from the
// chart's data) and the three exports. Every screen is shot at 1280×800 and 1920×1080 into
// e2e/artifacts/walk-*.png. The datasets are the samples in src-main/testing/fixtures.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { drop, FIXTURES, openCellWithSamples, plotOf, shots, startRun } from "./helpers.js";
import { serve, type Served } from "./serve.js";

let server: Served;
test.beforeAll(async () => {
  server = await serve();
});
test.afterAll(() => server.stop());

/** New run with a few short steps on the built-in model and dataset (48 tokens: enough for its tasks to pass sometimes, so curves differ). */
async function newRun(page: Page, o: { name: string; scheduler: RegExp; steps: number }): Promise<void> {
  await page.getByRole("button", { name: "New run", exact: true }).click();
  await page.getByLabel("Run name").fill(o.name);
  await page.getByLabel(o.scheduler).check();
  await page.getByLabel("Steps").fill(String(o.steps));
  await page.getByLabel("Prompts per step").fill("2");
  await page.getByLabel("Group size").fill("3");
  await page.getByLabel("Max tokens").fill("48");
}

test("the whole path: import by drop, map a CSV, a run on a chosen evaluation set, its samples, base against adapter, compare two runs, export", async ({ page }) => {
  test.setTimeout(600_000);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(server.url);

  // Models: the built-in model, its size on one line, "built-in" said once.
  const builtin = page.getByRole("row").filter({ hasText: "metis-tiny" });
  await expect(builtin).toContainText("F32");
  expect((await builtin.textContent())!.match(/built-in/g)).toHaveLength(1); // not "metis-tiny (built-in) built-in"
  const size = builtin.getByTestId("model-size");
  await expect(size).toHaveText(/^\d+\.\d MB$/);
  // One line box, not "6.7" over "MB" (a cell's height is its row's: count the text's lines).
  const lines = await size.evaluate((el) => {
    const r = document.createRange();
    r.selectNodeContents(el);
    return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size;
  });
  expect(lines).toBe(1);
  await shots(page, "walk-01-models");

  // Datasets: the three shared datasets in one drop; BFCL's answer file travels with its questions.
  await page.getByRole("button", { name: "Datasets", exact: true }).click();
  await shots(page, "walk-02-datasets-empty");
  await drop(page, "dataset-drop", {
    "test.jsonl": readFileSync(`${FIXTURES}/gsm8k/test.jsonl`),
    "HumanEval.jsonl.gz": readFileSync(`${FIXTURES}/humaneval/HumanEval.jsonl.gz`),
    "BFCL_v4_simple_python.json": readFileSync(`${FIXTURES}/bfcl/BFCL_v4_simple_python.json`),
    "BFCL_v4_simple_python.answer.json": readFileSync(`${FIXTURES}/bfcl/BFCL_v4_simple_python.answer.json`),
  });
  const preview = page.getByTestId("preview");
  await expect(preview).toContainText("test.jsonl — 100 records, first 20 shown");
  await expect(page.getByLabel("Field mapping")).toHaveValue("gsm8k");
  await expect(page.getByTestId("queue")).toHaveText("Next from this drop: HumanEval.jsonl.gz, BFCL_v4_simple_python.json");
  await shots(page, "walk-03-preview-gsm8k");
  await page.getByLabel("Dataset name").fill("GSM8K sample");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported GSM8K sample: 100 rows");

  await expect(preview).toContainText("HumanEval.jsonl.gz — 21 records, first 20 shown");
  await expect(page.getByLabel("Field mapping")).toHaveValue("humaneval");
  await expect(preview.locator("tbody tr").first()).toContainText("code");
  await shots(page, "walk-04-preview-humaneval");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported HumanEval: 21 rows");

  await expect(preview).toContainText("BFCL_v4_simple_python.json + answers — 60 records, first 20 shown");
  await expect(page.getByLabel("Field mapping")).toHaveValue("bfcl");
  await expect(preview.locator("tbody tr").first()).toContainText("function-call");
  await shots(page, "walk-05-preview-bfcl");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported BFCL_v4_simple_python: 60 rows");
  await expect(preview).toHaveCount(0); // the drop is done

  // A hand-made CSV no preset knows: the mapping editor opens at once.
  await drop(page, "dataset-drop", { "sums.csv": Buffer.from("expr,result\n1+1,2\n2+3,5\n4+4,8\n12+30,42\n7+8,15\n") });
  await expect(preview).toContainText("sums.csv — 5 records, no preset recognises them");
  await expect(page.getByTestId("mapping-editor")).toBeVisible();
  await page.getByLabel("Prompt template").fill("Q: {expr}=?\nA:");
  await expect(page.getByLabel("Answer field")).toHaveValue("result");
  await page.getByRole("button", { name: "Apply mapping" }).click();
  await expect(preview).toContainText("Q: 2+3=?");
  await shots(page, "walk-06-mapping");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported sums: 5 rows");
  for (const [name, rows, source] of [["GSM8K sample", "100", "test.jsonl"], ["HumanEval", "21", "HumanEval.jsonl.gz"], ["BFCL_v4_simple_python", "60", "BFCL_v4_simple_python.json"], ["sums", "5", "sums.csv"]] as const) {
    const row = page.getByRole("row").filter({ has: page.getByRole("cell", { name, exact: true }) });
    await expect(row).toContainText(rows);
    await expect(row.getByTestId("dataset-source")).toHaveText(source);
  }
  await shots(page, "walk-07-datasets");

  // A METIS run on the built-in dataset, measured on the CSV imported above.
  await newRun(page, { name: "walk metis", scheduler: /METIS — the policy predicts/, steps: 3 });
  await expect(page.getByRole("radio")).toHaveCount(6 + 2); // six curricula (PCL too) and two presets
  const evalId = await page.getByLabel("Evaluation set").locator("option", { hasText: "sums" }).getAttribute("value");
  await page.getByLabel("Evaluation set").selectOption(evalId!);
  await page.getByLabel("Measure every").fill("1");
  await page.getByLabel("Held-out items").fill("5");
  await page.getByLabel("Held-out samples").fill("2");
  await shots(page, "walk-08-new-run");
  await startRun(page);
  await expect(page.getByTestId("run-name")).toContainText("walk metis", { timeout: 60_000 });
  await expect(page.getByText("evaluated on sums")).toBeVisible();
  await expect(page.getByTestId("run-status")).toHaveText("finished", { timeout: 240_000 });
  await expect(page.getByTestId("run-step")).toHaveText("step 3 / 3");
  // Held-out points with their interval, on the chosen set.
  await expect.poll(async () => (await plotOf(page, "Held-out pass rate")).series[0]?.points ?? 0).toBe(3);
  expect((await plotOf(page, "Held-out pass rate")).series[0]!.label).toBe("held-out (5 items × 2 samples)");
  // A finished run takes no changes: the controls say so instead of promising "the next step".
  await expect(page.getByLabel("Change scheduler")).toHaveCount(0);

  // The base-vs-adapter table comes by itself at the end, on the chosen set.
  const table = page.getByTestId("compare-table");
  await expect(table).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId("compare-caption")).toContainText("Adapter of step 3 against the base model on sums: 5 items × 2 samples");
  await expect(table.locator("tbody tr").last()).toContainText(/^all/);

  // A heatmap cell of the last step: its completions with rewards and advantages, the judge's answers.
  await openCellWithSamples(page, 3);
  await expect(page.getByTestId("samples-table").locator("tbody tr")).toHaveCount(3);
  await expect(page.getByTestId("samples-judgment")).toContainText("METIS judgment · predicted variance");
  // The same without a mouse: focus the heatmap, arrows move a cell outline, Enter opens it.
  await page.getByRole("button", { name: "Close" }).click();
  await expect(page.getByTestId("step-samples")).toHaveCount(0);
  await page.getByTestId("heatmap").focus();
  await page.keyboard.press("ArrowDown");
  await expect(page.getByTestId("heatmap-cursor")).toBeVisible();
  await expect(page.locator("#heatmap-cell")).toContainText("step 3 ·");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("step-samples")).toContainText("Step 3");
  await expect(page.getByTestId("samples-table")).toBeVisible(); // the cursor starts on a cell rolled out at that step
  // Try it: one prompt, base and adapter side by side.
  await page.getByLabel("Try-it prompt").fill("Q: 12+30=?\nA:");
  await page.getByRole("button", { name: "Try", exact: true }).click();
  await expect(page.getByTestId("try-base")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("try-adapter")).toBeVisible();
  await shots(page, "walk-09-run-metis");

  // A uniform run to compare with (its default name: the scheduler is said once in the legend).
  await page.getByRole("button", { name: "New run", exact: true }).click();
  await page.getByLabel(/Uniform — plain GRPO/).check();
  await page.getByLabel("Steps").fill("2");
  await page.getByLabel("Prompts per step").fill("2");
  await page.getByLabel("Group size").fill("3");
  await page.getByLabel("Max tokens").fill("48");
  await page.getByLabel("Evaluation set").selectOption("none");
  await startRun(page);
  await expect(page.getByTestId("run-name")).toContainText("uniform · metis-tiny", { timeout: 60_000 });
  await expect(page.getByTestId("run-status")).toHaveText("finished", { timeout: 120_000 });
  await shots(page, "walk-10-run-uniform");

  // Runs: both listed; compare draws two series, one per run, each in its own colour.
  await page.getByRole("button", { name: "Runs", exact: true }).click();
  const boxes = page.getByRole("checkbox", { name: /^Compare / });
  await expect(boxes).toHaveCount(2);
  // The held-out pass rate with an interval that is never "± 0" (at 0 % or 100 % the interval itself).
  await expect(page.locator('[data-testid="run-row"]', { hasText: "walk metis" }).getByTestId("held-out")).toHaveText(/^(\d+ % ± [1-9]\d*|0 % \(0–\d+ %\)|100 % \(\d+–100 %\))at step 3$/);
  await shots(page, "walk-11-runs");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  for (const title of ["Compare: mean reward", "Compare: zero-variance groups"]) {
    await expect.poll(async () => (await plotOf(page, title)).series.length).toBe(2);
    const { series } = await plotOf(page, title);
    expect(series.map((s) => s.points).sort()).toEqual([2, 3]);
    expect(new Set(series.map((s) => s.color)).size).toBe(2);
    const labels = series.map((s) => s.label).sort();
    expect(labels[0]).toBe("metis · walk metis");
    expect(labels[1]).toMatch(/^uniform · metis-tiny · \d\d-\d\d \d\d:\d\d$/); // not "uniform · uniform · …"
  }
  // A share is drawn on 0…1, whatever the runs' values.
  await expect.poll(async () => (await plotOf(page, "Compare: zero-variance groups")).yRange).toEqual([0, 1]);
  // Smoothed like a run's charts, the raw values kept under the smoothed line.
  for (const s of (await plotOf(page, "Compare: mean reward")).series) expect([s.smoothed, s.rawPoints]).toEqual([true, s.points]);
  await shots(page, "walk-12-compare");

  // Export the METIS run in each of the three formats.
  const metisRow = page.locator('[data-testid="run-row"]', { hasText: "walk metis" });
  for (const [format, name] of [["gguf-lora", "adapter-step-0000003.gguf"], ["peft", "peft-step-0000003"], ["merged-gguf", "merged-step-0000003.gguf"]] as const) {
    await metisRow.getByLabel("Export walk metis").selectOption(format);
    const status = page.getByRole("status");
    await expect(status).toContainText(`${name}`, { timeout: 60_000 });
    const path = /Exported to (\S+?)(OK)?$/.exec((await status.textContent())!.trim())![1]!;
    expect(path.startsWith(server.userData) && path.endsWith(name), path).toBe(true);
    const file = statSync(path).isDirectory() ? join(path, "adapter_model.safetensors") : path;
    expect(statSync(file).size, file).toBeGreaterThan(1000);
    if (format !== "merged-gguf") await status.getByRole("button", { name: "OK" }).click();
  }
  await shots(page, "walk-13-exported");
  expect(problems).toEqual([]);
});

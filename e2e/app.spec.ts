// The whole app in Chromium against `metis serve`: drop the GSM8K sample, map and import it,
// start a METIS run on the built-in model, watch the heatmap and curves update, pause, change the
// scheduler, resume, stop; import BFCL with its answer file and a CSV through the mapping editor;
// a uniform run with a learning-rate change; compare both runs; lose the server. Datasets are the
// samples in src-main/testing/fixtures, so a clone passes alone. Screenshots go to e2e/artifacts/.
import { readFileSync, writeFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { drop, FIXTURES, plotOf, startRun } from "./helpers.js";
import { serve, type Served } from "./serve.js";

let server: Served;
test.beforeAll(async () => {
  server = await serve();
});
test.afterAll(() => server.stop());

const shot = (page: Page, name: string) => page.screenshot({ path: `e2e/artifacts/${name}.png`, fullPage: true });

/** Milliseconds from an input to the next painted frame (two animation frames after the handler ran). */
async function inputToPaint(page: Page, act: () => Promise<void>): Promise<number> {
  await page.evaluate(() => {
    (window as unknown as { __t: number }).__t = 0;
    document.addEventListener("input", () => ((window as unknown as { __t: number }).__t = performance.now()), { once: true, capture: true });
    document.addEventListener("click", () => ((window as unknown as { __t: number }).__t = performance.now()), { once: true, capture: true });
  });
  await act();
  return page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - (window as unknown as { __t: number }).__t)))));
}

test("import GSM8K by drag and drop, run METIS on the built-in model, pause, switch scheduler, resume, stop", async ({ page }) => {
  test.setTimeout(240_000);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(server.url);

  // Models: the built-in model is there from the first start.
  await expect(page.getByRole("cell", { name: /metis-tiny \(built-in\)/ })).toBeVisible();
  await expect(page.getByRole("cell", { name: "llama" })).toBeVisible();
  await shot(page, "1-models");

  // Datasets: a real drop event carrying the GSM8K sample (100 records).
  await page.getByRole("button", { name: "Datasets", exact: true }).click();
  await drop(page, "dataset-drop", { "gsm8k-test.jsonl": readFileSync(`${FIXTURES}/gsm8k/test.jsonl`) });
  const preview = page.getByTestId("preview");
  await expect(preview).toContainText("100 records, first 20 shown");
  await expect(preview.locator("tbody tr")).toHaveCount(20); // the header's promise, kept
  await expect(page.getByLabel("Field mapping")).toHaveValue("gsm8k");
  await expect(preview).toContainText("Question: Janet");
  await shot(page, "2-dataset-preview");
  await page.getByLabel("Dataset name").fill("GSM8K test");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported GSM8K test: 100 rows");
  await expect(page.getByRole("cell", { name: "GSM8K test", exact: true })).toBeVisible();
  await shot(page, "3-datasets");

  // New run on the imported dataset with METIS.
  await page.getByRole("button", { name: "New run", exact: true }).click();
  const datasetId = await page.getByLabel("Dataset").locator("option", { hasText: "GSM8K test" }).getAttribute("value");
  await page.getByLabel("Dataset").selectOption(datasetId!);
  // More steps than the test lasts: it pauses and stops the run, which must not finish first.
  await page.getByLabel("Steps").fill("1000");
  await page.getByLabel("Prompts per step").fill("2");
  await page.getByLabel("Group size").fill("4");
  await page.getByLabel("Max tokens").fill("12");
  await shot(page, "4-new-run");
  await startRun(page);

  // Live: the heatmap and curves update as steps stream in.
  await expect(page.getByTestId("run-status")).toHaveText("running", { timeout: 60_000 });
  await expect(page.getByTestId("run-step")).toContainText(/step [3-9]|step \d\d/, { timeout: 120_000 });
  const painted = await page.getByTestId("heatmap").evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] !== 22 || d[i + 1] !== 25 || d[i + 2] !== 34) lit++;
    return lit;
  });
  expect(painted).toBeGreaterThan(0);
  await expect(page.locator(".u-over").first()).toBeVisible();
  const latency: number[] = [];
  for (const v of ["variance", "predicted", "pass"]) latency.push(await inputToPaint(page, async () => void (await page.getByLabel("Colour by").selectOption(v))));
  await shot(page, "5-live-run");

  // GSM8K is out of reach of the built-in model in 12 tokens: every group has zero variance, and the page says so.
  await expect(page.getByTestId("run-warning")).toContainText(/No learning signal in the first \d+ steps/, { timeout: 120_000 });

  // Pause, change the scheduler, resume, stop.
  latency.push(await inputToPaint(page, () => page.getByRole("button", { name: "Pause" }).click()));
  await expect(page.getByTestId("run-status")).toHaveText("paused", { timeout: 60_000 });
  await expect(page.getByLabel("Change scheduler")).toHaveValue("metis");
  await page.getByLabel("Change scheduler").selectOption("uniform");
  await page.getByRole("button", { name: "Apply at next step" }).click();
  await expect(page.getByRole("status")).toContainText("next step");
  await shot(page, "6-paused");
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByTestId("run-status")).toHaveText("running", { timeout: 30_000 });
  await expect(page.locator("span.muted", { hasText: "scheduler uniform" })).toBeVisible({ timeout: 60_000 });
  // The change is marked live (no reopening), labelled with both schedulers.
  expect((await plotOf(page, "Reward")).markers).toEqual(["metis → uniform"]);
  await page.getByRole("button", { name: "Stop" }).click();
  await page.getByTestId("confirm").getByRole("button", { name: "Stop run" }).click(); // Stop asks first
  await expect(page.getByTestId("run-status")).toHaveText("stopped", { timeout: 60_000 });
  await shot(page, "7-stopped");

  // Runs: the history lists it.
  await page.getByRole("button", { name: "Runs", exact: true }).click();
  await expect(page.getByRole("cell", { name: "stopped" })).toBeVisible();
  await shot(page, "8-runs");

  writeFileSync("e2e/artifacts/input-to-paint.json", JSON.stringify({ latencyMs: latency }, null, 2));
  for (const ms of latency) expect(ms).toBeLessThan(1000); // sanity only; the figure is reported, not asserted tightly
  expect(problems).toEqual([]);
});

test("import BFCL with its answer file in one drop, a CSV through the mapping editor, a file with bad lines", async ({ page }) => {
  await page.goto(server.url);
  await page.getByRole("button", { name: "Datasets", exact: true }).click();
  const preview = page.getByTestId("preview");

  // BFCL: both files dropped at once; the answers are paired with the questions.
  await drop(page, "dataset-drop", { "BFCL_v4_multiple.json": readFileSync(`${FIXTURES}/bfcl/BFCL_v4_multiple.json`), "BFCL_v4_multiple.answer.json": readFileSync(`${FIXTURES}/bfcl/BFCL_v4_multiple.answer.json`) });
  await expect(preview).toContainText("BFCL_v4_multiple.json + answers — 60 records, first 20 shown");
  await expect(page.getByLabel("Field mapping")).toHaveValue("bfcl");
  await expect(preview).toContainText("function-call");
  await shot(page, "9-bfcl-preview");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported BFCL_v4_multiple: 60 rows");

  // A CSV no preset knows: the preview opens with the mapping editor at once.
  await drop(page, "dataset-drop", { "sums.csv": Buffer.from("expr,result\n1+1,2\n2+3,5\n4+4,8\n") });
  await expect(preview).toContainText("sums.csv — 3 records, no preset recognises them");
  await expect(page.getByTestId("mapping-editor")).toBeVisible();
  await expect(page.getByLabel("Field mapping")).toHaveValue("custom");
  await expect(preview).toContainText("No preset recognises these fields: expr, result");
  await expect(page.getByLabel("Answer field")).toHaveValue("result");
  await page.getByLabel("Prompt template").fill("What is {expr}?\nA:");
  await page.getByRole("button", { name: "Apply mapping" }).click();
  await expect(preview).toContainText("What is 2+3?");
  await shot(page, "10-csv-mapping");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported sums: 3 rows");

  // Bad lines are skipped and listed; the rest imports.
  const lines = readFileSync(`${FIXTURES}/gsm8k/test.jsonl`, "utf8").split("\n").slice(0, 5);
  lines.splice(2, 0, '{"question": "broken', "[1, 2]");
  await drop(page, "dataset-drop", { "gsm8k-bad.jsonl": Buffer.from(lines.join("\n")) });
  await expect(preview).toContainText("7 records, first 5 shown");
  await expect(preview.getByRole("alert")).toContainText("2 line(s) or record(s) cannot be used");
  await expect(preview.getByRole("alert")).toContainText("line 3: not valid JSON");
  await expect(preview.getByRole("alert")).toContainText("line 4: each line must be a JSON object");
  await shot(page, "11-bad-lines");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported gsm8k-bad: 5 rows (2 lines or records skipped)");
});

test("a uniform run keeps its scheduler through a learning-rate change, marked live; compare overlays both runs; charts follow the window", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(server.url);
  await page.getByRole("button", { name: "New run", exact: true }).click();
  await page.getByLabel("Uniform — plain GRPO sampling").check();
  // Enough steps that the change below lands mid-run (a step of this size can take 0.2 s).
  await page.getByLabel("Steps").fill("60");
  await page.getByLabel("Prompts per step").fill("2");
  await page.getByLabel("Group size").fill("4");
  await page.getByLabel("Max tokens").fill("12");
  await startRun(page);
  await expect(page.getByTestId("run-step")).toContainText(/step [1-5] /, { timeout: 120_000 });
  await expect(page.getByLabel("Change scheduler")).toHaveValue("uniform");
  await expect(page.getByLabel("Change learning rate")).toHaveValue("0.002");
  await page.getByLabel("Change learning rate").fill("0.001");
  await page.getByRole("button", { name: "Apply at next step" }).click();
  await expect(page.getByRole("status")).toContainText("next step: learningRate");
  await expect.poll(async () => (await plotOf(page, "Reward")).markers, { timeout: 60_000 }).toEqual(["lr 2e-3 → 1e-3"]);
  await expect(page.getByLabel("Change learning rate")).toHaveValue("0.001");
  await expect(page.getByTestId("run-status")).toHaveText("finished", { timeout: 120_000 });
  await expect(page.locator("span.muted", { hasText: "scheduler uniform" })).toBeVisible();
  await expect(page.getByTestId("run-finished-note")).toContainText("it takes no more changes"); // a finished run offers none
  await shot(page, "12-uniform-lr-change");

  // Charts follow the window's width.
  const canvasWidth = () => page.getByTestId("chart-Reward").locator("canvas").evaluate((c: HTMLCanvasElement) => c.getBoundingClientRect().width);
  const narrow = await canvasWidth();
  await page.setViewportSize({ width: 1920, height: 1080 });
  // At 1920 the grid may add a column rather than widen each chart: the chart follows its card, whatever its new width.
  await expect.poll(canvasWidth).not.toBe(narrow);
  expect(await page.getByTestId("chart-Reward").evaluate((host) => Math.abs(host.querySelector("canvas")!.getBoundingClientRect().width - host.clientWidth))).toBeLessThanOrEqual(2);
  await shot(page, "13-live-run-1920");
  await page.setViewportSize({ width: 1280, height: 800 });

  // Compare: both runs (the METIS run of the first test, on the same server, and this one), two series, each in its own colour.
  await page.getByRole("button", { name: "Runs", exact: true }).click();
  const boxes = page.getByRole("checkbox", { name: /^Compare / });
  await expect(boxes).toHaveCount(2);
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await expect.poll(async () => (await plotOf(page, "Compare: mean reward")).series.length).toBe(2);
  const { series } = await plotOf(page, "Compare: mean reward");
  expect(series.map((s) => s.label.split(" · ")[0]).sort()).toEqual(["metis → uniform", "uniform"]);
  expect(new Set(series.map((s) => s.color)).size).toBe(2);
  for (const s of series) expect(s.points).toBeGreaterThan(0);
  await shot(page, "14-compare");
});

test("when the server goes, the page says so and its actions are disabled", async ({ page }) => {
  const own = await serve();
  await page.goto(own.url);
  await page.getByRole("button", { name: "New run", exact: true }).click();
  const start = page.getByRole("button", { name: "Start run" });
  await expect(start).toBeEnabled();
  await own.stop();
  await expect(page.getByTestId("disconnected")).toContainText("Lost the connection to the engine");
  await expect(start).toBeDisabled();
  await expect(page.getByTestId("host")).toHaveText("Disconnected");
  await shot(page, "15-disconnected");
});

test("heatmap at 10 000 prompts × 1 000 steps renders in the browser", async ({ page }) => {
  await page.goto(`${server.url}&bench=heatmap`);
  const result = await page.waitForFunction(() => (window as unknown as { __heatmapBench?: unknown }).__heatmapBench, null, { timeout: 60_000 });
  const r = (await result.jsonValue()) as { prompts: number; steps: number; renderMs: number[]; fillMs: number; addStepMs: number };
  expect(r.prompts).toBe(10_000);
  expect(r.steps).toBe(1_000);
  expect(r.renderMs).toHaveLength(5);
  writeFileSync("e2e/artifacts/heatmap-bench.json", JSON.stringify(r, null, 2));
});

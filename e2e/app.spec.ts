// The whole app in Chromium against `metis serve`: drop the shared GSM8K file, map and import it,
// start a METIS run on the built-in model, watch the heatmap and curves update, pause, change the
// scheduler, resume, stop. Screenshots of every screen go to e2e/artifacts/.
import { readFileSync, writeFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
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

  // Datasets: a real drop event carrying the shared GSM8K test file.
  await page.getByRole("button", { name: "Datasets", exact: true }).click();
  const content = readFileSync("../shared/datasets/gsm8k/test.jsonl", "utf8");
  const dataTransfer = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], "gsm8k-test.jsonl", { type: "application/jsonl" }));
    return dt;
  }, content);
  const zone = page.getByTestId("dataset-drop");
  await zone.dispatchEvent("dragenter", { dataTransfer });
  await zone.dispatchEvent("dragover", { dataTransfer });
  await zone.dispatchEvent("drop", { dataTransfer });
  const preview = page.getByTestId("preview");
  await expect(preview).toContainText("1319 records");
  await expect(page.getByLabel("Field mapping")).toHaveValue("gsm8k");
  await expect(preview).toContainText("Question: Janet");
  await shot(page, "2-dataset-preview");
  await page.getByLabel("Dataset name").fill("GSM8K test");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported GSM8K test: 1319 rows");
  await expect(page.getByRole("cell", { name: "GSM8K test" })).toBeVisible();
  await shot(page, "3-datasets");

  // New run on the imported dataset with METIS.
  await page.getByRole("button", { name: "New run", exact: true }).click();
  const datasetId = await page.getByLabel("Dataset").locator("option", { hasText: "GSM8K test" }).getAttribute("value");
  await page.getByLabel("Dataset").selectOption(datasetId!);
  await page.getByLabel("Steps").fill("40");
  await page.getByLabel("Prompts per step").fill("2");
  await page.getByLabel("Group size").fill("4");
  await page.getByLabel("Max tokens").fill("12");
  await shot(page, "4-new-run");
  await page.getByRole("button", { name: "Start run" }).click();

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

  // Pause, change the scheduler, resume, stop.
  latency.push(await inputToPaint(page, () => page.getByRole("button", { name: "Pause" }).click()));
  await expect(page.getByTestId("run-status")).toHaveText("paused", { timeout: 60_000 });
  await page.getByLabel("Change scheduler").selectOption("uniform");
  await page.getByRole("button", { name: "Apply at next step" }).click();
  await expect(page.getByRole("status")).toContainText("next step");
  await shot(page, "6-paused");
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByTestId("run-status")).toHaveText("running", { timeout: 30_000 });
  await expect(page.locator("span.muted", { hasText: "scheduler uniform" })).toBeVisible({ timeout: 60_000 });
  await page.getByRole("button", { name: "Stop" }).click();
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

test("heatmap at 10 000 prompts × 1 000 steps renders in the browser", async ({ page }) => {
  await page.goto(`${server.url}&bench=heatmap`);
  const result = await page.waitForFunction(() => (window as unknown as { __heatmapBench?: unknown }).__heatmapBench, null, { timeout: 60_000 });
  const r = (await result.jsonValue()) as { prompts: number; steps: number; renderMs: number[]; fillMs: number; addStepMs: number };
  expect(r.prompts).toBe(10_000);
  expect(r.steps).toBe(1_000);
  expect(r.renderMs).toHaveLength(5);
  writeFileSync("e2e/artifacts/heatmap-bench.json", JSON.stringify(r, null, 2));
});

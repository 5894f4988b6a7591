// Every screen at 1280×800 and 1920×1080 (e2e/artifacts/screen-*.png, to look at), and what the
// charts hold, read from their data: the new series have values after a short METIS run,
// smoothing can be turned off, the METIS panel compares its judge with predicting the mean, and
// an imported dataset is listed under the name of the file dropped.
import { readFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { drop, FIXTURES, plotOf, shots as shotsAs } from "./helpers.js";
import { serve, type Served } from "./serve.js";

let server: Served;
test.beforeAll(async () => {
  server = await serve();
});
test.afterAll(() => server.stop());

/** Every screen at both sizes, as e2e/artifacts/screen-<name>-<width>.png. */
const shots = (page: Page, name: string): Promise<void> => shotsAs(page, `screen-${name}`);

async function startRun(page: Page, scheduler: RegExp, steps: number, maxTokens = 12): Promise<void> {
  await page.getByRole("button", { name: "New run", exact: true }).click();
  await page.getByLabel(scheduler).check();
  await page.getByLabel("Steps").fill(String(steps));
  await page.getByLabel("Prompts per step").fill("2");
  await page.getByLabel("Group size").fill("4");
  await page.getByLabel("Max tokens").fill(String(maxTokens));
}

test("every screen at both sizes; charts' new series, smoothing, METIS against predict-the-mean, dataset file names", async ({ page }) => {
  test.setTimeout(540_000);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(server.url);

  await expect(page.getByRole("cell", { name: /metis-tiny \(built-in\)/ })).toBeVisible();
  await shots(page, "models");

  // Datasets: a drop previews; the imported dataset is listed under the dropped file's own name.
  await page.getByRole("button", { name: "Datasets", exact: true }).click();
  await drop(page, "dataset-drop", { "GSM8K sample (test).jsonl": readFileSync(`${FIXTURES}/gsm8k/test.jsonl`) });
  await expect(page.getByTestId("preview")).toContainText("100 records, first 20 shown");
  await shots(page, "dataset-preview");
  await page.getByLabel("Dataset name").fill("GSM8K sample");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported GSM8K sample: 100 rows");
  const row = page.getByRole("row").filter({ hasText: "GSM8K sample" });
  await expect(row.getByTestId("dataset-source")).toHaveText("GSM8K sample (test).jsonl");

  // A CSV no preset knows opens the mapping editor.
  await drop(page, "dataset-drop", { "sums.csv": Buffer.from("expr,result\n1+1,2\n2+3,5\n4+4,8\n") });
  await expect(page.getByTestId("mapping-editor")).toBeVisible();
  await page.getByLabel("Prompt template").fill("What is {expr}?\nA:");
  await page.getByRole("button", { name: "Apply mapping" }).click();
  await expect(page.getByTestId("preview")).toContainText("What is 2+3?");
  await shots(page, "dataset-mapping");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("row").filter({ hasText: "sums" }).getByTestId("dataset-source")).toHaveText("sums.csv");
  await shots(page, "datasets");

  // A short METIS run on the built-in model and dataset.
  // Long enough completions that the built-in tasks can pass (12 tokens cut most answers short).
  await startRun(page, /METIS — the policy/, 6, 64);
  await shots(page, "new-run");
  await page.getByRole("button", { name: "Start run" }).click();
  await expect(page.getByTestId("run-name")).toContainText("metis ·", { timeout: 60_000 });
  await expect(page.getByTestId("run-step")).toHaveText("step 6 / 6", { timeout: 300_000 });
  await expect(page.getByTestId("run-status")).toHaveText("finished", { timeout: 60_000 });

  // The new series, with a value at every step, smoothed with the raw values kept; axes titled.
  for (const [title, label] of [["Loss", "loss"], ["Gradient norm", "grad norm"], ["Clip fraction", "clip fraction"], ["Completion length", "mean completion length"]]) {
    const plot = await plotOf(page, title!);
    const s = plot.series.find((x) => x.label === label);
    expect(s, `${title}: ${JSON.stringify(plot)}`).toBeDefined();
    expect(s!.points).toBe(6);
    expect(s!.smoothed).toBe(true);
    expect(s!.rawPoints).toBe(6);
    expect(plot.axes.x).toBe("step");
    expect(plot.axes.y).toBeTruthy();
  }
  const lr = (await plotOf(page, "Learning rate")).series[0]!;
  expect([lr.label, lr.points, lr.smoothed]).toEqual(["learning rate", 6, false]); // a setting is drawn as it is
  const zero = await plotOf(page, "Zero-variance groups");
  expect(zero.series.map((s) => s.label)).toEqual(["zero-variance groups (no gradient)", "uniform sampling, expected"]);
  expect(zero.series[1]!.points).toBe(5); // from the second step on
  const judge = await plotOf(page, "Judge error");
  expect(judge.series.map((s) => s.label)).toEqual(["METIS judge", "predict the examples' mean"]);
  expect(judge.series[1]!.points).toBeGreaterThan(0);

  // The METIS panel: the judge against predicting the mean, zero-variance groups against uniform, labelled examples.
  await expect(page.getByTestId("metis-baseline")).toContainText(/\d\.\d{3} judge · \d\.\d{3} predicting the mean/);
  await expect(page.getByTestId("metis-baseline")).toContainText(/(better|worse) than the mean|no better than the mean/);
  await expect(page.getByTestId("rollouts-saved")).toContainText(/of \d+ \(\d+ %\) · uniform, expected ≈/);
  await expect(page.getByTestId("metis-examples")).toContainText("observed variance");
  await shots(page, "run-metis");

  // Smoothing off: the curves are the raw values alone.
  await page.getByLabel("Smoothing").fill("0");
  await expect.poll(async () => (await plotOf(page, "Loss")).smoothing).toBe(0);
  expect((await plotOf(page, "Loss")).series.map((s) => [s.smoothed, s.points, s.rawPoints])).toEqual([[false, 6, undefined]]);

  // A uniform run to compare with; Runs and the comparison.
  await startRun(page, /Uniform — plain GRPO/, 4);
  await page.getByRole("button", { name: "Start run" }).click();
  await expect(page.getByTestId("run-name")).toContainText("uniform ·", { timeout: 60_000 }); // the new run's screen, not the last one's
  await expect(page.getByTestId("run-step")).toHaveText("step 4 / 4", { timeout: 120_000 });
  await expect(page.getByTestId("run-status")).toHaveText("finished", { timeout: 60_000 });
  await shots(page, "run-uniform");
  await page.getByRole("button", { name: "Runs", exact: true }).click();
  const boxes = page.getByRole("checkbox", { name: /^Compare / });
  await expect(boxes).toHaveCount(2);
  await shots(page, "runs");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await expect.poll(async () => (await plotOf(page, "Compare: mean reward")).series.map((s) => s.points).sort()).toEqual([4, 6]);
  await shots(page, "compare");
  expect(problems).toEqual([]);
});

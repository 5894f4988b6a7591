// Issue 13 in Chromium against `metis serve`: a URL per screen and per run (reload keeps the place,
// back and forward work), New run's name / preset / evaluation set, progress with elapsed and ETA,
// "pausing…" and "stopping…" shown at once, Stop confirmed, the held-out curve as points with
// error bars, the Runs table's columns, renaming, and deleting a run and a dataset (confirmed).
import { readFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { serve, type Served } from "./serve.js";

let server: Served;
test.beforeAll(async () => {
  server = await serve();
});
test.afterAll(() => server.stop());

const shot = (page: Page, name: string) => page.screenshot({ path: `e2e/artifacts/${name}.png`, fullPage: true });
const hash = (page: Page): Promise<string> => page.evaluate(() => location.hash);

/** Every text the run's status pill shows from now on (a MutationObserver: a state shown for one frame is seen). */
async function recordStatus(page: Page): Promise<() => Promise<string[]>> {
  await page.getByTestId("run-status").evaluate((el) => {
    const seen: string[] = [el.textContent ?? ""];
    (window as unknown as { __status: string[] }).__status = seen;
    new MutationObserver(() => {
      const now = document.querySelector("[data-testid=run-status]")?.textContent ?? "";
      if (seen.at(-1) !== now) seen.push(now);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { __status: string[] }).__status);
}

async function plotOf(page: Page, title: string): Promise<{ series: { label: string; points: number }[]; errorBars: number[] }> {
  return JSON.parse((await page.getByTestId(`chart-${title}`).getAttribute("data-plot")) ?? "{}") as never;
}

test("a named run with a held-out share: its URL survives reload and history, progress and ETA show, pausing… and stopping… show at once, Stop asks first, then it is deleted", async ({ page }) => {
  test.setTimeout(300_000);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(server.url);

  // Each screen has its URL; a reload stays there.
  await page.getByRole("button", { name: "New run", exact: true }).click();
  expect(await hash(page)).toBe("#/new-run");
  await page.reload();
  await expect(page.getByRole("heading", { name: "New run" })).toBeVisible();
  await expect(page.getByRole("button", { name: "New run", exact: true })).toHaveAttribute("aria-current", "page");

  // The preset picker shows what each preset sets, and sets the form's values.
  const presetTable = page.getByTestId("preset-values");
  await expect(presetTable).toContainText("judgment weight λ0.5");
  await page.getByLabel("Paper (METIS as the paper sets it)").check();
  await expect(presetTable).toContainText("judgment weight λ0.01");
  await expect(presetTable).toContainText("judgment rewardsquared");
  await expect(page.getByLabel("Judgment weight λ")).toHaveValue("0.01");
  await expect(page.getByLabel("Exploration share")).toHaveValue("0");
  await page.getByLabel("Workbench defaults").check();
  await expect(page.getByLabel("Judgment weight λ")).toHaveValue("0.5");

  // The built-in set is measured on its own held-out split by default; here a share is held out instead.
  await expect(page.getByLabel("Evaluation set")).toHaveValue("builtin-synthetic-test");
  await expect(page.getByLabel("Run name")).toHaveAttribute("placeholder", /^metis · metis-tiny · \d\d-\d\d \d\d:\d\d$/);
  await page.getByLabel("Run name").fill("progress check");
  await page.getByLabel("Evaluation set").selectOption("holdout");
  await page.getByLabel("Held-out share").fill("20");
  await page.getByLabel("Measure every").fill("2");
  await page.getByLabel("Held-out items").fill("4");
  await page.getByLabel("Held-out samples").fill("2");
  await page.getByLabel("Uniform — plain GRPO sampling").check();
  // Far more steps than the test lasts: a step here takes ~0.15 s, and a run that finished before Pause has no Pause.
  await page.getByLabel("Steps").fill("5000");
  await page.getByLabel("Prompts per step").fill("2");
  await page.getByLabel("Group size").fill("2");
  await page.getByLabel("Max tokens").fill("8");
  await shot(page, "16-new-run-eval-preset");
  await page.getByRole("button", { name: "Start run" }).click();

  // The run's own URL; progress, elapsed and time left.
  await expect(page.getByTestId("run-name")).toContainText("progress check", { timeout: 60_000 });
  await expect.poll(() => hash(page)).toMatch(/^#\/run\/.+/);
  const runUrl = await hash(page);
  const bar = page.getByRole("progressbar", { name: "Run progress" });
  await expect.poll(async () => Number(await bar.getAttribute("aria-valuenow")), { timeout: 120_000 }).toBeGreaterThanOrEqual(3);
  await expect(bar).toHaveAttribute("aria-valuemax", "5000");
  await expect(page.getByTestId("eta")).toContainText(/left$/);
  await expect(page.getByTestId("elapsed")).toContainText(/\d+ s|min/);
  await expect(page.getByText("evaluated on 20 % held out")).toBeVisible();
  // Held-out measurements: points, each with an error bar.
  await expect.poll(async () => (await plotOf(page, "Held-out pass rate")).errorBars[0] ?? 0, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
  expect((await plotOf(page, "Held-out pass rate")).series[0]!.label).toBe("held-out (4 items × 2 samples)");
  await shot(page, "17-run-progress");
  await page.getByTestId("chart-Held-out pass rate").screenshot({ path: "e2e/artifacts/17b-held-out-chart.png" });

  // Reload on the run's URL reopens it; Runs, then back, returns to it; forward goes to Runs again.
  await page.reload();
  await expect(page.getByTestId("run-name")).toContainText("progress check");
  expect(await hash(page)).toBe(runUrl);
  await page.getByRole("button", { name: "Runs", exact: true }).click();
  expect(await hash(page)).toBe("#/runs");
  const row = page.locator(`[data-run-id="${decodeURIComponent(runUrl.slice("#/run/".length))}"]`);
  await expect(row).toContainText("progress check");
  await expect(row).toContainText("metis-tiny");
  await expect(row).toContainText("Synthetic tasks — train");
  await expect(row).toContainText("eval: 20 % held out");
  await expect(row.getByTestId("scheduler-history")).toHaveText("uniform");
  await expect(row.getByRole("progressbar")).toBeVisible();
  await expect(row.getByRole("button", { name: "Delete progress check" })).toBeDisabled(); // running
  await expect(row.getByTestId("held-out")).toContainText(/^(\d+ % ± \d+|\d+ % \(\d+–\d+ %\))at step \d+$/); // at 0 % or 100 %, the interval itself
  await shot(page, "18-runs-table");
  await page.goBack();
  await expect(page.getByTestId("run-name")).toContainText("progress check");
  expect(await hash(page)).toBe(runUrl);
  await page.goForward();
  await expect(page.getByRole("heading", { name: "Runs", exact: true })).toBeVisible();
  await page.goBack();

  // Pause: "pausing…" from the click until the engine confirms.
  let seen = await recordStatus(page);
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByTestId("run-status")).toHaveText("paused", { timeout: 60_000 });
  expect(await seen()).toEqual(["running", "pausing…", "paused"]);
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByTestId("run-status")).toHaveText("running", { timeout: 60_000 });

  // Stop asks first; Cancel keeps it running.
  await page.getByRole("button", { name: "Stop" }).click();
  const dialog = page.getByTestId("confirm");
  await expect(dialog).toContainText("Stop progress check?");
  await shot(page, "19-confirm-stop");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("run-status")).toHaveText("running");
  seen = await recordStatus(page);
  await page.getByRole("button", { name: "Stop" }).click();
  await dialog.getByRole("button", { name: "Stop run" }).click();
  await expect(page.getByTestId("run-status")).toHaveText("stopped", { timeout: 60_000 });
  expect(await seen()).toEqual(["running", "stopping…", "stopped"]);

  // Renamed in the Runs table, then deleted (confirmed).
  await page.getByRole("button", { name: "Runs", exact: true }).click();
  await row.getByRole("button", { name: "Rename progress check" }).click();
  await row.getByLabel("progress check name").fill("held-out try");
  await row.getByLabel("progress check name").press("Enter");
  await expect(row).toContainText("held-out try");
  await row.getByRole("button", { name: "Delete held-out try" }).click();
  await page.getByTestId("confirm").getByRole("button", { name: "Delete run" }).click();
  await expect(page.getByRole("status")).toContainText("held-out try deleted.");
  await expect(page.getByTestId("run-row")).toHaveCount(0);
  // Its URL now says so instead of showing a stale run.
  await page.goto(`${server.url}${runUrl}`);
  await expect(page.getByRole("alert")).toContainText("Opening the run: unknown run");
  expect(problems).toEqual([]);
});

test("a dataset is deleted after a confirmation, and only the workbench's copy goes", async ({ page }) => {
  await page.goto(`${server.url}#/datasets`);
  await expect(page.getByRole("heading", { name: "Datasets", exact: true })).toBeVisible();
  await page.getByLabel("Choose dataset files").setInputFiles({ name: "gsm8k-small.jsonl", mimeType: "application/json", buffer: Buffer.from(readFileSync("src-main/testing/fixtures/gsm8k/test.jsonl", "utf8").split("\n").slice(0, 5).join("\n")) });
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported gsm8k-small: 5 rows");
  await expect(page.getByRole("button", { name: "Delete Synthetic tasks — train" })).toHaveCount(0); // built-ins stay
  await page.getByRole("button", { name: "Delete gsm8k-small" }).click();
  await expect(page.getByTestId("confirm")).toContainText("the file it was imported from is never touched");
  await page.getByTestId("confirm").getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("cell", { name: "gsm8k-small", exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Delete gsm8k-small" }).click();
  await page.getByTestId("confirm").getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("status")).toContainText("gsm8k-small deleted.");
  await expect(page.getByRole("cell", { name: "gsm8k-small", exact: true })).toHaveCount(0);
  // Models show their quantization, size and path.
  await page.getByRole("button", { name: "Models", exact: true }).click();
  expect(await hash(page)).toBe("#/models");
  const model = page.getByRole("row").filter({ hasText: "metis-tiny (built-in)" });
  await expect(model).toContainText("F32");
  await expect(model).toContainText(/\d+\.\d MB/);
  await expect(model).toContainText("resources/models/metis-tiny.gguf");
  await shot(page, "20-models");
});

// Issue 13, "what is it doing?" and "did it help?", in Chromium against `metis serve`: a short
// METIS run with a held-out share; clicking a heatmap cell shows that step's completions with
// their rewards and advantages and the judge's answers; at the end the base-vs-adapter table
// appears by itself and is still there after a reload (stored with the run); "Try it" shows the
// base model's and the adapter's completions side by side. Screenshots go to e2e/artifacts/.
import { expect, test, type Page } from "@playwright/test";
import { openCellWithSamples } from "./helpers.js";
import { serve, type Served } from "./serve.js";

let server: Served;
test.beforeAll(async () => {
  server = await serve();
});
test.afterAll(() => server.stop());

const shot = (page: Page, name: string) => page.screenshot({ path: `e2e/artifacts/${name}.png`, fullPage: true });

test("a METIS run with a held-out share: a heatmap cell shows its completions with rewards and advantages; base against adapter at the end, kept after a reload; Try it shows both texts", async ({ page }) => {
  test.setTimeout(300_000);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(server.url);
  await page.getByRole("button", { name: "New run", exact: true }).click();
  await page.getByLabel("Run name").fill("samples check");
  await page.getByLabel(/METIS — the policy predicts/).check();
  await page.getByLabel("Evaluation set").selectOption("holdout");
  await page.getByLabel("Held-out share").fill("2");
  await page.getByLabel("Measure every").fill("1");
  await page.getByLabel("Held-out items").fill("4");
  await page.getByLabel("Held-out samples").fill("2");
  await page.getByLabel("Steps").fill("3");
  await page.getByLabel("Prompts per step").fill("2");
  await page.getByLabel("Group size").fill("3");
  await page.getByLabel("Max tokens").fill("8");
  await page.getByRole("button", { name: "Start run" }).click();
  await expect(page.getByTestId("run-name")).toContainText("samples check", { timeout: 60_000 });
  await expect(page.getByTestId("run-status")).toHaveText("finished", { timeout: 180_000 });

  // The base-vs-adapter table comes by itself once the run has finished.
  const table = page.getByTestId("compare-table");
  await expect(table).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId("compare-caption")).toContainText("Adapter of step 3 against the base model");
  await expect(page.getByTestId("compare-caption")).toContainText("× 2 samples, temperature 1, seed 1");
  await expect(table.locator("tbody tr").last()).toContainText(/^all/);
  expect(await table.locator("tbody tr").count()).toBeGreaterThan(1);
  await expect(table.locator("tbody tr").last().locator("td").nth(5)).toHaveText(/^[+−]\d+\.\d( ± \d+\.\d)?$/);
  await page.getByTestId("base-vs-adapter").scrollIntoViewIfNeeded();
  await shot(page, "31-base-vs-adapter");

  // A cell of the last step: its completions with their rewards and advantages, and the judge's answers.
  await openCellWithSamples(page, 3);
  const samples = page.getByTestId("samples-table");
  await expect(samples.locator("tbody tr")).toHaveCount(3);
  for (let i = 0; i < 3; i++) {
    const cells = samples.locator("tbody tr").nth(i).locator("td");
    await expect(cells.nth(1)).toHaveText(/^(\d\.\d\d|unscorable)$/);
    await expect(cells.nth(2)).toHaveText(/^([+-]\d+\.\d\d|—)$/);
  }
  await expect(page.getByTestId("samples-judgment")).toContainText("METIS judgment · predicted variance");
  await expect(page.getByTestId("samples-judgment").locator(".pill")).toHaveCount(4); // the workbench's 4 judgment samples
  await page.getByTestId("step-samples").scrollIntoViewIfNeeded();
  await shot(page, "30-step-samples");
  await expect(page.getByTestId("samples-prompt")).toHaveText(/\S/);

  // Stored with the run: a reload shows the table without measuring again.
  await page.reload();
  await expect(page.getByTestId("compare-table")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("compare-progress")).toHaveCount(0);

  // Try it: one prompt, base and adapter side by side.
  await page.getByLabel("Try-it prompt").fill("Q: 12+30=?\nA:");
  await page.getByRole("button", { name: "Try", exact: true }).click();
  await expect(page.getByTestId("try-base")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("try-adapter")).toBeVisible();
  await expect(page.getByTestId("try-it")).toContainText("Adapter of step 3; temperature 1, up to 8 tokens, seed 1 for both.");
  await expect(page.getByTestId("try-it").getByText(/^\d+ tokens · (eos|stop|length)$/)).toHaveCount(2);
  await page.getByTestId("try-it").scrollIntoViewIfNeeded();
  await shot(page, "32-try-it");
  expect(problems).toEqual([]);
});

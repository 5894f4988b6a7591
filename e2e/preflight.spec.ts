// Pre-flight at Start in Chromium against `metis serve`: New run shows the memory and time estimate
// for the chosen model and settings, and Start first samples the base model: on a dataset it can
// never solve, a warning names what to change and the button becomes "Start anyway".
import { expect, test } from "@playwright/test";
import { serve, type Served } from "./serve.js";
import { drop } from "./helpers.js";

let server: Served;
test.beforeAll(async () => {
  server = await serve();
});
test.afterAll(() => server.stop());


test("New run shows the memory and time estimate, and warns before starting on a dataset with no learning signal", async ({ page }) => {
  test.setTimeout(180_000);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(server.url);

  // An unlearnable dataset: GSM8K-style rows whose answer the built-in model never writes.
  const rows = Array.from({ length: 12 }, (_, i) => JSON.stringify({ question: `What is ${i}+${i + 1}?`, answer: `#### -98765432${i}` })).join("\n");
  await page.getByRole("button", { name: "Datasets", exact: true }).click();
  await drop(page, "dataset-drop", { "unlearnable.jsonl": Buffer.from(rows + "\n") });
  await page.getByLabel("Dataset name").fill("unlearnable");
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toContainText("Imported unlearnable: 12 rows");

  await page.getByRole("button", { name: "New run", exact: true }).click();
  // The estimate for the built-in model at the defaults, and it grows with the settings.
  const estimate = page.getByTestId("preflight-estimate");
  await expect(estimate).toContainText(/Memory ≈ [\d.]+ GB at peak of [\d.]+ GB available/);
  await expect(estimate).toContainText(/per step/);
  const before = await estimate.textContent();
  await page.getByLabel("Max tokens").fill("512");
  await expect(estimate).not.toHaveText(before ?? "");
  await page.getByLabel("Max tokens").fill("32");
  await page.getByLabel("Steps", { exact: true }).fill("2");
  await page.getByLabel("Dataset", { exact: true }).selectOption({ label: "unlearnable" });
  await page.getByLabel("Evaluation set").selectOption("none");
  await page.screenshot({ path: "e2e/artifacts/preflight-estimate.png", fullPage: true });

  await page.getByRole("button", { name: "Start run" }).click();
  const warning = page.getByTestId("preflight-warning");
  await expect(warning).toBeVisible({ timeout: 90_000 });
  await expect(warning).toContainText("No learning signal");
  await expect(warning).toContainText("easier dataset");
  await expect(page.getByTestId("preflight-baseline")).toContainText(/pass 0 % of 8 prompts × 8/);
  await expect(page.getByRole("button", { name: "Start anyway" })).toBeVisible();
  expect(await page.evaluate(() => location.hash)).toBe("#/new-run");
  await page.screenshot({ path: "e2e/artifacts/preflight-warning.png", fullPage: true });
  expect(problems).toEqual([]);
});

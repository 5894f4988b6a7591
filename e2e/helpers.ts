// What several e2e specs do to the page: drop files as a real drop event, read what a chart
// holds, open a heatmap cell with completions, and screenshot a screen at both window sizes.
import { expect, type Page } from "@playwright/test";

export const FIXTURES = "src-main/testing/fixtures";

/** The window sizes every screen is looked at in (e2e/artifacts/*-1280.png, *-1920.png). */
export const SIZES = [
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
] as const;

/** The page at both sizes, full length, as e2e/artifacts/<name>-<width>.png; back at 1280×800 after. */
export async function shots(page: Page, name: string): Promise<void> {
  // The app scrolls inside <main> (the nav stays put): let the document grow instead, so a full-page shot holds every screen whole.
  const unroll = await page.addStyleTag({ content: ".shell { height: auto !important; min-height: 100vh; } main { overflow: visible !important; }" });
  for (const size of SIZES) {
    await page.setViewportSize(size);
    // Charts follow their card's width through a ResizeObserver: let it run before the shot.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: `e2e/artifacts/${name}-${size.width}.png`, fullPage: true });
  }
  await unroll.evaluate((el) => (el as Element).remove());
  await page.setViewportSize(SIZES[0]);
}

/** Drop `files` (name → bytes) on the element with `testId`, as one real drop event. */
export async function drop(page: Page, testId: string, files: Record<string, Buffer>): Promise<void> {
  const payload = Object.entries(files).map(([name, bytes]) => ({ name, base64: bytes.toString("base64") }));
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
    return dt;
  }, payload);
  const zone = page.getByTestId(testId);
  for (const type of ["dragenter", "dragover", "drop"]) await zone.dispatchEvent(type, { dataTransfer });
}

/** What a chart's uPlot holds (Chart.svelte's data-plot): series with label, colour and points with a value; markers; error bars; axes. */
export interface Plot {
  series: { label: string; color: string; points: number; smoothed: boolean; rawPoints?: number }[];
  markers: string[];
  errorBars: number[];
  axes: { x: string; y: string | null };
  smoothing: number;
  yRange: [number, number];
}
export async function plotOf(page: Page, title: string): Promise<Plot> {
  return JSON.parse((await page.getByTestId(`chart-${title}`).getAttribute("data-plot")) ?? '{"series": [], "markers": [], "errorBars": []}') as Plot;
}

/** Click the heatmap's cells of `step` row by row until one opens its completions (a row may not have been rolled out at that step). */
export async function openCellWithSamples(page: Page, step: number): Promise<void> {
  const heatmap = page.getByTestId("heatmap");
  const rows = Number(await heatmap.getAttribute("data-rows"));
  const steps = Number(await heatmap.getAttribute("data-steps"));
  const box = (await heatmap.boundingBox())!;
  for (let row = 0; row < rows; row++) {
    await heatmap.click({ position: { x: ((step - 0.5) / steps) * box.width, y: ((row + 0.5) / rows) * box.height } });
    await expect(page.getByTestId("step-samples")).toBeVisible();
    await expect(page.getByTestId("samples-table").or(page.getByTestId("samples-none"))).toBeVisible();
    if (await page.getByTestId("samples-table").isVisible()) return;
  }
  throw new Error(`no heatmap row opened completions at step ${step}`);
}

/** Start the run on New run; where the baseline sample warns there is nothing to learn, start anyway (these tests are about the screens). */
export async function startRun(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Start run" }).click();
  const anyway = page.getByRole("button", { name: "Start anyway" });
  await expect(anyway.or(page.getByTestId("run-name"))).toBeVisible({ timeout: 60_000 });
  if (await anyway.isVisible()) await anyway.click();
}

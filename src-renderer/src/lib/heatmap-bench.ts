// In-browser measurement of the heatmap at scale (page URL ?bench=heatmap): a synthetic run of
// 10 000 prompts × 1 000 steps, rendered through the same code the live view uses.
import { HeatmapGrid, renderGrid } from "./heatmap-grid";
import type { PromptCell, PromptInfo } from "./types";

/** Result published on window.__heatmapBench. */
export interface HeatmapBenchResult {
  prompts: number;
  steps: number;
  fillMs: number;
  renderMs: number[];
  addStepMs: number;
}

/** Fill a grid (8 prompts per step × 1 000 steps would be sparse; this fills 5 % of each column) and time renders. */
export function runHeatmapBench(canvas: HTMLCanvasElement, prompts = 10_000, steps = 1_000): HeatmapBenchResult {
  const infos: PromptInfo[] = Array.from({ length: prompts }, (_, i) => ({ id: `p${i}`, prompt: `prompt ${i}`, family: "f", difficulty: 1 + (i % 5) }));
  const grid = new HeatmapGrid(infos);
  let seed = 1;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) {
    const cells: PromptCell[] = Array.from({ length: prompts / 20 }, () => {
      const mean = rand();
      return { id: `p${Math.floor(rand() * prompts)}`, mean, variance: mean * (1 - mean), predicted: rand() * 0.25 };
    });
    grid.addStep(s, cells);
  }
  const fillMs = performance.now() - t0;
  const ctx = canvas.getContext("2d")!;
  const order = grid.order("difficulty");
  const renderMs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const a = performance.now();
    const image = ctx.createImageData(canvas.width, canvas.height);
    renderGrid(grid, r % 2 ? "variance" : "pass", order, canvas.width, canvas.height, image.data);
    ctx.putImageData(image, 0, 0);
    renderMs.push(performance.now() - a);
  }
  const a = performance.now();
  grid.addStep(steps + 1, [{ id: "p1", mean: 0.5, variance: 0.25, predicted: 0.2 }]);
  const addStepMs = performance.now() - a;
  return { prompts, steps, fillMs, renderMs, addStepMs };
}

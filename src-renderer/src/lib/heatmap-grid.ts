// The heatmap's data: prompts × steps, kept in typed arrays so 10 000 prompts × 1 000 steps stay
// cheap to update per step and to draw. NaN marks "not rolled out at this step".
import type { PromptCell, PromptInfo } from "./types";

export type ColorBy = "pass" | "variance" | "predicted";
export type SortBy = "dataset" | "difficulty";

/** A growable prompts × steps grid of observed pass rate, variance and METIS prediction. */
export class HeatmapGrid {
  readonly rowOf = new Map<string, number>();
  steps = 0;
  /** Columns allocated per row (the row stride of the arrays). */
  capacity = 64;
  pass: Float32Array;
  variance: Float32Array;
  predicted: Float32Array;
  /** 1 for prompts rolled out at least once. */
  readonly seen: Uint8Array;

  constructor(readonly prompts: readonly PromptInfo[]) {
    this.seen = new Uint8Array(prompts.length);
    prompts.forEach((p, i) => this.rowOf.set(p.id, i));
    this.pass = new Float32Array(prompts.length * this.capacity).fill(NaN);
    this.variance = new Float32Array(prompts.length * this.capacity).fill(NaN);
    this.predicted = new Float32Array(prompts.length * this.capacity).fill(NaN);
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const n = this.prompts.length;
    for (const key of ["pass", "variance", "predicted"] as const) {
      const next = new Float32Array(n * cap).fill(NaN);
      const old = this[key];
      for (let r = 0; r < n; r++) next.set(old.subarray(r * this.capacity, r * this.capacity + this.steps), r * cap);
      this[key] = next;
    }
    this.capacity = cap;
  }

  /** Add one step's cells (its column is `step − 1`). */
  addStep(step: number, cells: readonly PromptCell[]): void {
    while (step > this.capacity) this.grow();
    this.steps = Math.max(this.steps, step);
    const col = step - 1;
    for (const c of cells) {
      const r = this.rowOf.get(c.id);
      if (r === undefined) continue;
      this.seen[r] = 1;
      this.pass[r * this.capacity + col] = c.mean;
      this.variance[r * this.capacity + col] = c.variance;
      this.predicted[r * this.capacity + col] = c.predicted ?? NaN;
    }
  }

  /** Value at (row, step column). */
  value(by: ColorBy, row: number, col: number): number {
    const a = by === "pass" ? this.pass : by === "variance" ? this.variance : this.predicted;
    return a[row * this.capacity + col]!;
  }

  /** Row order for display; `seenOnly` keeps the prompts rolled out so far. */
  order(sort: SortBy, seenOnly = false): number[] {
    const idx = this.prompts.map((_, i) => i).filter((i) => !seenOnly || this.seen[i] === 1);
    if (sort === "difficulty") idx.sort((a, b) => (this.prompts[a]!.difficulty ?? 0) - (this.prompts[b]!.difficulty ?? 0) || (this.prompts[a]!.family ?? "").localeCompare(this.prompts[b]!.family ?? ""));
    return idx;
  }
}

/** Colour of a value in [0, 1] (pass rate) or [0, 0.25] (variance): dark blue → teal → yellow. */
export function colorOf(by: ColorBy, v: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, by === "pass" ? v : v / 0.25));
  const stops: [number, number, number][] = [[30, 40, 90], [32, 140, 150], [120, 200, 110], [250, 220, 80]];
  const x = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/**
 * Draw into an RGBA buffer of w × h pixels: each pixel takes the last rolled-out value among the
 * prompts and steps it covers (so sparse rollouts stay visible when many prompts share a pixel).
 */
export function renderGrid(grid: HeatmapGrid, by: ColorBy, order: readonly number[], w: number, h: number, out: Uint8ClampedArray): void {
  const rows = order.length, cols = Math.max(1, grid.steps);
  const empty: [number, number, number] = [22, 25, 34];
  const data = by === "pass" ? grid.pass : by === "variance" ? grid.variance : grid.predicted;
  const stride = grid.capacity;
  for (let py = 0; py < h; py++) {
    const r0 = Math.floor((py * rows) / h), r1 = Math.max(r0 + 1, Math.floor(((py + 1) * rows) / h));
    for (let px = 0; px < w; px++) {
      const c0 = Math.floor((px * cols) / w), c1 = Math.max(c0 + 1, Math.floor(((px + 1) * cols) / w));
      let v = NaN;
      for (let r = r0; r < r1 && r < rows; r++) {
        const base = order[r]! * stride;
        for (let c = c0; c < c1 && c < grid.steps; c++) {
          const x = data[base + c]!;
          if (x === x) v = x; // not NaN
        }
      }
      const [R, G, B] = Number.isNaN(v) ? empty : colorOf(by, v);
      const o = (py * w + px) * 4;
      out[o] = R; out[o + 1] = G; out[o + 2] = B; out[o + 3] = 255;
    }
  }
}

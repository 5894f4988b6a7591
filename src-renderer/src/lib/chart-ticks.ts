// Tick labels for chart axes: as short as the tick spacing allows (0.002 → "2e-3", 12000 → "12k"),
// so labels never run into the axis title, and integer steps on the x axis.

/** Tick spacings for a step axis: whole steps only. */
export const STEP_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000];

/** One tick value, with as many decimals as the spacing `incr` between ticks needs. */
export function formatTick(v: number, incr: number): string {
  if (!Number.isFinite(v)) return "";
  // Clean up float noise from the tick arithmetic (0.1 + 0.2) before deciding anything.
  const scale = Number.isFinite(incr) && incr > 0 ? incr : Math.abs(v) || 1;
  if (Math.abs(v) < scale * 1e-6) return "0";
  const abs = Math.abs(v);
  if (abs >= 1e4) {
    const [div, unit] = abs >= 1e9 ? [1e9, "G"] : abs >= 1e6 ? [1e6, "M"] : [1e3, "k"];
    const decimals = Math.max(0, Math.min(3, -Math.floor(Math.log10(scale / div) + 1e-9)));
    return `${+(v / div).toFixed(decimals)}${unit}`;
  }
  if (scale < 1e-3) {
    // Small values read best as mantissa and exponent, with the digits the spacing needs.
    const exp = Math.floor(Math.log10(abs));
    const digits = Math.max(0, Math.min(4, exp - Math.floor(Math.log10(scale) + 1e-9)));
    const mantissa = +(v / 10 ** exp).toFixed(digits);
    return mantissa === 10 || mantissa === -10 ? `${Math.sign(v)}e${exp + 1}` : `${mantissa}e${exp}`;
  }
  return String(+v.toFixed(decimalsOf(scale)));
}

/** The decimals that write `incr` exactly (0.025 → 3, 0.2 → 1, 5 → 0), at most 6. */
function decimalsOf(incr: number): number {
  for (let d = 0; d < 6; d++) {
    const scaled = incr * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return d;
  }
  return 6;
}

/** Labels for uPlot's ticks (`splits`), spaced as they are. */
export function formatTicks(splits: readonly number[]): string[] {
  const incr = splits.length > 1 ? Math.abs(splits[1]! - splits[0]!) : Math.abs(splits[0] ?? 1);
  return splits.map((v) => formatTick(v, incr));
}

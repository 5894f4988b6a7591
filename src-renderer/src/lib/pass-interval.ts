// A measured pass rate with an honest spread. The binomial standard error √(p(1 − p)/n) is 0 at
// 0 % and 100 %, which reads "± 0" after a handful of samples; the Wilson score interval
// (Wilson 1927; Agresti & Coull 1998) stays wide there and is close to ± 1 s.e. in between.

/** The Wilson score interval of `passes / n` at `z` standard errors (z = 1: the ± 1 s.e. the charts show); [0, 1] when n is 0. */
export function wilsonInterval(passRate: number, n: number, z = 1): [number, number] {
  if (!(n > 0)) return [0, 1];
  const p = Math.min(1, Math.max(0, passRate));
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At the ends one side is exact (0 or 1); rounding would leave 0.9999999.
  return [p === 0 ? 0 : Math.max(0, centre - half), p === 1 ? 1 : Math.min(1, centre + half)];
}

/** A pass rate for a table cell: "25 % ± 7" in between, the interval itself at the ends ("0 % (0–9 %)"), where ± would read 0. */
export function formatPassRate(passRate: number, n: number): string {
  const pct = (x: number): string => (x * 100).toFixed(0);
  const [lo, hi] = wilsonInterval(passRate, n);
  if (passRate <= 0 || passRate >= 1) return `${pct(passRate)} % (${pct(lo)}–${pct(hi)} %)`;
  return `${pct(passRate)} % ± ${pct(Math.max(passRate - lo, hi - passRate))}`;
}

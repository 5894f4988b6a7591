// Smoothing for training curves, as TensorBoard does it: an exponential moving average with its
// start-up bias removed, so the first points are not dragged towards 0.

/**
 * The debiased EMA of `values` with smoothing `weight` in [0, 1): 0 leaves them as they are,
 * 0.9 averages over ~10 points. A null (a step with no value) stays null and does not reset the
 * average; non-finite values are treated as missing.
 */
export function ema(values: readonly (number | null | undefined)[], weight: number): (number | null)[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight: expected a number in [0, 1), found ${weight}`);
  let last = 0;
  let debias = 1;
  return values.map((v) => {
    if (v === null || v === undefined || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    debias *= weight;
    return last / (1 - debias);
  });
}

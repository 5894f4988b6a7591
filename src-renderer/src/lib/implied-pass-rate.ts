// Reading a reward variance as people think of difficulty: for a pass/fail reward the variance of a
// group is p(1 − p), so 0.19 means "passes about a quarter (or three quarters) of the time".

/** The smaller pass rate p with p(1 − p) = `variance` (in [0, 0.5]); variances above 0.25 read as 0.5. */
export function impliedPassRate(variance: number): number {
  return (1 - Math.sqrt(Math.max(0, 1 - 4 * Math.min(Math.max(variance, 0), 0.25)))) / 2;
}

/** A mistake in how the CLI was called: printed with usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parse `--name value` as a number in [min, max] (integer when `integer`). */
export function numberOption(name: string, raw: string | undefined, fallback: number, opts: { integer?: boolean; min?: number; max?: number } = {}): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const { integer = false, min = -Infinity, max = Infinity } = opts;
  if (raw.trim() === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    const kind = integer ? "an integer" : "a number";
    throw new UsageError(`--${name} expects ${kind}${Number.isFinite(min) ? ` ≥ ${min}` : ""}${Number.isFinite(max) ? ` ≤ ${max}` : ""}, found "${raw}"`);
  }
  return value;
}

/** Require a string option. */
export function requiredOption(name: string, raw: string | undefined): string {
  if (raw === undefined || raw === "") throw new UsageError(`--${name} is required`);
  return raw;
}

/** Parse an option restricted to `choices`. */
export function choiceOption<T extends string>(name: string, raw: string | undefined, choices: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} expects one of ${choices.join(", ")}, found "${raw}"`);
  return raw as T;
}

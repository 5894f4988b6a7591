// Math answers: the final answer of a completion compared numerically with a reference.
import { mathValue } from "./math-value.js";

/** A number written the ways answers are written: "1,234", "$5", "-3.5", "3/4", "12 apples". */
export function parseNumber(text: string): number | null {
  const cleaned = text.replace(/[$€£¥]/g, "").replace(/(\d),(?=\d{3}\b)/g, "$1").trim();
  const frac = /^(-?\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)/.exec(cleaned);
  if (frac) {
    const d = Number(frac[2]);
    return d === 0 ? null : Number(frac[1]) / d;
  }
  const m = /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/i.exec(cleaned) ?? /-?\d+(?:\.\d+)?/.exec(cleaned);
  if (!m) return null;
  const v = Number(m[0]);
  return Number.isFinite(v) ? v : null;
}

const NUMBER = /-?[$€£¥]?\d[\d,]*(?:\.\d+)?(?:\s*\/\s*\d+(?:\.\d+)?)?/g;

/**
 * The final answer in `text`, by the conventions models are trained on, in order: \boxed{…},
 * "#### …" (GSM8K), "The answer is …", then the last number.
 */
export function extractFinalAnswer(text: string): string | null {
  const boxed = text.lastIndexOf("\\boxed{");
  if (boxed >= 0) {
    let depth = 0;
    for (let i = boxed + 7; i < text.length; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}") {
        if (depth === 0) return text.slice(boxed + 7, i).trim();
        depth--;
      }
    }
  }
  const hashes = /####\s*([^\n]+)/.exec(text);
  if (hashes) return hashes[1]!.trim();
  const said = /answer is[:\s]*([^\n]+)/i.exec(text);
  if (said && mathValue(said[1]!) !== null) return said[1]!.trim();
  const all = text.match(NUMBER);
  return all ? all.at(-1)!.trim() : null;
}

/**
 * 1 when the completion's final answer equals `answer` by value (LaTeX fractions, roots, mixed
 * numbers, separators, units and percent signs read as models write them), else 0; null if
 * `answer` has no numeric value.
 */
export function mathReward(completion: string, answer: string): number | null {
  const expected = mathValue(extractFinalAnswer(answer) ?? answer);
  if (expected === null) return null;
  const given = extractFinalAnswer(completion);
  const value = given === null ? null : mathValue(given);
  if (value === null) return 0;
  return Math.abs(value - expected) <= 1e-6 * Math.max(1, Math.abs(expected)) ? 1 : 0;
}

// Benchmark results: one JSON file per run under bench/results/, named by benchmark and time.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeMachine } from "./machine.js";

/** The first 16 hex digits of a file's SHA-256: which model a result was measured on, whatever its path. */
export function fileDigest(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16);
}

/** Write `result` with the machine description (and its model file's digest); returns the file path. */
export function writeResult(name: string, result: Record<string, unknown>): string {
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const path = `${dir}${name}-${stamp}.json`;
  // The built-in model's path stays the same when it is retrained; its digest says which one it was.
  const model = typeof result.model === "string" && existsSync(result.model) ? { modelSha256: fileDigest(result.model) } : {};
  writeFileSync(path, JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine: describeMachine(), ...result, ...model }, null, 2) + "\n");
  return path;
}

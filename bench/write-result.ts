// Benchmark results: one JSON file per run under bench/results/, named by benchmark and time.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeMachine } from "./machine.js";

/** Write `result` with the machine description; returns the file path. */
export function writeResult(name: string, result: Record<string, unknown>): string {
  const dir = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const path = `${dir}${name}-${stamp}.json`;
  writeFileSync(path, JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine: describeMachine(), ...result }, null, 2) + "\n");
  return path;
}

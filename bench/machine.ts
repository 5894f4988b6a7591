// What every benchmark result records about the machine it ran on.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

/** Hardware and software a result depends on. */
export interface MachineDescription {
  hostname: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  gpu: string | null;
  node: string;
  packages: Record<string, string>;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "absent";
  }
}

function gpuName(): string | null {
  try {
    return execFileSync("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || null;
  } catch {
    return null;
  }
}

/** Describe this machine. */
export function describeMachine(): MachineDescription {
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    cpuCount: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    gpu: gpuName(),
    node: process.version,
    packages: Object.fromEntries(["node-llama-cpp", "onnxruntime-node"].map((p) => [p, packageVersion(p)])),
  };
}

// The `metis` command as users run it: the package's bin over the built output.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";

const dir = mkdtempSync(join(tmpdir(), "metis-e2e-"));
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));
const metis = (...args: string[]): string => execFileSync(process.execPath, ["bin/metis.js", ...args], { encoding: "utf8" });

test("metis --help lists the commands; each command's --help lists its options with their defaults", () => {
  const help = metis("--help");
  for (const name of ["info", "generate", "make-model", "check-equivalence", "train", "eval", "export", "score", "pretrain", "serve"]) expect(help).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
  expect(metis("train", "--help")).toMatch(/^ {2}--steps N +optimizer steps \(with --resume: the new total\) \(default 100\)$/m);
  expect(metis("export", "-h")).toMatch(/^usage: metis export --run RUN_DIR --format gguf-lora\|peft\|merged-gguf --out PATH/);
  const unknown = spawnSync(process.execPath, ["bin/metis.js", "export", "--zip"], { encoding: "utf8" });
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toMatch(/Unknown option '--zip'[\s\S]*usage: metis export/);
});

test("bin/metis.js makes a model, describes it and generates from it", () => {
  const model = join(dir, "tiny.gguf");
  expect(metis("make-model", "--arch", "llama", "--seed", "2", "--out", model)).toContain("wrote");
  expect(JSON.parse(metis("info", model, "--json"))).toMatchObject({ architecture: "llama", kind: "model" });
  const out = JSON.parse(metis("generate", "--model", model, "--prompt", "Hello", "-n", "2", "--max-tokens", "4", "--json")) as { completions: unknown[] };
  expect(out.completions).toHaveLength(2);
});

test("metis train says what it trains, counts steps with an ETA, resumes a finished run as finished; metis export writes its adapter in the three formats; metis eval --compare; code scored in the sandbox", () => {
  const runs = join(dir, "runs");
  const trained = spawnSync(process.execPath, ["bin/metis.js", "train", "--scheduler", "uniform", "--steps", "2", "--batch", "2", "--group", "2", "--max-tokens", "16", "--runs", runs], { encoding: "utf8" });
  expect(trained.status).toBe(0);
  expect(trained.stderr).toMatch(/training .*\n {2}model .*metis-tiny\.gguf\n {2}dataset .*synthetic-train\.jsonl/);
  expect(trained.stderr).toMatch(/uniform, steps 0\/2, 2 prompts × 2 completions/);
  expect(trained.stderr).toMatch(/step 2\/2 .* ETA 0 s/);
  const runDir = /Resume with: metis train --resume (\S+)/.exec(trained.stdout)![1]!;
  expect(metis("train", "--resume", runDir)).toContain("already finished after 2 steps");

  // The run's adapter in each of the app's export formats, where --out says; the GGUF one is an adapter llama.cpp's reader takes.
  const adapter = join(dir, "adapter.gguf");
  const exported = spawnSync(process.execPath, ["bin/metis.js", "export", "--run", runDir, "--format", "gguf-lora", "--out", adapter], { encoding: "utf8" });
  expect(exported.status).toBe(0);
  expect(exported.stderr).toContain(`exporting ${runDir} as gguf-lora`);
  expect(exported.stdout).toContain(`wrote ${adapter}`);
  expect(JSON.parse(metis("info", adapter, "--json"))).toMatchObject({ kind: "adapter", architecture: "llama" });
  expect(JSON.parse(metis("export", "--run", runDir, "--format", "peft", "--out", join(dir, "peft"), "--json"))).toMatchObject({ format: "peft", path: join(dir, "peft") });
  expect(metis("export", "--run", runDir, "--format", "merged-gguf", "--out", join(dir, "merged.gguf"))).toContain(`wrote ${join(dir, "merged.gguf")}`);
  expect(JSON.parse(metis("info", join(dir, "merged.gguf"), "--json"))).toMatchObject({ kind: "model", architecture: "llama" });
  const unwritable = spawnSync(process.execPath, ["bin/metis.js", "export", "--run", runDir, "--format", "peft", "--out", join(dir, "absent", "peft")], { encoding: "utf8" });
  expect(unwritable.status).toBe(1);
  expect(unwritable.stderr).toContain(`the folder ${join(dir, "absent")} does not exist`);

  // Base against that adapter on two held-out rows.
  const dataset = join(dir, "two.jsonl");
  writeFileSync(dataset, readFileSync("resources/datasets/synthetic-test.jsonl", "utf8").split("\n").filter((l) => l.includes('"family":"arithmetic"')).slice(0, 2).join("\n") + "\n");
  const compared = JSON.parse(metis("eval", "--model", "resources/models/metis-tiny.gguf", "--dataset", dataset, "--lora", adapter, "--compare", "--samples", "2", "--max-tokens", "8", "--json")) as { rows: { family: string | null; items: number }[] };
  expect(compared.rows.at(-1)).toMatchObject({ family: null, items: 2 });
  writeFileSync(join(dir, "add.py"), "def add(a, b):\n    return a + b\n");
  expect(metis("score", "--reward", "code", "--language", "python", "--entry-point", "add", "--answer", "assert add(2, 3) == 5", "--completion", join(dir, "add.py")).trim()).toBe("1");
});

test("metis train with no model or dataset trains the built-in ones from any folder, and the run keeps absolute paths", () => {
  const elsewhere = mkdtempSync(join(dir, "cwd-"));
  const bin = join(process.cwd(), "bin/metis.js");
  const trained = spawnSync(process.execPath, [bin, "train", "--scheduler", "uniform", "--steps", "1", "--batch", "2", "--group", "2", "--max-tokens", "8", "--no-baseline", "--runs", "runs"], { encoding: "utf8", cwd: elsewhere });
  expect(trained.stderr).not.toContain("ENOENT"); // it looked for resources/ in the folder it ran in
  expect(trained.status).toBe(0);
  const runDir = /Resume with: metis train --resume (\S+)/.exec(trained.stdout)![1]!;
  const config = (JSON.parse(readFileSync(join(elsewhere, runDir, "run.json"), "utf8")) as { config: { model: string; dataset: string } }).config;
  expect(config.model).toBe(join(process.cwd(), "resources/models/metis-tiny.gguf"));
  expect(config.dataset).toBe(join(process.cwd(), "resources/datasets/synthetic-train.jsonl"));
});

test("on Linux the metis command runs its engine with the 4 MiB malloc threshold, keeps a user's own, and a SIGTERM to it stops the server", async () => {
  test.skip(process.platform !== "linux", "glibc's malloc settings are Linux-only");
  const thresholdOf = (pid: number | string): string[] => readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter((v) => v.startsWith("MALLOC_MMAP_THRESHOLD_="));
  /** Starts `metis serve`; returns the threshold of the process it started and of that process's children, then stops it with a SIGTERM to the started process alone. */
  const serveWith = async (env: NodeJS.ProcessEnv): Promise<{ own: string[]; children: string[][] }> => {
    const parent = spawn(process.execPath, ["bin/metis.js", "serve", "--port", "0", "--user-data", mkdtempSync(join(dir, "serve-"))], { stdio: ["ignore", "pipe", "pipe"], env });
    let log = "";
    await new Promise<void>((ready, fail) => {
      const onData = (d: Buffer): void => void ((log += d.toString()).includes("Metis Workbench: http") && ready());
      parent.stdout!.on("data", onData);
      parent.stderr!.on("data", onData);
      parent.once("exit", (code) => fail(new Error(`metis serve exited with ${code}: ${log}`)));
    });
    const pids = readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    const seen = { own: thresholdOf(parent.pid!), children: pids.map(thresholdOf) };
    parent.kill("SIGTERM");
    expect(await new Promise((done) => parent.once("exit", done))).toBe(0);
    expect(log).toContain("stopped"); // the server itself got the SIGTERM and closed
    return seen;
  };
  // The command runs itself again with the threshold: the server lives in that one child.
  expect(await serveWith({ ...process.env, MALLOC_MMAP_THRESHOLD_: undefined, METIS_MALLOC: undefined })).toEqual({ own: [], children: [["MALLOC_MMAP_THRESHOLD_=4194304"]] });
  // A user's own setting is kept as it is, with no second process.
  expect(await serveWith({ ...process.env, MALLOC_MMAP_THRESHOLD_: "262144" })).toEqual({ own: ["MALLOC_MMAP_THRESHOLD_=262144"], children: [] });
});

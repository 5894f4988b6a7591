// Soak of `metis serve`: the engine and its server in this process on 127.0.0.1, short training
// runs back to back on the built-in model, while a client sends well-formed commands and
// malformed requests (bad JSON, unknown commands, unknown keys, host paths, broken HTTP) in a
// bounded loop. Reports command latency (p50 / p99 / max) during training, event-loop delay, RSS
// sampled over time and after each run (no growth across runs), and a chunked upload's RSS peak.
// Loopback only; every loop stops by itself.
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, readdirSync, ftruncateSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { Engine } from "../src-main/engine/engine.js";
import { startServer } from "../src-main/hosts/headless/server.js";
import { writeResult } from "./write-result.js";

const repo = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const summary = (xs: number[]): { n: number; p50: number; p99: number; max: number } => ({ n: xs.length, p50: round(quantile(xs, 0.5)), p99: round(quantile(xs, 0.99)), max: round(Math.max(...xs)) });
const round = (x: number): number => Math.round(x * 10) / 10;

/** A protocol client over the server's WebSocket. */
class Client {
  private nextId = 1;
  private readonly pending = new Map<number, (m: { ok: boolean; result?: unknown; error?: { message: string } }) => void>();
  readonly events: { type: string; runId: string; status?: string }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { kind: string; id: number; event: { type: string; runId: string; status?: string } };
      if (msg.kind === "event") this.events.push(msg.event);
      else this.pending.get(msg.id)?.(msg as never);
      this.pending.delete(msg.id);
    });
  }

  static async open(url: string, token: string): Promise<Client> {
    const u = new URL(url);
    const ws = new WebSocket(`ws://127.0.0.1:${u.port}/ws?token=${token}`, { origin: u.origin });
    await new Promise((ok, fail) => ws.once("open", ok).once("error", fail));
    return new Client(ws);
  }

  /** Send a command; resolves with the answer (ok or not) and its round-trip time. */
  call(command: string, params: unknown): Promise<{ ok: boolean; result?: unknown; error?: string; ms: number }> {
    const id = this.nextId++;
    const t0 = performance.now();
    return new Promise((resolve) => {
      this.pending.set(id, (m) => resolve({ ok: m.ok, result: m.result, error: m.error?.message, ms: performance.now() - t0 }));
      this.ws.send(JSON.stringify({ id, command, params }));
    });
  }

  /** Send raw text (malformed on purpose); resolves with the answer's time. */
  raw(text: string): Promise<number> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const onMessage = (data: unknown): void => {
        const msg = JSON.parse(String(data)) as { kind: string; id: number };
        if (msg.kind === "response" && msg.id === -1) {
          this.ws.off("message", onMessage);
          resolve(performance.now() - t0);
        }
      };
      this.ws.on("message", onMessage);
      this.ws.send(text);
    });
  }
}

/** Raw HTTP bytes to the server; resolves with the status line's code (0 if none) and the time. */
function http(port: number, bytes: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let reply = "";
    const s = connect(port, "127.0.0.1", () => s.write(bytes));
    const done = (): void => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0), ms: performance.now() - t0 });
    s.on("data", (d) => (reply += d.toString("latin1")));
    s.on("close", done);
    s.on("error", done);
    setTimeout(() => s.destroy(), 2000).unref();
  });
}

const GOOD: [string, unknown][] = [["app.info", {}], ["runs.list", {}], ["models.list", {}], ["datasets.list", {}]];
const BAD_COMMANDS: [string, unknown][] = [
  ["models.wipe", {}],
  ["app.info", { extra: true }],
  ["datasets.preview", { path: "/etc/passwd" }],
  ["models.add", { path: "/etc/passwd" }],
  ["datasets.preview", { path: "../../../../etc/shadow" }],
  ["runs.start", { config: { stpes: 3 } }],
  ["runs.pause", { runId: 7 }],
];
const BAD_HTTP = ["GET /% HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "GET // HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "GARBAGE\r\n\r\n", "GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"];

/** Run the soak benchmark; returns the result file. */
export async function soakBench(argv: string[]): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "3" },
      steps: { type: "string", default: "8" },
      batch: { type: "string", default: "2" },
      group: { type: "string", default: "4" },
      "max-tokens": { type: "string", default: "32" },
      "upload-mb": { type: "string", default: "400" },
      "run-timeout-s": { type: "string", default: "120" },
    },
  });
  const runs = Number(values.runs);
  const userData = mkdtempSync(join(tmpdir(), "metis-soak-"));
  const renderer = join(userData, "renderer-stub");
  mkdirSync(renderer);
  writeFileSync(join(renderer, "index.html"), "<!doctype html><title>metis soak</title>");
  const engine = await Engine.open({ userData: join(userData, "user"), resources: repo("resources"), host: "browser", version: "soak", compareAtEnd: false });
  const server = await startServer(engine, renderer, 0);
  const port = Number(new URL(server.url).port);
  const client = await Client.open(server.url, server.token);

  const t0 = performance.now();
  const rssSamples: { t: number; rssMB: number; phase: string }[] = [];
  let phase = "idle";
  const sampler = setInterval(() => rssSamples.push({ t: round((performance.now() - t0) / 1000), rssMB: mb(process.memoryUsage().rss), phase }), 250);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });

  const during: Record<string, number[]> = {};
  const malformed: number[] = [];
  const malformedAnswers = { ok: 0, refused: 0 };
  const httpStatuses: Record<string, number> = {};
  const perRun: Record<string, unknown>[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      (globalThis as { gc?: () => void }).gc?.();
      const rssBefore = mb(process.memoryUsage().rss);
      phase = `run ${r + 1}`;
      loopDelay.reset();
      loopDelay.enable();
      const started = await client.call("runs.start", { config: { scheduler: "uniform", steps: Number(values.steps), batchSize: Number(values.batch), groupSize: Number(values.group), maxTokens: Number(values["max-tokens"]), evalEvery: 1000, checkpointEvery: 4 } });
      if (!started.ok) throw new Error(`runs.start failed: ${started.error}`);
      const runId = (started.result as { runId: string }).runId;
      const ended = (): boolean => client.events.some((e) => e.type === "run.status" && e.runId === runId && e.status !== "running");
      const deadline = performance.now() + Number(values["run-timeout-s"]) * 1000;
      let i = 0;
      let rssPeak = 0;
      const runT0 = performance.now();
      // The client's loop: bounded by the run's end and a deadline.
      while (!ended() && performance.now() < deadline) {
        const [command, params] = GOOD[i % GOOD.length]!;
        const a = await client.call(command, params);
        (during[command] ??= []).push(a.ms);
        if (i % 5 === 0) {
          const [bad, badParams] = BAD_COMMANDS[(i / 5) % BAD_COMMANDS.length]!;
          const b = await client.call(bad, badParams);
          malformed.push(b.ms);
          malformedAnswers[b.ok ? "ok" : "refused"]++;
          malformed.push(await client.raw(i % 10 === 0 ? "{not json" : JSON.stringify({ id: "x", command: 5 })));
        }
        if (i % 25 === 0) {
          // Not awaited: a keep-alive reply holds the socket until its 2 s timer, which is the client's wait, not the server's.
          const req = BAD_HTTP[(i / 25) % BAD_HTTP.length]!;
          void http(port, req).then((h) => (httpStatuses[h.status] = (httpStatuses[h.status] ?? 0) + 1));
        }
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
        i++;
        await sleep(20);
      }
      loopDelay.disable();
      const status = client.events.find((e) => e.type === "run.status" && e.runId === runId && e.status !== "running")?.status ?? "timed out";
      // The run's thread must end on its own: that is the disposal the server lacked.
      const disposeT0 = performance.now();
      while (engine.liveRunIds().length > 0 && performance.now() - disposeT0 < 30_000) await sleep(50);
      (globalThis as { gc?: () => void }).gc?.();
      await sleep(500);
      const memory = process.memoryUsage();
      const rssAfter = mb(memory.rss);
      // Which memory grows, if any: the JS heap (a leak in the engine's objects) or the rest (native, allocator).
      perRun.push({ run: r + 1, heapUsedAfterMB: mb(memory.heapUsed), externalAfterMB: mb(memory.external), arrayBuffersAfterMB: mb(memory.arrayBuffers), status, trainSeconds: round((performance.now() - runT0) / 1000), commandsSent: i, liveRunsAfter: engine.liveRunIds().length, rssBeforeMB: rssBefore, rssPeakMB: mb(rssPeak), rssAfterMB: rssAfter, eventLoopDelayMs: { p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) } });
      console.log(`run ${r + 1}: ${status} in ${round((performance.now() - runT0) / 1000)} s, ${i} commands, RSS ${rssBefore} → peak ${mb(rssPeak)} → after ${rssAfter} MB (JS heap ${mb(memory.heapUsed)}, external ${mb(memory.external)}), loop delay max ${round(loopDelay.max / 1e6)} ms`);
    }

    // A chunked upload of a file that is not a model: bounded memory, rejected, deleted.
    let upload: Record<string, unknown> | null = null;
    const uploadMb = Number(values["upload-mb"]);
    if (uploadMb > 0) {
      phase = "upload";
      const file = join(userData, "not-a-model.gguf");
      const fd = openSync(file, "w");
      ftruncateSync(fd, uploadMb * 2 ** 20); // sparse zeros: no memory to build it
      closeSync(fd);
      (globalThis as { gc?: () => void }).gc?.();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const up0 = performance.now();
      const size = uploadMb * 2 ** 20;
      const begun = await client.call("uploads.begin", { name: "not-a-model.gguf", size });
      const { uploadId, chunkBytes } = begun.result as { uploadId: string; chunkBytes: number };
      const buf = Buffer.alloc(chunkBytes);
      const rfd = openSync(file, "r");
      for (let off = 0; off < size; off += chunkBytes) {
        const n = readSync(rfd, buf, 0, Math.min(chunkBytes, size - off), off);
        const c = await client.call("uploads.chunk", { uploadId, offset: off, contentBase64: buf.subarray(0, n).toString("base64") });
        if (!c.ok) throw new Error(`upload chunk refused: ${c.error}`);
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      }
      closeSync(rfd);
      await client.call("uploads.finish", { uploadId });
      const added = await client.call("models.add", { upload: uploadId });
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      upload = {
        sizeMB: uploadMb,
        seconds: round((performance.now() - up0) / 1000),
        rssBeforeMB: mb(rssBefore),
        rssPeakMB: mb(rssPeak),
        rejected: !added.ok,
        error: added.error ?? null,
        filesLeftInUploads: readdirSync(join(userData, "user", "uploads")).length,
        filesInModels: readdirSync(join(userData, "user", "models")).length,
      };
      console.log(`upload of ${uploadMb} MB: RSS ${mb(rssBefore)} → peak ${mb(rssPeak)} MB, ${added.ok ? "accepted" : `rejected (${added.error})`}, ${upload.filesLeftInUploads} files left in uploads/`);
    }
    clearInterval(sampler);
    const stillServing = (await client.call("app.info", {})).ok && (await http(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")).status === 200;
    const afterRuns = perRun.map((r) => r.rssAfterMB as number);
    const result = {
      config: { runs, steps: Number(values.steps), batch: Number(values.batch), group: Number(values.group), maxTokens: Number(values["max-tokens"]), model: "resources/models/metis-tiny.gguf", dataset: "resources/datasets/synthetic-train.jsonl", clientPauseMs: 20 },
      commandLatencyMsDuringTraining: Object.fromEntries([...Object.entries(during).map(([k, v]) => [k, summary(v)]), ["all", summary(Object.values(during).flat())]]),
      malformedLatencyMs: summary(malformed),
      malformedCommandAnswers: malformedAnswers,
      malformedHttpStatuses: httpStatuses,
      perRun,
      rssGrowthAcrossRunsMB: afterRuns.length > 1 ? afterRuns.at(-1)! - afterRuns[0]! : 0,
      upload,
      stillServing,
      rssSamples,
    };
    const all = result.commandLatencyMsDuringTraining.all as { p50: number; p99: number };
    console.log(`commands during training: p50 ${all.p50} ms, p99 ${all.p99} ms; RSS after each run: ${afterRuns.join(", ")} MB; still serving: ${stillServing}`);
    return writeResult("soak", result);
  } finally {
    clearInterval(sampler);
    client.ws.close();
    await engine.close();
    await server.close();
    rmSync(userData, { recursive: true, force: true });
  }
}

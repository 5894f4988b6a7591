// Sandbox processes per language, started on demand and replaced when they die, time out or grow.
// Requests queue here; each one's deadline starts when a process takes it, so time spent queued
// behind slow completions never counts against it.
import { availableParallelism } from "node:os";
import { SandboxProcess, type SandboxLanguage, type SandboxOutcome } from "./sandbox-process.js";

/** Limits of one request. */
export interface RunLimits {
  timeoutMs: number;
  /** Interpreter heap limit (JavaScript); Python is bounded by its process's caps. */
  memoryBytes?: number;
}

interface Job {
  code: string;
  limits: RunLimits;
  resolve: (o: SandboxOutcome) => void;
}

const DEFAULT_MEMORY_BYTES = 32 * 2 ** 20;
/** How long past its deadline a JavaScript request may take before its process is killed (QuickJS stops itself at the deadline). */
const GRACE_MS: Record<SandboxLanguage, number> = { javascript: 1000, python: 0 };

/** A queue of requests served by up to `size` processes of one language. */
export class SandboxPool {
  private readonly processes = new Set<SandboxProcess>();
  private readonly ready = new Set<SandboxProcess>();
  private readonly queue: Job[] = [];

  constructor(
    readonly language: SandboxLanguage,
    readonly size: number,
  ) {}

  /** Run `code` in a sandbox process. Never rejects: failures are outcomes. */
  run(code: string, limits: RunLimits): Promise<SandboxOutcome> {
    return new Promise((resolve) => {
      this.queue.push({ code, limits, resolve });
      this.pump();
    });
  }

  /** Kill every process and fail what is queued; resolves once the processes are gone. */
  close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.resolve({ ok: false, kind: "unavailable", error: "the sandbox was closed" });
    const gone = [...this.processes].map((p) => p.gone$);
    for (const p of this.processes) p.kill();
    this.processes.clear();
    this.ready.clear();
    return Promise.all(gone).then(() => undefined);
  }

  /** Process ids of the live processes (tests). */
  get pids(): number[] {
    return [...this.processes].map((p) => p.pid).filter((pid): pid is number => pid !== undefined);
  }

  private pump(): void {
    for (const p of this.ready) {
      if (this.queue.length === 0) return;
      if (!p.idle) continue;
      const job = this.queue.shift()!;
      void p.run(job.code, job.limits.timeoutMs, job.limits.memoryBytes ?? DEFAULT_MEMORY_BYTES, GRACE_MS[this.language]).then((outcome) => {
        job.resolve(outcome);
        this.pump();
      });
    }
    const starting = this.processes.size - this.ready.size;
    if (this.queue.length > starting && this.processes.size < this.size) this.start();
  }

  private start(): void {
    const p = new SandboxProcess(this.language, undefined, (gone) => {
      this.processes.delete(gone);
      this.ready.delete(gone);
      if (this.queue.length > 0) setImmediate(() => this.pump());
    });
    this.processes.add(p);
    void p.ready.then((ok) => {
      if (ok) {
        this.ready.add(p);
        this.pump();
      } else if (this.ready.size === 0 && this.processes.size === 0) {
        // Nothing can serve the queue: say why instead of retrying forever.
        const why = p.startError || "it exited during start-up";
        for (const job of this.queue.splice(0)) job.resolve({ ok: false, kind: "unavailable", error: `the ${this.language} sandbox could not start: ${why}` });
      }
    });
  }
}

const pools = new Map<SandboxLanguage, SandboxPool>();

/** The shared pool of a language (at most two processes, fewer on one core). */
export function sandboxPool(language: SandboxLanguage): SandboxPool {
  let pool = pools.get(language);
  if (!pool) {
    pool = new SandboxPool(language, Math.max(1, Math.min(2, availableParallelism())));
    pools.set(language, pool);
  }
  return pool;
}

/** Run `code` in the shared sandbox of `language`. */
export function runSandboxed(language: SandboxLanguage, code: string, limits: RunLimits): Promise<SandboxOutcome> {
  return sandboxPool(language).run(code, limits);
}

/**
 * Stop every sandbox process (tests, shutdown) and wait until they are gone. A run thread calls
 * it before exiting: children of a thread that has ended are never reaped.
 */
export function closeSandboxes(): Promise<void> {
  const closing = [...pools.values()].map((pool) => pool.close());
  pools.clear();
  return Promise.all(closing).then(() => undefined);
}

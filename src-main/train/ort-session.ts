// The only module that imports onnxruntime-node: sessions for exported graphs, created once per
// (model, execution provider, threads) and reused with dynamic shapes.
import { updateThreadsFor } from "../util/threads.js";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { AnyTypedArray, DType } from "./dtype.js";
import type { ExportedModel } from "./onnx-export.js";

/** Where a session runs. A missing GPU provider falls back to CPU with one log line. */
export type ExecutionProvider = "cpu" | "webgpu" | "cuda";

/** A tensor on the host side of a session. */
export interface HostTensor {
  dtype: DType;
  dims: readonly number[];
  data: AnyTypedArray;
}

export interface ProgramOptions {
  provider?: ExecutionProvider;
  /** Intra-op threads; default one per core, at most 16 (2 measured best on a 2-core machine). */
  threads?: number;
  /**
   * ORT's CPU memory arena (default on). Off, every buffer is allocated and freed on its own, so
   * the process's peak is the graph's peak of live values, not the arena's high-water mark.
   */
  memArena?: boolean;
}

/** Threads per session by default. */
export const DEFAULT_ORT_THREADS = updateThreadsFor();

const warnedProviders = new Set<string>();

/** An ONNX Runtime session for one exported graph. */
export class OrtProgram {
  private disposed = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    /** The provider actually in use (after any fallback). */
    readonly provider: ExecutionProvider,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  /** Create a session; GPU providers that cannot start fall back to CPU. */
  static async create(exported: ExportedModel, options: ProgramOptions = {}): Promise<OrtProgram> {
    const wanted = options.provider ?? "cpu";
    const threads = options.threads ?? DEFAULT_ORT_THREADS;
    const build = async (provider: ExecutionProvider): Promise<ort.InferenceSession> => {
      const sessionOptions: ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        enableCpuMemArena: options.memArena ?? true,
        // Extended fusions (e.g. x·sigmoid(x) → QuickGelu) have float32-only CPU kernels.
        graphOptimizationLevel: exported.usesFloat64 ? "basic" : "all",
        logSeverityLevel: 3,
        // A recomputed value is a second node identical to the forward's; common-subexpression
        // elimination would merge them and keep the value alive from the forward to the backward.
        ...(exported.recomputes ? { extra: { optimization: { disable_specified_optimizers: "CommonSubexpressionElimination" } } } : {}),
      };
      if (exported.external.length === 0) return ort.InferenceSession.create(exported.model, sessionOptions);
      // External data is resolved relative to the model file: write both to a private directory.
      const dir = mkdtempSync(join(tmpdir(), "metis-onnx-"));
      try {
        writeFileSync(join(dir, "model.onnx"), exported.model);
        for (const e of exported.external) writeFileSync(join(dir, e.location), e.bytes);
        return await ort.InferenceSession.create(join(dir, "model.onnx"), sessionOptions);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    let provider: ExecutionProvider = wanted;
    let session: ort.InferenceSession;
    try {
      session = await build(wanted);
    } catch (e) {
      if (wanted === "cpu") throw new Error(`onnxruntime could not create a session: ${(e as Error).message}`, { cause: e });
      if (!warnedProviders.has(wanted)) {
        warnedProviders.add(wanted);
        console.warn(`onnxruntime: the ${wanted} execution provider is unavailable (${firstLine((e as Error).message)}); using CPU`);
      }
      provider = "cpu";
      session = await build("cpu");
    }
    return new OrtProgram(session, provider, exported.inputs.map((i) => i.name), exported.outputs);
  }

  /** Run with `feeds` (every graph input); returns every output. */
  async run(feeds: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    if (this.disposed) throw new Error("the ONNX session was disposed");
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const f = feeds[name];
      if (!f) throw new Error(`missing graph input "${name}" (the graph needs ${this.inputNames.join(", ")})`);
      ortFeeds[name] = new ort.Tensor(f.dtype, f.data as never, f.dims as number[]);
    }
    const out = await this.session.run(ortFeeds);
    const result: Record<string, HostTensor> = {};
    for (const name of this.outputNames) {
      const t = out[name]!;
      result[name] = { dtype: t.type as DType, dims: [...t.dims], data: t.data as AnyTypedArray };
    }
    return result;
  }

  /** Release the native session. Safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.slice(0, 200);
}

/** Sessions keyed by (model bytes, provider, threads): each graph is compiled once. */
export class ProgramCache {
  private readonly programs = new Map<string, Promise<OrtProgram>>();

  /** The program for `exported`, created on first use. */
  get(exported: ExportedModel, options: ProgramOptions = {}): Promise<OrtProgram> {
    const hash = createHash("sha256").update(exported.model);
    for (const e of exported.external) hash.update(e.location).update(e.bytes);
    const key = `${hash.digest("hex")}:${options.provider ?? "cpu"}:${options.threads ?? DEFAULT_ORT_THREADS}:${options.memArena ?? true}`;
    let p = this.programs.get(key);
    if (!p) {
      p = OrtProgram.create(exported, options);
      this.programs.set(key, p);
      p.catch(() => this.programs.delete(key));
    }
    return p;
  }

  get size(): number {
    return this.programs.size;
  }

  /** Dispose every session. */
  async dispose(): Promise<void> {
    const all = [...this.programs.values()];
    this.programs.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => null))?.dispose()));
  }
}

// The one protocol between the renderer and the engine, whichever host carries it (Electron IPC
// or the headless server's WebSocket). Commands are request/response; events flow to the UI.
// Every message is a zod schema, validated where it enters. No Node or DOM imports here.
import { z } from "zod";
import { CompareProgressSchema, ComparisonStateSchema, StepSamplesResultSchema, TryResultSchema } from "./insight.js";
import { PreflightResultSchema } from "./preflight.js";

const RunId = z.string().min(1).max(200);
const UploadId = z.string().regex(/^[0-9a-f-]{36}$/, "an upload id from uploads.begin");
// `.strict()` everywhere: a misspelt or unknown key is an error, never silently dropped.
const DatasetMapping = z.object({ preset: z.string() }).strict().or(z.object({ mapping: z.record(z.string(), z.unknown()) }).strict()).or(z.literal("detect"));
const NoParams = z.object({}).strict();
/** A file named either by a path the user chose (Electron: drop or dialog) or by a finished upload. */
const FileRef = { path: z.string().min(1).max(4096).optional(), upload: UploadId.optional() };
const oneFile = (p: { path?: string; upload?: string }): boolean => (p.path === undefined) !== (p.upload === undefined);

const EntryId = z.string().min(1).max(200);
/** The evaluation set of a new run: none, an imported dataset, or a share of the training set held out. */
const EvalChoice = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }).strict(),
  z.object({ kind: z.literal("dataset"), id: EntryId }).strict(),
  z.object({ kind: z.literal("holdout"), percent: z.number().min(1).max(50) }).strict(),
]);
export type EvalChoice = z.infer<typeof EvalChoice>;
export const PRESET_NAMES = ["workbench", "paper"] as const;
const Deleted = z.object({ ok: z.literal(true), removedFile: z.string().nullable() });

/** Bytes of one upload chunk once decoded (a multiple of 3, so chunks are whole base64 groups). */
export const UPLOAD_CHUNK_BYTES = 3 * 2 ** 20;
/** The largest upload accepted (checked before any byte arrives). */
export const MAX_UPLOAD_BYTES = 64 * 2 ** 30;

/** Every command: its parameters and what it returns. */
export const Commands = {
  "app.info": { params: NoParams, result: z.object({ version: z.string(), host: z.string(), userData: z.string() }) },
  "models.list": { params: NoParams, result: z.array(z.record(z.string(), z.unknown())) },
  "models.add": {
    params: z.object({ ...FileRef, name: z.string().min(1).max(200).optional() }).strict().refine(oneFile, "give exactly one of path and upload"),
    result: z.record(z.string(), z.unknown()),
  },
  // Removes the entry; the file too only when it is the workbench's own copy (an upload), never a file of the user's.
  "models.delete": { params: z.object({ id: EntryId }).strict(), result: Deleted },
  "datasets.list": { params: NoParams, result: z.array(z.record(z.string(), z.unknown())) },
  // `answers`: a companion file read with the dataset (BFCL's ground truth), by path or upload; the
  // result names it in `answers` for later previews and the import. `preset` is "none" when no
  // preset recognises the records: `fields` then lists the first record's fields for a mapping.
  "datasets.preview": {
    params: z.object({ ...FileRef, answers: z.object(FileRef).strict().refine(oneFile, "give exactly one of path and upload").optional(), mapping: DatasetMapping.default("detect") }).strict().refine(oneFile, "give exactly one of path and upload"),
    result: z.object({ source: z.string(), answers: z.string().nullable(), preset: z.string(), records: z.number(), fields: z.array(z.string()), rows: z.array(z.record(z.string(), z.unknown())), errors: z.array(z.object({ line: z.number(), message: z.string() })) }),
  },
  "datasets.import": {
    params: z.object({ source: z.string().min(1).max(4096), answers: z.string().min(1).max(4096).optional(), name: z.string().min(1).max(200), mapping: DatasetMapping.default("detect") }).strict(),
    result: z.record(z.string(), z.unknown()),
  },
  // Removes the entry and the workbench's normalised copy; the file it was imported from is never touched.
  "datasets.delete": { params: z.object({ id: EntryId }).strict(), result: Deleted },
  // Uploads (a browser cannot hand over a path): begin with the size, send chunks in order, finish;
  // the finished upload is then named in models.add or datasets.preview. Memory stays one chunk.
  "uploads.begin": { params: z.object({ name: z.string().min(1).max(200), size: z.number().int().min(1).max(MAX_UPLOAD_BYTES) }).strict(), result: z.object({ uploadId: UploadId, chunkBytes: z.number() }) },
  "uploads.chunk": {
    params: z.object({ uploadId: UploadId, offset: z.number().int().min(0), contentBase64: z.string().min(1).max((UPLOAD_CHUNK_BYTES / 3) * 4) }).strict(),
    result: z.object({ received: z.number() }),
  },
  "uploads.finish": { params: z.object({ uploadId: UploadId }).strict(), result: z.object({ uploadId: UploadId, size: z.number() }) },
  "uploads.cancel": { params: z.object({ uploadId: UploadId }).strict(), result: z.object({ ok: z.literal(true) }) },
  "runs.list": { params: NoParams, result: z.array(z.record(z.string(), z.unknown())) },
  // `name`: the run's name (a default like "metis · metis-tiny · 11-26 14:02" when absent); `preset`: the
  // defaults the config builds on (its own fields win); `eval`: the evaluation set (when absent, the
  // built-in training set is measured on the built-in held-out set, or config.evalDataset is used).
  // `baseline: false` skips the pre-flight's baseline sample; `force` starts a run whose memory
  // estimate exceeds the machine's. `preflight`: what the pre-flight found (warnings do not stop it).
  "runs.start": {
    params: z.object({ config: z.record(z.string(), z.unknown()), name: z.string().max(400).optional(), preset: z.enum(PRESET_NAMES).optional(), eval: EvalChoice.optional(), baseline: z.boolean().optional(), force: z.boolean().optional() }).strict(),
    result: z.object({ runId: RunId, preflight: PreflightResultSchema.optional() }),
  },
  // The pre-flight of a run not yet started: the memory and time estimate from the model's header
  // (at once), and with `baseline: true` also the base model's sample of the training prompts (in
  // a job thread; prompts that cannot fit the context fail it, as they would the start).
  "runs.preflight": {
    params: z.object({ config: z.record(z.string(), z.unknown()), preset: z.enum(PRESET_NAMES).optional(), baseline: z.boolean().optional() }).strict(),
    result: PreflightResultSchema,
  },
  /** The values each preset gives the fields any preset sets, to show at New run. */
  "runs.presets": { params: NoParams, result: z.object({ presets: z.record(z.string(), z.record(z.string(), z.unknown())) }) },
  "runs.rename": { params: z.object({ runId: RunId, name: z.string().max(400) }).strict(), result: z.object({ ok: z.literal(true), name: z.string() }) },
  // Refused while the run trains; removes its directory (checkpoints, exports) and its held-out split.
  "runs.delete": { params: z.object({ runId: RunId }).strict(), result: z.object({ ok: z.literal(true) }) },
  "runs.pause": { params: z.object({ runId: RunId }).strict(), result: z.object({ ok: z.literal(true) }) },
  "runs.resume": { params: z.object({ runId: RunId }).strict(), result: z.object({ ok: z.literal(true) }) },
  "runs.stop": { params: z.object({ runId: RunId }).strict(), result: z.object({ ok: z.literal(true) }) },
  "runs.patch": { params: z.object({ runId: RunId, patch: z.record(z.string(), z.unknown()) }).strict(), result: z.object({ ok: z.literal(true) }) },
  "runs.metrics": { params: z.object({ runId: RunId }).strict(), result: z.object({ run: z.record(z.string(), z.unknown()), metrics: z.array(z.record(z.string(), z.unknown())), prompts: z.array(z.object({ id: z.string(), prompt: z.string(), family: z.string().nullable(), difficulty: z.number().nullable() })) }) },
  // A step's completions with rewards and advantages (and METIS judgments), for one prompt or all rolled out.
  "runs.samples": { params: z.object({ runId: RunId, step: z.number().int().min(1), promptId: z.string().min(1).max(1000).optional() }).strict(), result: StepSamplesResultSchema },
  // Base model against the run's newest adapter on its evaluation set, in a thread; progress and the end come as run.compare events.
  // `started` is false when one is already under way. A run that finishes with an evaluation set starts one by itself.
  "runs.compare": { params: z.object({ runId: RunId }).strict(), result: z.object({ started: z.boolean() }) },
  /** The stored comparison (compare.json), the one under way, and why the last one failed. */
  "runs.comparison": { params: z.object({ runId: RunId }).strict(), result: ComparisonStateSchema },
  /** One prompt through the base model and the run's newest adapter: same seed, the run's temperature and length. */
  "runs.try": { params: z.object({ runId: RunId, prompt: z.string().min(1).max(20_000), seed: z.number().int().min(0).max(0xffffffff).optional() }).strict(), result: TryResultSchema },
  "runs.export": { params: z.object({ runId: RunId, format: z.enum(["gguf-lora", "peft", "merged-gguf"]) }).strict(), result: z.object({ path: z.string() }) },
} as const;

export type CommandName = keyof typeof Commands;
export type CommandParams<C extends CommandName> = z.input<(typeof Commands)[C]["params"]>;
export type CommandResult<C extends CommandName> = z.infer<(typeof Commands)[C]["result"]>;

/** A request from the renderer. */
export const RequestSchema = z.object({ id: z.number().int(), command: z.string(), params: z.unknown() });
/** The engine's answer; errors cross as {name, message}. */
export const ResponseSchema = z.object({ id: z.number().int(), ok: z.boolean(), result: z.unknown().optional(), error: z.object({ name: z.string(), message: z.string() }).optional() });

/** Events pushed to the renderer. */
export const EventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("run.step"), runId: RunId, metrics: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal("run.status"), runId: RunId, status: z.string(), step: z.number(), error: z.string().optional() }),
  z.object({ type: z.literal("run.checkpoint"), runId: RunId, step: z.number(), dir: z.string() }),
  z.object({ type: z.literal("run.patch"), runId: RunId, step: z.number(), patch: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal("run.compare"), runId: RunId, state: z.enum(["running", "done", "failed"]), progress: CompareProgressSchema.nullable(), error: z.string().optional() }),
]);
export type EngineEvent = z.infer<typeof EventSchema>;

/** A message on the wire from the engine: a response or an event. */
export const ServerMessageSchema = z.union([ResponseSchema.extend({ kind: z.literal("response") }), z.object({ kind: z.literal("event"), event: EventSchema })]);

/** Validate a command's parameters; throws naming the command and the bad fields. */
export function parseParams<C extends CommandName>(command: C, params: unknown): z.infer<(typeof Commands)[C]["params"]> {
  const parsed = Commands[command].params.safeParse(params ?? {});
  if (!parsed.success) throw new Error(`${command}: invalid parameters: ${parsed.error.issues.map((i) => `${i.path.join(".") || "params"}: ${i.message}`).join("; ")}`);
  return parsed.data as z.infer<(typeof Commands)[C]["params"]>;
}

/** Whether `name` is a known command. */
export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(Commands, name);
}

// The one protocol between the renderer and the engine, whichever host carries it (Electron IPC
// or the headless server's WebSocket). Commands are request/response; events flow to the UI.
// Every message is a zod schema, validated where it enters. No Node or DOM imports here.
import { z } from "zod";

const RunId = z.string().min(1).max(200);
const DatasetMapping = z.object({ preset: z.string() }).or(z.object({ mapping: z.record(z.string(), z.unknown()) })).or(z.literal("detect"));

/** Every command: its parameters and what it returns. */
export const Commands = {
  "app.info": { params: z.object({}), result: z.object({ version: z.string(), host: z.string(), userData: z.string() }) },
  "models.list": { params: z.object({}), result: z.array(z.record(z.string(), z.unknown())) },
  "models.add": { params: z.object({ path: z.string().min(1).optional(), name: z.string().min(1).max(200).optional(), contentBase64: z.string().optional() }), result: z.record(z.string(), z.unknown()) },
  "datasets.list": { params: z.object({}), result: z.array(z.record(z.string(), z.unknown())) },
  "datasets.preview": {
    params: z.object({ path: z.string().min(1).optional(), name: z.string().min(1).max(200).optional(), contentBase64: z.string().optional(), mapping: DatasetMapping.default("detect") }),
    result: z.object({ source: z.string(), preset: z.string(), records: z.number(), rows: z.array(z.record(z.string(), z.unknown())), errors: z.array(z.object({ line: z.number(), message: z.string() })) }),
  },
  "datasets.import": {
    params: z.object({ source: z.string().min(1), name: z.string().min(1).max(200), mapping: DatasetMapping.default("detect") }),
    result: z.record(z.string(), z.unknown()),
  },
  "runs.list": { params: z.object({}), result: z.array(z.record(z.string(), z.unknown())) },
  "runs.start": { params: z.object({ config: z.record(z.string(), z.unknown()) }), result: z.object({ runId: RunId }) },
  "runs.pause": { params: z.object({ runId: RunId }), result: z.object({ ok: z.literal(true) }) },
  "runs.resume": { params: z.object({ runId: RunId }), result: z.object({ ok: z.literal(true) }) },
  "runs.stop": { params: z.object({ runId: RunId }), result: z.object({ ok: z.literal(true) }) },
  "runs.patch": { params: z.object({ runId: RunId, patch: z.record(z.string(), z.unknown()) }), result: z.object({ ok: z.literal(true) }) },
  "runs.metrics": { params: z.object({ runId: RunId }), result: z.object({ run: z.record(z.string(), z.unknown()), metrics: z.array(z.record(z.string(), z.unknown())), prompts: z.array(z.object({ id: z.string(), prompt: z.string(), family: z.string().nullable(), difficulty: z.number().nullable() })) }) },
  "runs.export": { params: z.object({ runId: RunId, format: z.enum(["gguf-lora", "peft", "merged-gguf"]) }), result: z.object({ path: z.string() }) },
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

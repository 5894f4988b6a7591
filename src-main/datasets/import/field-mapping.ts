// Field mapping: how a source record becomes a TaskRow. A generic mapping names fields (or
// templates over them); presets cover the public formats in shared/datasets (GSM8K, HumanEval,
// BFCL) and the project's own rows.
import { existsSync } from "node:fs";
import { z } from "zod";
import { TaskRowSchema, type TaskRow } from "../task-row.js";
import { readRecords, type SourceRecord } from "./read-records.js";

/** A user-defined mapping: `prompt` is a field name or a template with {field} placeholders. */
export const FieldMappingSchema = z.object({
  prompt: z.string().min(1),
  id: z.string().optional(),
  reference: z.string().optional(),
  reward: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("math"), answer: z.string() }),
    z.object({ kind: z.literal("continuous"), target: z.string(), scale: z.number().positive().optional() }),
    z.object({ kind: z.literal("code"), language: z.enum(["javascript", "python"]), entryPoint: z.string(), tests: z.string() }),
    z.object({ kind: z.literal("function-call"), expected: z.string(), partialCredit: z.boolean().optional() }),
  ]),
});
export type FieldMapping = z.infer<typeof FieldMappingSchema>;

/** Turns one record into a row (without id, which the importer assigns when missing). */
type RecordMapper = (value: Record<string, unknown>) => Omit<TaskRow, "id"> & { id?: string };

/** A record field as text; templates substitute {field}. */
function fill(template: string, value: Record<string, unknown>): string {
  if (!template.includes("{")) return text(value, template);
  return template.replace(/\{([^{}]+)\}/g, (_, f: string) => text(value, f));
}

function text(value: Record<string, unknown>, field: string): string {
  if (!(field in value)) throw new Error(`missing field "${field}" (the record has ${Object.keys(value).join(", ") || "no fields"})`);
  const v = value[field];
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Compile a generic mapping. */
export function mapperFor(mapping: FieldMapping): RecordMapper {
  return (value) => {
    const r = mapping.reward;
    const reward: TaskRow["reward"] =
      r.kind === "math" ? { kind: "math", answer: text(value, r.answer) }
      : r.kind === "continuous" ? { kind: "continuous", target: Number(text(value, r.target)), scale: r.scale ?? Math.max(1, Math.abs(Number(text(value, r.target)))) }
      : r.kind === "code" ? { kind: "code", language: r.language, entryPoint: text(value, r.entryPoint), tests: text(value, r.tests) }
      : { kind: "function-call", expected: JSON.parse(text(value, r.expected)) as never, partialCredit: r.partialCredit ?? false };
    return {
      ...(mapping.id ? { id: text(value, mapping.id) } : {}),
      prompt: fill(mapping.prompt, value),
      ...(mapping.reference ? { reference: text(value, mapping.reference) } : {}),
      reward,
    };
  };
}

/** A named preset: how to recognise a file's records, and how to map them. */
export interface Preset {
  name: string;
  description: string;
  /** Whether records look like this format (used to suggest a preset). */
  detect: (first: Record<string, unknown>) => boolean;
  /** Build the mapper; may read companion files (BFCL's answers: `answers`, else the sibling file). */
  prepare: (path: string, companions?: { answers?: string }) => Promise<RecordMapper>;
}

interface BfclFunction {
  name: string;
  description?: string;
  parameters?: { properties?: Record<string, { type?: string }>; required?: string[] };
}

/** BFCL's question + functions as a prompt in the tool format the built-in model knows. */
export function bfclPrompt(value: Record<string, unknown>): string {
  const turns = value.question as { role: string; content: string }[][];
  const user = turns.flat().filter((t) => t.role === "user").map((t) => t.content).join("\n");
  const tools = (value.function as BfclFunction[]).map((f) => `${f.name}(${Object.keys(f.parameters?.properties ?? {}).join(",")})`);
  return `Tools: ${tools.join("; ")}\nQ: ${user}\nA:`;
}

export const PRESETS: Record<string, Preset> = {
  metis: {
    name: "metis",
    description: "Metis rows (the built-in datasets' format)",
    detect: (r) => "prompt" in r && typeof r.reward === "object",
    prepare: async () => (value) => {
      const row = TaskRowSchema.parse(value);
      return row;
    },
  },
  gsm8k: {
    name: "gsm8k",
    description: "GSM8K: question, answer ending in '#### <number>'",
    detect: (r) => typeof r.question === "string" && typeof r.answer === "string" && r.answer.includes("####"),
    prepare: async () => mapperFor({ prompt: "Question: {question}\nAnswer:", reference: "answer", reward: { kind: "math", answer: "answer" } }),
  },
  humaneval: {
    name: "humaneval",
    description: "HumanEval: prompt, entry_point, test (Python), canonical_solution",
    detect: (r) => typeof r.entry_point === "string" && typeof r.test === "string",
    prepare: async () => (value) => ({
      id: text(value, "task_id"),
      prompt: text(value, "prompt"),
      reference: text(value, "canonical_solution"),
      // HumanEval's tests define check(candidate); calling it with the entry point runs them.
      reward: { kind: "code", language: "python", entryPoint: text(value, "entry_point"), prelude: text(value, "prompt"), tests: `${text(value, "test")}\ncheck(${text(value, "entry_point")})\n` },
    }),
  },
  bfcl: {
    name: "bfcl",
    description: "BFCL: question + function; ground truth from the answer file given with it, else the sibling <name>.answer.json",
    detect: (r) => Array.isArray(r.question) && Array.isArray(r.function),
    prepare: async (path, companions = {}) => {
      const answerPath = companions.answers ?? path.replace(/\.json(l)?$/i, ".answer.json");
      if (answerPath === path || !existsSync(answerPath)) throw new Error(`BFCL ground truth not found: expected ${answerPath} (give the answer file with the questions)`);
      const answers = new Map((await readRecords(answerPath)).map((r: SourceRecord) => [String(r.value.id), r.value.ground_truth]));
      return (value) => {
        const id = text(value, "id");
        const expected = answers.get(id);
        if (!expected) throw new Error(`no ground truth for ${id} in ${answerPath}`);
        return { id, prompt: bfclPrompt(value), reward: { kind: "function-call", expected: expected as never, partialCredit: false } };
      };
    },
  },
};

/** The preset whose detector accepts `first`, if any. */
export function detectPreset(first: Record<string, unknown>): Preset | null {
  return Object.values(PRESETS).find((p) => p.detect(first)) ?? null;
}

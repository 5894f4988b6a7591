// What a run did at each step, prompt by prompt: the completions with their rewards and
// advantages, and for METIS the judgment prompt and the judge's answers. One line per step in
// `samples.jsonl` in the run directory, appended by the training loop and read back by step
// (the heatmap's cell). Bounded: long texts are cut (head and tail kept), and once the file
// reaches MAX_SAMPLES_BYTES later steps are not recorded (a step's record says nothing then).
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

export const SAMPLES_FILE = "samples.jsonl";
/** Longest text kept whole; longer ones keep their head and tail (an answer is usually at the end). */
export const MAX_SAMPLE_CHARS = 1200;
const HEAD_CHARS = 800;
/** The file stops growing here: at ~64 completions of ≤1.2 KB per step, over 2 000 steps of the worst case. */
export const MAX_SAMPLES_BYTES = 256 * 2 ** 20;

/** One completion of a rolled-out prompt. */
export interface SampleCompletion {
  text: string;
  /** null: the reward could not score it (left out of the baseline). */
  reward: number | null;
  /** null: the group was not trained on (DAPO dropped it). */
  advantage: number | null;
  finishReason: string;
}

/** One rolled-out prompt of a step. */
export interface PromptSamples {
  id: string;
  completions: SampleCompletion[];
  /** METIS: the judgment asked about this prompt before it was chosen. */
  judgment?: {
    /** The judgment prompt (in the file: what follows the step's shared `judgmentPrefix`). */
    prompt: string;
    answers: { text: string; predicted: number | null }[];
    /** Mean of the parsed predictions (what the curriculum used). */
    predicted: number | null;
  };
}

/** One step's line. `step` is written first, so the reader finds it without parsing the line. */
export interface StepSamples {
  step: number;
  /** The start every judgment prompt of the step shares (instructions and examples), written once. */
  judgmentPrefix?: string;
  prompts: PromptSamples[];
}

/** `text` cut to MAX_SAMPLE_CHARS: its head and tail with the number of characters left out between. */
export function clipText(text: string): string {
  if (text.length <= MAX_SAMPLE_CHARS) return text;
  const tail = MAX_SAMPLE_CHARS - HEAD_CHARS;
  return `${text.slice(0, HEAD_CHARS)}\n… [${text.length - MAX_SAMPLE_CHARS} characters cut] …\n${text.slice(-tail)}`;
}

function commonPrefix(texts: readonly string[]): string {
  if (texts.length < 2) return "";
  let n = texts[0]!.length;
  for (const t of texts) {
    let i = 0;
    while (i < n && i < t.length && t.charCodeAt(i) === texts[0]!.charCodeAt(i)) i++;
    n = i;
  }
  // Whole lines only, so each prompt's own part reads on its own.
  return texts[0]!.slice(0, texts[0]!.lastIndexOf("\n", n - 1) + 1);
}

/** The line written for a step: texts clipped, judgment prompts' shared start written once. */
export function stepLine(s: StepSamples): string {
  const judged = s.prompts.map((p) => p.judgment?.prompt).filter((p): p is string => p !== undefined);
  const prefix = commonPrefix(judged);
  const record: StepSamples = {
    step: s.step,
    ...(prefix ? { judgmentPrefix: clipText(prefix) } : {}),
    prompts: s.prompts.map((p) => ({
      id: p.id,
      completions: p.completions.map((c) => ({ ...c, text: clipText(c.text) })),
      ...(p.judgment
        ? { judgment: { prompt: clipText(p.judgment.prompt.slice(prefix.length)), answers: p.judgment.answers.map((a) => ({ ...a, text: clipText(a.text) })), predicted: p.judgment.predicted } }
        : {}),
    })),
  };
  return JSON.stringify(record) + "\n";
}

/** Appends steps to a run's samples file; a line cut by a crash is closed off first, so the next one reads whole. */
export class SamplesLog {
  private bytes: number | null = null;

  constructor(
    readonly dir: string,
    private readonly maxBytes = MAX_SAMPLES_BYTES,
  ) {}

  /** Append a step; false when the file is full and the step was not recorded. */
  append(s: StepSamples): boolean {
    const path = join(this.dir, SAMPLES_FILE);
    if (this.bytes === null) {
      this.bytes = existsSync(path) ? statSync(path).size : 0;
      if (this.bytes > 0 && !endsWithNewline(path, this.bytes)) {
        appendFileSync(path, "\n");
        this.bytes++;
      }
    }
    if (this.bytes >= this.maxBytes) return false;
    const line = stepLine(s);
    appendFileSync(path, line);
    this.bytes += Buffer.byteLength(line);
    return true;
  }
}

function endsWithNewline(path: string, size: number): boolean {
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

interface Index {
  /** Bytes indexed: always just after a newline. */
  scanned: number;
  /** Each step's latest line (a step redone after a resume is written again; the later line wins). */
  lines: Map<number, { offset: number; length: number }>;
}

const STEP_AT_START = /^\{"step":(\d+)[,}]/;
const SCAN_CHUNK = 4 * 2 ** 20;

/** Reads steps back from run directories' samples files, indexing each file's new lines on demand (a read is one line). */
export class SamplesReader {
  private readonly indexes = new Map<string, Index>();

  /** The step's record with each judgment prompt whole again, or null when the step was not recorded. */
  read(runDir: string, step: number): StepSamples | null {
    const path = join(runDir, SAMPLES_FILE);
    if (!existsSync(path)) return null;
    const fd = openSync(path, "r");
    try {
      const index = this.update(runDir, fd);
      const at = index.lines.get(step);
      if (!at) return null;
      const buf = Buffer.alloc(at.length);
      readSync(fd, buf, 0, at.length, at.offset);
      const record = JSON.parse(buf.toString("utf8")) as StepSamples;
      const prefix = record.judgmentPrefix ?? "";
      for (const p of record.prompts) if (p.judgment) p.judgment.prompt = prefix + p.judgment.prompt;
      delete record.judgmentPrefix;
      return record;
    } catch {
      return null; // a damaged line reads as not recorded
    } finally {
      closeSync(fd);
    }
  }

  /** Forget a run's index (deleted). */
  forget(runDir: string): void {
    this.indexes.delete(runDir);
  }

  private update(runDir: string, fd: number): Index {
    let index = this.indexes.get(runDir) ?? { scanned: 0, lines: new Map() };
    const size = fstatSync(fd).size;
    if (size < index.scanned) index = { scanned: 0, lines: new Map() }; // replaced: start over
    let carry = Buffer.alloc(0);
    let pos = index.scanned;
    while (pos < size) {
      const buf = Buffer.alloc(Math.min(SCAN_CHUNK, size - pos));
      readSync(fd, buf, 0, buf.length, pos);
      const data = carry.length > 0 ? Buffer.concat([carry, buf]) : buf;
      const base = pos - carry.length;
      let start = 0;
      for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
        const m = STEP_AT_START.exec(data.subarray(start, Math.min(nl, start + 32)).toString("latin1"));
        if (m) index.lines.set(Number(m[1]), { offset: base + start, length: nl - start });
        start = nl + 1;
      }
      carry = data.subarray(start);
      pos += buf.length;
      index.scanned = base + start; // a line still being written is read whole later
    }
    this.indexes.set(runDir, index);
    return index;
  }
}

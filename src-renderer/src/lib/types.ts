// Shapes of what the engine returns, as the UI uses them.
import type { RunSummary } from "../../../src-main/protocol/run-progress";

export interface ModelRow {
  id: string;
  name: string;
  path: string;
  builtin: boolean;
  /** File size in bytes (null when the file is gone). */
  size: number | null;
  info: { architecture?: string; parameters?: number; mainType?: string; contextLength?: number | null; layers?: number | null; error?: string };
}

export interface DatasetRow {
  id: string;
  name: string;
  source: string;
  /** The file imported, as the user named it (absent for entries made before it was kept). */
  fileName?: string;
  path: string;
  preset: string;
  rows: number;
  builtin: boolean;
}

export type { PromptCell, StepMetrics } from "../../../src-main/protocol/run-types";

/** The evaluation set a run measures on. */
export type RunEval = { kind: "none" } | { kind: "dataset"; id: string | null; name: string; rows: number | null } | { kind: "holdout"; percent: number; rows: number };

export interface RunRecord {
  id: string;
  createdAt: string;
  status: string;
  step: number;
  config: Record<string, unknown> & { steps: number; scheduler: string; model: string; dataset: string; evalItems?: number; evalSamples?: number };
  history: { step: number; patch: Record<string, unknown>; before?: Record<string, unknown> }[];
  error: string | null;
  /** The newest checkpoint's directory (what "try it" and the comparison use), null before the first. */
  lastCheckpoint?: string | null;
  live?: boolean;
  /** The user's name for the run (a default like "metis · metis-tiny · 11-26 14:02"). */
  name: string;
  modelName: string;
  datasetName: string;
  eval: RunEval;
  preset: string | null;
  /** The scheduler the run started with. */
  firstScheduler: string | null;
  summary: Omit<RunSummary, "stepMs">;
}

export interface PromptInfo {
  id: string;
  prompt: string;
  family: string | null;
  difficulty: number | null;
}

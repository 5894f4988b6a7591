// Shapes of what the engine returns, as the UI uses them.

export interface ModelRow {
  id: string;
  name: string;
  path: string;
  builtin: boolean;
  info: { architecture?: string; parameters?: number; mainType?: string; contextLength?: number | null; layers?: number | null; error?: string };
}

export interface DatasetRow {
  id: string;
  name: string;
  source: string;
  path: string;
  preset: string;
  rows: number;
  builtin: boolean;
}

export type { PromptCell, StepMetrics } from "../../../src-main/protocol/run-types";

export interface RunRecord {
  id: string;
  createdAt: string;
  status: string;
  step: number;
  config: Record<string, unknown> & { steps: number; scheduler: string; model: string; dataset: string };
  history: { step: number; patch: Record<string, unknown> }[];
  error: string | null;
  live?: boolean;
}

export interface PromptInfo {
  id: string;
  prompt: string;
  family: string | null;
  difficulty: number | null;
}

// Run names: the default a new run gets ("metis · metis-tiny · 11-26 14:02") and the check a
// name must pass. Shared by the engine (which names runs) and the renderer (which shows the
// default as the name field's placeholder). Pure: no Node or DOM.

/** The longest run name kept. */
export const MAX_RUN_NAME = 120;

/** A model's short label: its registered name without ".gguf" and the "(built-in)" tag. */
export function modelLabel(name: string): string {
  return name.replace(/\s*\(built-in\)\s*$/, "").replace(/\.gguf$/i, "").trim() || name;
}

/** The default name of a run: scheduler · model · month-day hour:minute (local time). */
export function defaultRunName(scheduler: string, modelName: string, at: Date): string {
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${scheduler} · ${modelLabel(modelName)} · ${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}`;
}

/** A name as given, trimmed; throws when nothing is left or it is too long. */
export function checkRunName(name: string): string {
  const trimmed = name.replace(/\s+/g, " ").trim();
  if (trimmed === "") throw new Error("a run name cannot be empty");
  if (trimmed.length > MAX_RUN_NAME) throw new Error(`a run name can have at most ${MAX_RUN_NAME} characters, found ${trimmed.length}`);
  return trimmed;
}

// A run screen loads a run's history with one request while its steps and status keep streaming;
// what streamed in during the request must not be lost (a run that started meanwhile would read
// "created" for ever, with no ETA and no Pause button).

/** What streamed in for a run while its history was being read. */
export interface StreamedDuringLoad<M> {
  /** The latest status event, if one came. */
  status: string | null;
  steps: M[];
}

/** The loaded history brought up to date with what streamed in meanwhile. */
export function mergeLoaded<M extends { step: number }>(loaded: { status: string; metrics: M[] }, streamed: StreamedDuringLoad<M>): { status: string; metrics: M[] } {
  const last = loaded.metrics.at(-1)?.step ?? -Infinity;
  const newer = streamed.steps.filter((m) => m.step > last);
  return { status: streamed.status ?? loaded.status, metrics: newer.length ? [...loaded.metrics, ...newer] : loaded.metrics };
}

// Hash routes, one per screen and one per run: "#/models", "#/datasets", "#/new-run", "#/runs",
// "#/run/<id>". The hash survives a reload and the history keeps each, so back and forward work;
// it stays clear of the query string, where `metis serve` puts its token.

export type Section = "models" | "datasets" | "new-run" | "run" | "runs";

/** Where the app is: a screen, and for the run screen which run (null: the last one opened). */
export interface Route {
  section: Section;
  runId: string | null;
}

const SECTIONS: readonly Section[] = ["models", "datasets", "new-run", "run", "runs"];

/** The route a hash names; an empty or unknown hash is the Models screen. */
export function parseRoute(hash: string): Route {
  const [first = "", ...rest] = hash.replace(/^#\/?/, "").split("/");
  const section = (SECTIONS as readonly string[]).includes(first) ? (first as Section) : "models";
  const runId = section === "run" && rest.length > 0 && rest.join("/") !== "" ? safeDecode(rest.join("/")) : null;
  return { section, runId };
}

/** The hash of a route. */
export function formatRoute(r: Route): string {
  return r.section === "run" && r.runId ? `#/run/${encodeURIComponent(r.runId)}` : `#/${r.section}`;
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

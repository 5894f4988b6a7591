// Which host the renderer runs in. The Electron preload exposes `metisHost`; a plain browser
// (the headless server) has none.

/** Host facts the UI shows. */
export interface HostInfo {
  kind: "electron" | "browser";
  label: string;
}

/** Describe the current host from what the preload exposed, if anything. */
export function detectHost(exposed: unknown): HostInfo {
  const bridge = exposed as { kind?: unknown; versions?: { electron?: unknown } } | undefined;
  if (bridge && bridge.kind === "electron" && typeof bridge.versions?.electron === "string") {
    return { kind: "electron", label: `Electron ${bridge.versions.electron}` };
  }
  return { kind: "browser", label: "Browser" };
}

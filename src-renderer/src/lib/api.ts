// The renderer's one door to the engine. In Electron the preload bridge carries commands over
// IPC; in a browser (metis serve) a WebSocket to the serving origin does, with the start token
// from the page URL. Both speak the same protocol and are validated on arrival.
import { EventSchema, ServerMessageSchema, type CommandName, type CommandParams, type CommandResult, type EngineEvent } from "../../../src-main/protocol/protocol";

export interface Api {
  call<C extends CommandName>(command: C, params: CommandParams<C>): Promise<CommandResult<C>>;
  onEvent(listener: (e: EngineEvent) => void): () => void;
  /** "electron" or "browser". */
  readonly host: string;
  /** A dropped file's path where the host can read files in place (Electron); null in a browser. */
  pathFor(file: File): string | null;
  /** The host's native open dialog (Electron), or null where the page's file input is used instead. */
  readonly openFile: ((kind: "model" | "dataset") => Promise<string | null>) | null;
  /** Called once if the connection to the engine is lost (a browser's WebSocket closed); Electron's never closes. */
  onClose(listener: () => void): void;
}

interface ElectronBridge {
  invoke(command: string, params: unknown): Promise<unknown>;
  onEvent(listener: (e: unknown) => void): () => void;
  pathForFile(file: File): string | null;
  openFile(kind: "model" | "dataset"): Promise<string | null>;
}

/** Connect to whichever host the page runs in. */
export function connect(): Promise<Api> {
  const bridge = (globalThis as { metisEngine?: ElectronBridge }).metisEngine;
  if (bridge) {
    return Promise.resolve({
      host: "electron",
      pathFor: (f) => bridge.pathForFile(f),
      openFile: (kind) => bridge.openFile(kind),
      call: (c, p) => bridge.invoke(c, p) as never,
      onClose: () => undefined,
      onEvent: (l) => bridge.onEvent((e) => {
        const parsed = EventSchema.safeParse(e);
        if (parsed.success) l(parsed.data);
      }),
    });
  }
  return connectWebSocket();
}

function connectWebSocket(): Promise<Api> {
  const token = new URLSearchParams(location.search).get("token") ?? "";
  const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(token)}`);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(e: EngineEvent) => void>();
  const closeListeners = new Set<() => void>();
  let nextId = 1;
  ws.addEventListener("message", (m) => {
    const parsed = ServerMessageSchema.safeParse(JSON.parse(String(m.data)));
    if (!parsed.success) return;
    const msg = parsed.data;
    if (msg.kind === "event") {
      for (const l of listeners) l(msg.event);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(Object.assign(new Error(msg.error?.message ?? "engine error"), { name: msg.error?.name ?? "Error" }));
  });
  ws.addEventListener("close", () => {
    for (const p of pending.values()) p.reject(new Error("the connection to the engine closed"));
    pending.clear();
    for (const l of closeListeners) l();
  });
  const api: Api = {
    host: "browser",
    pathFor: () => null,
    openFile: null,
    onClose: (l) => void closeListeners.add(l),
    call: (command, params) =>
      new Promise((resolve, reject) => {
        if (ws.readyState !== WebSocket.OPEN) return reject(new Error("not connected to the engine"));
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id, command, params }));
      }),
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(api), { once: true });
    ws.addEventListener("error", () => reject(new Error("cannot reach the engine: is `metis serve` running, and is the token in the URL?")), { once: true });
  });
}

// Electron main process: the window, the engine's utility process, and the relay between them.
// It stays thin: everything that computes is in the engine, which runs the same under `metis serve`.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { app, BrowserWindow, dialog, ipcMain, session, shell, utilityProcess, type IpcMainInvokeEvent, type UtilityProcess } from "electron";
import { engineMallocEnv } from "../malloc-env.js";
import { ELECTRON_CSP_HEADER, ELECTRON_PAGE, isAllowedExternalUrl, isTrustedSender } from "./security-policy.js";

/** The renderer page, with the Electron CSP written into it at build time (electron.vite.config.ts). */
const PAGE = join(import.meta.dirname, "../renderer", ELECTRON_PAGE);
const PAGE_URL = pathToFileURL(PAGE).href;

let engine: UtilityProcess | null = null;
let window: BrowserWindow | null = null;
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

function startEngine(): UtilityProcess {
  const child = utilityProcess.fork(join(import.meta.dirname, "engine.js"), [app.getPath("userData"), join(app.getAppPath(), "resources"), app.getVersion()], {
    serviceName: "Metis engine",
    // glibc reads its malloc settings at process start: the engine gets them from here (malloc-env.ts).
    env: { ...process.env, ...engineMallocEnv(process.env) },
  });
  child.on("message", (msg: { kind: string; id?: number; ok?: boolean; result?: unknown; error?: { message: string }; event?: unknown }) => {
    if (msg.kind === "event") window?.webContents.send("engine:event", msg.event);
    else if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.ok) p?.resolve(msg.result);
      else p?.reject(new Error(msg.error?.message ?? "engine error"));
    }
  });
  child.on("exit", (code) => {
    for (const p of pending.values()) p.reject(new Error("the engine stopped"));
    pending.clear();
    engine = null;
    if (code !== 0 && window && !window.isDestroyed()) {
      // The window survives; the user decides whether to restart (runs resume from their checkpoints).
      void dialog.showMessageBox(window, { type: "error", message: "The training engine stopped unexpectedly.", detail: `Exit code ${code}. Runs resume from their last checkpoint.`, buttons: ["Restart engine", "Close"] }).then((r) => {
        if (r.response === 0) engine = startEngine();
      });
    }
  });
  return child;
}

/** Refuse IPC from anything but the app window's top frame showing the app's own page. */
function assertTrustedSender(e: IpcMainInvokeEvent): void {
  const frame = e.senderFrame;
  const sender = { frameUrl: frame?.url ?? null, isTopFrame: frame !== null && frame.parent === null, fromAppWindow: window !== null && !window.isDestroyed() && e.sender === window.webContents };
  if (!isTrustedSender(sender, PAGE_URL)) throw new Error("IPC refused: the sender is not the app's own page");
}

ipcMain.handle("engine:command", (e, command: unknown, params: unknown) => {
  assertTrustedSender(e);
  if (typeof command !== "string") throw new Error("invalid command");
  engine ??= startEngine();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    engine!.postMessage({ id, command, params });
  });
});

const DIALOG_FILTERS: Record<string, Electron.FileFilter[]> = {
  model: [{ name: "GGUF models", extensions: ["gguf"] }],
  dataset: [{ name: "Datasets", extensions: ["jsonl", "json", "csv", "parquet", "gz", "ndjson"] }],
};

// The native open dialog; the renderer names only which kind of file it wants.
ipcMain.handle("dialog:open", async (e, kind: unknown) => {
  assertTrustedSender(e);
  const filters = typeof kind === "string" ? DIALOG_FILTERS[kind] : undefined;
  if (!filters || !window) throw new Error("invalid dialog request");
  const r = await dialog.showOpenDialog(window, { properties: ["openFile"], filters });
  const path = r.canceled ? null : (r.filePaths[0] ?? null);
  if (path) grantPath(path);
  return path;
});

// The engine reads a renderer-named path only when the user chose it: a dialog (above) or a drop
// (the preload reports the path webUtils gave for a real dropped File). Sent before any command
// that names the path, on the same ordered channel.
function grantPath(path: unknown): void {
  if (typeof path !== "string" || path.length === 0 || path.length > 4096) return;
  engine ??= startEngine();
  engine.postMessage({ kind: "grant", path });
}
ipcMain.on("file:dropped", (_e, path: unknown) => grantPath(path));

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1320,
    height: 860,
    minWidth: 960,
    minHeight: 640,
    title: "Metis Workbench",
    backgroundColor: "#0f1115",
    show: false,
    webPreferences: { preload: join(import.meta.dirname, "../preload/index.cjs"), contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, spellcheck: false },
  });
  w.once("ready-to-show", () => w.show());
  w.webContents.on("will-navigate", (event) => event.preventDefault());
  w.webContents.setWindowOpenHandler(({ url }) => {
    // Only allow-listed pages open, and in the user's browser: never a window of this app.
    if (isAllowedExternalUrl(url)) void shell.openExternal(url);
    return { action: "deny" };
  });
  void w.loadFile(PAGE);
  return w;
}

void app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => callback({ responseHeaders: { ...details.responseHeaders, "Content-Security-Policy": [ELECTRON_CSP_HEADER] } }));
  // The app needs no permission: refuse requests, and answer every synchronous check "no".
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  engine = startEngine();
  window = createWindow();
  app.on("activate", () => {
    if (BrowserWindow.getAllWindows().length === 0) window = createWindow();
  });
});

app.on("window-all-closed", () => {
  engine?.kill();
  if (process.platform !== "darwin") app.quit();
});

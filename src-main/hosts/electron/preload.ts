// The preload bridge: the renderer's only door to the host. It exposes two functions and checks
// what passes through; no Node API reaches the page.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from "electron";

const COMMAND = /^[a-z]+\.[a-zA-Z]+$/;

contextBridge.exposeInMainWorld("metisEngine", {
  /** Send a protocol command to the engine; the engine validates the parameters. */
  invoke(command: unknown, params: unknown): Promise<unknown> {
    if (typeof command !== "string" || !COMMAND.test(command)) return Promise.reject(new Error("invalid command name"));
    return ipcRenderer.invoke("engine:command", command, params);
  },
  /** The file-system path of a dropped or chosen file (the engine reads it in place; nothing is copied). */
  pathForFile(file: unknown): string | null {
    if (!(file instanceof File)) return null;
    const path = webUtils.getPathForFile(file) || null;
    // Only a real dropped or chosen File has a path: that choice is what lets the engine read it.
    if (path) ipcRenderer.send("file:dropped", path);
    return path;
  },
  /** The native open dialog for a model or a dataset; resolves to the chosen path or null. */
  openFile(kind: unknown): Promise<string | null> {
    if (kind !== "model" && kind !== "dataset") return Promise.reject(new Error("kind must be model or dataset"));
    return ipcRenderer.invoke("dialog:open", kind) as Promise<string | null>;
  },
  /** Receive engine events; returns the unsubscribe function. */
  onEvent(listener: (event: unknown) => void): () => void {
    if (typeof listener !== "function") throw new Error("listener must be a function");
    const handler = (_e: IpcRendererEvent, event: unknown): void => listener(event);
    ipcRenderer.on("engine:event", handler);
    return () => ipcRenderer.removeListener("engine:event", handler);
  },
});

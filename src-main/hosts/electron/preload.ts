// The preload bridge: the renderer's only door to the host. It exposes data, never Node APIs.
import { contextBridge } from "electron";

/** What the renderer may know about its host. */
export interface HostInfo {
  kind: "electron";
  platform: string;
  versions: { electron: string; chrome: string; node: string };
}

const hostInfo: HostInfo = {
  kind: "electron",
  platform: process.platform,
  versions: { electron: process.versions.electron ?? "", chrome: process.versions.chrome ?? "", node: process.versions.node },
};

contextBridge.exposeInMainWorld("metisHost", Object.freeze(hostInfo));

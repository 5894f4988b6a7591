// The engine in an Electron utility process: a crash here never takes the window down. Messages
// arrive from the main process as {id, command, params}; answers and events go back the same way.
import { Engine } from "../../engine/engine.js";
import { z } from "zod";
import { RequestSchema } from "../../protocol/protocol.js";

const GrantSchema = z.object({ kind: z.literal("grant"), path: z.string().min(1).max(4096) });

interface ParentPort {
  on(event: "message", listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const port = (process as unknown as { parentPort: ParentPort }).parentPort;
const [userData, resources, version] = process.argv.slice(2);

const engine = await Engine.open({ userData: userData!, resources: resources!, host: "electron", version: version ?? "0.1.0" });
engine.onEvent((event) => port.postMessage({ kind: "event", event }));
port.on("message", async ({ data }) => {
  // From the main process only: a file the user chose in a dialog or dropped (see main.ts grantPath).
  const grant = GrantSchema.safeParse(data);
  if (grant.success) return engine.grant(grant.data.path);
  let id = -1;
  try {
    const req = RequestSchema.parse(data);
    id = req.id;
    port.postMessage({ kind: "response", id, ok: true, result: await engine.handle(req.command, req.params) });
  } catch (e) {
    const err = e as Error;
    port.postMessage({ kind: "response", id, ok: false, error: { name: err.name ?? "Error", message: err.message ?? String(e) } });
  }
});

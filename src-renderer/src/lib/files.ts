// Sending dropped or chosen files to the engine when the host cannot read them in place (a browser).
import type { Api } from "./api";

/** A byte range's base64, without holding more than that range in memory. */
async function base64Of(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

/** Upload `file` in chunks (uploads.begin / chunk / finish); resolves to the upload id a command then names. */
export async function uploadFile(api: Api, file: File): Promise<string> {
  const { uploadId, chunkBytes } = await api.call("uploads.begin", { name: file.name, size: file.size });
  try {
    for (let offset = 0; offset < file.size; offset += chunkBytes) {
      await api.call("uploads.chunk", { uploadId, offset, contentBase64: await base64Of(file.slice(offset, offset + chunkBytes)) });
    }
    await api.call("uploads.finish", { uploadId });
  } catch (e) {
    // The engine deletes the partial file; a failed cancel changes nothing for the user.
    await api.call("uploads.cancel", { uploadId }).catch(() => undefined);
    throw e;
  }
  return uploadId;
}

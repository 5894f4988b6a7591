/** A GGUF file that cannot be read or written, with the file and the byte offset where it went wrong. */
export class GgufError extends Error {
  override name = "GgufError";
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly offset?: number,
  ) {
    super(`${file}: ${detail}${offset === undefined ? "" : ` (at byte ${offset})`}`);
  }
}

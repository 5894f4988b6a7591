// The shape every "this file cannot be used" error shares: the file, what is wrong, and a message
// that starts with the file so the user knows which one.

/** A file that cannot be used: the file and what is wrong with it. */
export class FileError extends Error {
  override name = "FileError";
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

// The "bytes" vocabulary's tokenizer in JS: one token per UTF-8 byte, id = byte value, end of
// text = 256. It matches what llama.cpp does with that vocabulary (no merges), so training data
// can be tokenized without loading a model.

/** End-of-text token id of the "bytes" vocabulary. */
export const BYTE_EOS = 256;

/** Token ids of `text`. */
export function encodeBytes(text: string): number[] {
  return Array.from(Buffer.from(text, "utf8"));
}

/** Text of token ids (end-of-text and anything ≥ 256 are dropped). */
export function decodeBytes(tokens: readonly number[]): string {
  return Buffer.from(tokens.filter((t) => t < 256)).toString("utf8");
}

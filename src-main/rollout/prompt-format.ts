// How prompts reach the model and how sequences are decoded. Kept apart from the engine so configs can name them without loading llama.cpp.

/** "chat": the model's own chat template; "raw": the text as is; "auto": chat when the model has a template. */
export const PROMPT_FORMATS = ["auto", "chat", "raw"] as const;
export type PromptFormat = (typeof PROMPT_FORMATS)[number];

/**
 * "pool": one-sequence contexts, each decoding on its own thread (the default: fastest measured
 * on the 2-core CPU); "batched": one context decoding every sequence as one llama.cpp batch per
 * step (one pass over the weights for all of them, which is where a GPU gains).
 */
export const DECODINGS = ["pool", "batched"] as const;
export type Decoding = (typeof DECODINGS)[number];
/** The decoding a run and an engine use unless told otherwise. */
export const DEFAULT_DECODING: Decoding = "pool";

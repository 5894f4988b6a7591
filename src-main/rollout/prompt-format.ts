// How prompts reach the model. Kept apart from the engine so configs can name it without loading llama.cpp.

/** "chat": the model's own chat template; "raw": the text as is; "auto": chat when the model has a template. */
export const PROMPT_FORMATS = ["auto", "chat", "raw"] as const;
export type PromptFormat = (typeof PROMPT_FORMATS)[number];

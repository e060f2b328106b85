// Types of `modelpress/errors`.
export { ModelpressError, RecipeError, AbortError, UnsupportedRuntimeError, WorkerError, ErrorCode, reviveError } from './index.js';
export type { ErrorCodeName } from './index.js';

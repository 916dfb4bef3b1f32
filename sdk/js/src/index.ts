export { DumontClient, DumontClient as Dumont } from "./client.js";
export { DEFAULT_BASE_URL, type ClientOptions } from "./http.js";
export {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  DumontError,
  type ErrorDetails,
  InsufficientBalanceError,
  InvalidStateError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  ValidationError,
} from "./errors.js";
export { Page, PageRequest, type ListParams, type PageMeta } from "./pages.js";
export type { WaitOptions } from "./resources/instances.js";
export type * from "./types.js";

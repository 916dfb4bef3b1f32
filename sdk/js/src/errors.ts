/** What the API answers when it refuses a request: `{"success": false, "error": {code, message, details}}`. */
export type ErrorDetails = Record<string, unknown>;

/** Every error the SDK throws. `status` is the HTTP status (0 when no answer came back). */
export class DumontError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(message: string, code: string, status: number, details: ErrorDetails = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** 400 VALIDATION_ERROR: `details.fields` names each bad field. */
export class ValidationError extends DumontError {}
/** 401 UNAUTHENTICATED: no key, or an unknown, revoked or expired one. */
export class AuthenticationError extends DumontError {}
/** 402 INSUFFICIENT_BALANCE: `details.balance` and `details.needed`. */
export class InsufficientBalanceError extends DumontError {}
/** 403 FORBIDDEN: your role lacks `details.permission`. */
export class PermissionDeniedError extends DumontError {}
/** 404 `*_NOT_FOUND`: nothing of that id in your team. */
export class NotFoundError extends DumontError {}
/** 409 CONFLICT: e.g. a reused idempotency key, an email already registered. */
export class ConflictError extends DumontError {}
/** 409 INVALID_STATE: `details.current_state` and `details.allowed_states`. */
export class InvalidStateError extends ConflictError {}
/** 503 SERVICE_UNAVAILABLE: nothing was changed; retry. */
export class ServiceUnavailableError extends DumontError {}
/** No answer: the network failed or the request timed out. */
export class ConnectionError extends DumontError {}

/** 429 RATE_LIMITED (or TOO_MANY_ATTEMPTS): come back after `retryAfter` seconds. */
export class RateLimitError extends DumontError {
  readonly retryAfter: number;

  constructor(message: string, code: string, status: number, details: ErrorDetails, retryAfter: number) {
    super(message, code, status, details);
    this.retryAfter = retryAfter;
  }
}

type ErrorClass = new (message: string, code: string, status: number, details: ErrorDetails) => DumontError;

const BY_CODE: Record<string, ErrorClass> = {
  VALIDATION_ERROR: ValidationError,
  UNAUTHENTICATED: AuthenticationError,
  INSUFFICIENT_BALANCE: InsufficientBalanceError,
  FORBIDDEN: PermissionDeniedError,
  CONFLICT: ConflictError,
  INVALID_STATE: InvalidStateError,
  SERVICE_UNAVAILABLE: ServiceUnavailableError,
};

const BY_STATUS: Record<number, ErrorClass> = {
  400: ValidationError,
  401: AuthenticationError,
  402: InsufficientBalanceError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  503: ServiceUnavailableError,
};

/** Seconds from a `Retry-After` header: a number of seconds or an HTTP date; 1 when absent. */
export function retryAfterSeconds(header: string | null, now: number = Date.now()): number {
  if (header === null || header.trim() === "") return 1;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? 1 : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The typed error for an answer that is not a success. */
export function errorFromResponse(status: number, body: unknown, retryAfter: string | null): DumontError {
  const envelope = (body ?? {}) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
  const error = envelope.error ?? {};
  const code = typeof error.code === "string" ? error.code : `HTTP_${status}`;
  const message = typeof error.message === "string" ? error.message : `the API answered HTTP ${status}`;
  const details = isRecord(error.details) ? error.details : {};
  if (status === 429) {
    return new RateLimitError(message, code, status, details, retryAfterSeconds(retryAfter));
  }
  const Class = BY_CODE[code] ?? (code.endsWith("_NOT_FOUND") ? NotFoundError : BY_STATUS[status]) ?? DumontError;
  return new Class(message, code, status, details);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

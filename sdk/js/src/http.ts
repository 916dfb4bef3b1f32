import { toApiCase } from "./casing.js";
import { ConnectionError, DumontError, RateLimitError, errorFromResponse, isRecord } from "./errors.js";

export const DEFAULT_BASE_URL = "https://dumontcloud.com";
const DEFAULT_TIMEOUT_MS = 60_000;
const USER_AGENT = "dumont-cloud-js/0.1.0";
/** An API key, or an access token (three dot-separated parts). Anything else is a placeholder. */
const WELL_FORMED_KEY = /^dumont_sk_[A-Za-z0-9_-]{8,}$|^[\w-]+\.[\w-]+\.[\w-]+$/;

export interface ClientOptions {
  /** A `dumont_sk_…` API key or an access token; `DUMONT_API_KEY` when omitted. */
  apiKey?: string;
  /** Where the API is; `DUMONT_API_URL`, else https://dumontcloud.com. */
  baseUrl?: string;
  /** Give up on a request after this many milliseconds (60 s). */
  timeoutMs?: number;
  /** Retry a request answered 429 this many times, after its `Retry-After` (0: never). */
  maxRetries?: number;
  /** The `fetch` to send requests with (the global one by default). */
  fetch?: typeof fetch;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: object;
  body?: object;
  /** Sent as `Idempotency-Key`: the API answers a retried create as it answered the first. */
  idempotencyKey?: string;
}

function environment(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The key to send: the one given, unless it is missing, or is not shaped like a key (a placeholder copied
 * from the documents, such as `your_key` or `dumont_sk_...`) while DUMONT_API_KEY is set.
 */
export function resolveApiKey(given: string | undefined): string {
  const fromEnvironment = environment("DUMONT_API_KEY");
  if (given !== undefined && given !== "" && (WELL_FORMED_KEY.test(given) || !fromEnvironment)) return given;
  if (fromEnvironment) return fromEnvironment;
  throw new DumontError(
    "no API key: pass { apiKey: 'dumont_sk_…' } or set DUMONT_API_KEY",
    "MISSING_API_KEY",
    0,
  );
}

export function newIdempotencyKey(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

function queryString(query: object | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(toApiCase(query) as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** Sends requests with the key, reads the envelope, and turns refusals into typed errors. */
export class Transport {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly fetcher: typeof fetch;

  constructor(options: ClientOptions = {}) {
    this.apiKey = resolveApiKey(options.apiKey);
    // The routes carry `/api`: a base URL given with it (as the documents write it) is taken without.
    const baseUrl = options.baseUrl ?? environment("DUMONT_API_URL") ?? DEFAULT_BASE_URL;
    this.baseUrl = baseUrl.replace(/\/+$/, "").replace(/\/api$/, "");
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? 0;
    const fetcher = options.fetch ?? globalThis.fetch;
    if (typeof fetcher !== "function") {
      throw new DumontError("no fetch: use Node.js 18 or later, or pass { fetch }", "MISSING_FETCH", 0);
    }
    this.fetcher = fetcher;
  }

  /** The whole answer, as JSON. */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(method, path, options);
      } catch (error) {
        if (!(error instanceof RateLimitError) || attempt >= this.maxRetries) throw error;
        await sleep(error.retryAfter);
      }
    }
  }

  /** What the answer carries: `data` of a versioned route's envelope, else the whole answer. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const body = await this.raw(method, path, options);
    return (isRecord(body) && body.success === true && "data" in body ? body.data : body) as T;
  }

  private async once(method: string, path: string, options: RequestOptions): Promise<unknown> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      "User-Agent": USER_AGENT,
      ...(this.apiKey.startsWith("dumont_sk_")
        ? { "X-API-Key": this.apiKey }
        : { Authorization: `Bearer ${this.apiKey}` }),
    };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.idempotencyKey !== undefined) headers["Idempotency-Key"] = options.idempotencyKey;
    let response: Response;
    try {
      response = await this.fetcher(`${this.baseUrl}${path}${queryString(options.query)}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(toApiCase(options.body)),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ConnectionError(`could not reach ${this.baseUrl}: ${reason}`, "CONNECTION_ERROR", 0);
    }
    const body = await readBody(response);
    if (!response.ok) throw errorFromResponse(response.status, body, response.headers.get("Retry-After"));
    return body;
  }
}

export function segment(value: string): string {
  return encodeURIComponent(value);
}

import { DumontError } from "../errors.js";
import { type Transport, newIdempotencyKey, segment } from "../http.js";
import { PageRequest } from "../pages.js";
import type {
  ApiObject,
  CreateInstanceInput,
  CreatedInstance,
  Instance,
  InstanceDetail,
  InstanceEvent,
  InstanceStatus,
  ListInstancesParams,
  HibernationHistory,
  SshKey,
} from "../types.js";

export interface WaitOptions {
  /** Give up after this many milliseconds (10 minutes). */
  timeoutMs?: number;
  /** Look again every this many milliseconds (2 s). */
  intervalMs?: number;
}

export interface Idempotent {
  /** Sent as `Idempotency-Key`; a new random key when omitted, the same one on every retry. */
  idempotencyKey?: string;
}

export const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Polls `read` until `done` holds of what it answers, or throws a `TIMEOUT` DumontError. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  { timeoutMs = 600_000, intervalMs = 2_000 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() >= deadline) {
      throw new DumontError(`${what} did not happen within ${timeoutMs} ms`, "TIMEOUT", 0, { last: value });
    }
    await pause(intervalMs);
  }
}

/** The SSH keys allowed on an instance's machines. */
export class SshKeys {
  constructor(private readonly transport: Transport) {}

  list(instanceId: string): Promise<SshKey[]> {
    return this.transport.request("GET", `/api/v1/instances/${segment(instanceId)}/ssh-keys`);
  }

  add(instanceId: string, input: { publicKey: string; name?: string } & Idempotent): Promise<SshKey> {
    const { idempotencyKey = newIdempotencyKey(), ...body } = input;
    const path = `/api/v1/instances/${segment(instanceId)}/ssh-keys`;
    return this.transport.request("POST", path, { body, idempotencyKey });
  }

  async remove(instanceId: string, keyId: string): Promise<void> {
    await this.transport.request("DELETE", `/api/v1/instances/${segment(instanceId)}/ssh-keys/${segment(keyId)}`);
  }
}

/** GPU instances: rent, list, stop, start, reboot, hibernate, wake, destroy. */
export class Instances {
  readonly sshKeys: SshKeys;

  constructor(private readonly transport: Transport) {
    this.sshKeys = new SshKeys(transport);
  }

  /** `await` for the first page, `for await` for every instance. */
  list(params: ListInstancesParams = {}): PageRequest<Instance> {
    return new PageRequest<Instance>(this.transport, "/api/v1/instances", params);
  }

  /** Rents a machine; the instance starts `starting`. Safe to retry: one idempotency key per call. */
  create(input: CreateInstanceInput & Idempotent): Promise<CreatedInstance> {
    const { idempotencyKey = newIdempotencyKey(), ...body } = input;
    return this.transport.request("POST", "/api/v1/instances", { body, idempotencyKey });
  }

  get(instanceId: string): Promise<InstanceDetail> {
    return this.transport.request("GET", `/api/v1/instances/${segment(instanceId)}`);
  }

  /** Alias of `get`. */
  retrieve(instanceId: string): Promise<InstanceDetail> {
    return this.get(instanceId);
  }

  start(instanceId: string): Promise<InstanceDetail> {
    return this.transport.request("POST", `/api/v1/instances/${segment(instanceId)}/start`);
  }

  stop(instanceId: string): Promise<InstanceDetail> {
    return this.transport.request("POST", `/api/v1/instances/${segment(instanceId)}/stop`);
  }

  reboot(instanceId: string): Promise<InstanceDetail> {
    return this.transport.request("POST", `/api/v1/instances/${segment(instanceId)}/reboot`);
  }

  /** Destroys the machine at the provider; the instance ends `deleted`. */
  delete(instanceId: string): Promise<InstanceDetail> {
    return this.transport.request("DELETE", `/api/v1/instances/${segment(instanceId)}`);
  }

  /** Snapshots the workspace, then gives the machine back; nothing is billed while hibernated. */
  hibernate(instanceId: string): Promise<ApiObject> {
    return this.transport.request("POST", `/api/instances/${segment(instanceId)}/hibernate`);
  }

  /** Rents a new machine and restores the workspace onto it. */
  wake(instanceId: string): Promise<ApiObject> {
    return this.transport.request("POST", `/api/instances/${segment(instanceId)}/wake`);
  }

  /** Your team's hibernations of the last `days` days (7 by default), newest first, and what they saved. */
  hibernationHistory(params: { days?: number } = {}): Promise<HibernationHistory> {
    return this.transport.request("GET", "/api/metrics/hibernation/events", { query: params });
  }

  /** What happened to the instance, oldest first. */
  async events(instanceId: string): Promise<InstanceEvent[]> {
    const listing = await this.transport.request<{ events: InstanceEvent[] }>(
      "GET",
      `/api/v1/instances/${segment(instanceId)}/events`,
    );
    return listing.events;
  }

  /** GPU, CPU and memory use over `period` (`1h`, `24h`, …). */
  async metrics(instanceId: string, params: { period?: string; metrics?: string[] } = {}): Promise<ApiObject[]> {
    const path = `/api/v1/instances/${segment(instanceId)}/metrics`;
    const series = await this.transport.raw("GET", path, { query: params });
    return (series as { data: ApiObject[] }).data;
  }

  /** The last `lines` lines the agent shipped from the machine's logs, from `since` on if given. */
  async logs(instanceId: string, params: { lines?: number; since?: string } = {}): Promise<ApiObject[]> {
    const path = `/api/v1/instances/${segment(instanceId)}/logs`;
    const listing = await this.transport.request<{ lines: ApiObject[] }>("GET", path, { query: params });
    return listing.lines;
  }

  /** Polls the instance until its status is one of `statuses`. */
  waitFor(instanceId: string, statuses: InstanceStatus[], options?: WaitOptions): Promise<InstanceDetail> {
    return waitFor(
      () => this.get(instanceId),
      (instance) => statuses.includes(instance.status),
      `${instanceId} reaching ${statuses.join(" or ")}`,
      options,
    );
  }

  /** Polls until the instance runs; a `failed` instance throws, with `details.status_reason`. */
  async waitUntilReady(instanceId: string, options?: WaitOptions): Promise<InstanceDetail> {
    const instance = await this.waitFor(instanceId, ["running", "failed"], options);
    if (instance.status === "failed") {
      const reason = instance.status_reason ?? "no reason given";
      throw new DumontError(`${instanceId} failed: ${reason}`, "INSTANCE_FAILED", 0, { ...instance });
    }
    return instance;
  }
}

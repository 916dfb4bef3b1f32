import { DumontError } from "../errors.js";
import { type Transport, newIdempotencyKey, segment } from "../http.js";
import { PageRequest, type ListParams } from "../pages.js";
import type { ApiObject, CreateSnapshotInput, Snapshot } from "../types.js";
import { type Idempotent, type WaitOptions, waitFor } from "./instances.js";

/** Snapshots of an instance's workspace, and restores. */
export class Snapshots {
  constructor(private readonly transport: Transport) {}

  list(params: ListParams & { instanceId?: string } = {}): PageRequest<Snapshot> {
    return new PageRequest<Snapshot>(this.transport, "/api/v1/snapshots", params);
  }

  /** Starts a snapshot (`compressing`); `waitUntilComplete` follows it to `completed`. */
  create(input: CreateSnapshotInput & Idempotent): Promise<Snapshot> {
    const { idempotencyKey = newIdempotencyKey(), ...body } = input;
    return this.transport.request("POST", "/api/v1/snapshots", { body, idempotencyKey });
  }

  get(snapshotId: string): Promise<Snapshot> {
    return this.transport.request("GET", `/api/v1/snapshots/${segment(snapshotId)}`);
  }

  async delete(snapshotId: string): Promise<void> {
    await this.transport.request("DELETE", `/api/v1/snapshots/${segment(snapshotId)}`);
  }

  /** Restores the snapshot onto `instanceId` (by default the instance it was taken of). */
  restore(snapshotId: string, input: { instanceId?: string } = {}): Promise<ApiObject> {
    return this.transport.request("POST", `/api/v1/snapshots/${segment(snapshotId)}/restore`, { body: input });
  }

  /** Polls until the snapshot is `completed`; a `failed` one throws, with `details.status_reason`. */
  async waitUntilComplete(snapshotId: string, options?: WaitOptions): Promise<Snapshot> {
    const snapshot = await waitFor(
      () => this.get(snapshotId),
      (found) => found.status === "completed" || found.status === "failed",
      `${snapshotId} completing`,
      options,
    );
    if (snapshot.status === "failed") {
      const reason = snapshot.status_reason ?? "no reason given";
      throw new DumontError(`${snapshotId} failed: ${reason}`, "SNAPSHOT_FAILED", 0, { ...snapshot });
    }
    return snapshot;
  }
}

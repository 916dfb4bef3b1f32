import { type Transport, newIdempotencyKey, segment } from "../http.js";
import { PageRequest } from "../pages.js";
import type { CreatedWebhook, Delivery, Webhook, WebhookInput } from "../types.js";

/** Webhooks: the events you subscribe to, and every delivery of them. */
export class Webhooks {
  constructor(private readonly transport: Transport) {}

  list(): PageRequest<Webhook> {
    return new PageRequest<Webhook>(this.transport, "/api/v1/webhooks");
  }

  /** Subscribes `url` to `events`; the answer carries the signing secret, once. */
  create(input: WebhookInput): Promise<CreatedWebhook> {
    return this.transport.request("POST", "/api/v1/webhooks", { body: input, idempotencyKey: newIdempotencyKey() });
  }

  get(webhookId: string): Promise<Webhook> {
    return this.transport.request("GET", `/api/v1/webhooks/${segment(webhookId)}`);
  }

  update(webhookId: string, changes: Partial<WebhookInput>): Promise<Webhook> {
    return this.transport.request("PATCH", `/api/v1/webhooks/${segment(webhookId)}`, { body: changes });
  }

  async delete(webhookId: string): Promise<void> {
    await this.transport.request("DELETE", `/api/v1/webhooks/${segment(webhookId)}`);
  }

  /** Sends a `ping` event to the webhook now. */
  test(webhookId: string): Promise<Delivery> {
    return this.transport.request("POST", `/api/v1/webhooks/${segment(webhookId)}/test`);
  }

  deliveries(webhookId: string): PageRequest<Delivery> {
    return new PageRequest<Delivery>(this.transport, `/api/v1/webhooks/${segment(webhookId)}/deliveries`);
  }

  redeliver(webhookId: string, deliveryId: string): Promise<Delivery> {
    const path = `/api/v1/webhooks/${segment(webhookId)}/deliveries/${segment(deliveryId)}/redeliver`;
    return this.transport.request("POST", path);
  }
}

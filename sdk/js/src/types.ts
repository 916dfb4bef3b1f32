/** What the API answers, field for field as it spells them (see the API's OpenAPI document). */

export type InstanceStatus =
  | "starting" | "running" | "stopping" | "stopped" | "rebooting" | "hibernating" | "hibernated"
  | "waking" | "deleting" | "deleted" | "failed" | "interrupted";

export interface Instance {
  id: string;
  name: string | null;
  gpu_type: string;
  status: InstanceStatus;
  ip_address: string | null;
  ssh_port: number | null;
  created_at: string;
  cost_per_hour: number | null;
  region: string | null;
  [field: string]: unknown;
}

export interface InstanceDetail extends Instance {
  gpu_name: string;
  num_gpus: number;
  status_reason: string | null;
  ssh_command: string | null;
  jupyter_url: string | null;
  image: string;
  disk_gb: number;
  updated_at: string;
  uptime_seconds: number;
  cost_accumulated: number;
  provider: { name: string; instance_id: string | null };
  failover: { enabled: boolean; strategy: string | null; last_failover: string | null };
  serverless: { enabled: boolean; idle_timeout_minutes: number | null; gpu_threshold: number | null; state: string | null };
}

export interface CreatedInstance {
  id: string;
  status: InstanceStatus;
  estimated_ready_seconds: number;
}

/** A new instance. Any spelling the API takes: `gpuType` or `gpu`, `"RTX 4090"` or `RTX_4090`, `US-East`. */
export interface CreateInstanceInput {
  gpuType?: string;
  gpu?: string;
  region?: string;
  image?: string;
  diskGb?: number;
  diskSize?: number;
  numGpus?: number;
  name?: string;
  failoverEnabled?: boolean;
  failoverStrategy?: "snapshot" | "warmpool" | "cpu_standby" | string;
  sshKey?: string;
  autoHibernate?: boolean;
}

export interface ListInstancesParams {
  status?: InstanceStatus;
  gpuType?: string;
  page?: number;
  perPage?: number;
}

export interface InstanceEvent {
  type: string;
  timestamp: string;
  details: Record<string, unknown>;
}

export interface SshKey {
  id: string;
  name: string | null;
  fingerprint: string;
  [field: string]: unknown;
}

/** The spot market at a glance (`GET /api/metrics/market`). */
export interface MarketSummary {
  timestamp: string;
  total_gpus_available: number;
  /** Percent, the mean over GPU types; null without a day of prices. */
  avg_price_change_24h: number | null;
  trending_gpus: string[];
}

/** One hibernation and what it saved. */
export interface HibernationEvent {
  instance_id: string;
  timestamp: string;
  reason: string;
  savings_per_hour: number;
  woke_at: string | null;
  saved: number;
  [field: string]: unknown;
}

export interface HibernationHistory {
  events: HibernationEvent[];
  total_savings: number;
}

export type SnapshotStatus = "compressing" | "uploading" | "verifying" | "completed" | "failed";

export interface Snapshot {
  id: string;
  instance_id: string;
  name: string | null;
  status: SnapshotStatus;
  status_reason: string | null;
  compression: string;
  size_bytes: number | null;
  size_gb: number | null;
  created_at: string;
  completed_at: string | null;
  [field: string]: unknown;
}

export interface CreateSnapshotInput {
  instanceId: string;
  name?: string;
  compression?: "lz4" | "zstd";
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  created_at: string;
  disabled_reason: string | null;
  failing_since: string | null;
}

export interface CreatedWebhook extends Webhook {
  /** The signing secret; answered only when the webhook is created. */
  secret: string;
}

export interface WebhookInput {
  url: string;
  events: string[];
  secret?: string;
  enabled?: boolean;
}

export interface Delivery {
  id: string;
  webhook_id: string;
  event: string;
  status: string;
  attempts: number;
  response_code: number | null;
  [field: string]: unknown;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface CreatedApiKey extends ApiKey {
  /** The whole key; answered only once. */
  key: string;
}

export interface Team {
  id: string;
  name: string;
  plan: string;
  role: string;
  current: boolean;
}

export interface Member {
  account_id: string;
  email: string;
  role: string;
  joined_at: string;
}

export interface Role {
  name: string;
  description: string | null;
  permissions: string[];
  system: boolean;
}

export interface Balance {
  balance: number;
  currency: string;
  burn_per_hour: number;
  hours_left: number | null;
  low_balance_threshold: number;
  running_instances: number;
}

export interface SavingsDashboard {
  total_saved_usd: number;
  total_cost_dumont: number;
  aws_equivalent: number;
  savings_percent: number;
  monthly_burn: number;
  roi_percent: number | null;
}

/** An answer this SDK does not describe field by field. */
export type ApiObject = Record<string, unknown>;

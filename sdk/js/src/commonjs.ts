/**
 * The CommonJS entry: `require` answers the client class itself (`const Dumont = require(…)`), which
 * also carries every export by name (`const { DumontClient, RateLimitError } = require(…)`).
 */
import * as sdk from "./index.js";

const Dumont = Object.assign(sdk.DumontClient, sdk, { default: sdk.DumontClient });

/** The types, for `import type { Instance } from …` in a CommonJS TypeScript project. */
declare namespace Dumont {
  export type ApiKey = sdk.ApiKey;
  export type ApiObject = sdk.ApiObject;
  export type Balance = sdk.Balance;
  export type ClientOptions = sdk.ClientOptions;
  export type CreateInstanceInput = sdk.CreateInstanceInput;
  export type CreateSnapshotInput = sdk.CreateSnapshotInput;
  export type CreatedApiKey = sdk.CreatedApiKey;
  export type CreatedInstance = sdk.CreatedInstance;
  export type CreatedWebhook = sdk.CreatedWebhook;
  export type Delivery = sdk.Delivery;
  export type ErrorDetails = sdk.ErrorDetails;
  export type Instance = sdk.Instance;
  export type HibernationEvent = sdk.HibernationEvent;
  export type HibernationHistory = sdk.HibernationHistory;
  export type InstanceDetail = sdk.InstanceDetail;
  export type InstanceEvent = sdk.InstanceEvent;
  export type InstanceStatus = sdk.InstanceStatus;
  export type ListInstancesParams = sdk.ListInstancesParams;
  export type ListParams = sdk.ListParams;
  export type MarketSummary = sdk.MarketSummary;
  export type Member = sdk.Member;
  export type PageMeta = sdk.PageMeta;
  export type Role = sdk.Role;
  export type SavingsDashboard = sdk.SavingsDashboard;
  export type Snapshot = sdk.Snapshot;
  export type SnapshotStatus = sdk.SnapshotStatus;
  export type SshKey = sdk.SshKey;
  export type Team = sdk.Team;
  export type WaitOptions = sdk.WaitOptions;
  export type Webhook = sdk.Webhook;
  export type WebhookInput = sdk.WebhookInput;
}

export = Dumont;

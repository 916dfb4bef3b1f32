import { type ClientOptions, Transport } from "./http.js";
import { AccountSshKeys, ApiKeys, Billing, Roles, Teams } from "./resources/account.js";
import { Instances } from "./resources/instances.js";
import { Advisor, Failover, Market, Offers, Savings, Serverless } from "./resources/operations.js";
import { Snapshots } from "./resources/snapshots.js";
import { Webhooks } from "./resources/webhooks.js";

/**
 * The Dumont Cloud API. `new DumontClient({ apiKey })`; the key and the API's address default to
 * `DUMONT_API_KEY` and `DUMONT_API_URL`. Inputs take camelCase (`gpuType`); answers are as the API
 * spells them (`gpu_type`).
 */
export class DumontClient {
  readonly instances: Instances;
  readonly snapshots: Snapshots;
  readonly serverless: Serverless;
  readonly failover: Failover;
  readonly savings: Savings;
  readonly market: Market;
  readonly offers: Offers;
  readonly advisor: Advisor;
  readonly billing: Billing;
  readonly teams: Teams;
  readonly roles: Roles;
  readonly apiKeys: ApiKeys;
  readonly webhooks: Webhooks;
  /** Your account's SSH keys (an instance's own are `instances.sshKeys`). */
  readonly sshKeys: AccountSshKeys;
  readonly baseUrl: string;

  constructor(options: ClientOptions = {}) {
    const transport = new Transport(options);
    this.baseUrl = transport.baseUrl;
    this.instances = new Instances(transport);
    this.snapshots = new Snapshots(transport);
    this.serverless = new Serverless(transport);
    this.failover = new Failover(transport);
    this.savings = new Savings(transport);
    this.market = new Market(transport);
    this.offers = new Offers(transport);
    this.advisor = new Advisor(transport);
    this.billing = new Billing(transport);
    this.teams = new Teams(transport);
    this.roles = new Roles(transport);
    this.apiKeys = new ApiKeys(transport);
    this.webhooks = new Webhooks(transport);
    this.sshKeys = new AccountSshKeys(transport);
  }
}

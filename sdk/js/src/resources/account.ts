import { type Transport, newIdempotencyKey, segment } from "../http.js";
import { type ListParams, PageRequest } from "../pages.js";
import type { ApiKey, ApiObject, Balance, CreatedApiKey, Member, Role, SshKey, Team } from "../types.js";
import type { Idempotent } from "./instances.js";

/** The balance, credits and what was charged. */
export class Billing {
  constructor(private readonly transport: Transport) {}

  balance(): Promise<Balance> {
    return this.transport.request("GET", "/api/v1/balance");
  }

  history(params: ListParams & { since?: string; until?: string; instanceId?: string } = {}): PageRequest<ApiObject> {
    return new PageRequest<ApiObject>(this.transport, "/api/v1/billing/history", params);
  }

  /** Pays for credits; safe to retry (one idempotency key per call). */
  addCredits(input: { amount: number } & Idempotent): Promise<ApiObject> {
    const { idempotencyKey = newIdempotencyKey(), ...body } = input;
    return this.transport.request("POST", "/api/v1/billing/add-credits", { body, idempotencyKey });
  }
}

/** A team's members. */
export class Members {
  constructor(private readonly transport: Transport) {}

  list(teamId: string): Promise<Member[]> {
    return this.transport.request("GET", `/api/v1/teams/${segment(teamId)}/members`);
  }

  add(teamId: string, input: { email: string; role?: string }): Promise<Member> {
    return this.transport.request("POST", `/api/v1/teams/${segment(teamId)}/members`, { body: input });
  }

  changeRole(teamId: string, accountId: string, role: string): Promise<Member> {
    const path = `/api/v1/teams/${segment(teamId)}/members/${segment(accountId)}`;
    return this.transport.request("PATCH", path, { body: { role } });
  }

  async remove(teamId: string, accountId: string): Promise<void> {
    await this.transport.request("DELETE", `/api/v1/teams/${segment(teamId)}/members/${segment(accountId)}`);
  }
}

/** Your teams and your role in each. */
export class Teams {
  readonly members: Members;

  constructor(private readonly transport: Transport) {
    this.members = new Members(transport);
  }

  list(): Promise<Team[]> {
    return this.transport.request("GET", "/api/v1/teams");
  }

  create(input: { name: string }): Promise<Team> {
    return this.transport.request("POST", "/api/v1/teams", { body: input, idempotencyKey: newIdempotencyKey() });
  }

  get(teamId: string): Promise<Team & { members: Member[]; created_at: string }> {
    return this.transport.request("GET", `/api/v1/teams/${segment(teamId)}`);
  }
}

/** The roles of your team, and custom ones. */
export class Roles {
  constructor(private readonly transport: Transport) {}

  list(): Promise<Role[]> {
    return this.transport.request("GET", "/api/v1/roles");
  }

  create(input: { name: string; permissions: string[]; description?: string }): Promise<Role> {
    return this.transport.request("POST", "/api/v1/roles", { body: input, idempotencyKey: newIdempotencyKey() });
  }
}

/** API keys of the team: the whole key is answered once, when made. */
export class ApiKeys {
  constructor(private readonly transport: Transport) {}

  list(): Promise<ApiKey[]> {
    return this.transport.request("GET", "/api/v1/api-keys");
  }

  create(input: { name: string }): Promise<CreatedApiKey> {
    return this.transport.request("POST", "/api/v1/api-keys", { body: input, idempotencyKey: newIdempotencyKey() });
  }

  /** Stops working at once. */
  async revoke(keyId: string): Promise<void> {
    await this.transport.request("DELETE", `/api/v1/api-keys/${segment(keyId)}`);
  }
}

/**
 * Your account's SSH keys: every instance you create from then on starts with them. An instance's own
 * keys are `client.instances.sshKeys`.
 */
export class AccountSshKeys {
  constructor(private readonly transport: Transport) {}

  list(): Promise<SshKey[]> {
    return this.transport.request("GET", "/api/v1/ssh-keys");
  }

  add(input: { publicKey: string; name?: string } & Idempotent): Promise<SshKey> {
    const { idempotencyKey = newIdempotencyKey(), ...body } = input;
    return this.transport.request("POST", "/api/v1/ssh-keys", { body, idempotencyKey });
  }

  /** Instances created later do not get it; instances that have it keep it until it is removed there. */
  async remove(keyId: string): Promise<void> {
    await this.transport.request("DELETE", `/api/v1/ssh-keys/${segment(keyId)}`);
  }
}

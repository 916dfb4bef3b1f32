import { type Transport, segment } from "../http.js";
import { type ListParams, PageRequest } from "../pages.js";
import type { ApiObject, MarketSummary, SavingsDashboard } from "../types.js";

/** Serverless mode: hibernate by itself when the GPU stays idle. */
export class Serverless {
  constructor(private readonly transport: Transport) {}

  enable(input: { instanceId: string; idleTimeoutMinutes?: number; gpuThreshold?: number }): Promise<ApiObject> {
    return this.transport.request("POST", "/api/v1/serverless/enable", { body: input });
  }

  disable(instanceId: string): Promise<ApiObject> {
    return this.transport.request("POST", "/api/v1/serverless/disable", { body: { instanceId } });
  }

  pause(instanceId: string): Promise<ApiObject> {
    return this.transport.request("POST", `/api/v1/serverless/pause/${segment(instanceId)}`);
  }

  resume(instanceId: string): Promise<ApiObject> {
    return this.transport.request("POST", `/api/v1/serverless/resume/${segment(instanceId)}`);
  }

  status(instanceId: string): Promise<ApiObject> {
    return this.transport.request("GET", `/api/v1/serverless/status/${segment(instanceId)}`);
  }
}

/** Failover: checkpoints, standbys, and where an instance stands. */
export class Failover {
  constructor(private readonly transport: Transport) {}

  configure(input: {
    instanceId: string;
    enabled: boolean;
    strategy?: string;
    checkpointIntervalMinutes?: number;
  }): Promise<ApiObject> {
    return this.transport.request("POST", "/api/v1/failover/configure", { body: input });
  }

  status(instanceId: string): Promise<ApiObject> {
    return this.transport.request("GET", `/api/v1/failover/status/${segment(instanceId)}`);
  }

  /** A drill: fails the instance over now. */
  trigger(instanceId: string): Promise<ApiObject> {
    return this.transport.request("POST", `/api/v1/failover/trigger/${segment(instanceId)}`);
  }
}

type Period = { period?: string };

/** What you saved against AWS, GCP and Azure. */
export class Savings {
  constructor(private readonly transport: Transport) {}

  getDashboard(params: Period = {}): Promise<SavingsDashboard> {
    return this.transport.request("GET", "/api/v1/savings/dashboard", { query: params });
  }

  summary(params: Period = {}): Promise<ApiObject> {
    return this.transport.request("GET", "/api/v1/savings/summary", { query: params });
  }

  breakdown(params: Period = {}): Promise<ApiObject> {
    return this.transport.request("GET", "/api/v1/savings/breakdown", { query: params });
  }

  history(params: { months?: number } = {}): Promise<ApiObject> {
    return this.transport.request("GET", "/api/v1/savings/history", { query: params });
  }

  comparison(gpuType: string): Promise<ApiObject> {
    return this.transport.request("GET", `/api/v1/savings/comparison/${segment(gpuType)}`);
  }
}

/** Market prices now, their history, and forecasts judged against the last price. */
export class Market {
  constructor(private readonly transport: Transport) {}

  prices(params: { gpuType?: string; region?: string } = {}): Promise<ApiObject[]> {
    return this.transport.request("GET", "/api/v1/market/prices", { query: params });
  }

  history(params: { gpuType: string; period?: string; interval?: string; region?: string }): Promise<ApiObject> {
    return this.transport.request("GET", "/api/v1/market/history", { query: params });
  }

  predictions(params: { gpuType: string; region?: string }): Promise<ApiObject> {
    return this.transport.request("GET", "/api/v1/market/predictions", { query: params });
  }

  /** The spot market at a glance: GPUs available, the mean 24-hour price change, what is rising. */
  summary(): Promise<MarketSummary> {
    return this.transport.request("GET", "/api/metrics/market");
  }

  /** The providers, with where each number comes from. */
  providers(): Promise<ApiObject> {
    return this.transport.request("GET", "/api/metrics/providers");
  }
}

export interface OfferParams extends ListParams {
  gpu?: string;
  region?: string;
  gpus?: number;
  minVramGb?: number;
  maxPrice?: number;
  minReliability?: number;
  interruptible?: boolean;
  sort?: "price" | "price_per_gpu" | "reliability" | "vram";
}

/** Machines for rent now, asked of the provider live. */
export class Offers {
  constructor(private readonly transport: Transport) {}

  list(params: OfferParams = {}): PageRequest<ApiObject> {
    return new PageRequest<ApiObject>(this.transport, "/api/v1/offers", params);
  }

  forGpu(gpu: string, params: Omit<OfferParams, "gpu"> = {}): PageRequest<ApiObject> {
    return new PageRequest<ApiObject>(this.transport, `/api/v1/offers/${segment(gpu)}`, params);
  }
}

/** The GPU advisor: which machine does a task for the least money. */
export class Advisor {
  constructor(private readonly transport: Transport) {}

  recommendGpu(input: { task: string; datasetSize?: string; budgetPerHour?: number }): Promise<ApiObject> {
    return this.transport.request("POST", "/api/ai/recommend-gpu", { body: input });
  }
}

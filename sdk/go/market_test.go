package dumont

import "testing"

func TestMarketPricesAskForAGPUInARegionAndReadEachRegionsPrices(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"success": true, "data": [{"gpu_type": "RTX_4090", "provider": "vast",
		"timestamp": "2026-01-02T03:04:05Z", "regions": [{"region": "us-east", "on_demand": {"lowest": 0.3, "p10": 0.35, "median": 0.44},
		"interruptible": null, "offers_available": 12, "gpus_available": 30}]}]}`, nil})
	prices, err := client.Market.Prices("RTX 4090", "us-east")
	if err != nil || len(prices) != 1 || len(prices[0].Regions) != 1 {
		t.Fatalf("prices %+v, %v", prices, err)
	}
	slice := prices[0].Regions[0]
	if slice.OnDemand == nil || slice.OnDemand.P10 != 0.35 || slice.Interruptible != nil || slice.GPUsAvailable != 30 {
		t.Fatalf("us-east %+v", slice)
	}
	got := (*requests)[0]
	if got.path != "/api/v1/market/prices" || got.query != "gpu_type=RTX+4090&region=us-east" {
		t.Fatalf("asked %s?%s", got.path, got.query)
	}
}

func TestMarketHistorySendsOnlyTheChosenPeriodAndReadsTheGaps(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"success": true, "data": {"gpu_type": "A100", "region": "all", "period": "7d",
		"interval": "6h", "points": [{"timestamp": "2026-01-02T00:00:00Z", "on_demand": null, "interruptible": null,
		"offers_available": null, "gpus_available": null, "gap": true}]}}`, nil})
	history, err := client.Market.History(&PriceHistoryInput{GPUType: "A100", Period: "7d", Interval: "6h"})
	if err != nil || history.Period != "7d" || len(history.Points) != 1 || !history.Points[0].Gap {
		t.Fatalf("history %+v, %v", history, err)
	}
	if query := (*requests)[0].query; query != "gpu_type=A100&interval=6h&period=7d" {
		t.Fatalf("asked %q", query)
	}
}

func TestMarketPredictionsReadAForecastWhoseErrorsAreNotYetMeasured(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"success": true, "data": {"gpu_type": "RTX_4090", "region": "us-east",
		"timestamp": "2026-01-02T00:00:00Z", "status": "insufficient_history", "current_price": 0.4, "history_hours": 3,
		"horizons": [{"hours": 6, "price": 0.41, "low": null, "high": null, "confidence": null, "model_error": null, "naive_error": null}],
		"model_accuracy": null, "naive_accuracy": null, "beats_naive": null, "recommendation": "rent_now"}}`, nil})
	forecast, err := client.Market.Predictions("RTX_4090", "")
	if err != nil || forecast.Recommendation != "rent_now" || forecast.BeatsNaive != nil || *forecast.CurrentPrice != 0.4 {
		t.Fatalf("forecast %+v, %v", forecast, err)
	}
	if len(forecast.Horizons) != 1 || forecast.Horizons[0].Hours != 6 || forecast.Horizons[0].Low != nil {
		t.Fatalf("horizons %+v", forecast.Horizons)
	}
	if got := (*requests)[0]; got.path != "/api/v1/market/predictions" || got.query != "gpu_type=RTX_4090" {
		t.Fatalf("asked %s?%s", got.path, got.query)
	}
}

func TestMarketSummaryReadsTheTrendingGPUsAndAMissingPriceChange(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"timestamp": "2026-12-01T10:00:00Z", "total_gpus_available": 512,
		"avg_price_change_24h": null, "trending_gpus": ["RTX 4090", "A100"]}`, nil})
	summary, err := client.Market.Summary()
	if err != nil || summary.TotalGPUsAvailable != 512 || summary.AvgPriceChange24h != nil || len(summary.TrendingGPUs) != 2 {
		t.Fatalf("summary %+v, %v", summary, err)
	}
	if got := (*requests)[0]; got.method != "GET" || got.path != "/api/metrics/market" {
		t.Fatalf("asked %s %s", got.method, got.path)
	}
}

func TestMarketProvidersReadEachFigureWithItsSourceAndTheReasonOneIsMissing(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"providers": [{"name": "Vast.ai", "reliability_score": 0.93,
		"reliability_source": "the provider's own scores", "avg_price": 0.71, "avg_price_source": "our price collection",
		"uptime_percent": null, "uptime_source": "no machines of ours there in 30 days", "interruptions": null, "offers_available": 120}]}`, nil})
	providers, err := client.Market.Providers()
	if err != nil || len(providers) != 1 {
		t.Fatalf("providers %+v, %v", providers, err)
	}
	vast := providers[0]
	if *vast.ReliabilityScore != 0.93 || *vast.AvgPrice != 0.71 || vast.UptimePercent != nil || vast.UptimeSource == "" || *vast.OffersAvailable != 120 {
		t.Fatalf("provider %+v", vast)
	}
	if got := (*requests)[0]; got.path != "/api/metrics/providers" {
		t.Fatalf("asked %s", got.path)
	}
}

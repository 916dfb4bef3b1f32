package dumont

import (
	"context"
	"net/url"
	"time"
)

// PriceStats are the prices of a GPU in one place and time, in USD an hour.
type PriceStats struct {
	Lowest float64 `json:"lowest"`
	// P10 is the 10th percentile: a price a patient renter finds.
	P10    float64 `json:"p10"`
	Median float64 `json:"median"`
}

// MarketSlice is the market of one GPU type in one region.
type MarketSlice struct {
	Region          string      `json:"region"`
	OnDemand        *PriceStats `json:"on_demand"`
	Interruptible   *PriceStats `json:"interruptible"`
	OffersAvailable int         `json:"offers_available"`
	GPUsAvailable   int         `json:"gpus_available"`
}

// MarketPrice is what a provider asks for a GPU type now, region by region.
type MarketPrice struct {
	GPUType   string        `json:"gpu_type"`
	Provider  string        `json:"provider"`
	Timestamp time.Time     `json:"timestamp"`
	Regions   []MarketSlice `json:"regions"`
}

// PriceHistoryPoint is the market in one interval; Gap says no price could be collected in it.
type PriceHistoryPoint struct {
	Timestamp       time.Time   `json:"timestamp"`
	OnDemand        *PriceStats `json:"on_demand"`
	Interruptible   *PriceStats `json:"interruptible"`
	OffersAvailable *int        `json:"offers_available"`
	GPUsAvailable   *int        `json:"gpus_available"`
	Gap             bool        `json:"gap"`
}

// PriceHistory is a GPU type's prices over a period.
type PriceHistory struct {
	GPUType  string              `json:"gpu_type"`
	Region   string              `json:"region"`
	Period   string              `json:"period"`
	Interval string              `json:"interval"`
	Points   []PriceHistoryPoint `json:"points"`
}

// HorizonForecast is the price predicted Hours ahead; the interval and errors are nil until measured.
type HorizonForecast struct {
	Hours      int      `json:"hours"`
	Price      float64  `json:"price"`
	Low        *float64 `json:"low"`
	High       *float64 `json:"high"`
	Confidence *float64 `json:"confidence"`
	ModelError *float64 `json:"model_error"`
	NaiveError *float64 `json:"naive_error"`
}

// PriceForecast is what a GPU type's price is expected to do, and whether to rent now or wait.
type PriceForecast struct {
	GPUType        string            `json:"gpu_type"`
	Region         string            `json:"region"`
	Timestamp      time.Time         `json:"timestamp"`
	Status         string            `json:"status"`
	CurrentPrice   *float64          `json:"current_price"`
	HistoryHours   int               `json:"history_hours"`
	Horizons       []HorizonForecast `json:"horizons"`
	ModelAccuracy  *float64          `json:"model_accuracy"`
	NaiveAccuracy  *float64          `json:"naive_accuracy"`
	BeatsNaive     *bool             `json:"beats_naive"`
	Recommendation string            `json:"recommendation"`
}

// PriceHistoryInput chooses a GPU type's history; empty fields leave the API's defaults (every
// region, the last 24h, hourly points).
type PriceHistoryInput struct {
	GPUType  string
	Region   string
	Period   string
	Interval string
}

// MarketService reads GPU prices: now, over time, and predicted.
type MarketService struct{ client *Client }

// queryOf keeps the values that are set.
func queryOf(pairs ...string) url.Values {
	query := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			query.Set(pairs[i], pairs[i+1])
		}
	}
	return query
}

// Prices reads the prices now, of gpuType in region (all of either when empty).
func (s *MarketService) Prices(gpuType, region string) ([]MarketPrice, error) {
	return s.PricesWithContext(context.Background(), gpuType, region)
}

// PricesWithContext is Prices with a context.
func (s *MarketService) PricesWithContext(ctx context.Context, gpuType, region string) ([]MarketPrice, error) {
	var prices []MarketPrice
	req := request{method: "GET", path: "/api/v1/market/prices", query: queryOf("gpu_type", gpuType, "region", region)}
	return prices, s.client.call(ctx, req, &prices)
}

// History reads how a GPU type's price went.
func (s *MarketService) History(input *PriceHistoryInput) (*PriceHistory, error) {
	return s.HistoryWithContext(context.Background(), input)
}

// HistoryWithContext is History with a context.
func (s *MarketService) HistoryWithContext(ctx context.Context, input *PriceHistoryInput) (*PriceHistory, error) {
	if input == nil {
		input = &PriceHistoryInput{}
	}
	query := queryOf("gpu_type", input.GPUType, "region", input.Region, "period", input.Period, "interval", input.Interval)
	history := &PriceHistory{}
	return history, s.client.call(ctx, request{method: "GET", path: "/api/v1/market/history", query: query}, history)
}

// Predictions reads what gpuType's price is expected to do in region (every region when empty).
func (s *MarketService) Predictions(gpuType, region string) (*PriceForecast, error) {
	return s.PredictionsWithContext(context.Background(), gpuType, region)
}

// PredictionsWithContext is Predictions with a context.
func (s *MarketService) PredictionsWithContext(ctx context.Context, gpuType, region string) (*PriceForecast, error) {
	forecast := &PriceForecast{}
	req := request{method: "GET", path: "/api/v1/market/predictions", query: queryOf("gpu_type", gpuType, "region", region)}
	return forecast, s.client.call(ctx, req, forecast)
}

// MarketSummary is the spot market at a glance. TrendingGPUs are the names ("RTX 4090") of the GPU
// types whose price rose most over 24 hours.
type MarketSummary struct {
	Timestamp          time.Time `json:"timestamp"`
	TotalGPUsAvailable int       `json:"total_gpus_available"`
	// AvgPriceChange24h is in percent, the mean over GPU types; nil without a price a day old.
	AvgPriceChange24h *float64 `json:"avg_price_change_24h"`
	TrendingGPUs      []string `json:"trending_gpus"`
}

// ProviderStanding is a provider we rent from, each figure with where it comes from (the ...Source
// fields): a nil figure's source says why it is missing.
type ProviderStanding struct {
	Name string `json:"name"`
	// ReliabilityScore is 0-1, the mean of the provider's own scores of its hosts.
	ReliabilityScore  *float64 `json:"reliability_score"`
	ReliabilitySource string   `json:"reliability_source"`
	// AvgPrice is the mean over GPU types of the median price per GPU-hour, from our price collection.
	AvgPrice       *float64 `json:"avg_price"`
	AvgPriceSource string   `json:"avg_price_source"`
	// UptimePercent is from what our own machines there lived through over the last 30 days.
	UptimePercent   *float64 `json:"uptime_percent"`
	UptimeSource    string   `json:"uptime_source"`
	Interruptions   *int     `json:"interruptions"`
	OffersAvailable *int     `json:"offers_available"`
}

// Summary reads the spot market at a glance: GPUs available, the mean 24-hour price change, and the
// GPU types whose price is rising.
func (s *MarketService) Summary() (*MarketSummary, error) {
	return s.SummaryWithContext(context.Background())
}

// SummaryWithContext is Summary with a context.
func (s *MarketService) SummaryWithContext(ctx context.Context) (*MarketSummary, error) {
	summary := &MarketSummary{}
	return summary, s.client.call(ctx, request{method: "GET", path: "/api/metrics/market"}, summary)
}

// Providers reads the providers we rent from: price, reliability and uptime.
func (s *MarketService) Providers() ([]ProviderStanding, error) {
	return s.ProvidersWithContext(context.Background())
}

// ProvidersWithContext is Providers with a context.
func (s *MarketService) ProvidersWithContext(ctx context.Context) ([]ProviderStanding, error) {
	var answer struct {
		Providers []ProviderStanding `json:"providers"`
	}
	if err := s.client.call(ctx, request{method: "GET", path: "/api/metrics/providers"}, &answer); err != nil {
		return nil, err
	}
	return answer.Providers, nil
}

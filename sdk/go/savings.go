package dumont

import (
	"context"
	"net/url"
	"strconv"
)

// Savings periods: this day, ISO week, month or year (UTC).
const (
	PeriodDay   = "day"
	PeriodWeek  = "week"
	PeriodMonth = "month"
	PeriodYear  = "year"
)

// SavingsDashboard is what you saved against AWS, GCP and Azure.
type SavingsDashboard struct {
	TotalSavedUSD   float64  `json:"total_saved_usd"`
	TotalCostDumont float64  `json:"total_cost_dumont"`
	AWSEquivalent   float64  `json:"aws_equivalent"`
	SavingsPercent  float64  `json:"savings_percent"`
	MonthlyBurn     float64  `json:"monthly_burn"`
	ROIPercent      *float64 `json:"roi_percent"`
}

// GPUSavings is what one GPU type cost here and would have cost on AWS.
type GPUSavings struct {
	GPUType    string  `json:"gpu_type"`
	Hours      float64 `json:"hours"`
	CostDumont float64 `json:"cost_dumont"`
	CostAWS    float64 `json:"cost_aws"`
	Savings    float64 `json:"savings"`
}

// SavingsSummary is a period's costs here and on the three clouds, and what hibernation saved.
// Period is the one it is (a month as "2026-12"), from FirstDay to LastDay (today at most).
type SavingsSummary struct {
	Period               string       `json:"period"`
	FirstDay             string       `json:"first_day"`
	LastDay              string       `json:"last_day"`
	TotalHours           float64      `json:"total_hours"`
	TotalCostDumont      float64      `json:"total_cost_dumont"`
	TotalCostAWS         float64      `json:"total_cost_aws"`
	TotalCostGCP         float64      `json:"total_cost_gcp"`
	TotalCostAzure       float64      `json:"total_cost_azure"`
	SavingsVsAWS         float64      `json:"savings_vs_aws"`
	SavingsPercentage    float64      `json:"savings_percentage"`
	ROIPercent           float64      `json:"roi_percent"`
	AutoHibernateSavings float64      `json:"auto_hibernate_savings"`
	AutoHibernateHours   float64      `json:"auto_hibernate_hours"`
	BreakdownByGPU       []GPUSavings `json:"breakdown_by_gpu"`
}

// MonthSavings is one month's cost here and on AWS.
type MonthSavings struct {
	Month           string  `json:"month"`
	TotalCostDumont float64 `json:"total_cost_dumont"`
	TotalCostAWS    float64 `json:"total_cost_aws"`
	SavingsVsAWS    float64 `json:"savings_vs_aws"`
}

// SavingsHistory is month by month, this one first.
type SavingsHistory struct {
	History []MonthSavings `json:"history"`
}

// SavingsBreakdown is a period's savings GPU type by GPU type.
type SavingsBreakdown struct {
	Period         string       `json:"period"`
	BreakdownByGPU []GPUSavings `json:"breakdown_by_gpu"`
}

// PriceComparison is an hour of a GPU type here against the nearest instance type of each cloud;
// a price is nil where that cloud has no match.
type PriceComparison struct {
	GPUType           string   `json:"gpu_type"`
	DumontHourly      *float64 `json:"dumont_hourly"`
	AWSHourly         *float64 `json:"aws_hourly"`
	GCPHourly         *float64 `json:"gcp_hourly"`
	AzureHourly       *float64 `json:"azure_hourly"`
	SavingsPerHour    *float64 `json:"savings_per_hour"`
	SavingsPercent    *float64 `json:"savings_percent"`
	AWSInstanceType   *string  `json:"aws_instance_type"`
	GCPInstanceType   *string  `json:"gcp_instance_type"`
	AzureInstanceType *string  `json:"azure_instance_type"`
	Why               string   `json:"why"`
	SourceDate        string   `json:"source_date"`
}

// SavingsService reads what you saved.
type SavingsService struct{ client *Client }

func (s *SavingsService) get(ctx context.Context, path string, query url.Values, out any) error {
	return s.client.call(ctx, request{method: "GET", path: path, query: query}, out)
}

// GetDashboard reads the savings dashboard.
func (s *SavingsService) GetDashboard() (*SavingsDashboard, error) {
	return s.GetDashboardWithContext(context.Background())
}

// GetDashboardWithContext is GetDashboard with a context.
func (s *SavingsService) GetDashboardWithContext(ctx context.Context) (*SavingsDashboard, error) {
	dashboard := &SavingsDashboard{}
	return dashboard, s.get(ctx, "/api/v1/savings/dashboard", nil, dashboard)
}

// Summary reads a period's savings (PeriodDay … PeriodYear; the month when empty).
func (s *SavingsService) Summary(period string) (*SavingsSummary, error) {
	return s.SummaryWithContext(context.Background(), period)
}

// SummaryWithContext is Summary with a context.
func (s *SavingsService) SummaryWithContext(ctx context.Context, period string) (*SavingsSummary, error) {
	summary := &SavingsSummary{}
	return summary, s.get(ctx, "/api/v1/savings/summary", queryOf("period", period), summary)
}

// History reads the last months' savings (6 when months is 0).
func (s *SavingsService) History(months int) (*SavingsHistory, error) {
	return s.HistoryWithContext(context.Background(), months)
}

// HistoryWithContext is History with a context.
func (s *SavingsService) HistoryWithContext(ctx context.Context, months int) (*SavingsHistory, error) {
	query := url.Values{}
	if months > 0 {
		query.Set("months", strconv.Itoa(months))
	}
	history := &SavingsHistory{}
	return history, s.get(ctx, "/api/v1/savings/history", query, history)
}

// Breakdown reads a period's savings by GPU type (the month when period is empty).
func (s *SavingsService) Breakdown(period string) (*SavingsBreakdown, error) {
	return s.BreakdownWithContext(context.Background(), period)
}

// BreakdownWithContext is Breakdown with a context.
func (s *SavingsService) BreakdownWithContext(ctx context.Context, period string) (*SavingsBreakdown, error) {
	breakdown := &SavingsBreakdown{}
	return breakdown, s.get(ctx, "/api/v1/savings/breakdown", queryOf("period", period), breakdown)
}

// Comparison compares an hour of gpuType here with AWS, GCP and Azure.
func (s *SavingsService) Comparison(gpuType string) (*PriceComparison, error) {
	return s.ComparisonWithContext(context.Background(), gpuType)
}

// ComparisonWithContext is Comparison with a context.
func (s *SavingsService) ComparisonWithContext(ctx context.Context, gpuType string) (*PriceComparison, error) {
	comparison := &PriceComparison{}
	return comparison, s.get(ctx, "/api/v1/savings/comparison/"+url.PathEscape(gpuType), nil, comparison)
}

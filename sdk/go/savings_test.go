package dumont

import "testing"

func TestTheSavingsViewsAskForTheirPeriodAndReadTheirFigures(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{200, `{"success": true, "data": {"period": "week", "first_day": "2026-11-30", "last_day": "2026-12-06", "total_hours": 10,
			"total_cost_dumont": 4, "total_cost_aws": 40, "total_cost_gcp": 35, "total_cost_azure": 38, "savings_vs_aws": 36,
			"savings_percentage": 90, "roi_percent": 900, "auto_hibernate_savings": 2, "auto_hibernate_hours": 5,
			"breakdown_by_gpu": [{"gpu_type": "RTX_4090", "hours": 10, "cost_dumont": 4, "cost_aws": 40, "savings": 36}]}}`, nil},
		answer{200, `{"success": true, "data": {"history": [{"month": "2026-12", "total_cost_dumont": 4, "total_cost_aws": 40, "savings_vs_aws": 36}]}}`, nil},
		answer{200, `{"success": true, "data": {"period": "year", "breakdown_by_gpu": []}}`, nil},
		answer{200, `{"success": true, "data": {"gpu_type": "RTX_4090", "dumont_hourly": 0.4, "aws_hourly": 4.1, "gcp_hourly": null,
			"azure_hourly": null, "savings_per_hour": 3.7, "savings_percent": 90.2, "aws_instance_type": "g5.xlarge",
			"gcp_instance_type": null, "azure_instance_type": null, "why": "the nearest GPU", "source_date": "2026-11-01"}}`, nil},
	)
	summary, err := client.Savings.Summary(PeriodWeek)
	if err != nil || summary.TotalCostGCP != 35 || summary.AutoHibernateHours != 5 || summary.BreakdownByGPU[0].Savings != 36 {
		t.Fatalf("summary %+v, %v", summary, err)
	}
	history, err := client.Savings.History(3)
	if err != nil || len(history.History) != 1 || history.History[0].Month != "2026-12" {
		t.Fatalf("history %+v, %v", history, err)
	}
	breakdown, err := client.Savings.Breakdown(PeriodYear)
	if err != nil || breakdown.Period != "year" || len(breakdown.BreakdownByGPU) != 0 {
		t.Fatalf("breakdown %+v, %v", breakdown, err)
	}
	comparison, err := client.Savings.Comparison("RTX 4090")
	if err != nil || *comparison.AWSHourly != 4.1 || comparison.GCPHourly != nil || *comparison.AWSInstanceType != "g5.xlarge" {
		t.Fatalf("comparison %+v, %v", comparison, err)
	}
	want := []string{"/api/v1/savings/summary?period=week", "/api/v1/savings/history?months=3",
		"/api/v1/savings/breakdown?period=year", "/api/v1/savings/comparison/RTX 4090?"}
	for i, got := range *requests {
		if asked := got.path + "?" + got.query; asked != want[i] {
			t.Fatalf("request %d asked %s, not %s", i, asked, want[i])
		}
	}
}

package dumont

import "testing"

func TestBillingHistoryFiltersByDayAndInstanceAndReadsTheTotals(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"data": [{"kind": "charge", "date": "2026-12-01", "amount": -1.2, "instance_id": "inst_1",
		"gpu_type": "RTX_4090", "num_gpus": 1, "hours": 3, "price_per_hour": 0.4}, {"kind": "credit", "date": "2026-11-30", "amount": 50,
		"source": "payment", "payment_id": "pay_1"}], "meta": {"page": 1, "per_page": 2, "total": 3, "total_charged": 1.2, "total_credited": 50}}`, nil})
	page, err := client.Billing.History(&BillingHistoryInput{ListOptions: ListOptions{PerPage: 2}, Since: "2026-11-01", InstanceID: "inst_1"})
	if err != nil || len(page.Data) != 2 || page.Meta.TotalCredited != 50 || page.Meta.Total != 3 || !page.HasNextPage() {
		t.Fatalf("page %+v, %v", page, err)
	}
	if charge := page.Data[0]; *charge.Hours != 3 || charge.Source != nil || *page.Data[1].Source != "payment" {
		t.Fatalf("lines %+v", page.Data)
	}
	if query := (*requests)[0].query; query != "instance_id=inst_1&per_page=2&since=2026-11-01" {
		t.Fatalf("asked %q", query)
	}
}

func TestBillingHistoryAllWalksEveryPage(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{200, `{"data": [{"kind": "charge", "date": "2026-12-01", "amount": -1}], "meta": {"page": 1, "per_page": 1, "total": 2, "total_charged": 2, "total_credited": 0}}`, nil},
		answer{200, `{"data": [{"kind": "storage", "date": "2026-11-30", "amount": -1, "gb_months": 2}], "meta": {"page": 2, "per_page": 1, "total": 2, "total_charged": 2, "total_credited": 0}}`, nil},
	)
	lines, err := client.Billing.HistoryAll(&BillingHistoryInput{ListOptions: ListOptions{PerPage: 1}})
	if err != nil || len(lines) != 2 || lines[1].Kind != "storage" || *lines[1].GBMonths != 2 || len(*requests) != 2 {
		t.Fatalf("lines %+v, %v", lines, err)
	}
}

func TestAddingCreditsSendsTheAmountOnceWithAnIdempotencyKeyAndReadsTheCheckout(t *testing.T) {
	client, requests := fakeAPI(t, answer{201, `{"success": true, "data": {"payment_id": "pay_1", "amount": 50, "status": "pending",
		"balance": null, "checkout_url": "https://checkout.example.com/pay_1"}}`, nil})
	receipt, err := client.Billing.AddCredits(50)
	if err != nil || receipt.PaymentID != "pay_1" || receipt.Balance != nil || *receipt.CheckoutURL == "" {
		t.Fatalf("receipt %+v, %v", receipt, err)
	}
	sent := (*requests)[0]
	if sent.path != "/api/v1/billing/add-credits" || len(sent.body) != 1 || sent.body["amount"] != 50.0 || sent.header.Get("Idempotency-Key") == "" {
		t.Fatalf("sent %s %v %v", sent.path, sent.body, sent.header)
	}
}

func TestALowBalanceThresholdIsSetAndGoesBackToTheDefaultWithNil(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{200, `{"success": true, "data": {"low_balance_threshold": 25, "default_threshold": false}}`, nil},
		answer{200, `{"success": true, "data": {"low_balance_threshold": 10, "default_threshold": true}}`, nil})
	threshold := 25.0
	set, err := client.Billing.SetLowBalanceThreshold(&threshold)
	if err != nil || set.LowBalanceThreshold != 25 || set.DefaultThreshold {
		t.Fatalf("settings %+v, %v", set, err)
	}
	reset, err := client.Billing.SetLowBalanceThreshold(nil)
	if err != nil || !reset.DefaultThreshold {
		t.Fatalf("settings %+v, %v", reset, err)
	}
	first, second := (*requests)[0], (*requests)[1]
	if first.method != "PATCH" || first.path != "/api/v1/billing/settings" || first.body["low_balance_threshold"] != 25.0 {
		t.Fatalf("sent %s %s %v", first.method, first.path, first.body)
	}
	if value, present := second.body["low_balance_threshold"]; !present || value != nil {
		t.Fatalf("sent %v", second.body)
	}
}

func TestAGrantSendsTheTeamTheAmountAndTheNoteAndReadsTheNewBalance(t *testing.T) {
	client, requests := fakeAPI(t, answer{201, `{"success": true, "data": {"payment_id": "grant_1", "amount": 500, "status": "completed",
		"balance": 510, "checkout_url": null}}`, nil})
	receipt, err := client.Billing.Grant(&GrantInput{TeamID: "team_1", Amount: 500, Note: "pilot budget"})
	if err != nil || receipt.Status != "completed" || *receipt.Balance != 510 || receipt.CheckoutURL != nil {
		t.Fatalf("receipt %+v, %v", receipt, err)
	}
	sent := (*requests)[0]
	if sent.method != "POST" || sent.path != "/api/v1/billing/grants" || len(sent.body) != 3 ||
		sent.body["team_id"] != "team_1" || sent.body["amount"] != 500.0 || sent.body["note"] != "pilot budget" {
		t.Fatalf("sent %s %s %v", sent.method, sent.path, sent.body)
	}
}

func TestAGrantWithoutANoteSendsNoneAndAnUnknownTeamIsNotFound(t *testing.T) {
	client, requests := fakeAPI(t, answer{404, `{"success": false, "error": {"code": "TEAM_NOT_FOUND", "message": "no such team"}}`, nil})
	_, err := client.Billing.Grant(&GrantInput{TeamID: "team_x", Amount: 5})
	if !IsNotFound(err) {
		t.Fatalf("got %v", err)
	}
	if body := (*requests)[0].body; len(body) != 2 {
		t.Fatalf("sent %v", body)
	}
}

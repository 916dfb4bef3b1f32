package dumont

import "testing"

const deliveryBody = `{"id": "dlv_2", "webhook_id": "wh_1", "event": "webhook.test", "status": "delivered", "attempts": 1,
	"response_code": 200, "latency_ms": 12.5, "created_at": "2026-12-01T00:00:00Z", "last_attempt_at": "2026-12-01T00:00:01Z",
	"next_attempt_at": null, "error": null, "redelivery_of": "dlv_1"}`

func TestAWebhookUpdateSendsOnlyTheFieldsThatChange(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"success": true, "data": {"id": "wh_1", "url": "https://example.com/new",
		"events": ["*"], "enabled": true, "created_at": "2026-12-01T00:00:00Z", "failing_since": null, "disabled_reason": null}}`, nil})
	enabled := true
	webhook, err := client.Webhooks.Update("wh_1", &UpdateWebhookInput{URL: "https://example.com/new", Enabled: &enabled})
	if err != nil || webhook.URL != "https://example.com/new" || !webhook.Enabled || webhook.DisabledReason != nil {
		t.Fatalf("webhook %+v, %v", webhook, err)
	}
	sent := (*requests)[0]
	if sent.method != "PATCH" || sent.path != "/api/v1/webhooks/wh_1" || len(sent.body) != 2 || sent.body["enabled"] != true {
		t.Fatalf("sent %s %s %v", sent.method, sent.path, sent.body)
	}
}

func TestAWebhookIsTestedItsDeliveriesListedAndOneRedelivered(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{202, `{"success": true, "data": ` + deliveryBody + `}`, nil},
		answer{200, `{"success": true, "data": [` + deliveryBody + `]}`, nil},
		answer{202, `{"success": true, "data": ` + deliveryBody + `}`, nil},
	)
	tested, err := client.Webhooks.Test("wh_1")
	if err != nil || tested.Status != "delivered" || *tested.ResponseCode != 200 || tested.NextAttemptAt != nil {
		t.Fatalf("tested %+v, %v", tested, err)
	}
	deliveries, err := client.Webhooks.Deliveries("wh_1", 10)
	if err != nil || len(deliveries) != 1 || *deliveries[0].LatencyMS != 12.5 {
		t.Fatalf("deliveries %+v, %v", deliveries, err)
	}
	again, err := client.Webhooks.Redeliver("wh_1", "dlv_1")
	if err != nil || *again.RedeliveryOf != "dlv_1" {
		t.Fatalf("redelivered %+v, %v", again, err)
	}
	want := []string{"POST /api/v1/webhooks/wh_1/test?", "GET /api/v1/webhooks/wh_1/deliveries?limit=10",
		"POST /api/v1/webhooks/wh_1/deliveries/dlv_1/redeliver?"}
	for i, got := range *requests {
		if asked := got.method + " " + got.path + "?" + got.query; asked != want[i] {
			t.Fatalf("request %d was %s, not %s", i, asked, want[i])
		}
	}
}

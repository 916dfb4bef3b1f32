package dumont

import "testing"

func TestHibernationHistoryAsksForTheDaysAndTellsAStillHibernatedInstanceApart(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"events": [{"instance_id": "inst_2", "timestamp": "2026-12-01T10:00:00Z",
		"reason": "idle", "automatic": true, "savings_per_hour": 0.4, "woke_at": null, "deleted_at": null, "saved": 2},
		{"instance_id": "inst_1", "timestamp": "2026-11-30T10:00:00Z", "reason": "manual", "savings_per_hour": 0.5,
		"woke_at": "2026-11-30T14:00:00Z", "deleted_at": null, "saved": 2}], "total_savings": 4}`, nil})
	history, err := client.Instances.HibernationHistory(30)
	if err != nil || len(history.Events) != 2 || history.TotalSavings != 4 {
		t.Fatalf("history %+v, %v", history, err)
	}
	asleep, woken := history.Events[0], history.Events[1]
	if !asleep.Automatic || asleep.WokeAt != nil || woken.Automatic || woken.WokeAt.Hour() != 14 || woken.Saved != 2 {
		t.Fatalf("events %+v", history.Events)
	}
	if got := (*requests)[0]; got.method != "GET" || got.path != "/api/metrics/hibernation/events" || got.query != "days=30" {
		t.Fatalf("asked %s %s?%s", got.method, got.path, got.query)
	}
}

func TestHibernationHistoryWithoutDaysLeavesTheAPIsDefault(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"events": [], "total_savings": 0}`, nil})
	history, err := client.Instances.HibernationHistory(0)
	if err != nil || len(history.Events) != 0 {
		t.Fatalf("history %+v, %v", history, err)
	}
	if query := (*requests)[0].query; query != "" {
		t.Fatalf("asked %q", query)
	}
}

package dumont

import "testing"

func serverlessAnswer(enabled, state string) answer {
	return answer{200, `{"success": true, "data": {"instance_id": "inst_1", "enabled": ` + enabled + `, "idle_timeout_minutes": 15,
		"gpu_threshold": 5, "state": ` + state + `, "gpu_utilization": null, "last_heartbeat": "2026-01-02T00:00:00Z"}}`, nil}
}

func TestServerlessIsPausedResumedAndDisabledOnItsRoutes(t *testing.T) {
	client, requests := fakeAPI(t,
		serverlessAnswer("true", `"hibernating"`), serverlessAnswer("true", `"waking"`), serverlessAnswer("false", "null"))
	paused, err := client.Serverless.Pause("inst_1")
	if err != nil || paused.State == nil || *paused.State != "hibernating" || paused.LastHeartbeat == nil {
		t.Fatalf("paused %+v, %v", paused, err)
	}
	resumed, err := client.Serverless.Resume("inst_1")
	if err != nil || *resumed.State != "waking" {
		t.Fatalf("resumed %+v, %v", resumed, err)
	}
	disabled, err := client.Serverless.Disable("inst_1")
	if err != nil || disabled.Enabled || disabled.State != nil {
		t.Fatalf("disabled %+v, %v", disabled, err)
	}
	want := []string{"/api/v1/serverless/pause/inst_1", "/api/v1/serverless/resume/inst_1", "/api/v1/serverless/disable"}
	for i, got := range *requests {
		if got.method != "POST" || got.path != want[i] {
			t.Fatalf("request %d was %s %s, not POST %s", i, got.method, got.path, want[i])
		}
	}
	if body := (*requests)[2].body; len(body) != 1 || body["instance_id"] != "inst_1" {
		t.Fatalf("disabled with %v", body)
	}
}

func TestServerlessEnableSendsOnlyTheSettingsGivenAndReadsTheStatus(t *testing.T) {
	client, requests := fakeAPI(t, serverlessAnswer("true", `"active"`))
	status, err := client.Serverless.Enable("inst_1", 0.5, 0)
	if err != nil || !status.Enabled || *status.IdleTimeoutMinutes != 15 || *status.GPUThreshold != 5 {
		t.Fatalf("status %+v, %v", status, err)
	}
	if body := (*requests)[0].body; len(body) != 2 || body["idle_timeout_minutes"] != 0.5 {
		t.Fatalf("enabled with %v", body)
	}
}

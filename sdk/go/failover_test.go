package dumont

import "testing"

const failoverStatusBody = `{"success": true, "data": {"instance_id": "inst_1", "enabled": true, "strategy": "cpu_standby",
	"checkpoint_interval_minutes": 10, "status": "protected", "running_on": "gpu", "last_checkpoint_id": "snap_1",
	"last_checkpoint_at": "2026-01-02T00:00:00Z", "data_at_risk_seconds": 42.5, "data_at_risk_bytes": 1024, "last_failover": null,
	"standby": {"kind": "cpu_standby", "provider": "gcp", "machine_id": "m-1", "state": "ready", "region": "us-east",
		"ip_address": null, "ssh_port": null, "gpu_name": null, "cost_per_hour": 0.01, "running_cost_per_hour": null,
		"synced_snapshot_id": "snap_1", "synced_at": null, "since": null},
	"history": [{"started_at": "2026-01-01T00:00:00Z", "reason": "drill", "strategy": "snapshot", "snapshot_id": "snap_0",
		"outcome": "completed", "recovered_after_seconds": 31.0}]}}`

func TestFailoverIsConfiguredWithAStrategyAndTheAnswerSaysWhatIsAtRisk(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, failoverStatusBody, nil})
	status, err := client.Failover.Configure(&ConfigureFailoverInput{InstanceID: "inst_1", Enabled: true, Strategy: FailoverCPUStandby, CheckpointIntervalMinutes: 10})
	if err != nil || !status.Enabled || *status.Strategy != "cpu_standby" || *status.DataAtRiskSeconds != 42.5 {
		t.Fatalf("status %+v, %v", status, err)
	}
	if status.Standby == nil || status.Standby.Provider != "gcp" || len(status.History) != 1 || *status.History[0].RecoveredAfterSeconds != 31 {
		t.Fatalf("standby %+v, history %+v", status.Standby, status.History)
	}
	sent := (*requests)[0]
	if sent.path != "/api/v1/failover/configure" || len(sent.body) != 4 || sent.body["strategy"] != "cpu_standby" || sent.body["checkpoint_interval_minutes"] != 10.0 {
		t.Fatalf("sent %s %v", sent.path, sent.body)
	}
}

func TestFailoverTurnedOffSendsEnabledFalse(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, failoverStatusBody, nil})
	if _, err := client.Failover.Configure(&ConfigureFailoverInput{InstanceID: "inst_1"}); err != nil {
		t.Fatal(err)
	}
	if body := (*requests)[0].body; len(body) != 2 || body["enabled"] != false {
		t.Fatalf("sent %v", body)
	}
}

func TestAFailoverIsTriggeredOnTheInstancesRouteAndItsStatusIsRead(t *testing.T) {
	client, requests := fakeAPI(t, answer{202, failoverStatusBody, nil}, answer{200, failoverStatusBody, nil})
	if _, err := client.Failover.Trigger("inst_1"); err != nil {
		t.Fatal(err)
	}
	status, err := client.Failover.Status("inst_1")
	if err != nil || status.RunningOn == nil || *status.RunningOn != "gpu" || status.LastFailover != nil {
		t.Fatalf("status %+v, %v", status, err)
	}
	if got := (*requests)[0]; got.method != "POST" || got.path != "/api/v1/failover/trigger/inst_1" {
		t.Fatalf("triggered with %s %s", got.method, got.path)
	}
}

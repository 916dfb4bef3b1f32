package dumont

import (
	"testing"
	"time"
)

func TestAnInstancesDetailIsTypedDownToItsSettingsAndMetrics(t *testing.T) {
	client, _ := fakeAPI(t, answer{200, `{"success": true, "data": {"id": "inst_1", "name": null, "gpu_type": "RTX_4090", "gpu": "RTX 4090",
		"status": "running", "ip_address": "1.2.3.4", "ip": "1.2.3.4", "ssh_port": 22, "created_at": "2026-12-01T00:00:00Z",
		"cost_per_hour": 0.4, "region": "us-east", "gpu_name": "RTX 4090", "gpu_memory_gb": 24, "num_gpus": 1, "image": "pytorch",
		"disk_gb": 50, "uptime_seconds": 3600, "cost_accumulated": 0.4, "host_reliability_score": 4.5, "running_on": "gpu",
		"provider": {"name": "vast", "instance_id": "987"}, "failover": {"enabled": true, "strategy": "snapshot", "last_failover": null},
		"serverless": {"enabled": false, "idle_timeout_minutes": null, "gpu_threshold": null, "state": null},
		"metrics": {"gpu_utilization": 87.5, "gpu_memory_used_gb": 20, "gpu_temperature": 70, "cpu_utilization": null,
			"ram_used_gb": null, "disk_used_gb": 10}}}`, nil})
	instance, err := client.Instances.Get("inst_1")
	if err != nil || instance.UptimeSeconds != 3600 || *instance.RunningOn != "gpu" || *instance.HostReliabilityScore != 4.5 {
		t.Fatalf("instance %+v, %v", instance, err)
	}
	if instance.Provider.Name != "vast" || !instance.Failover.Enabled || *instance.Failover.Strategy != "snapshot" ||
		instance.Serverless.Enabled || instance.Serverless.State != nil {
		t.Fatalf("provider %+v, failover %+v, serverless %+v", instance.Provider, instance.Failover, instance.Serverless)
	}
	if *instance.Metrics.GPUUtilization != 87.5 || instance.Metrics.CPUUtilization != nil {
		t.Fatalf("metrics %+v", instance.Metrics)
	}
}

func TestHibernateAndWakeAnswerWhatTheyStarted(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{200, `{"message": "Hibernating", "status": "hibernating", "snapshot_id": "snap_1", "savings_per_hour": 0.4}`, nil},
		answer{200, `{"message": "Waking", "status": "waking", "estimated_ready": "2026-12-01T00:01:00Z"}`, nil},
	)
	hibernation, err := client.Instances.Hibernate("inst_1")
	if err != nil || hibernation.SnapshotID != "snap_1" || hibernation.SavingsPerHour != 0.4 {
		t.Fatalf("hibernation %+v, %v", hibernation, err)
	}
	waking, err := client.Instances.Wake("inst_1")
	if err != nil || waking.Status != "waking" || !waking.EstimatedReady.Equal(time.Date(2026, 12, 1, 0, 1, 0, 0, time.UTC)) {
		t.Fatalf("waking %+v, %v", waking, err)
	}
	if (*requests)[0].path != "/api/instances/inst_1/hibernate" || (*requests)[1].path != "/api/instances/inst_1/wake" {
		t.Fatalf("asked %s and %s", (*requests)[0].path, (*requests)[1].path)
	}
}

func TestARestoreAnswersTheSnapshotBeingRestored(t *testing.T) {
	client, requests := fakeAPI(t, answer{202, `{"success": true, "data": {"id": "snap_1", "instance_id": "inst_1", "name": null,
		"status": "completed", "status_reason": null, "purpose": "hibernate", "compression": "lz4", "size_bytes": 1000, "size_gb": 0.000001,
		"stored_bytes": 400, "uploaded_bytes": 100, "compression_ratio": 2.5, "upload_speed_mb_per_second": 80, "file_count": 3,
		"created_at": "2026-12-01T00:00:00Z", "completed_at": "2026-12-01T00:00:05Z"}}`, nil})
	snapshot, err := client.Snapshots.Restore("snap_1", "inst_2")
	if err != nil || snapshot.Purpose != "hibernate" || *snapshot.StoredBytes != 400 || *snapshot.FileCount != 3 {
		t.Fatalf("snapshot %+v, %v", snapshot, err)
	}
	if sent := (*requests)[0]; sent.path != "/api/v1/snapshots/snap_1/restore" || sent.body["instance_id"] != "inst_2" {
		t.Fatalf("sent %s %v", sent.path, sent.body)
	}
}

package dumont

import (
	"testing"
	"time"
)

func TestAnInstancesEventsLogsAndMetricsAreRead(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{200, `{"success": true, "data": {"instance_id": "inst_1", "events": [{"type": "instance.created", "timestamp": "2026-12-01T00:00:00Z", "details": {"gpu_type": "RTX_4090"}}]}}`, nil},
		answer{200, `{"success": true, "data": {"instance_id": "inst_1", "lines": [{"timestamp": "2026-12-01T00:00:01Z", "message": "ready"}]}}`, nil},
		answer{200, `{"success": true, "instance_id": "inst_1", "period": "1h", "data": [{"timestamp": "2026-12-01T00:01:00Z", "gpu_utilization": 90}]}`, nil},
	)
	events, err := client.Instances.Events("inst_1")
	if err != nil || len(events) != 1 || events[0].Type != "instance.created" || events[0].Details["gpu_type"] != "RTX_4090" {
		t.Fatalf("events %+v, %v", events, err)
	}
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	lines, err := client.Instances.Logs("inst_1", &LogsInput{Lines: 10, Since: since})
	if err != nil || len(lines) != 1 || lines[0].Message != "ready" {
		t.Fatalf("lines %+v, %v", lines, err)
	}
	series, err := client.Instances.Metrics("inst_1", &MetricsInput{Period: "1h", Metrics: []string{"gpu_util", "cpu"}})
	if err != nil || series.Period != "1h" || len(series.Data) != 1 || *series.Data[0].GPUUtilization != 90 || series.Data[0].CPUUtilization != nil {
		t.Fatalf("series %+v, %v", series, err)
	}
	want := []string{"/api/v1/instances/inst_1/events?", "/api/v1/instances/inst_1/logs?lines=10&since=2026-12-01T00%3A00%3A00Z",
		"/api/v1/instances/inst_1/metrics?metrics=gpu_util%2Ccpu&period=1h"}
	for i, got := range *requests {
		if asked := got.path + "?" + got.query; asked != want[i] {
			t.Fatalf("request %d asked %s, not %s", i, asked, want[i])
		}
	}
}

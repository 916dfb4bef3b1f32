package dumont

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Event is something that happened to an instance (created, started, failed over…); Details
// differ by Type.
type Event struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Details   map[string]any `json:"details"`
}

// LogLine is one line the machine's agent shipped.
type LogLine struct {
	Timestamp time.Time `json:"timestamp"`
	Message   string    `json:"message"`
}

// MetricsPoint is the machine's readings at one time; a metric not asked for is nil.
type MetricsPoint struct {
	Timestamp       time.Time `json:"timestamp"`
	GPUUtilization  *float64  `json:"gpu_utilization"`
	GPUMemoryUsedGB *float64  `json:"gpu_memory_used_gb"`
	CPUUtilization  *float64  `json:"cpu_utilization"`
	RAMUsedGB       *float64  `json:"ram_used_gb"`
}

// MetricsSeries is an instance's readings over a period, oldest first.
type MetricsSeries struct {
	InstanceID string         `json:"instance_id"`
	Period     string         `json:"period"`
	Data       []MetricsPoint `json:"data"`
}

// LogsInput chooses an instance's last lines (100 when Lines is 0), from Since when it is set.
type LogsInput struct {
	Lines int
	Since time.Time
}

// MetricsInput chooses a period ("1h", "24h", "7d" or "30d"; 24h when empty) and the metrics
// (any of "gpu_util", "gpu_mem", "cpu", "ram"; all when empty).
type MetricsInput struct {
	Period  string
	Metrics []string
}

// Events lists what happened to an instance.
func (s *InstancesService) Events(id string) ([]Event, error) {
	return s.EventsWithContext(context.Background(), id)
}

// EventsWithContext is Events with a context.
func (s *InstancesService) EventsWithContext(ctx context.Context, id string) ([]Event, error) {
	var answer struct {
		Events []Event `json:"events"`
	}
	err := s.client.call(ctx, request{method: "GET", path: instancePath(id, "/events")}, &answer)
	return answer.Events, err
}

// Logs reads the last lines of an instance's logs.
func (s *InstancesService) Logs(id string, input *LogsInput) ([]LogLine, error) {
	return s.LogsWithContext(context.Background(), id, input)
}

// LogsWithContext is Logs with a context.
func (s *InstancesService) LogsWithContext(ctx context.Context, id string, input *LogsInput) ([]LogLine, error) {
	if input == nil {
		input = &LogsInput{}
	}
	lines, since := "", ""
	if input.Lines > 0 {
		lines = strconv.Itoa(input.Lines)
	}
	if !input.Since.IsZero() {
		since = input.Since.UTC().Format(time.RFC3339)
	}
	var answer struct {
		Lines []LogLine `json:"lines"`
	}
	req := request{method: "GET", path: instancePath(id, "/logs"), query: queryOf("lines", lines, "since", since)}
	err := s.client.call(ctx, req, &answer)
	return answer.Lines, err
}

// Metrics reads an instance's GPU, CPU and memory readings over a period.
func (s *InstancesService) Metrics(id string, input *MetricsInput) (*MetricsSeries, error) {
	return s.MetricsWithContext(context.Background(), id, input)
}

// MetricsWithContext is Metrics with a context.
func (s *InstancesService) MetricsWithContext(ctx context.Context, id string, input *MetricsInput) (*MetricsSeries, error) {
	if input == nil {
		input = &MetricsInput{}
	}
	query := queryOf("period", input.Period, "metrics", strings.Join(input.Metrics, ","))
	raw, err := s.client.send(ctx, request{method: "GET", path: instancePath(id, "/metrics"), query: query})
	if err != nil {
		return nil, err
	}
	// The series carries its points as `data` beside its own fields, so it is read whole.
	series := &MetricsSeries{}
	if err := json.Unmarshal(raw, series); err != nil {
		return nil, &Error{Code: "DECODE_ERROR", Message: "could not read the answer: " + err.Error()}
	}
	return series, nil
}

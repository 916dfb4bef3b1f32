package dumont

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Instance is a rented GPU machine, as the API describes it. Get, the actions and Delete answer every
// field; List answers ID, Name, GPUType, GPU, Status, IPAddress, IP, SSHPort, CreatedAt, CostPerHour
// and Region, and leaves the others empty.
type Instance struct {
	ID      string  `json:"id"`
	Name    *string `json:"name"`
	GPUType string  `json:"gpu_type"`
	// GPU is the GPU as people write it ("RTX 4090"); GPUType is its id ("RTX_4090").
	GPU          string  `json:"gpu"`
	GPUName      string  `json:"gpu_name"`
	NumGPUs      int     `json:"num_gpus"`
	Status       string  `json:"status"`
	StatusReason *string `json:"status_reason"`
	IPAddress    *string `json:"ip_address"`
	// IP is the same as IPAddress.
	IP              *string    `json:"ip"`
	SSHPort         *int       `json:"ssh_port"`
	SSHCommand      *string    `json:"ssh_command"`
	JupyterURL      *string    `json:"jupyter_url"`
	Region          *string    `json:"region"`
	Image           string     `json:"image"`
	DiskGB          int        `json:"disk_gb"`
	CostPerHour     *float64   `json:"cost_per_hour"`
	CostAccumulated float64    `json:"cost_accumulated"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       *time.Time `json:"updated_at"`
	GPUMemoryGB     *float64   `json:"gpu_memory_gb"`
	// HostReliabilityScore is 0-5 (the provider's 0-1 score times 5).
	HostReliabilityScore *float64 `json:"host_reliability_score"`
	UptimeSeconds        int      `json:"uptime_seconds"`
	// RunningOn is gpu, or its standby during a failover (cpu_standby, gpu_standby); nil while it runs nowhere.
	RunningOn  *string             `json:"running_on"`
	Provider   *InstanceProvider   `json:"provider"`
	Failover   *InstanceFailover   `json:"failover"`
	Serverless *InstanceServerless `json:"serverless"`
	Metrics    *InstanceMetrics    `json:"metrics"`
}

// InstanceProvider is who rents the machine out, and its id there.
type InstanceProvider struct {
	Name       string  `json:"name"`
	InstanceID *string `json:"instance_id"`
}

// InstanceFailover is the instance's failover settings (Failover.Status tells more).
type InstanceFailover struct {
	Enabled      bool       `json:"enabled"`
	Strategy     *string    `json:"strategy"`
	LastFailover *time.Time `json:"last_failover"`
}

// InstanceServerless is the instance's serverless settings (Serverless.Status tells more).
type InstanceServerless struct {
	Enabled            bool     `json:"enabled"`
	IdleTimeoutMinutes *float64 `json:"idle_timeout_minutes"`
	GPUThreshold       *float64 `json:"gpu_threshold"`
	State              *string  `json:"state"`
}

// InstanceMetrics is what the machine's agent last reported; nil until it has.
type InstanceMetrics struct {
	GPUUtilization  *float64 `json:"gpu_utilization"`
	GPUMemoryUsedGB *float64 `json:"gpu_memory_used_gb"`
	GPUTemperature  *float64 `json:"gpu_temperature"`
	CPUUtilization  *float64 `json:"cpu_utilization"`
	RAMUsedGB       *float64 `json:"ram_used_gb"`
	DiskUsedGB      *float64 `json:"disk_used_gb"`
}

// Hibernation is a hibernate under way: the workspace goes to SnapshotID, then the machine is given back.
type Hibernation struct {
	Message    string `json:"message"`
	Status     string `json:"status"`
	SnapshotID string `json:"snapshot_id"`
	// SavingsPerHour is what the machine costs an hour, not billed once hibernated.
	SavingsPerHour float64 `json:"savings_per_hour"`
}

// Waking is a wake under way: a new machine, the same workspace, by EstimatedReady.
type Waking struct {
	Message        string    `json:"message"`
	Status         string    `json:"status"`
	EstimatedReady time.Time `json:"estimated_ready"`
}

// CreatedInstance is what a create answers: the machine is being rented.
type CreatedInstance struct {
	ID                    string `json:"id"`
	Status                string `json:"status"`
	EstimatedReadySeconds int    `json:"estimated_ready_seconds"`
}

// CreateInstanceInput describes a new instance. The API takes any common spelling: "RTX 4090",
// "RTX_4090" or "RTX4090"; "US-East" or "us-east".
type CreateInstanceInput struct {
	GPUType          string `json:"gpu_type"`
	Region           string `json:"region,omitempty"`
	Image            string `json:"image,omitempty"`
	DiskGB           int    `json:"disk_gb,omitempty"`
	NumGPUs          int    `json:"num_gpus,omitempty"`
	Name             string `json:"name,omitempty"`
	FailoverEnabled  bool   `json:"failover_enabled,omitempty"`
	FailoverStrategy string `json:"failover_strategy,omitempty"`
	SSHKey           string `json:"ssh_key,omitempty"`
	AutoHibernate    bool   `json:"auto_hibernate,omitempty"`
	// IdempotencyKey makes a retried create rent one machine; a random one when empty.
	IdempotencyKey string `json:"-"`
}

// ListInstancesInput filters and pages a list of instances.
type ListInstancesInput struct {
	ListOptions
	Status  string
	GPUType string
}

func (in *ListInstancesInput) query() url.Values {
	query := url.Values{}
	if in == nil {
		return query
	}
	if in.Status != "" {
		query.Set("status", in.Status)
	}
	if in.GPUType != "" {
		query.Set("gpu_type", in.GPUType)
	}
	return in.ListOptions.apply(query)
}

// InstancesService rents, lists, changes and destroys instances.
type InstancesService struct{ client *Client }

func instancePath(id string, action string) string {
	return "/api/v1/instances/" + url.PathEscape(id) + action
}

// Create rents a machine; the instance starts "starting".
func (s *InstancesService) Create(input *CreateInstanceInput) (*CreatedInstance, error) {
	return s.CreateWithContext(context.Background(), input)
}

// CreateWithContext is Create with a context.
func (s *InstancesService) CreateWithContext(ctx context.Context, input *CreateInstanceInput) (*CreatedInstance, error) {
	if input == nil {
		input = &CreateInstanceInput{}
	}
	key := input.IdempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	created := &CreatedInstance{}
	req := request{method: "POST", path: "/api/v1/instances", body: input, idempotencyKey: key}
	return created, s.client.call(ctx, req, created)
}

// Get reads one instance.
func (s *InstancesService) Get(id string) (*Instance, error) {
	return s.GetWithContext(context.Background(), id)
}

// GetWithContext is Get with a context.
func (s *InstancesService) GetWithContext(ctx context.Context, id string) (*Instance, error) {
	return s.change(ctx, "GET", id, "")
}

// List reads one page of instances.
func (s *InstancesService) List(input *ListInstancesInput) (*Page[Instance], error) {
	return s.ListWithContext(context.Background(), input)
}

// ListWithContext is List with a context.
func (s *InstancesService) ListWithContext(ctx context.Context, input *ListInstancesInput) (*Page[Instance], error) {
	return listPage[Instance](ctx, s.client, "/api/v1/instances", input.query())
}

// ListAll reads every page of instances.
func (s *InstancesService) ListAll(input *ListInstancesInput) ([]Instance, error) {
	return s.ListAllWithContext(context.Background(), input)
}

// ListAllWithContext is ListAll with a context.
func (s *InstancesService) ListAllWithContext(ctx context.Context, input *ListInstancesInput) ([]Instance, error) {
	return listAll[Instance](ctx, s.client, "/api/v1/instances", input.query())
}

func (s *InstancesService) change(ctx context.Context, method, id, action string) (*Instance, error) {
	instance := &Instance{}
	return instance, s.client.call(ctx, request{method: method, path: instancePath(id, action)}, instance)
}

// Start starts a stopped instance.
func (s *InstancesService) Start(id string) (*Instance, error) {
	return s.StartWithContext(context.Background(), id)
}

// StartWithContext is Start with a context.
func (s *InstancesService) StartWithContext(ctx context.Context, id string) (*Instance, error) {
	return s.change(ctx, "POST", id, "/start")
}

// Stop stops a running instance.
func (s *InstancesService) Stop(id string) (*Instance, error) {
	return s.StopWithContext(context.Background(), id)
}

// StopWithContext is Stop with a context.
func (s *InstancesService) StopWithContext(ctx context.Context, id string) (*Instance, error) {
	return s.change(ctx, "POST", id, "/stop")
}

// Reboot reboots a running instance.
func (s *InstancesService) Reboot(id string) (*Instance, error) {
	return s.RebootWithContext(context.Background(), id)
}

// RebootWithContext is Reboot with a context.
func (s *InstancesService) RebootWithContext(ctx context.Context, id string) (*Instance, error) {
	return s.change(ctx, "POST", id, "/reboot")
}

// Delete destroys the machine at the provider; the instance ends "deleted".
func (s *InstancesService) Delete(id string) (*Instance, error) {
	return s.DeleteWithContext(context.Background(), id)
}

// DeleteWithContext is Delete with a context.
func (s *InstancesService) DeleteWithContext(ctx context.Context, id string) (*Instance, error) {
	return s.change(ctx, "DELETE", id, "")
}

// Hibernate snapshots the workspace, then gives the machine back; nothing is billed while hibernated.
func (s *InstancesService) Hibernate(id string) (*Hibernation, error) {
	return s.HibernateWithContext(context.Background(), id)
}

// HibernateWithContext is Hibernate with a context.
func (s *InstancesService) HibernateWithContext(ctx context.Context, id string) (*Hibernation, error) {
	hibernation := &Hibernation{}
	path := "/api/instances/" + url.PathEscape(id) + "/hibernate"
	return hibernation, s.client.call(ctx, request{method: "POST", path: path}, hibernation)
}

// Wake rents a new machine and restores the workspace onto it.
func (s *InstancesService) Wake(id string) (*Waking, error) {
	return s.WakeWithContext(context.Background(), id)
}

// WakeWithContext is Wake with a context.
func (s *InstancesService) WakeWithContext(ctx context.Context, id string) (*Waking, error) {
	waking := &Waking{}
	path := "/api/instances/" + url.PathEscape(id) + "/wake"
	return waking, s.client.call(ctx, request{method: "POST", path: path}, waking)
}

// WaitUntilReady polls every interval until the instance runs; a failed instance is an error.
// The context bounds the wait.
func (s *InstancesService) WaitUntilReady(ctx context.Context, id string, interval time.Duration) (*Instance, error) {
	for {
		instance, err := s.GetWithContext(ctx, id)
		if err != nil {
			return nil, err
		}
		switch instance.Status {
		case "running":
			return instance, nil
		case "failed", "deleting", "deleted":
			reason := "no reason given"
			if instance.StatusReason != nil {
				reason = *instance.StatusReason
			}
			return instance, &Error{Code: "INSTANCE_FAILED", Message: fmt.Sprintf("%s is %s: %s", id, instance.Status, reason)}
		}
		select {
		case <-ctx.Done():
			return instance, &Error{Code: CodeTimeout, Message: fmt.Sprintf("%s still %s: %v", id, instance.Status, ctx.Err())}
		case <-time.After(interval):
		}
	}
}

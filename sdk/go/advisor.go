package dumont

import "context"

// RecommendGPUInput is the job to find a GPU for. Task is written as a person writes it ("fine-tune
// llama2-7b", "inference mixtral 8x7b"); DatasetSize ("50GB") gives a time and a cost; BudgetPerHour,
// when set, caps the price.
type RecommendGPUInput struct {
	Task          string   `json:"task"`
	DatasetSize   string   `json:"dataset_size,omitempty"`
	BudgetPerHour *float64 `json:"budget_per_hour,omitempty"`
}

// GPUChoice is a machine on the market that fits the job, and the time and cost of one pass over the
// dataset (nil without a DatasetSize).
type GPUChoice struct {
	GPU            string   `json:"gpu"`
	GPUType        string   `json:"gpu_type"`
	NumGPUs        int      `json:"num_gpus"`
	OfferID        int      `json:"offer_id"`
	PricePerHour   float64  `json:"price_per_hour"`
	EstimatedHours *float64 `json:"estimated_hours"`
	EstimatedTime  *string  `json:"estimated_time"`
	TotalCost      *string  `json:"total_cost"`
}

// GPUAdvice is the GPU to rent for a job, why, and the alternatives. RecommendedGPU and Recommendation
// are nil when nothing on the market fits the budget; Reasoning says why.
type GPUAdvice struct {
	RecommendedGPU *string    `json:"recommended_gpu"`
	Recommendation *GPUChoice `json:"recommendation"`
	Reasoning      string     `json:"reasoning"`
	EstimatedTime  *string    `json:"estimated_time"`
	TotalCost      *string    `json:"total_cost"`
	MemoryNeededGB float64    `json:"memory_needed_gb"`
	// MemoryRule writes out how the memory was estimated.
	MemoryRule string `json:"memory_rule"`
	// Understood is what was read from the task: each value a string or a number (float64).
	Understood   map[string]any `json:"understood"`
	Alternatives []GPUChoice    `json:"alternatives"`
}

// AdvisorService finds the GPU that does a job for the least money.
type AdvisorService struct{ client *Client }

// RecommendGPU picks, from the offers on the market now, the machine that does the job for the least.
// A task it cannot read is a validation error saying what it understood.
func (s *AdvisorService) RecommendGPU(input *RecommendGPUInput) (*GPUAdvice, error) {
	return s.RecommendGPUWithContext(context.Background(), input)
}

// RecommendGPUWithContext is RecommendGPU with a context.
func (s *AdvisorService) RecommendGPUWithContext(ctx context.Context, input *RecommendGPUInput) (*GPUAdvice, error) {
	if input == nil {
		input = &RecommendGPUInput{}
	}
	advice := &GPUAdvice{}
	return advice, s.client.call(ctx, request{method: "POST", path: "/api/ai/recommend-gpu", body: input}, advice)
}

package dumont

import "testing"

func TestTheAdvisorIsSentTheJobAndAnswersTheCheapestMachineWithAlternatives(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"recommended_gpu": "RTX 4090", "reasoning": "fits at $0.34/hour",
		"estimated_time": "3h 10m", "total_cost": "$1.08", "memory_needed_gb": 20.2, "memory_rule": "7B parameters x 2 bytes",
		"understood": {"action": "fine-tune", "parameters_billions": 7},
		"recommendation": {"gpu": "RTX 4090", "gpu_type": "RTX_4090", "num_gpus": 1, "offer_id": 42, "price_per_hour": 0.34,
			"estimated_hours": 3.17, "estimated_time": "3h 10m", "total_cost": "$1.08"},
		"alternatives": [{"gpu": "A100", "gpu_type": "A100", "num_gpus": 1, "offer_id": 7, "price_per_hour": 1.1,
			"estimated_hours": 1.5, "estimated_time": "1h 30m", "total_cost": "$1.65"}]}`, nil})
	budget := 1.5
	advice, err := client.Advisor.RecommendGPU(&RecommendGPUInput{Task: "fine-tune llama2-7b", DatasetSize: "50GB", BudgetPerHour: &budget})
	if err != nil || *advice.RecommendedGPU != "RTX 4090" || advice.Recommendation.OfferID != 42 || *advice.TotalCost != "$1.08" {
		t.Fatalf("advice %+v, %v", advice, err)
	}
	if len(advice.Alternatives) != 1 || advice.Alternatives[0].PricePerHour != 1.1 || advice.Understood["parameters_billions"] != 7.0 {
		t.Fatalf("alternatives %+v, understood %v", advice.Alternatives, advice.Understood)
	}
	sent := (*requests)[0]
	if sent.method != "POST" || sent.path != "/api/ai/recommend-gpu" || len(sent.body) != 3 ||
		sent.body["task"] != "fine-tune llama2-7b" || sent.body["dataset_size"] != "50GB" || sent.body["budget_per_hour"] != 1.5 {
		t.Fatalf("sent %s %s %v", sent.method, sent.path, sent.body)
	}
}

func TestTheAdvisorSendsOnlyTheTaskAndSaysWhenNothingFitsTheBudget(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"recommended_gpu": null, "recommendation": null, "reasoning": "nothing under $0.05/hour fits",
		"estimated_time": null, "total_cost": null, "memory_needed_gb": 20.2, "memory_rule": "…", "understood": {}, "alternatives": []}`, nil})
	advice, err := client.Advisor.RecommendGPU(&RecommendGPUInput{Task: "inference mixtral 8x7b"})
	if err != nil || advice.RecommendedGPU != nil || advice.Recommendation != nil || advice.Reasoning == "" {
		t.Fatalf("advice %+v, %v", advice, err)
	}
	if body := (*requests)[0].body; len(body) != 1 || body["task"] != "inference mixtral 8x7b" {
		t.Fatalf("sent %v", body)
	}
}

func TestATaskTheAdvisorCannotReadIsAValidationError(t *testing.T) {
	client, _ := fakeAPI(t, answer{400, `{"success": false, "error": {"code": "VALIDATION_ERROR", "message": "no model size in the task",
		"details": {"fields": {"task": "no model size"}}}}`, nil})
	if _, err := client.Advisor.RecommendGPU(&RecommendGPUInput{Task: "do something"}); !IsValidation(err) {
		t.Fatalf("got %v", err)
	}
}

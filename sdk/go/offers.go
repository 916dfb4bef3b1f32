package dumont

import (
	"context"
	"net/url"
	"strconv"
)

// Offer sorts: cheapest first, cheapest per GPU, most reliable host, most GPU memory.
const (
	SortByPrice       = "price"
	SortByPricePerGPU = "price_per_gpu"
	SortByReliability = "reliability"
	SortByVRAM        = "vram"
)

// Offer is a machine a provider rents out now, in USD an hour.
type Offer struct {
	OfferID      int64   `json:"offer_id"`
	Provider     string  `json:"provider"`
	GPUType      string  `json:"gpu_type"`
	GPUName      string  `json:"gpu_name"`
	NumGPUs      int     `json:"num_gpus"`
	GPUMemoryGB  float64 `json:"gpu_memory_gb"`
	PricePerHour float64 `json:"price_per_hour"`
	// PricePerGPUHour is PricePerHour over NumGPUs.
	PricePerGPUHour float64 `json:"price_per_gpu_hour"`
	// The lowest bids the host accepts for interruptible rental; nil when it offers none.
	InterruptiblePricePerHour    *float64 `json:"interruptible_price_per_hour"`
	InterruptiblePricePerGPUHour *float64 `json:"interruptible_price_per_gpu_hour"`
	// Reliability is 0-5, from the provider's own score of the host.
	Reliability float64 `json:"reliability"`
	Region      *string `json:"region"`
	Geolocation *string `json:"geolocation"`
	DiskSpaceGB float64 `json:"disk_space_gb"`
}

// SearchOffersInput filters and sorts offers; zero values filter nothing.
type SearchOffersInput struct {
	ListOptions
	GPU            string
	Region         string
	MinGPUs        int
	MinVRAMGB      float64
	MaxPrice       float64
	MinReliability float64
	// Interruptible true keeps offers rentable as interruptible, priced at their lowest bid.
	Interruptible *bool
	// Sort is SortByPrice (the default), SortByPricePerGPU, SortByReliability or SortByVRAM.
	Sort string
}

func (in *SearchOffersInput) query() url.Values {
	if in == nil {
		return url.Values{}
	}
	number := func(value float64) string {
		if value <= 0 {
			return ""
		}
		return strconv.FormatFloat(value, 'f', -1, 64)
	}
	query := queryOf("region", in.Region, "min_vram_gb", number(in.MinVRAMGB), "max_price", number(in.MaxPrice),
		"min_reliability", number(in.MinReliability), "sort", in.Sort, "gpus", number(float64(in.MinGPUs)))
	if in.Interruptible != nil {
		query.Set("interruptible", strconv.FormatBool(*in.Interruptible))
	}
	return in.ListOptions.apply(query)
}

// OffersService lists machines for rent now.
type OffersService struct{ client *Client }

// List reads a page of offers of gpu (any GPU when empty).
func (s *OffersService) List(gpu string, options ListOptions) (*Page[Offer], error) {
	return s.ListWithContext(context.Background(), gpu, options)
}

// ListWithContext is List with a context.
func (s *OffersService) ListWithContext(ctx context.Context, gpu string, options ListOptions) (*Page[Offer], error) {
	return s.SearchWithContext(ctx, &SearchOffersInput{ListOptions: options, GPU: gpu})
}

// Search reads a page of the offers that pass every filter given.
func (s *OffersService) Search(input *SearchOffersInput) (*Page[Offer], error) {
	return s.SearchWithContext(context.Background(), input)
}

// SearchWithContext is Search with a context.
func (s *OffersService) SearchWithContext(ctx context.Context, input *SearchOffersInput) (*Page[Offer], error) {
	query := input.query()
	if input != nil && input.GPU != "" {
		query.Set("gpu", input.GPU)
	}
	return listPage[Offer](ctx, s.client, "/api/v1/offers", query)
}

// OfGPU reads a page of one GPU type's offers that pass the other filters (input.GPU is not read).
func (s *OffersService) OfGPU(gpu string, input *SearchOffersInput) (*Page[Offer], error) {
	return s.OfGPUWithContext(context.Background(), gpu, input)
}

// OfGPUWithContext is OfGPU with a context.
func (s *OffersService) OfGPUWithContext(ctx context.Context, gpu string, input *SearchOffersInput) (*Page[Offer], error) {
	return listPage[Offer](ctx, s.client, "/api/v1/offers/"+url.PathEscape(gpu), input.query())
}

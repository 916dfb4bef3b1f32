package dumont

import "testing"

const offerBody = `{"offer_id": 123456, "provider": "vast", "gpu_type": "RTX_4090", "gpu_name": "RTX 4090", "num_gpus": 2,
	"gpu_memory_gb": 24, "price_per_hour": 0.8, "price_per_gpu_hour": 0.4, "interruptible_price_per_hour": null,
	"interruptible_price_per_gpu_hour": null, "reliability": 4.9, "region": "us-east", "geolocation": "Texas, US", "disk_space_gb": 500}`

func TestOffersAreTypedAndSearchedWithEveryFilterGiven(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"success": true, "data": [` + offerBody + `], "meta": {"page": 1, "per_page": 20, "total": 1}}`, nil})
	interruptible := false
	page, err := client.Offers.Search(&SearchOffersInput{GPU: "RTX 4090", Region: "us-east", MinGPUs: 2, MaxPrice: 1.5,
		Interruptible: &interruptible, Sort: SortByReliability})
	if err != nil || len(page.Data) != 1 || page.HasNextPage() {
		t.Fatalf("page %+v, %v", page, err)
	}
	offer := page.Data[0]
	if offer.OfferID != 123456 || offer.PricePerGPUHour != 0.4 || offer.InterruptiblePricePerHour != nil || *offer.Region != "us-east" {
		t.Fatalf("offer %+v", offer)
	}
	want := "gpu=RTX+4090&gpus=2&interruptible=false&max_price=1.5&region=us-east&sort=reliability"
	if got := (*requests)[0]; got.path != "/api/v1/offers" || got.query != want {
		t.Fatalf("asked %s?%s", got.path, got.query)
	}
}

func TestTheOffersOfOneGPUAreAskedOnItsRoute(t *testing.T) {
	client, requests := fakeAPI(t, answer{200, `{"success": true, "data": [` + offerBody + `], "meta": {"page": 2, "per_page": 1, "total": 3}}`, nil})
	page, err := client.Offers.OfGPU("RTX 4090", &SearchOffersInput{ListOptions: ListOptions{Page: 2, PerPage: 1}})
	if err != nil || page.Data[0].GPUName != "RTX 4090" || !page.HasNextPage() {
		t.Fatalf("page %+v, %v", page, err)
	}
	if got := (*requests)[0]; got.path != "/api/v1/offers/RTX 4090" || got.query != "page=2&per_page=1" {
		t.Fatalf("asked %s?%s", got.path, got.query)
	}
}

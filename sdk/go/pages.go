package dumont

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
)

// PageMeta says where a page of a list stands.
type PageMeta struct {
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

// Page is one page of a list.
type Page[T any] struct {
	Data []T      `json:"data"`
	Meta PageMeta `json:"meta"`
}

// HasNextPage tells whether more items come after this page.
func (p *Page[T]) HasNextPage() bool {
	return len(p.Data) > 0 && p.Meta.Page*p.Meta.PerPage < p.Meta.Total
}

// ListOptions chooses a page (from 1) and its size; zero values leave the API's defaults.
type ListOptions struct {
	Page    int
	PerPage int
}

func (o ListOptions) apply(query url.Values) url.Values {
	if query == nil {
		query = url.Values{}
	}
	if o.Page > 0 {
		query.Set("page", strconv.Itoa(o.Page))
	}
	if o.PerPage > 0 {
		query.Set("per_page", strconv.Itoa(o.PerPage))
	}
	return query
}

func listPage[T any](ctx context.Context, c *Client, path string, query url.Values) (*Page[T], error) {
	raw, err := c.send(ctx, request{method: "GET", path: path, query: query})
	if err != nil {
		return nil, err
	}
	page := &Page[T]{}
	if err := json.Unmarshal(raw, page); err != nil {
		return nil, &Error{Code: "DECODE_ERROR", Message: "could not read the answer: " + err.Error()}
	}
	return page, nil
}

// listAll walks every page from the first.
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	query = ListOptions{Page: 1}.apply(query)
	var items []T
	for {
		page, err := listPage[T](ctx, c, path, query)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Data...)
		if !page.HasNextPage() {
			return items, nil
		}
		query.Set("page", strconv.Itoa(page.Meta.Page+1))
	}
}

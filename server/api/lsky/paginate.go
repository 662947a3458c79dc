package lsky

import (
	"strconv"

	"picbed/server/api/phpjson"
)

var nullValue = phpjson.Null{}

func itoa(n int) string { return strconv.Itoa(n) }

// paginator is Laravel 9's LengthAwarePaginator as Lsky's lists use it:
// paginate(40)->withQueryString(), rendered by toArray().
type paginator struct {
	path    string // the request URL without query string or trailing slash
	query   query  // the request's parameters but page, in their order
	total   int
	current int // the page asked for (not clamped to the last)
	last    int
}

// Labels of the previous and next links: Lsky's lang/zh_CN/pagination.php.
const (
	labelPrevious = "&laquo; 上一页"
	labelNext     = "下一页 &raquo;"
	// onEachSide is Laravel's default window of page links around the
	// current page.
	onEachSide = 3
)

func newPaginator(path string, q query, total int) *paginator {
	p := &paginator{path: path, total: total, current: pageNumber(q.get("page"))}
	for _, kv := range q {
		if kv.key != "page" {
			p.query = append(p.query, kv)
		}
	}
	p.last = max((total+perPage-1)/perPage, 1)
	return p
}

// slice returns the current page's items of all.
func slice[T any](p *paginator, all []T) []T {
	from := (p.current - 1) * perPage
	if from >= len(all) {
		return nil
	}
	return all[from:min(from+perPage, len(all))]
}

// url is the URL of page n: the path, the query parameters in their order,
// then page.
func (p *paginator) url(n int) string {
	n = max(n, 1)
	q := append(append(query{}, p.query...), param{"page", itoa(n)})
	return p.path + "?" + buildQuery(q)
}

func (p *paginator) optURL(n int, ok bool) any {
	if !ok {
		return nullValue
	}
	return p.url(n)
}

// pageRange is getUrlRange(from, to) as page numbers.
func pageRange(from, to int) []int {
	var r []int
	for n := from; n <= to; n++ {
		r = append(r, n)
	}
	return r
}

// elements is UrlWindow::make: the runs of page links, nil between runs
// standing for "...".
func (p *paginator) elements() [][]int {
	if p.last < onEachSide*2+8 {
		return [][]int{pageRange(1, p.last)}
	}
	window := onEachSide + 4
	switch {
	case p.current <= window:
		return [][]int{pageRange(1, window+onEachSide), nil, pageRange(p.last-1, p.last)}
	case p.current > p.last-window:
		return [][]int{pageRange(1, 2), nil, pageRange(p.last-(window+(onEachSide-1)), p.last)}
	}
	return [][]int{pageRange(1, 2), nil, pageRange(p.current-onEachSide, p.current+onEachSide), nil, pageRange(p.last-1, p.last)}
}

// object renders the paginator around items, key for key as toArray().
func (p *paginator) object(items array) object {
	var from, to any = nullValue, nullValue
	if len(items) > 0 {
		f := (p.current-1)*perPage + 1
		from, to = f, f+len(items)-1
	}
	links := array{object{{"url", p.optURL(p.current-1, p.current > 1)}, {"label", labelPrevious}, {"active", false}}}
	for _, run := range p.elements() {
		if run == nil {
			links = append(links, object{{"url", nullValue}, {"label", "..."}, {"active", false}})
			continue
		}
		for _, n := range run {
			links = append(links, object{{"url", p.url(n)}, {"label", itoa(n)}, {"active", n == p.current}})
		}
	}
	links = append(links, object{{"url", p.optURL(p.current+1, p.current < p.last)}, {"label", labelNext}, {"active", false}})
	return object{
		{"current_page", p.current},
		{"data", items},
		{"first_page_url", p.url(1)},
		{"from", from},
		{"last_page", p.last},
		{"last_page_url", p.url(p.last)},
		{"links", links},
		{"next_page_url", p.optURL(p.current+1, p.current < p.last)},
		{"path", p.path},
		{"per_page", perPage},
		{"prev_page_url", p.optURL(p.current-1, p.current > 1)},
		{"to", to},
		{"total", p.total},
	}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// record turns a record reply into a map: RESP3 gives a map, RESP2 a flat [field, value, ...] slice.
func record(reply any) map[string]any {
	rec := map[string]any{}
	switch r := reply.(type) {
	case map[any]any:
		for k, v := range r {
			rec[k.(string)] = v
		}
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			rec[r[i].(string)] = r[i+1]
		}
	}
	return rec
}

func show(label string, rec map[string]any) {
	var tags []string
	for _, t := range rec["tags"].([]any) {
		tags = append(tags, t.(string))
	}
	fmt.Println(label, rec["id"], rec["format"], rec["message"], strings.Join(tags, ","))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func main() {
	ctx := context.Background()
	port := os.Getenv("TLOG_PORT")
	if port == "" {
		port = "6379"
	}
	// TLOG_PROTOCOL: 2 or 3; unset (0), the client's default: RESP3.
	protocol, _ := strconv.Atoi(os.Getenv("TLOG_PROTOCOL"))
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, Protocol: protocol})
	defer rdb.Close()

	// TLOG.LOG prefix message [tag ...] returns the new record's id.
	for _, name := range []string{"ann", "bob", "cy", "dee", "eve"} {
		id := must(rdb.Do(ctx, "TLOG.LOG", "demo", name+" signed up", "users", "user:"+name).Int64())
		fmt.Println("logged", id)
	}
	fmt.Println("logged", must(rdb.Do(ctx, "TLOG.LOG", "demo", "backup done", "ops").Int64()))

	// A JSON message: everything after MESSAGE is data, the message first, then the tags.
	order := `{"order": 17, "user": "ann", "total": 9.5}` // tlog stores it compact
	fmt.Println("logged", must(rdb.Do(ctx, "TLOG.ADD", "demo", "JSON", "MESSAGE", order, "orders", "user:ann").Int64()))

	// The records of one tag, newest first.
	for _, reply := range must(rdb.Do(ctx, "TLOG.GET", "demo", "user:ann").Slice()) {
		show("user:ann", record(reply))
	}

	// The newest record of a tag; a JSON message comes back as its JSON text.
	latest := record(must(rdb.Do(ctx, "TLOG.LATEST", "demo", "orders").Result()))
	show("latest order", latest)
	var o struct{ Order int }
	if err := json.Unmarshal([]byte(latest["message"].(string)), &o); err != nil {
		panic(err)
	}
	fmt.Println("order", o.Order)
	when := must(time.Parse(time.RFC3339Nano, latest["ts"].(string))) // RFC 3339, UTC, microseconds
	if time.Since(when) < time.Minute {
		fmt.Println("written just now")
	}
	// A nil reply is the error redis.Nil.
	if err := rdb.Do(ctx, "TLOG.LATEST", "demo", "refunds").Err(); errors.Is(err, redis.Nil) {
		fmt.Println("no refunds")
	}

	// Every record, newest first, 3 at a time: each page starts below the last id of the page before.
	// An empty page is the end (a short one may not be: a read stops early at its scan limit).
	const pageSize = 3
	var bounds []any
	for {
		args := append([]any{"TLOG.GET", "demo", "__all__", "LIMIT", pageSize}, bounds...)
		page := must(rdb.Do(ctx, args...).Slice())
		if len(page) == 0 {
			break
		}
		line := []any{"page"}
		for _, reply := range page {
			line = append(line, record(reply)["id"])
		}
		fmt.Println(line...)
		bounds = []any{"BEFORE", record(page[len(page)-1])["id"]}
	}
}

// Command sink is the ceiling of the machine for the benchmark: an HTTP
// server that reads the body, verifies the Svix signature with the svix
// library and answers 200, and does nothing else (no parsing, no Kafka).
//
//	go run ./bench/sink -addr 127.0.0.1:18080 -secret whsec_...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	secret := flag.String("secret", "", "whsec_ signing secret")
	flag.Parse()
	wh, err := svix.NewWebhook(*secret)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(2)
	}
	bufs := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := bufs.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufs.Put(buf)
		if _, err := io.Copy(buf, io.LimitReader(r.Body, 1<<20+1)); err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		if err := wh.Verify(buf.Bytes(), r.Header); err != nil {
			http.Error(w, `{"error":"invalid_signature"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"published"}`))
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Println("sink listening on", *addr)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	}
}

package localprom

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A real prometheus scrapes a real exporter; Query reads the sample back.
func TestStartAndQuery(t *testing.T) {
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE demo_value gauge\ndemo_value 0.75\n")
	}))
	defer exporter.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv, err := Start(context.Background(), Options{Dir: t.TempDir(), Listen: addr, Targets: []string{strings.TrimPrefix(exporter.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	got, err := srv.Query(context.Background(), "demo_value")
	if err != nil || len(got) != 1 || got[0] != 0.75 {
		t.Fatalf("demo_value = %v, %v; want [0.75]", got, err)
	}
	if got, err := srv.Query(context.Background(), "absent_metric"); err != nil || len(got) != 0 {
		t.Fatalf("absent_metric = %v, %v; want no sample", got, err)
	}
	if _, err := srv.Query(context.Background(), "sum(("); err == nil {
		t.Fatal("a malformed query succeeded")
	}
}

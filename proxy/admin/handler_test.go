package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/proxylab/proxylab/proxy"
	"github.com/proxylab/proxylab/proxy/admin"
	"github.com/proxylab/proxylab/proxy/reverse"
)

var _ admin.Target = (*reverse.Proxy)(nil)
var _ admin.Undrainer = (*reverse.Proxy)(nil)

// named starts a plain upstream answering with its name.
func named(name string) string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, name)
	})}
	go srv.Serve(ln)
	DeferCleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

var _ = Describe("Admin API", func() {
	var (
		p      *reverse.Proxy
		api    *httptest.Server
		client *http.Client
		u1, u2 string
	)

	call := func(method, path, body string) (int, map[string]any) {
		GinkgoHelper()
		req, err := http.NewRequest(method, api.URL+path, strings.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		resp, err := client.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out := map[string]any{}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			Expect(json.Unmarshal(b, &out)).To(Succeed(), string(b))
		}
		return resp.StatusCode, out
	}
	servers := func() []proxy.ServerStatus { return p.Pools()[0].Servers }

	BeforeEach(func() {
		u1, u2 = named("server1"), named("server2")
		var err error
		p, err = reverse.New(reverse.Config{
			Routes: []reverse.RouteConfig{{Path: "/", Pool: "web"}},
			Pools:  []reverse.PoolConfig{{Name: "web", Servers: []reverse.ServerConfig{{Name: "server1", URL: u1}}}},
		})
		Expect(err).NotTo(HaveOccurred())
		api = httptest.NewServer(admin.NewHandler(p))
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		DeferCleanup(func() {
			client.CloseIdleConnections()
			api.Close()
			p.Close()
		})
	})

	It("should list pools", func() {
		code, out := call("GET", "/pools", "")
		Expect(code).To(Equal(200))
		Expect(out["pools"]).To(HaveLen(1))
		code, out = call("GET", "/pools/web", "")
		Expect(code).To(Equal(200))
		Expect(out["name"]).To(Equal("web"))
		code, out = call("GET", "/pools/none", "")
		Expect(code).To(Equal(404))
		Expect(out["error"]).To(ContainSubstring("not found"))
	})

	It("should add, weigh, drain, undrain and remove servers", func() {
		code, _ := call("POST", "/pools/web/servers", fmt.Sprintf(`{"name":"server2","url":%q,"weight":2}`, u2))
		Expect(code).To(Equal(201))
		Expect(servers()).To(HaveLen(2))

		code, _ = call("POST", "/pools/web/servers", fmt.Sprintf(`{"name":"server2","url":%q}`, u2))
		Expect(code).To(Equal(409))
		code, out := call("POST", "/pools/web/servers", `{"nam":"x"}`)
		Expect(code).To(Equal(400))
		Expect(out["error"]).To(ContainSubstring("want {"))

		code, _ = call("PUT", "/pools/web/servers/server2/weight", `{"weight":7}`)
		Expect(code).To(Equal(200))
		Expect(servers()[1].Weight).To(Equal(7))
		code, _ = call("PUT", "/pools/web/servers/server2/weight", `3`)
		Expect(code).To(Equal(200))
		Expect(servers()[1].Weight).To(Equal(3))
		code, _ = call("PUT", "/pools/web/servers/server2/weight", `heavy`)
		Expect(code).To(Equal(400))

		code, _ = call("POST", "/pools/web/servers/server2/drain", "")
		Expect(code).To(Equal(200))
		Expect(servers()[1].State).To(Equal("draining"))
		code, _ = call("DELETE", "/pools/web/servers/server2/drain", "")
		Expect(code).To(Equal(200))
		Expect(servers()[1].State).To(Equal("healthy"))

		code, _ = call("DELETE", "/pools/web/servers/server2", "")
		Expect(code).To(Equal(200))
		Expect(servers()).To(HaveLen(1))
		code, _ = call("DELETE", "/pools/web/servers/server2", "")
		Expect(code).To(Equal(404))
	})

	It("should swap the config from YAML and from JSON", func() {
		code, out := call("PUT", "/config", fmt.Sprintf(`
routes: [{path: /, pool: web}]
pools:
  - name: web
    servers: [{name: server1, url: %q}, {name: server2, url: %q}]
`, u1, u2))
		Expect(code).To(Equal(200), fmt.Sprint(out))
		Expect(servers()).To(HaveLen(2))

		code, _ = call("PUT", "/config", fmt.Sprintf(`{"routes":[{"path":"/","pool":"web"}],"pools":[{"name":"web","servers":[{"name":"server2","url":%q}]}]}`, u2))
		Expect(code).To(Equal(200))
		Expect(servers()).To(HaveLen(1))
		Expect(servers()[0].Name).To(Equal("server2"))
	})

	It("should reject a bad config with the reason and keep the old one", func() {
		code, out := call("PUT", "/config", "routes: [{path: /, pool: nowhere}]\npools: []")
		Expect(code).To(Equal(400))
		Expect(out["error"]).To(ContainSubstring(`pool "nowhere" is not defined`))
		Expect(out["error"]).To(ContainSubstring("old one stays"))
		Expect(servers()).To(HaveLen(1))
		Expect(servers()[0].Name).To(Equal("server1"))
	})

	It("should serve metrics and its own health", func() {
		code, out := call("GET", "/healthz", "")
		Expect(code).To(Equal(200))
		Expect(out["status"]).To(Equal("ok"))
		resp, err := client.Get(api.URL + "/metrics")
		Expect(err).NotTo(HaveOccurred())
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(string(b)).To(ContainSubstring(`proxylab_reverse_upstream_healthy{pool="web",upstream="server1"} 1`))
	})

	It("should answer unknown endpoints with a JSON 404", func() {
		code, out := call("GET", "/nope", "")
		Expect(code).To(Equal(404))
		Expect(out["error"]).To(ContainSubstring("no admin endpoint"))
	})
})

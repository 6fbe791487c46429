package simtest

import (
	"bytes"
	"fmt"
	"os/exec"

	"github.com/onsi/ginkgo/v2"

	"github.com/proxylab/proxylab/sim"
)

// NginxReverseConfig is the nginx configuration template Nginx uses: a
// reverse proxy over every server of the world, weighted, with keep-alive
// upstream connections, X-Forwarded-For and a retry on the next server when
// one cannot be reached. nginx runs in the foreground with its pid, temp
// paths and logs in the run directory (errors to stderr), listening on the
// address the world gives it. It sees sim.ExternalData.
const NginxReverseConfig = `daemon off;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path {{.Dir}}/client_body;
  proxy_temp_path {{.Dir}}/proxy_temp;
  fastcgi_temp_path {{.Dir}}/fastcgi_temp;
  uwsgi_temp_path {{.Dir}}/uwsgi_temp;
  scgi_temp_path {{.Dir}}/scgi_temp;
  upstream world {
{{- range .Servers}}
    server {{.Addr}}{{if gt .Weight 0}} weight={{.Weight}}{{end}} max_fails=1 fail_timeout=2s;
{{- end}}
    keepalive 16;
  }
  server {
    listen {{.Listen}};
    location / {
      proxy_pass http://world;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 1s;
    }
  }
}
`

// Nginx returns nginx as a world's reverse proxy node, configured from
// NginxReverseConfig; its output goes to stderr, which the node's start
// errors quote. Pair it with SkipUnlessInstalled("nginx", …) in a spec.
func Nginx(stderr *bytes.Buffer) *sim.ExternalNode {
	if stderr == nil {
		stderr = &bytes.Buffer{}
	}
	return &sim.ExternalNode{
		Name:       "nginx",
		As:         sim.Reverse,
		Command:    []string{"nginx", "-p", "{{.Dir}}", "-c", "{{.ConfigFile}}", "-e", "stderr"},
		Config:     NginxReverseConfig,
		ConfigName: "nginx.conf",
		Stderr:     stderr,
	}
}

// Installed says whether program is on PATH, and if not, why.
func Installed(program string) error {
	if _, err := exec.LookPath(program); err != nil {
		return fmt.Errorf("%s is not installed: %w", program, err)
	}
	return nil
}

// SkipUnlessInstalled skips the current spec, with a message saying how to
// install it, when program is not on PATH.
func SkipUnlessInstalled(program, install string) {
	ginkgo.GinkgoHelper()
	if err := Installed(program); err != nil {
		ginkgo.Skip(fmt.Sprintf("%v; %s to run this spec", err, install))
	}
}

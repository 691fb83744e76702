package cli

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/aviary-rollouts/aviary/internal/dashboard"
	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/version"
)

func init() { register(newDashboardCommand) }

func newDashboardCommand(o *Options) *cobra.Command {
	var (
		port         int
		address      string
		rootPath     string
		allowedHosts []string
	)
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Start UI dashboard",
		Long: `Serve the web dashboard and its REST API with your kubeconfig's credentials
(in a pod without a kubeconfig: its ServiceAccount's).
It listens on 127.0.0.1 unless --address says otherwise: anyone who can reach it acts on the cluster as you.
It answers requests addressed to localhost, to an IP address (when not on loopback) and to the names
of --allowed-hosts only, which defeats DNS rebinding. Scripts get the token every action must carry
from GET /<root-path>/api/v1/token and send it in the X-CSRF-Token header.`,
		Example: `  # Start the dashboard on http://127.0.0.1:3100/rollouts
  kubectl argo rollouts dashboard
  # On another port and path
  kubectl argo rollouts dashboard -p 8080 --root-path argo-rollouts
  # In a pod, behind an Ingress serving rollouts.example.com
  kubectl argo rollouts dashboard --address 0.0.0.0 --allowed-hosts rollouts.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.RESTConfig()
			if err != nil {
				return err
			}
			c, ns, err := o.clientAndNamespace()
			if err != nil {
				return err
			}
			scheme, err := manager.Scheme()
			if err != nil {
				return err
			}
			if err := dashboard.CheckAllowedHosts(allowedHosts); err != nil {
				return fmt.Errorf("--allowed-hosts: %w", err)
			}
			l, err := net.Listen("tcp", net.JoinHostPort(address, strconv.Itoa(port)))
			if err != nil {
				return fmt.Errorf("listen on %s port %d: %w (choose another with -p or --address)", address, port, err)
			}
			ip := net.ParseIP(address)
			srv, err := dashboard.New(dashboard.Config{
				RESTConfig:   cfg,
				Scheme:       scheme,
				Client:       c,
				Namespace:    ns,
				RootPath:     rootPath,
				Version:      version.String(),
				LoopbackOnly: address == "localhost" || (ip != nil && ip.IsLoopback()),
				AllowedHosts: allowedHosts,
				Log:          o.Streams.ErrOut,
			})
			if err != nil {
				_ = l.Close()
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// Listening on every address ("[::]:3100"), localhost is the
			// name a browser can open.
			at := l.Addr().String()
			if tcp, ok := l.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
				at = net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
			}
			url := "http://" + at + srv.URLPath()
			if _, err := fmt.Fprintf(o.Streams.Out, "Argo Rollouts Dashboard is now available at %s (namespace %s)\n", strings.TrimSuffix(url, "/"), ns); err != nil {
				return err
			}
			if ip := net.ParseIP(address); address != "localhost" && (ip == nil || !ip.IsLoopback()) {
				names := "no names but localhost (add them with --allowed-hosts)"
				if len(allowedHosts) > 0 {
					names = "localhost and " + strings.Join(allowedHosts, ", ")
				}
				if _, err := fmt.Fprintf(o.Streams.ErrOut, "Serving beyond loopback: whoever reaches %s acts with these credentials; it answers IP addresses and %s\n", l.Addr(), names); err != nil {
					return err
				}
			}
			return srv.Serve(ctx, l)
		},
	}
	cmd.Flags().IntVarP(&port, "port", "p", 3100, "port to listen on")
	cmd.Flags().StringVar(&address, "address", "127.0.0.1", "address to listen on; anything but loopback exposes your cluster credentials' power to that network")
	cmd.Flags().StringVar(&rootPath, "root-path", "rollouts", "path the dashboard is served under")
	cmd.Flags().StringSliceVar(&allowedHosts, "allowed-hosts", nil, `further host names the dashboard answers to, e.g. an Ingress's (comma-separated; "*.example.com" for every name under example.com, "*" for any name)`)
	return cmd
}

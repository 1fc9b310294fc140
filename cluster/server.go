package cluster

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOptions configure an embedded NATS server with JetStream.
type ServerOptions struct {
	// Listen is host:port; empty means 127.0.0.1 on a random port.
	Listen string
	// StoreDir holds JetStream's files. It must be set: the server's own
	// default is a directory shared by every server on the machine.
	StoreDir string
	// Token, when not empty, is required from every client. A listener
	// on an address other than loopback requires it.
	Token string
}

// IsLoopback reports whether host names the loopback interface.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StartServer starts an embedded NATS server with JetStream and waits
// until it accepts connections. Stop it with Shutdown and WaitForShutdown.
func StartServer(o ServerOptions) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("nats server: a store directory is required")
	}
	host, port := "127.0.0.1", server.RANDOM_PORT
	if o.Listen != "" {
		h, p, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("--listen %q: want HOST:PORT such as 127.0.0.1:4222", o.Listen)
		}
		if port, err = strconv.Atoi(p); err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("--listen %q: the port must be a number from 0 to 65535", o.Listen)
		}
		if port == 0 {
			port = server.RANDOM_PORT
		}
		host = h
		if host == "" {
			host = "0.0.0.0"
		}
	}
	if !IsLoopback(host) && o.Token == "" {
		return nil, fmt.Errorf("--listen %s is not a loopback address: anyone who reaches it could run node runs (programs, HTTP requests) on your workers; set a token with --token or $FLOWRUN_NATS_TOKEN, and give it to workers and coordinators in the URL (nats://TOKEN@host:port)", o.Listen)
	}
	opts := &server.Options{
		ServerName:         "flowrun",
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           o.StoreDir,
		NoSigs:             true,
		NoLog:              true,
		JetStreamMaxMemory: 256 << 20,
		JetStreamMaxStore:  4 << 30,
		Authorization:      o.Token,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("nats server on %s:%d: not ready after 10s (is the port in use?)", host, port)
	}
	return ns, nil
}

// ads-pause: the local node's pod sandbox image and the node tests' workload, in one
// static binary with no dependencies (no registry is reachable to pull either).
//
// Without arguments it waits for SIGTERM or SIGINT and exits 0: what a sandbox ("pause")
// container does. With --serve ADDR it also answers HTTP on ADDR: /healthz says ok
// (for probes), /exit?code=N exits with N (so a test can make the container die), and
// every request is logged to stdout (so a test can read it with `kubectl logs`).
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

const version = "ads-pause 1"

func main() {
	serve := flag.String("serve", "", "answer /healthz and /exit on this address (host:port)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if *serve != "" {
		go listen(*serve)
	}
	got := <-stop
	fmt.Printf("%s: stopping on %s\n", version, got)
}

func listen(addr string) {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("healthz from %s\n", r.RemoteAddr)
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			code = 1
		}
		fmt.Printf("exiting with %d as asked\n", code)
		// A complete answer reaches the client before the process ends.
		w.Header().Set("Content-Length", "4")
		fmt.Fprint(w, "bye\n")
		w.(http.Flusher).Flush()
		os.Exit(code)
	})
	fmt.Printf("%s: serving on %s\n", version, addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

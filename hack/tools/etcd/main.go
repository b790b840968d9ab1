// Command etcd builds the etcd server from its Go module for the local test control plane.
//
// etcd's own main package lives in a module whose replace directives forbid `go install`;
// used as a dependency, go.etcd.io/etcd/server/v3 exposes the same entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

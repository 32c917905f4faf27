// Command benthos is Benthos v4.27.0 (MIT) with the components the benchmark uses, built
// from the Go module proxy as the reference pipeline of the benchmark. It
// is its own module so that Benthos's dependencies stay out of the
// bridge's go.mod.
package main

import (
	"context"

	_ "github.com/benthosdev/benthos/v4/public/components/io"    // http_server
	_ "github.com/benthosdev/benthos/v4/public/components/kafka" // kafka_franz
	_ "github.com/benthosdev/benthos/v4/public/components/pure"  // mutation, bloblang
	"github.com/benthosdev/benthos/v4/public/service"
)

func main() {
	service.RunCLI(context.Background())
}

// Command kfake runs franz-go's in-process Kafka-protocol broker as its
// own process, with the bridge's default topics, so that benchmarks can
// measure the bridge's CPU and memory apart from the broker's.
//
//	go run ./bench/kfake -addr 127.0.0.1:19092 -partitions 6
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
	"github.com/engage-bridge/engage-bridge/router"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:19092", "listen address (loopback only)")
	partitions := flag.Int("partitions", 6, "partitions of each topic")
	flag.Parse()
	host, portText, err := net.SplitHostPort(*addr)
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		fmt.Fprintln(os.Stderr, "kfake: -addr must be a loopback host:port")
		os.Exit(2)
	}
	port, _ := strconv.Atoi(portText)
	table, err := router.New(router.Default())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c, err := kfake.NewCluster(
		kfake.Ports(port),
		kfake.SeedTopics(int32(*partitions), table.Topics()...),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.FormatInt(kafkaops.MaxMessageBytes(1<<20), 10)}),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("kfake listening on %v with topics %v\n", c.ListenAddrs(), table.Topics())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	c.Close()
}

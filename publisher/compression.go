package publisher

import (
	"fmt"

	"github.com/segmentio/kafka-go/protocol"
)

// Compression names the codec of the record batches the publisher sends.
// The broker stores a batch as it arrives when the topic's
// compression.type is "producer" (the default, and what `engage-bridge
// topics` leaves in place), so the codec also decides the bytes stored and
// replicated. Consumers decompress whatever codec a batch names.
type Compression string

// The codecs, by the names Kafka's compression.type uses. The empty
// Compression is CompressionNone.
const (
	CompressionNone   Compression = "none"
	CompressionGzip   Compression = "gzip"
	CompressionSnappy Compression = "snappy"
	CompressionLz4    Compression = "lz4"
	CompressionZstd   Compression = "zstd" // needs Kafka 2.1 or later (produce v7)
)

// Validate says whether c is one of the codecs.
func (c Compression) Validate() error {
	if _, ok := c.attributes(); !ok {
		return fmt.Errorf("compression %q is not none, gzip, snappy, lz4 or zstd", string(c))
	}
	return nil
}

// attributes is the record batch attribute that makes kafka-go's RecordSet
// compress with c (kafka-go's codecs, at their default levels).
func (c Compression) attributes() (protocol.Attributes, bool) {
	switch c {
	case "", CompressionNone:
		return 0, true
	case CompressionGzip:
		return protocol.Gzip, true
	case CompressionSnappy:
		return protocol.Snappy, true
	case CompressionLz4:
		return protocol.Lz4, true
	case CompressionZstd:
		return protocol.Zstd, true
	}
	return 0, false
}

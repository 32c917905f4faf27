// Package schemas is the wire contract between Voyado Engage, the bridge and
// the teams that consume its Kafka topics: the Engage envelope and how to
// read it, the documented event types with Engage's own example deliveries,
// and the names of every HTTP and Kafka header the bridge reads or writes.
//
// The envelope parser is a single strict pass over the raw bytes. It never
// decodes the payload into Go values, so payload bytes, and the Decimal
// amounts in them, reach Kafka exactly as Engage sent them.
package schemas

// Package ingress is the HTTP edge of the bridge and the order of its
// steps. For each delivery it checks the outer layers (source address,
// body size, custom token, in-flight limit), reads the body once, verifies
// the Svix signature over those raw bytes, skips known duplicates, parses
// the Engage envelope, decrypts the payload when Engage encrypted it, finds
// contactId, routes by eventType, and answers 2xx only after Kafka
// acknowledged the record. A signed delivery that cannot be used is written
// to the dead-letter topic instead; one that cannot be written is answered
// non-2xx so that Svix retries it.
//
// A Handler serves one or more endpoints (Config.Endpoints), each on its
// own path with its own signing secrets, key, tenants and routing table;
// Rotate replaces an endpoint's secrets, key and tenants for the requests
// that start afterwards. The publisher, dedupe cache, metrics and tracer
// are shared.
//
// One request, file by file, in order:
//
//  1. echo.go: HTTPHandler routes POST on each endpoint's path to handle;
//     any other path or method is answered by the same table (404, 405).
//     It is the only file that knows Echo.
//  2. http.go: handle is the request's whole life (trace.go's
//     handleTraced when tracing is on). guard checks the outer layers
//     (gate.go: client address, allow-list, token), takes an in-flight
//     slot, reads the body into a pooled buffer and turns a panic into a
//     500.
//  3. pipeline.go: accept (Accept, the framework-free core, for the first
//     endpoint) verifies the signature (verify.go), then
//     Processor.Process skips known duplicates and builds the record in
//     eventRecord: parse, tenant, decrypt, route, headers (headers.go).
//     It publishes the record, or dead-letters an unusable one
//     (deadLetter), and returns once Kafka acknowledged it.
//  4. http.go: respond writes the answer that answerFor (errors.go)
//     chooses, counts it and logs the request's one line.
//
// Around that path: handler.go builds the Handler and holds each
// endpoint's state; processor.go is the Processor that redrive reuses
// (ForEndpoint, Plan); errors.go holds every sentinel of the request path
// with answerFor and deadLetterReason side by side; trace.go the spans;
// config.go, secret.go and secretsfile.go the configuration.
package ingress

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
// Accept is the framework-free core; answerFor (errors.go) is the one place
// that maps outcomes and errors to HTTP answers; echo.go is the only file
// that knows Echo.
package ingress

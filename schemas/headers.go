package schemas

// Delivery headers Svix sends with every attempt. Svix sends either the
// branded svix-* set or, for white-labelled accounts, the webhook-* set of
// Standard Webhooks; the bridge accepts both.
const (
	HeaderSvixID           = "svix-id"
	HeaderSvixTimestamp    = "svix-timestamp"
	HeaderSvixSignature    = "svix-signature"
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// Kafka record headers written by the bridge (docs/contract.md#event-record). The svix-id and
// svix-timestamp record headers carry the delivery's id and attempt time
// whichever request header set brought them.
const (
	RecordSvixID        = HeaderSvixID
	RecordSvixTimestamp = HeaderSvixTimestamp
	RecordEventType     = "engage-event-type"
	RecordEventID       = "engage-event-id"
	RecordTenant        = "engage-tenant"
	// RecordEndpoint names the bridge endpoint the delivery came to
	// (default in the single-endpoint configuration); redrive reads it.
	RecordEndpoint    = "engage-endpoint"
	RecordContentType = "content-type"
	RecordSchemaValid = "engage-schema-valid"
	RecordTraceparent = "traceparent"

	// CloudEvents Kafka protocol binding, binary content mode.
	RecordCESpecVersion = "ce_specversion"
	RecordCEID          = "ce_id"
	RecordCESource      = "ce_source"
	RecordCEType        = "ce_type"
	RecordCESubject     = "ce_subject"

	// Dead-letter records only.
	RecordDLQReason = "engage-dlq-reason"
	RecordDLQDetail = "engage-dlq-detail"
)

// Values of record headers that do not come from the delivery.
const (
	ContentTypeJSON  = "application/json"
	CESpecVersion    = "1.0"
	CESourcePrefix   = "/engage/"
	SchemaValidFalse = "false"
)

package publisher

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/produce"
)

// errorClass is what the publisher does when a produce attempt fails.
type errorClass int

const (
	// fail: not retriable and not the record's fault (our credentials, a
	// request version the broker refuses, or a code that cannot answer a
	// produce at all). The records get ErrUnavailable at once, so the
	// sender retries later, and the failure is logged at error level.
	fail errorClass = iota
	// retry: transient at the same broker. Back off and send again while a
	// waiter still waits.
	retry
	// refresh: the request went by metadata that is out of date (a leader
	// moved, a broker left, a topic was recreated). Back off, refresh the
	// topic's layout, and send again to wherever it now points.
	refresh
	// reject: the record, or the topic's settings or ACLs, make Kafka
	// refuse it; the same record fails the same way until an operator
	// changes the topic. The records get ErrRejected.
	reject
)

func (c errorClass) String() string {
	return [...]string{"fail", "retry", "refresh", "reject"}[c]
}

// kafkaErrors decides every error code of Kafka's protocol
// (https://kafka.apache.org/protocol#protocol_error_codes), in code order,
// with Kafka's own name. retry and refresh are exactly the codes Kafka
// marks retriable; the test holds the table to franz-go's kerr, an
// independent copy of Kafka's list. Most codes answer other requests than
// Produce (groups, transactions, admin): they can only reach the
// publisher through a broker bug, and get Kafka's own retriable verdict.
// A code Kafka adds later is fail until it is added here.
var kafkaErrors = [...]struct {
	code  kafka.Error
	name  string
	class errorClass
}{
	{kafka.Unknown, "UNKNOWN_SERVER_ERROR", fail},
	{kafka.OffsetOutOfRange, "OFFSET_OUT_OF_RANGE", fail},
	{kafka.InvalidMessage, "CORRUPT_MESSAGE", retry},                       // the record's CRC broke on the way; a resend arrives whole
	{kafka.UnknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PARTITION", refresh}, // unknown to this broker: metadata is stale, or the topic was deleted (then the refresh says so, and the records fail with ErrMissingTopic)
	{kafka.InvalidMessageSize, "INVALID_FETCH_SIZE", fail},
	{kafka.LeaderNotAvailable, "LEADER_NOT_AVAILABLE", refresh},        // an election is under way
	{kafka.NotLeaderForPartition, "NOT_LEADER_FOR_PARTITION", refresh}, // the leader moved
	{kafka.RequestTimedOut, "REQUEST_TIMED_OUT", retry},                // the in-sync replicas did not acknowledge within the request timeout
	{kafka.BrokerNotAvailable, "BROKER_NOT_AVAILABLE", refresh},        // the leader's broker is down; metadata names its successor
	{kafka.ReplicaNotAvailable, "REPLICA_NOT_AVAILABLE", refresh},      // a replica is down; the leader may move
	{kafka.MessageSizeTooLarge, "MESSAGE_TOO_LARGE", reject},           // the record is larger than the topic's max.message.bytes
	{kafka.StaleControllerEpoch, "STALE_CONTROLLER_EPOCH", fail},
	{kafka.OffsetMetadataTooLarge, "OFFSET_METADATA_TOO_LARGE", fail},
	{kafka.NetworkException, "NETWORK_EXCEPTION", retry}, // the broker lost a connection while handling the request
	{kafka.GroupLoadInProgress, "COORDINATOR_LOAD_IN_PROGRESS", retry},
	{kafka.GroupCoordinatorNotAvailable, "COORDINATOR_NOT_AVAILABLE", retry},
	{kafka.NotCoordinatorForGroup, "NOT_COORDINATOR", retry},
	{kafka.InvalidTopic, "INVALID_TOPIC_EXCEPTION", reject},                         // Kafka refuses the topic name
	{kafka.RecordListTooLarge, "RECORD_LIST_TOO_LARGE", reject},                     // the batch is larger than the topic's max.message.bytes
	{kafka.NotEnoughReplicas, "NOT_ENOUGH_REPLICAS", retry},                         // fewer in-sync replicas than min.insync.replicas: nothing was written
	{kafka.NotEnoughReplicasAfterAppend, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", retry}, // written but not replicated to min.insync.replicas: a retry may duplicate
	{kafka.InvalidRequiredAcks, "INVALID_REQUIRED_ACKS", fail},                      // we always send acks=-1: a broker refusing it is not about the record
	{kafka.IllegalGeneration, "ILLEGAL_GENERATION", fail},
	{kafka.InconsistentGroupProtocol, "INCONSISTENT_GROUP_PROTOCOL", fail},
	{kafka.InvalidGroupId, "INVALID_GROUP_ID", fail},
	{kafka.UnknownMemberId, "UNKNOWN_MEMBER_ID", fail},
	{kafka.InvalidSessionTimeout, "INVALID_SESSION_TIMEOUT", fail},
	{kafka.RebalanceInProgress, "REBALANCE_IN_PROGRESS", fail},
	{kafka.InvalidCommitOffsetSize, "INVALID_COMMIT_OFFSET_SIZE", fail},
	{kafka.TopicAuthorizationFailed, "TOPIC_AUTHORIZATION_FAILED", reject}, // the principal lacks Write on the topic: an operator grants it
	{kafka.GroupAuthorizationFailed, "GROUP_AUTHORIZATION_FAILED", fail},
	{kafka.ClusterAuthorizationFailed, "CLUSTER_AUTHORIZATION_FAILED", fail},
	{kafka.InvalidTimestamp, "INVALID_TIMESTAMP", reject}, // the record time is outside the topic's message.timestamp limits
	{kafka.UnsupportedSASLMechanism, "UNSUPPORTED_SASL_MECHANISM", fail},
	{kafka.IllegalSASLState, "ILLEGAL_SASL_STATE", fail},
	{kafka.UnsupportedVersion, "UNSUPPORTED_VERSION", fail}, // the broker does not speak our request version
	{kafka.TopicAlreadyExists, "TOPIC_ALREADY_EXISTS", fail},
	{kafka.InvalidPartitionNumber, "INVALID_PARTITIONS", fail},
	{kafka.InvalidReplicationFactor, "INVALID_REPLICATION_FACTOR", fail},
	{kafka.InvalidReplicaAssignment, "INVALID_REPLICA_ASSIGNMENT", fail},
	{kafka.InvalidConfiguration, "INVALID_CONFIG", fail},
	{kafka.NotController, "NOT_CONTROLLER", retry},
	{kafka.InvalidRequest, "INVALID_REQUEST", fail},
	{kafka.UnsupportedForMessageFormat, "UNSUPPORTED_FOR_MESSAGE_FORMAT", reject}, // the topic's message.format.version is too old for the record
	{kafka.PolicyViolation, "POLICY_VIOLATION", reject},                           // the topic's create or alter policy refuses it
	{kafka.OutOfOrderSequenceNumber, "OUT_OF_ORDER_SEQUENCE_NUMBER", fail},
	{kafka.DuplicateSequenceNumber, "DUPLICATE_SEQUENCE_NUMBER", fail},
	{kafka.InvalidProducerEpoch, "INVALID_PRODUCER_EPOCH", fail},
	{kafka.InvalidTransactionState, "INVALID_TXN_STATE", fail},
	{kafka.InvalidProducerIDMapping, "INVALID_PRODUCER_ID_MAPPING", fail},
	{kafka.InvalidTransactionTimeout, "INVALID_TRANSACTION_TIMEOUT", fail},
	{kafka.ConcurrentTransactions, "CONCURRENT_TRANSACTIONS", fail},
	{kafka.TransactionCoordinatorFenced, "TRANSACTION_COORDINATOR_FENCED", fail},
	{kafka.TransactionalIDAuthorizationFailed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", fail},
	{kafka.SecurityDisabled, "SECURITY_DISABLED", fail},
	{kafka.BrokerAuthorizationFailed, "OPERATION_NOT_ATTEMPTED", fail},
	{kafka.KafkaStorageError, "KAFKA_STORAGE_ERROR", refresh}, // the leader's log directory failed; leadership moves off it
	{kafka.LogDirNotFound, "LOG_DIR_NOT_FOUND", fail},
	{kafka.SASLAuthenticationFailed, "SASL_AUTHENTICATION_FAILED", fail}, // our credentials are wrong: an operator fixes them
	{kafka.UnknownProducerId, "UNKNOWN_PRODUCER_ID", fail},
	{kafka.ReassignmentInProgress, "REASSIGNMENT_IN_PROGRESS", fail},
	{kafka.DelegationTokenAuthDisabled, "DELEGATION_TOKEN_AUTH_DISABLED", fail},
	{kafka.DelegationTokenNotFound, "DELEGATION_TOKEN_NOT_FOUND", fail},
	{kafka.DelegationTokenOwnerMismatch, "DELEGATION_TOKEN_OWNER_MISMATCH", fail},
	{kafka.DelegationTokenRequestNotAllowed, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", fail},
	{kafka.DelegationTokenAuthorizationFailed, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", fail},
	{kafka.DelegationTokenExpired, "DELEGATION_TOKEN_EXPIRED", fail},
	{kafka.InvalidPrincipalType, "INVALID_PRINCIPAL_TYPE", fail},
	{kafka.NonEmptyGroup, "NON_EMPTY_GROUP", fail},
	{kafka.GroupIdNotFound, "GROUP_ID_NOT_FOUND", fail},
	{kafka.FetchSessionIDNotFound, "FETCH_SESSION_ID_NOT_FOUND", retry},
	{kafka.InvalidFetchSessionEpoch, "INVALID_FETCH_SESSION_EPOCH", retry},
	{kafka.ListenerNotFound, "LISTENER_NOT_FOUND", refresh}, // the broker has no listener of the name we used: stale metadata
	{kafka.TopicDeletionDisabled, "TOPIC_DELETION_DISABLED", fail},
	{kafka.FencedLeaderEpoch, "FENCED_LEADER_EPOCH", refresh},                  // our leader epoch is older than the broker's
	{kafka.UnknownLeaderEpoch, "UNKNOWN_LEADER_EPOCH", refresh},                // our leader epoch is newer than the broker's
	{kafka.UnsupportedCompressionType, "UNSUPPORTED_COMPRESSION_TYPE", reject}, // the topic's compression.type refuses the record
	{kafka.StaleBrokerEpoch, "STALE_BROKER_EPOCH", fail},
	{kafka.OffsetNotAvailable, "OFFSET_NOT_AVAILABLE", retry},
	{kafka.MemberIDRequired, "MEMBER_ID_REQUIRED", fail},
	{kafka.PreferredLeaderNotAvailable, "PREFERRED_LEADER_NOT_AVAILABLE", refresh}, // an election is under way
	{kafka.GroupMaxSizeReached, "GROUP_MAX_SIZE_REACHED", fail},
	{kafka.FencedInstanceID, "FENCED_INSTANCE_ID", fail},
	{kafka.EligibleLeadersNotAvailable, "ELIGIBLE_LEADERS_NOT_AVAILABLE", refresh}, // an election is under way
	{kafka.ElectionNotNeeded, "ELECTION_NOT_NEEDED", retry},
	{kafka.NoReassignmentInProgress, "NO_REASSIGNMENT_IN_PROGRESS", fail},
	{kafka.GroupSubscribedToTopic, "GROUP_SUBSCRIBED_TO_TOPIC", fail},
	{kafka.InvalidRecord, "INVALID_RECORD", reject}, // the broker validated the record and refuses it (compacted topic without a key, say)
	{kafka.UnstableOffsetCommit, "UNSTABLE_OFFSET_COMMIT", retry},
	{kafka.ThrottlingQuotaExceeded, "THROTTLING_QUOTA_EXCEEDED", retry},
	{kafka.ProducerFenced, "PRODUCER_FENCED", fail},
	{kafka.ResourceNotFound, "RESOURCE_NOT_FOUND", fail},
	{kafka.DuplicateResource, "DUPLICATE_RESOURCE", fail},
	{kafka.UnacceptableCredential, "UNACCEPTABLE_CREDENTIAL", fail},
	{kafka.InconsistentVoterSet, "INCONSISTENT_VOTER_SET", fail},
	{kafka.InvalidUpdateVersion, "INVALID_UPDATE_VERSION", fail},
	{kafka.FeatureUpdateFailed, "FEATURE_UPDATE_FAILED", fail},
	{kafka.PrincipalDeserializationFailure, "PRINCIPAL_DESERIALIZATION_FAILURE", fail},
	{kafka.SnapshotNotFound, "SNAPSHOT_NOT_FOUND", fail},
	{kafka.PositionOutOfRange, "POSITION_OUT_OF_RANGE", fail},
	{kafka.UnknownTopicID, "UNKNOWN_TOPIC_ID", refresh}, // the topic was recreated under a new id
	{kafka.DuplicateBrokerRegistration, "DUPLICATE_BROKER_REGISTRATION", fail},
	{kafka.BrokerIDNotRegistered, "BROKER_ID_NOT_REGISTERED", fail},
	{kafka.InconsistentTopicID, "INCONSISTENT_TOPIC_ID", refresh}, // the topic was recreated under a new id
	{kafka.InconsistentClusterID, "INCONSISTENT_CLUSTER_ID", fail},
	{kafka.TransactionalIDNotFound, "TRANSACTIONAL_ID_NOT_FOUND", fail},
	{kafka.FetchSessionTopicIDError, "FETCH_SESSION_TOPIC_ID_ERROR", retry},
	{kafka.Error(107), "INELIGIBLE_REPLICA", fail},
	{kafka.Error(108), "NEW_LEADER_ELECTED", fail},
	{kafka.Error(109), "OFFSET_MOVED_TO_TIERED_STORAGE", fail},
	{kafka.Error(110), "FENCED_MEMBER_EPOCH", fail},
	{kafka.Error(111), "UNRELEASED_INSTANCE_ID", fail},
	{kafka.Error(112), "UNSUPPORTED_ASSIGNOR", fail},
	{kafka.Error(113), "STALE_MEMBER_EPOCH", fail},
	{kafka.Error(114), "MISMATCHED_ENDPOINT_TYPE", fail},
	{kafka.Error(115), "UNSUPPORTED_ENDPOINT_TYPE", fail},
	{kafka.Error(116), "UNKNOWN_CONTROLLER_ID", fail},
	{kafka.Error(117), "UNKNOWN_SUBSCRIPTION_ID", fail},
	{kafka.Error(118), "TELEMETRY_TOO_LARGE", fail},
	{kafka.Error(119), "INVALID_REGISTRATION", fail},
	{kafka.Error(120), "TRANSACTION_ABORTABLE", fail},
	{kafka.Error(121), "INVALID_RECORD_STATE", fail},
	{kafka.Error(122), "SHARE_SESSION_NOT_FOUND", fail},
	{kafka.Error(123), "INVALID_SHARE_SESSION_EPOCH", fail},
	{kafka.Error(124), "FENCED_STATE_EPOCH", fail},
	{kafka.Error(125), "INVALID_VOTER_KEY", fail},
	{kafka.Error(126), "DUPLICATE_VOTER", fail},
	{kafka.Error(127), "VOTER_NOT_FOUND", fail},
	{kafka.Error(128), "INVALID_REGULAR_EXPRESSION", fail},
	{kafka.Error(129), "REBOOTSTRAP_REQUIRED", fail},
	{kafka.Error(130), "STREAMS_INVALID_TOPOLOGY", fail},
	{kafka.Error(131), "STREAMS_INVALID_TOPOLOGY_EPOCH", fail},
	{kafka.Error(132), "STREAMS_TOPOLOGY_FENCED", fail},
	{kafka.Error(133), "SHARE_SESSION_LIMIT_REACHED", retry},
	{kafka.Error(134), "GROUP_DELETION_FAILED", fail},
	{kafka.Error(135), "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED", fail},
	{kafka.Error(136), "CONTROLLER_ID_NOT_REGISTERED", fail},
}

// classOf looks a Kafka error code up in kafkaErrors.
func classOf(code kafka.Error) errorClass {
	for _, e := range kafkaErrors {
		if e.code == code {
			return e.class
		}
	}
	return fail
}

// kafkaClass is the class of a Kafka error code wrapped in err, if any.
func kafkaClass(err error) (errorClass, bool) {
	var kerr kafka.Error
	if !errors.As(err, &kerr) {
		return fail, false
	}
	return classOf(kerr), true
}

func isTooLarge(err error) bool {
	return errors.Is(err, kafka.MessageSizeTooLarge) || errors.Is(err, kafka.RecordListTooLarge)
}

// isPermanent reports the broker answers that retrying the same record
// cannot change: its size, its format, the topic's policy or ACLs.
func isPermanent(err error) bool {
	c, ok := kafkaClass(err)
	return ok && c == reject
}

// leaderError reports errors that say the request went by stale metadata:
// a refresh code from the broker, or kafka-go's transport finding no
// leader, or different leaders, for the partitions of one request in its
// metadata cache.
func leaderError(err error) bool {
	var routing *produce.Error
	if errors.As(err, &routing) {
		return true
	}
	c, ok := kafkaClass(err)
	return ok && c == refresh
}

// retriable reports whether another attempt may succeed: Kafka's
// retriable codes (kafkaErrors), a partition the answer left out, network
// trouble, and request timeouts.
func retriable(err error) bool {
	if leaderError(err) || errors.Is(err, errNoAnswer) {
		return true
	}
	if c, ok := kafkaClass(err); ok {
		return c == retry || c == refresh
	}
	var nerr net.Error
	return errors.As(err, &nerr) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// mockPartitions is how many partitions librdkafka's mock cluster gives a
// topic it auto-creates.
const mockPartitions = 4

// mockCluster starts librdkafka's own mock cluster (three brokers) inside a
// kcat process of this test and returns its bootstrap addresses. The
// process ends, by its PID, when the test ends.
func mockCluster(t *testing.T, kcat string) string {
	t.Helper()
	cmd := exec.Command(kcat, "-C", "-b", "127.0.0.1:1", "-t", "engage.mock", "-o", "end", "-q",
		"-X", "test.mock.num.brokers=3")
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("kcat mock cluster: %v", err)
	}
	var logs syncBuffer
	bootstrap := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		re := regexp.MustCompile(`Mock cluster enabled: .* replaced with (\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				bootstrap <- m[1]
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case b := <-bootstrap:
		return b
	case <-exited:
		t.Fatalf("the kcat mock cluster exited:\n%s", logs.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("the kcat mock cluster printed no addresses:\n%s", logs.String())
	}
	return ""
}

// kcatRecord is a record as kcat -J prints it.
type kcatRecord struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	Broker    int32    `json:"broker"` // the partition's leader it was read from
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
	Headers   []string `json:"headers"`
}

// header is the value of the record's only header named key, and whether
// there is exactly one.
func (r kcatRecord) header(key string) (string, bool) {
	v, n := "", 0
	for i := 0; i+1 < len(r.Headers); i += 2 {
		if r.Headers[i] == key {
			v, n = r.Headers[i+1], n+1
		}
	}
	return v, n == 1
}

// headerMap is the record's headers by name; a repeated name fails the test.
func (r kcatRecord) headerMap(t *testing.T) map[string]string {
	t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(r.Headers); i += 2 {
		if _, dup := h[r.Headers[i]]; dup {
			t.Errorf("%s/%d@%d: header %s twice", r.Topic, r.Partition, r.Offset, r.Headers[i])
		}
		h[r.Headers[i]] = r.Headers[i+1]
	}
	return h
}

// kcatReadTopic reads every record of topic, from the beginning to the end
// of each partition, with kcat.
func kcatReadTopic(kcat, bootstrap, topic string) ([]kcatRecord, error) {
	cmd := exec.Command(kcat, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-J")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kcat -C %s: %w\n%s", topic, err, stderr.String())
	}
	var recs []kcatRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r kcatRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("kcat output %q: %w", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}

// kcatReadAll reads every topic with kcat, one process per topic.
func kcatReadAll(t *testing.T, kcat, bootstrap string, topics []string) []kcatRecord {
	t.Helper()
	recs := make([][]kcatRecord, len(topics))
	errs := make([]error, len(topics))
	var wg sync.WaitGroup
	for i, topic := range topics {
		wg.Go(func() { recs[i], errs[i] = kcatReadTopic(kcat, bootstrap, topic) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return slices.Concat(recs...)
}

// kcatLeaders is each topic's partition leaders (broker ids by partition)
// as kcat -L reads them from the cluster's metadata.
func kcatLeaders(t *testing.T, kcat, bootstrap string) map[string][]int32 {
	t.Helper()
	out, err := exec.Command(kcat, "-L", "-J", "-b", bootstrap).Output()
	if err != nil {
		t.Fatalf("kcat -L: %v", err)
	}
	var md struct {
		Topics []struct {
			Topic      string `json:"topic"`
			Partitions []struct {
				Partition int32 `json:"partition"`
				Leader    int32 `json:"leader"`
			} `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat -L output %q: %v", out, err)
	}
	leaders := map[string][]int32{}
	for _, tp := range md.Topics {
		l := make([]int32, len(tp.Partitions))
		for _, p := range tp.Partitions {
			if p.Partition < 0 || int(p.Partition) >= len(l) {
				t.Fatalf("kcat -L: %s has partition %d of %d", tp.Topic, p.Partition, len(l))
			}
			l[p.Partition] = p.Leader
		}
		leaders[tp.Topic] = l
	}
	return leaders
}

// mockTopics creates the topics on the mock cluster the only way it
// creates topics, by auto-creation on a kcat produce, and returns the
// offset each partition's log starts at for the test: its end after that
// produce.
func mockTopics(t *testing.T, kcat, bootstrap string, topics []string) map[string]map[int32]int64 {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(topics))
	for i, topic := range topics {
		wg.Go(func() {
			cmd := exec.Command(kcat, "-P", "-b", bootstrap, "-t", topic)
			cmd.Stdin = strings.NewReader("mock cluster warm-up\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("kcat -P %s: %w\n%s", topic, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	start := map[string]map[int32]int64{}
	for _, topic := range topics {
		start[topic] = map[int32]int64{}
	}
	for _, r := range kcatReadAll(t, kcat, bootstrap, topics) {
		start[r.Topic][r.Partition] = max(start[r.Topic][r.Partition], r.Offset+1)
	}
	return start
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, p *process, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		a := do(t, http.MethodGet, p.admin+"/readyz", http.Header{}, nil)
		if a.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after %v: %s\n%s", a.status, limit, a.body, p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mockSent is what the test sent and expects back as one record.
type mockSent struct {
	eventType string
	topic     string
	key       string
	value     []byte
	headers   map[string]string // nil: the event headers of value, signed during the run
	contact   int               // -1 outside the concurrent run
	seq       int
}

// TestLibrdkafkaMockCluster runs the real binary (serve) against librdkafka's mock
// cluster, a Kafka broker written independently of kfake, with three
// brokers and partition leaders spread over them: Engage's example of every
// documented event type (cleartext and encrypted), a few thousand signed
// deliveries over several contacts sent concurrently (each contact's
// sequentially), an unrouted type and dead letters. kcat reads every
// record back: values byte-exact, keys, headers, the Java client's murmur2
// partition, and each contact's records in send order.
func TestLibrdkafkaMockCluster(t *testing.T) {
	t.Parallel()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat); .ci/run installs it")
	}
	bootstrap := mockCluster(t, kcat)
	start := mockTopics(t, kcat, bootstrap, routedTopics)
	// Leaders are placed at random: over all routed topics, more than one
	// broker leads (all 24 partitions on one broker is 3 in 3^24).
	metadataLeaders := map[int32]bool{}
	topicLeaders := kcatLeaders(t, kcat, bootstrap)
	for _, topic := range routedTopics {
		l := topicLeaders[topic]
		if len(l) != mockPartitions {
			t.Fatalf("%s has %d partitions, the mock cluster makes %d", topic, len(l), mockPartitions)
		}
		for _, b := range l {
			metadataLeaders[b] = true
		}
	}
	if len(metadataLeaders) < 2 {
		t.Fatalf("every partition led by broker %v: the run would not cross brokers", metadataLeaders)
	}
	p := startProcess(t, map[string]string{
		"BRIDGE_KAFKA_BROKERS":   bootstrap,
		"BRIDGE_SIGNING_SECRETS": e2eSecret2 + "," + e2eSecret,
	})
	t.Cleanup(func() { // startProcess kills; this also reaps, before the mock cluster goes
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	waitReady(t, p, 15*time.Second)

	byID := map[string]mockSent{}
	// Engage's example of every documented event type, one at a time.
	for i, et := range schemas.EventTypes() {
		for _, enc := range []bool{false, true} {
			body, want := example(t, et), example(t, et)
			if enc {
				body, want = encryptedExample(t, et)
			}
			id := fmt.Sprintf("msg_mock_example%02d%v", i, enc)
			at := time.Now()
			if a := deliver(t, p.webhook, e2eSecret, id, at, body, nil); a.status != 200 || a.body != `{"status":"published"}` {
				t.Fatalf("%s (encrypted %v): %+v", et, enc, a)
			}
			contactID, err := schemas.ContactID(mustPayload(t, want))
			if err != nil {
				t.Fatal(err)
			}
			env, _ := schemas.ParseEnvelope(want)
			byID[id] = mockSent{
				eventType: et, topic: topicFor(et), key: contactID, value: want, contact: -1,
				headers: map[string]string{
					"svix-id": id, "svix-timestamp": fmt.Sprint(at.Unix()), "engage-event-type": et,
					"engage-event-id": env.EventID, "engage-tenant": "myTenantName", "engage-endpoint": "default",
					"content-type": "application/json", "ce_specversion": "1.0", "ce_id": id,
					"ce_source": "/engage/myTenantName", "ce_type": et, "ce_subject": contactID,
				},
			}
		}
	}
	// Dead letters: signed, but without a contactId.
	for i := range 8 {
		id := fmt.Sprintf("msg_mock_dlq%d", i)
		body := fmt.Appendf(nil, `{"eventId":"e-dlq-%d","eventType":"contact.updated","payload":{"email":"x"},"tenant":"t"}`, i)
		at := time.Now()
		if a := deliver(t, p.webhook, e2eSecret, id, at, body, nil); a.body != `{"status":"deadlettered","reason":"missing_contact_id"}` {
			t.Fatalf("dead letter %d: %+v", i, a)
		}
		byID[id] = mockSent{
			eventType: "contact.updated", topic: "engage.deadletter", key: id, value: body, contact: -1,
			headers: map[string]string{
				"svix-id": id, "svix-timestamp": fmt.Sprint(at.Unix()), "engage-event-type": "contact.updated",
				"engage-tenant": "t", "engage-endpoint": "default", "engage-dlq-reason": "missing_contact_id",
				"engage-dlq-detail": "", // our own text, checked only to be there
			},
		}
	}

	// The concurrent run: each contact's deliveries one after another,
	// the contacts at the same time, over every documented type and one
	// unrouted type.
	const contacts, perContact = 16, 200
	types := append(schemas.EventTypes(), "order.created")
	bodies := map[string][]byte{}
	for _, et := range types {
		if et == "order.created" {
			bodies[et] = []byte(`{"eventId":"e-order","eventType":"order.created","isEncrypted":false,"payload":{"contactId":"CONTACT","orderId":"o-1"},"tenant":"myTenantName"}`)
			continue
		}
		b := example(t, et)
		id, err := schemas.ContactID(mustPayload(t, b))
		if err != nil {
			t.Fatal(err)
		}
		bodies[et] = bytes.ReplaceAll(b, []byte(id), []byte("CONTACT"))
	}
	var runSent []mockSent
	for c := range contacts {
		contactID := fmt.Sprintf("mock-contact-%02d-%d", c, c*7919)
		for s := range perContact {
			et := types[(c+s)%len(types)]
			runSent = append(runSent, mockSent{
				eventType: et, topic: topicFor(et), key: contactID, contact: c, seq: s,
				value: bytes.ReplaceAll(bodies[et], []byte("CONTACT"), []byte(contactID)),
			})
		}
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: contacts}}
	t.Cleanup(client.CloseIdleConnections)
	outcomes := make([][]outcome, contacts)
	began := time.Now()
	var wg sync.WaitGroup
	for c := range contacts {
		wg.Go(func() {
			for s := range perContact {
				m := runSent[c*perContact+s]
				o := post(client, p.webhook, fmt.Sprintf("msg_mock_c%02d_s%04d", c, s), m.value)
				outcomes[c] = append(outcomes[c], o)
				if o.status != 200 {
					return // the rest of this contact would be out of order
				}
			}
		})
	}
	wg.Wait()
	ended := time.Now()
	t.Logf("%d deliveries over %d contacts in %v", contacts*perContact, contacts, ended.Sub(began).Round(time.Millisecond))
	for c, got := range outcomes {
		for _, o := range got {
			if o.status != 200 {
				t.Fatalf("contact %d, %s: status %d, err %v\n%s", c, o.id, o.status, o.err, p.logs.String())
			}
		}
	}
	for i, m := range runSent {
		byID[fmt.Sprintf("msg_mock_c%02d_s%04d", m.contact, m.seq)] = runSent[i]
	}

	// Read everything back with kcat; what was acknowledged is readable,
	// but allow the followers' high watermark a moment.
	var recs []kcatRecord
	for attempt := 0; attempt < 50; attempt++ {
		recs = recs[:0]
		for _, r := range kcatReadAll(t, kcat, bootstrap, routedTopics) {
			if r.Offset >= start[r.Topic][r.Partition] {
				recs = append(recs, r)
			}
		}
		if len(recs) >= len(byID) {
			if attempt > 0 {
				t.Logf("kcat read every record at attempt %d", attempt+1)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(recs) != len(byID) {
		t.Errorf("kcat read %d records, the bridge acknowledged %d", len(recs), len(byID))
	}

	type place struct {
		topic string
		part  int32
	}
	seen := map[string]bool{}
	leaders := map[int32]bool{}
	last := map[int]map[place][2]int64{} // contact -> place -> (offset, seq) of the last record
	slices.SortFunc(recs, func(a, b kcatRecord) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	for _, r := range recs {
		where := fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Offset)
		leaders[r.Broker] = true
		id, _ := r.header("svix-id")
		m, ok := byID[id]
		if !ok {
			t.Errorf("%s: a record nobody sent (svix-id %q)", where, id)
			continue
		}
		if seen[id] {
			t.Errorf("%s: %s written twice", where, id)
		}
		seen[id] = true
		if r.Topic != m.topic {
			t.Errorf("%s: %s (%s) on %s, want %s", where, id, m.eventType, r.Topic, m.topic)
		}
		if r.Key == nil || *r.Key != m.key {
			t.Errorf("%s: %s key %v, want %q", where, id, r.Key, m.key)
		}
		if want := kafkatest.Murmur2Partition([]byte(m.key), mockPartitions); r.Partition != want {
			t.Errorf("%s: %s key %q on partition %d, Java's murmur2 says %d", where, id, m.key, r.Partition, want)
		}
		if r.Payload == nil || *r.Payload != string(m.value) {
			t.Errorf("%s: %s value differs:\n%v\nwant:\n%s", where, id, r.Payload, m.value)
		}
		h := r.headerMap(t)
		want := m.headers
		if want == nil {
			env, _ := schemas.ParseEnvelope(m.value)
			want = map[string]string{
				"svix-id": id, "engage-event-type": m.eventType, "engage-event-id": env.EventID,
				"engage-tenant": "myTenantName", "engage-endpoint": "default", "content-type": "application/json", "ce_specversion": "1.0",
				"ce_id": id, "ce_source": "/engage/myTenantName", "ce_type": m.eventType, "ce_subject": m.key,
				"svix-timestamp": h["svix-timestamp"], // post signs at its own now: checked below
			}
			if ts, err := strconv.ParseInt(h["svix-timestamp"], 10, 64); err != nil || ts < began.Unix()-1 || ts > ended.Unix()+1 {
				t.Errorf("%s: %s svix-timestamp %q outside the run (%d..%d)", where, id, h["svix-timestamp"], began.Unix(), ended.Unix())
			}
		}
		if _, ok := want["engage-dlq-detail"]; ok && h["engage-dlq-detail"] != "" {
			want = maps.Clone(want)
			want["engage-dlq-detail"] = h["engage-dlq-detail"]
		}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Errorf("%s: %s headers (-want +got):\n%s", where, id, diff)
		}
		if m.contact < 0 {
			continue
		}
		// Sorted by offset: within a partition, a contact's records must
		// come in the order it sent them.
		if last[m.contact] == nil {
			last[m.contact] = map[place][2]int64{}
		}
		pl := place{r.Topic, r.Partition}
		if prev, ok := last[m.contact][pl]; ok && int64(m.seq) < prev[1] {
			t.Errorf("%s: contact %d's delivery %d after its delivery %d (offset %d): reordered", where, m.contact, m.seq, prev[1], prev[0])
		}
		last[m.contact][pl] = [2]int64{r.Offset, int64(m.seq)}
	}
	for b := range leaders {
		if !metadataLeaders[b] {
			t.Errorf("a record read from broker %d, which leads no partition (leaders %v)", b, metadataLeaders)
		}
	}
	if len(leaders) < 2 {
		t.Errorf("every record read from broker %v, the partitions are led by %v", leaders, metadataLeaders)
	}
	missing := 0
	for id := range byID {
		if !seen[id] {
			if missing++; missing <= 10 {
				t.Errorf("%s was acknowledged but is not in Kafka", id)
			}
		}
	}
	if missing > 10 {
		t.Errorf("... %d acknowledged deliveries missing in all", missing)
	}
}

{{- define "engage-bridge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "engage-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "engage-bridge.labels" -}}
{{ include "engage-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "engage-bridge.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Kafka settings, shared by the bridge and the topics Job (ConfigMap data). */}}
{{- define "engage-bridge.kafkaEnv" -}}
BRIDGE_KAFKA_BROKERS: {{ required "kafka.brokers is required" .Values.kafka.brokers | quote }}
BRIDGE_KAFKA_CLIENT_ID: {{ .Values.kafka.clientID | quote }}
{{- if .Values.kafka.tls.enabled }}
BRIDGE_KAFKA_TLS: "true"
{{- end }}
{{- with .Values.kafka.sasl.mechanism }}
BRIDGE_KAFKA_SASL_MECHANISM: {{ . | quote }}
BRIDGE_KAFKA_USERNAME: {{ $.Values.kafka.sasl.username | quote }}
{{- end }}
{{- end -}}

{{/* Secret-file variables for the Kafka connection (container env). */}}
{{- define "engage-bridge.kafkaSecretEnv" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caKey }}
- name: BRIDGE_KAFKA_CA_FILE
  value: /etc/engage-bridge/{{ .Values.kafka.tls.caKey }}
{{- end }}
{{- if .Values.kafka.sasl.mechanism }}
- name: BRIDGE_KAFKA_PASSWORD_FILE
  value: /etc/engage-bridge/{{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- end -}}

{{/* GOMEMLIMIT: the container's memory limit (Mi or Gi) less the headroom. */}}
{{- define "engage-bridge.gomemlimit" -}}
{{- $mem := toString .Values.resources.limits.memory -}}
{{- $mib := 0 -}}
{{- if hasSuffix "Gi" $mem -}}
{{- $mib = mul (trimSuffix "Gi" $mem | atoi) 1024 -}}
{{- else if hasSuffix "Mi" $mem -}}
{{- $mib = trimSuffix "Mi" $mem | atoi -}}
{{- else -}}
{{- fail "resources.limits.memory must be given in Mi or Gi (GOMEMLIMIT is derived from it)" -}}
{{- end -}}
{{- if le (int $mib) (int .Values.memLimitHeadroomMiB) -}}
{{- fail "resources.limits.memory must exceed memLimitHeadroomMiB" -}}
{{- end -}}
{{ sub $mib .Values.memLimitHeadroomMiB }}MiB
{{- end -}}

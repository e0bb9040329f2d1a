{{/* Pieces of the NetworkPolicies (networkpolicy.yaml). */}}
{{- define "sequoia.np.podSelector" -}}
podSelector:
  matchLabels:
    {{- include "sequoia.componentSelectorLabels" . | nindent 4 }}
{{- end }}
{{- define "sequoia.np.dns" -}}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- end }}
{{- define "sequoia.np.redis" -}}
- to:
    {{- if .Values.redis.enabled }}
    - {{- include "sequoia.np.podSelector" (dict "ctx" . "component" "redis") | nindent 6 }}
    {{- else }}
    {{- toYaml .Values.networkPolicy.externalPeers | nindent 4 }}
    {{- end }}
  ports:
    - {protocol: TCP, port: {{ include "sequoia.redisPort" . }}}
    {{- if eq (include "sequoia.redisSentinel" .) "true" }}
    {{- $ports := dict }}
    {{- range .Values.externalRedis.sentinel.addresses }}{{ $_ := set $ports (last (splitList ":" .)) true }}{{ end }}
    {{- range $port, $_ := $ports }}
    - {protocol: TCP, port: {{ $port }}}
    {{- end }}
    {{- end }}
{{- end }}
{{- define "sequoia.np.postgres" -}}
- to:
    {{- if .Values.postgres.enabled }}
    - {{- include "sequoia.np.podSelector" (dict "ctx" . "component" "postgres") | nindent 6 }}
    {{- else }}
    {{- toYaml .Values.networkPolicy.externalPeers | nindent 4 }}
    {{- end }}
  ports:
    - {protocol: TCP, port: {{ .Values.postgres.enabled | ternary 5432 .Values.externalPostgres.port }}}
{{- end }}
{{- define "sequoia.np.s3" -}}
- to:
    {{- if and .Values.seaweedfs.enabled (not .Values.s3.endpointUrl) }}
    - {{- include "sequoia.np.podSelector" (dict "ctx" . "component" "seaweedfs") | nindent 6 }}
  ports:
    - {protocol: TCP, port: 8333}
    {{- else }}
    {{- toYaml .Values.networkPolicy.externalPeers | nindent 4 }}
  ports:
    - {protocol: TCP, port: {{ .Values.networkPolicy.s3Port }}}
    {{- end }}
{{- end }}
{{- define "sequoia.np.cloudCredentials" -}}
{{- with .Values.networkPolicy.cloudCredentials }}
{{- if .enabled }}
- to:
    {{- toYaml .peers | nindent 4 }}
  ports:
    {{- range .ports }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- define "sequoia.np.metadata" -}}
metadata:
  name: {{ include "sequoia.fullname" .ctx }}-{{ .name }}
  labels:
    {{- include "sequoia.labels" .ctx | nindent 4 }}
{{- end }}

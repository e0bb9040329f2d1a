{{/* Names and labels (the standard helper set). */}}
{{- define "sequoia.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sequoia.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sequoia.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sequoia.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sequoia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sequoia.labels" -}}
helm.sh/chart: {{ include "sequoia.chart" . }}
{{ include "sequoia.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sequoia
{{- end }}

{{/* Labels of one component: (dict "ctx" $ "component" "api"). */}}
{{- define "sequoia.componentLabels" -}}
{{ include "sequoia.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "sequoia.componentSelectorLabels" -}}
{{ include "sequoia.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* A component's object name: (dict "ctx" $ "component" "api"). */}}
{{- define "sequoia.componentName" -}}
{{- printf "%s-%s" (include "sequoia.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A Sequoia image: (dict "ctx" $ "image" .Values.api.image). global.imageRegistry, else
image.registry, goes before the repository; a digest pins it. */}}
{{- define "sequoia.image" -}}
{{- $registry := .ctx.Values.global.imageRegistry | default .ctx.Values.image.registry | trimSuffix "/" }}
{{- $tag := .image.tag | default .ctx.Values.image.tag | default .ctx.Chart.AppVersion }}
{{- if $registry }}{{ printf "%s/%s:%s" $registry .image.repository $tag }}{{ else }}{{ printf "%s:%s" .image.repository $tag }}{{ end }}
{{- with .image.digest }}@{{ . }}{{ end }}
{{- end }}

{{/* A third-party image (Redis, Postgres, SeaweedFS): (dict "ctx" $ "image" .Values.redis.image).
global.imageRegistry replaces the registry the repository names (docker.io/library/redis ->
<registry>/library/redis); a digest pins it. */}}
{{- define "sequoia.externalImage" -}}
{{- $repository := .image.repository }}
{{- with .ctx.Values.global.imageRegistry }}
{{- $parts := splitn "/" 2 $repository }}
{{- if and $parts._1 (or (contains "." $parts._0) (contains ":" $parts._0) (eq $parts._0 "localhost")) }}
{{- $repository = $parts._1 }}
{{- end }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- end }}
{{- printf "%s:%s" $repository .image.tag }}
{{- with .image.digest }}@{{ . }}{{ end }}
{{- end }}

{{- define "sequoia.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "sequoia.fullname" .) }}
{{- end }}

{{- define "sequoia.configName" -}}
{{- include "sequoia.fullname" . }}-config
{{- end }}

{{/* A component's ServiceAccount: its own (named after it unless serviceAccount.name says
otherwise), or an existing one. (dict "ctx" $ "component" "api" "serviceAccount" .Values.api.serviceAccount) */}}
{{- define "sequoia.serviceAccountName" -}}
{{- if .serviceAccount.create }}
{{- .serviceAccount.name | default (include "sequoia.componentName" (dict "ctx" .ctx "component" .component)) }}
{{- else }}
{{- .serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* The Sequoia components that run under a ServiceAccount of their own: component -> its values. */}}
{{- define "sequoia.accountHolders" -}}
{{- $holders := dict "api" .Values.api }}
{{- range $name, $worker := .Values.workers }}{{ if $worker.enabled }}{{ $_ := set $holders (printf "worker-%s" $name) $worker }}{{ end }}{{ end }}
{{- if and .Values.beat.enabled .Values.workers.media.enabled }}{{ $_ := set $holders "beat" .Values.beat }}{{ end }}
{{- if .Values.flower.enabled }}{{ $_ := set $holders "flower" .Values.flower }}{{ end }}
{{- toJson $holders }}
{{- end }}

{{/* Pod labels and annotations: the chart's labels (which win over podLabels), the given annotations
(checksums, which win) and podAnnotations. (dict "ctx" $ "component" "api" "values" .Values.api "annotations" dict) */}}
{{- define "sequoia.podMetadata" -}}
{{- $labels := merge (include "sequoia.componentLabels" (dict "ctx" .ctx "component" .component) | fromYaml) (.values.podLabels | default dict) }}
{{- $annotations := merge (.annotations | default dict) (.values.podAnnotations | default dict) -}}
labels:
  {{- toYaml $labels | nindent 2 }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Where a component's pods may run: priority, node selector, tolerations, affinity and topology
spread (a constraint without a labelSelector spreads this component's pods). (dict "ctx" $ "component" "api" "values" .Values.api) */}}
{{- define "sequoia.podScheduling" -}}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
{{- $selector := dict "matchLabels" (include "sequoia.componentSelectorLabels" (dict "ctx" $.ctx "component" $.component) | fromYaml) }}
topologySpreadConstraints:
  {{- range . }}
  - {{- toYaml (merge (deepCopy .) (dict "labelSelector" $selector)) | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Where Redis, Postgres and S3 are: in the chart or outside it. */}}
{{- define "sequoia.redisHost" -}}
{{- if .Values.redis.enabled }}{{ include "sequoia.componentName" (dict "ctx" . "component" "redis") }}
{{- else if eq (include "sequoia.redisSentinel" .) "true" }}{{ .Values.externalRedis.host | default "via-sentinel" }}
{{- else }}{{ required "externalRedis.host is required when redis.enabled=false" .Values.externalRedis.host }}{{ end }}
{{- end }}

{{/* External Redis found through Sentinel (REDIS_SENTINELS): REDIS_URL's host is then unused. */}}
{{- define "sequoia.redisSentinel" -}}
{{- and (not .Values.redis.enabled) (not (empty .Values.externalRedis.sentinel.addresses)) | toString }}
{{- end }}

{{/* A chart Service's fully qualified name, for components outside the release namespace (KEDA's
operator runs in its own): (dict "ctx" $ "component" "redis"). */}}
{{- define "sequoia.serviceFQDN" -}}
{{- printf "%s.%s.svc.%s" (include "sequoia.componentName" .) .ctx.Release.Namespace .ctx.Values.clusterDomain }}
{{- end }}

{{/* Redis as KEDA's operator reaches it: the in-chart Service by its qualified name, or the external host. */}}
{{- define "sequoia.redisQualifiedHost" -}}
{{- if .Values.redis.enabled }}{{ include "sequoia.serviceFQDN" (dict "ctx" . "component" "redis") }}{{ else }}{{ include "sequoia.redisHost" . }}{{ end }}
{{- end }}

{{- define "sequoia.redisPort" -}}
{{- if .Values.redis.enabled }}6379{{ else }}{{ .Values.externalRedis.port }}{{ end }}
{{- end }}

{{- define "sequoia.redisDatabase" -}}
{{- if .Values.redis.enabled }}{{ .Values.redis.database }}{{ else }}{{ .Values.externalRedis.database }}{{ end }}
{{- end }}

{{- define "sequoia.redisTLS" -}}
{{- and (not .Values.redis.enabled) .Values.externalRedis.tls.enabled | toString }}
{{- end }}

{{/* Where the Redis CA bundle is mounted in every container that talks to Redis. */}}
{{- define "sequoia.redisCADir" -}}/etc/sequoia/redis-tls{{- end }}

{{- define "sequoia.redisTLSMount" -}}
{{- if and (eq (include "sequoia.redisTLS" .) "true") .Values.externalRedis.tls.caSecret.name }}
- name: redis-tls
  mountPath: {{ include "sequoia.redisCADir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "sequoia.redisTLSVolume" -}}
{{- if and (eq (include "sequoia.redisTLS" .) "true") .Values.externalRedis.tls.caSecret.name }}
- name: redis-tls
  secret:
    secretName: {{ .Values.externalRedis.tls.caSecret.name }}
    items:
      - {key: {{ .Values.externalRedis.tls.caSecret.key }}, path: ca.crt}
{{- end }}
{{- end }}

{{/* An external Postgres' CA bundle, mounted where DATABASE_URL is read; libpq finds it through the
URL's sslrootcert (secret.yaml). */}}
{{- define "sequoia.postgresCADir" -}}/etc/sequoia/postgres-tls{{- end }}

{{- define "sequoia.postgresCA" -}}
{{- if and (not .Values.postgres.enabled) .Values.externalPostgres.caSecret.name }}true{{ end }}
{{- end }}

{{- define "sequoia.postgresTLSMount" -}}
{{- if include "sequoia.postgresCA" . }}
- name: postgres-tls
  mountPath: {{ include "sequoia.postgresCADir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "sequoia.postgresTLSVolume" -}}
{{- if include "sequoia.postgresCA" . }}
- name: postgres-tls
  secret:
    secretName: {{ .Values.externalPostgres.caSecret.name }}
    items:
      - {key: {{ .Values.externalPostgres.caSecret.key }}, path: ca.crt}
{{- end }}
{{- end }}

{{/* The sslrootcert DATABASE_URL needs: libpq refuses verify-ca/verify-full without a root certificate. */}}
{{- define "sequoia.postgresRootCert" -}}
{{- if include "sequoia.postgresCA" . }}{{ include "sequoia.postgresCADir" . }}/ca.crt
{{- else if and (not .Values.postgres.enabled) (has .Values.externalPostgres.sslmode (list "verify-ca" "verify-full")) }}system
{{- end }}
{{- end }}

{{- define "sequoia.postgresHost" -}}
{{- if .Values.postgres.enabled }}{{ include "sequoia.componentName" (dict "ctx" . "component" "postgres") }}{{ else }}{{ required "externalPostgres.host is required when postgres.enabled=false" .Values.externalPostgres.host }}{{ end }}
{{- end }}

{{- define "sequoia.s3EndpointUrl" -}}
{{- if .Values.s3.endpointUrl }}{{ .Values.s3.endpointUrl }}{{ else if .Values.seaweedfs.enabled }}{{ printf "http://%s:8333" (include "sequoia.componentName" (dict "ctx" . "component" "seaweedfs")) }}{{ end }}
{{- end }}

{{/* The Redis lists KEDA watches for one worker: each queue, and its priority sub-lists when
priorities are on (kombu names them "<queue>\x06\x16<step>"). */}}
{{- define "sequoia.queueLists" -}}
{{- $lists := list }}
{{- range .queues }}
{{- $lists = append $lists . }}
{{- $queue := . }}
{{- range $.priorityLevels }}
{{- $lists = append $lists (printf "%s\x06\x16%d" $queue (int .)) }}
{{- end }}
{{- end }}
{{- toJson $lists }}
{{- end }}

{{/* "true" when KEDA scales the workers: wanted, and its API served by the cluster (`helm template`
needs `--api-versions keda.sh/v1alpha1`); else the workers fall back to the CPU HPA (NOTES.txt says so). */}}
{{- define "sequoia.kedaOn" -}}
{{- and .Values.keda.enabled (.Capabilities.APIVersions.Has "keda.sh/v1alpha1") | toString }}
{{- end }}

{{/* Refuse to render a prometheus-operator object into a cluster without its CRDs: (dict "ctx" $ "value" "metrics.serviceMonitor.enabled"). */}}
{{- define "sequoia.requireMonitoringAPI" -}}
{{- if not (.ctx.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") }}
{{- fail (printf "%s needs the monitoring.coreos.com/v1 API (ServiceMonitor, PrometheusRule), which this cluster does not serve: install prometheus-operator's CRDs (e.g. the kube-prometheus-stack chart) or set %s=false; with helm template pass --api-versions monitoring.coreos.com/v1" .value .value) }}
{{- end }}
{{- end }}

{{/* Queued messages per replica KEDA aims at: listLength, or WORKER_CONCURRENCY x queuedPerProcess.
(dict "ctx" $ "keda" $worker.keda) */}}
{{- define "sequoia.kedaListLength" -}}
{{- if kindIs "invalid" .keda.listLength }}
{{- mul (.ctx.Values.config.WORKER_CONCURRENCY | default 2 | int) .keda.queuedPerProcess }}
{{- else }}
{{- .keda.listLength }}
{{- end }}
{{- end }}

{{/* Refuse scaling bounds that no autoscaler can honour (JSON schema cannot compare two values).
(dict "name" "thumbnails" "worker" $worker) */}}
{{- define "sequoia.validateWorkerScaling" -}}
{{- $keda := .worker.keda }}
{{- $hpa := .worker.hpa }}
{{- if gt (int $keda.minReplicaCount) (int $keda.maxReplicaCount) }}
{{- fail (printf "workers.%s.keda.minReplicaCount (%v) is above maxReplicaCount (%v)" .name $keda.minReplicaCount $keda.maxReplicaCount) }}
{{- end }}
{{- if or (lt (int $keda.fallback.replicas) (int $keda.minReplicaCount)) (gt (int $keda.fallback.replicas) (int $keda.maxReplicaCount)) }}
{{- fail (printf "workers.%s.keda.fallback.replicas (%v) must lie between minReplicaCount (%v) and maxReplicaCount (%v)" .name $keda.fallback.replicas $keda.minReplicaCount $keda.maxReplicaCount) }}
{{- end }}
{{- if gt (int $hpa.minReplicas) (int $hpa.maxReplicas) }}
{{- fail (printf "workers.%s.hpa.minReplicas (%v) is above maxReplicas (%v)" .name $hpa.minReplicas $hpa.maxReplicas) }}
{{- end }}
{{- end }}

{{/* A memory quantity ("512Mi", "2Gi", "1G", bytes) in whole MiB. */}}
{{- define "sequoia.quantityMi" -}}
{{- $q := toString . }}
{{- $number := regexFind "^[0-9.]+" $q }}
{{- $unit := trimPrefix $number $q }}
{{- $factors := dict "Ki" 0.0009765625 "Mi" 1.0 "Gi" 1024.0 "Ti" 1048576.0 "k" 0.00095367431640625 "M" 0.95367431640625 "G" 953.67431640625 "" 0.00000095367431640625 }}
{{- if or (not $number) (not (hasKey $factors $unit)) }}{{ fail (printf "cannot read the memory quantity %q" $q) }}{{ end }}
{{- mulf (float64 $number) (index $factors $unit) | floor | int }}
{{- end }}

{{/* A worker's resources with a memory limit that holds its renders: WORKER_CONCURRENCY render
children at RENDER_MEMORY_LIMIT_MB each plus the worker's own processes. An empty limit is derived,
a smaller one refused. (dict "ctx" $ "name" "thumbnails" "worker" $worker) */}}
{{- define "sequoia.workerResources" -}}
{{- $w := .worker }}
{{- $concurrency := .ctx.Values.config.WORKER_CONCURRENCY | default 2 | int }}
{{- $render := .ctx.Values.config.RENDER_MEMORY_LIMIT_MB | default 2048 | int }}
{{- $needed := $w.memoryFootprintMi | int }}
{{- $formula := printf "memoryFootprintMi (%d)" $needed }}
{{- if $w.rendersMedia }}
{{- $formula = printf "WORKER_CONCURRENCY (%d) x RENDER_MEMORY_LIMIT_MB (%d) + %s" $concurrency $render $formula }}
{{- $needed = add (mul $concurrency $render) $needed }}
{{- end }}
{{- $resources := deepCopy ($w.resources | default dict) }}
{{- $limits := $resources.limits | default dict }}
{{- if $limits.memory }}
{{- if lt (int (include "sequoia.quantityMi" $limits.memory)) (int $needed) }}
{{- fail (printf "workers.%s.resources.limits.memory (%s) is below %s = %dMi: raise it (or leave it empty to derive it), or lower WORKER_CONCURRENCY or RENDER_MEMORY_LIMIT_MB" .name $limits.memory $formula $needed) }}
{{- end }}
{{- else }}
{{- $_ := set $limits "memory" (printf "%dMi" $needed) }}
{{- end }}
{{- $_ := set $resources "limits" $limits }}
{{- toYaml $resources }}
{{- end }}

{{/* Seconds a worker pod gets for a warm shutdown: the longest task may finish first. */}}
{{- define "sequoia.workerGracePeriod" -}}
{{- $limit := .Values.config.TASK_TIME_LIMIT_SECONDS | default 1800 | int }}
{{- add $limit .Values.workerShutdownMarginSeconds }}
{{- end }}

{{/* Checksum of settings and secrets, so pods roll when either changes. */}}
{{- define "sequoia.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{ include "sequoia.secretChecksum" . }}
{{- end }}

{{/* Checksum of the credentials: the chart's Secret as rendered (stable across upgrades, which keep its
values through lookup), or the data of an existing Secret as the cluster holds it (empty where lookup
cannot reach a cluster: helm template, Argo CD). */}}
{{- define "sequoia.secretChecksum" -}}
{{- if .Values.secrets.existingSecret }}
checksum/secret: {{ (lookup "v1" "Secret" .Release.Namespace .Values.secrets.existingSecret).data | default dict | toJson | sha256sum }}
{{- else }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* Keys an existing Secret must hold with these values, and why. */}}
{{- define "sequoia.requiredSecretKeys" -}}
{{- $keys := dict "api-token" "the API's bearer token" "redis-url" "REDIS_URL of every process" "database-url" "DATABASE_URL of every process" }}
{{- if .Values.flower.enabled }}{{ $_ := set $keys "flower-password" "Flower's basic auth" }}{{ end }}
{{- if eq (include "sequoia.redisHasPassword" .) "true" }}{{ $_ := set $keys "redis-password" "KEDA's TriggerAuthentication (and the in-chart Redis)" }}{{ end }}
{{- if .Values.postgres.enabled }}{{ $_ := set $keys "database-password" "the in-chart Postgres" }}{{ end }}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.flower.enabled }}{{ $_ := set $keys "flower-user" "Prometheus' login to Flower" }}{{ end }}
{{- if .Values.seaweedfs.enabled }}{{ $_ := set $keys "seaweedfs-s3.json" "the in-chart SeaweedFS identities" }}{{ end }}
{{- toJson $keys }}
{{- end }}

{{/* With secrets.existingSecret: refuse values the Secret would silently override, and, where lookup
reaches the cluster (helm install/upgrade), a Secret that lacks a key this release reads. */}}
{{- define "sequoia.checkExistingSecret" -}}
{{- $name := .Values.secrets.existingSecret }}
{{- range $value, $given := dict "auth.apiToken" .Values.auth.apiToken "flower.password" .Values.flower.password "externalRedis.password" .Values.externalRedis.password "externalPostgres.password" .Values.externalPostgres.password "s3.accessKeyId" .Values.s3.accessKeyId "s3.secretAccessKey" .Values.s3.secretAccessKey }}
{{- if $given }}
{{- fail (printf "%s is ignored with secrets.existingSecret (%s): put it in that Secret instead (docs/kubernetes.md lists the keys)" $value $name) }}
{{- end }}
{{- end }}
{{- $found := lookup "v1" "Secret" .Release.Namespace $name }}
{{- if $found }}
{{- range $key, $why := include "sequoia.requiredSecretKeys" . | fromJson }}
{{- if not (hasKey ($found.data | default dict) $key) }}
{{- fail (printf "secrets.existingSecret %s has no key %q (%s)" $name $key $why) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment of a Sequoia container: every setting from the ConfigMap, credentials from the
Secret. (dict "ctx" $ "apiToken" true "flowerPassword" false) */}}
{{- define "sequoia.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "sequoia.configName" .ctx }}
env:
  - name: REDIS_URL
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: redis-url}}
  - name: DATABASE_URL
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: database-url}}
  - name: AWS_ACCESS_KEY_ID
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: s3-access-key-id, optional: true}}
  - name: AWS_SECRET_ACCESS_KEY
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: s3-secret-access-key, optional: true}}
  {{- if .apiToken }}
  - name: SEQUOIA_API_TOKEN
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: api-token}}
  - name: SEQUOIA_API_TOKENS
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: api-tokens, optional: true}}
  - name: SEQUOIA_READ_TOKENS
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: read-tokens, optional: true}}
  - name: GALLERY_LINK_SECRET
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: link-secret, optional: true}}
  {{- end }}
  {{- if .flowerPassword }}
  - name: FLOWER_PASSWORD
    valueFrom: {secretKeyRef: {name: {{ include "sequoia.secretName" .ctx }}, key: flower-password}}
  {{- end }}
{{- end }}

{{/* Pod-level hardening shared by every Sequoia pod. */}}
{{- define "sequoia.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Container-level hardening and the writable /tmp that a read-only root filesystem needs. */}}
{{- define "sequoia.containerSecurity" -}}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- end }}

{{- define "sequoia.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "sequoia.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .sizeLimit | default "1Gi" }}
{{- end }}

{{/* Label selector of this release's worker Deployments (the API reads their replicas). */}}
{{- define "sequoia.workerSelector" -}}
{{- $components := list }}
{{- range $name, $worker := .Values.workers }}{{ if $worker.enabled }}{{ $components = append $components (printf "worker-%s" $name) }}{{ end }}{{ end }}
{{- printf "app.kubernetes.io/instance=%s,app.kubernetes.io/component in (%s)" .Release.Name (join "," $components) }}
{{- end }}

{{/* "true" when Redis asks for a password (always for the in-chart Redis). */}}
{{- define "sequoia.redisHasPassword" -}}
{{- or .Values.redis.enabled .Values.externalRedis.password .Values.secrets.existingSecret | toString | ne "" }}
{{- end }}

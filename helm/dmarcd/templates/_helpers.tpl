{{/*
Helpers shared by every template: names, labels, where each secret comes
from, and the pod template every workload uses (one image, one pod shape,
a different `dmarcd` subcommand per workload).
*/}}

{{- define "dmarcd.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-wide base name; the release name alone when it already says dmarcd. */}}
{{- define "dmarcd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "dmarcd.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: (dict "ctx" $ "component" "api"). */}}
{{- define "dmarcd.componentName" -}}
{{- printf "%s-%s" (include "dmarcd.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dmarcd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dmarcd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dmarcd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dmarcd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dmarcd
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector of one component: (dict "ctx" $ "component" "api"). */}}
{{- define "dmarcd.componentSelectorLabels" -}}
{{ include "dmarcd.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "dmarcd.componentLabels" -}}
{{ include "dmarcd.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "dmarcd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "dmarcd.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "dmarcd.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* host:port for a listener; IPv6 addresses in brackets. */}}
{{- define "dmarcd.listen" -}}
{{- $addr := .ctx.Values.config.listenAddress -}}
{{- if contains ":" $addr -}}
{{- printf "[%s]:%v" $addr .port -}}
{{- else -}}
{{- printf "%s:%v" $addr .port -}}
{{- end -}}
{{- end -}}

{{/*
Where a secret value comes from: "name/key" of the Secret, or "" when the
value is not configured. (dict "ctx" $ "which" "database"|"redis"|"masterKey").
The chart's own Secret is <fullname>; the migrate hook has a copy of the
database URL in <fullname>-migrate (it runs before the release's Secret
exists).
*/}}
{{- define "dmarcd.secretRef" -}}
{{- $v := index .ctx.Values .which -}}
{{- $inline := "" -}}
{{- if eq .which "masterKey" }}{{ $inline = $v.value }}{{ else }}{{ $inline = $v.url }}{{ end -}}
{{- if $v.existingSecret -}}
{{- printf "%s/%s" $v.existingSecret $v.existingSecretKey -}}
{{- else if $inline -}}
{{- $name := include "dmarcd.fullname" .ctx -}}
{{- if get . "hook" }}{{ $name = printf "%s-migrate" $name | trunc 63 | trimSuffix "-" }}{{ end -}}
{{- printf "%s/%s" $name (index (dict "database" "database-url" "redis" "redis-url" "masterKey" "master-key") .which) -}}
{{- end -}}
{{- end -}}

{{/* Credential of one IMAP mailbox: "name/key". (dict "ctx" $ "mb" $mailbox). */}}
{{- define "dmarcd.imapSecretRef" -}}
{{- $key := ternary "oauth2-token" "password" (eq (.mb.auth | default "password") "oauth2") -}}
{{- if .mb.existingSecret -}}
{{- printf "%s/%s" .mb.existingSecret (.mb.existingSecretKey | default $key) -}}
{{- else -}}
{{- printf "%s/%s" (include "dmarcd.componentName" (dict "ctx" .ctx "component" (printf "imap-%s" .mb.name))) $key -}}
{{- end -}}
{{- end -}}

{{/* One source of the projected secrets volume: (dict "ref" "name/key" "path" "file"). */}}
{{- define "dmarcd.secretSource" -}}
{{- $parts := splitList "/" .ref -}}
- secret:
    name: {{ index $parts 0 }}
    items:
      - key: {{ index $parts 1 }}
        path: {{ .path }}
{{- end -}}

{{/* Probe from values; httpGet probes switch to HTTPS when the api serves TLS. */}}
{{- define "dmarcd.probe" -}}
{{- $p := deepCopy .probe -}}
{{- if and .https (hasKey $p "httpGet") -}}
{{- $_ := set $p.httpGet "scheme" "HTTPS" -}}
{{- end -}}
{{- toYaml $p -}}
{{- end -}}

{{/* Preferred or required spreading of one component over nodes. */}}
{{- define "dmarcd.affinity" -}}
{{- if .affinity -}}
{{- toYaml .affinity -}}
{{- else if eq .antiAffinity "soft" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "dmarcd.componentSelectorLabels" . | nindent 12 }}
{{- else if eq .antiAffinity "hard" -}}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "dmarcd.componentSelectorLabels" . | nindent 10 }}
{{- end -}}
{{- end -}}

{{/*
The pod template of every workload. Parameters (a dict):
  ctx        the root context ($)
  component  api | worker | smtp | imap | retention | migrate
  args       the dmarcd command line (list)
  w          the component's values (resources, probes, extraEnv, ...)
  env        extra environment entries (list of {name, value})
  secrets    list of (dict "ref" "name/key" "path" "file") mounted under /run/secrets/dmarcd
  tlsSecret  name of a kubernetes.io/tls Secret mounted at /run/secrets/dmarcd-tls, or ""
  ports      container ports (list of {name, containerPort})
  https      probes use HTTPS
  hook       true for the migrate hook: no ConfigMap, hook ServiceAccount
  restartPolicy  for Jobs
  extraLabels    added to the pod labels (map)
*/}}
{{- define "dmarcd.podTemplate" -}}
{{- $ := .ctx -}}
{{- $w := .w -}}
{{- $https := get . "https" -}}
metadata:
  labels:
    {{- include "dmarcd.componentSelectorLabels" . | nindent 4 }}
    {{- with get . "extraLabels" }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with $.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $ann := dict }}
  {{- if not (get . "hook") }}
  {{- $_ := set $ann "checksum/config" (include (print $.Template.BasePath "/configmap.yaml") $ | sha256sum) }}
  {{- $_ := set $ann "checksum/secret" (include (print $.Template.BasePath "/secret.yaml") $ | sha256sum) }}
  {{- end }}
  {{- if and (eq .component "api") $.Values.metrics.podAnnotations }}
  {{- $_ := set $ann "prometheus.io/scrape" "true" }}
  {{- $_ := set $ann "prometheus.io/path" "/metrics" }}
  {{- $_ := set $ann "prometheus.io/port" (toString $.Values.api.containerPort) }}
  {{- if $.Values.api.tls.enabled }}
  {{- $_ := set $ann "prometheus.io/scheme" "https" }}
  {{- end }}
  {{- end }}
  {{- $ann = merge $ann (get $w "podAnnotations" | default dict) $.Values.podAnnotations }}
  {{- with $ann }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- if get . "hook" }}
  serviceAccountName: {{ include "dmarcd.componentName" (dict "ctx" $ "component" "migrate") }}
  {{- else }}
  serviceAccountName: {{ include "dmarcd.serviceAccountName" $ }}
  {{- end }}
  automountServiceAccountToken: false
  {{- /* Service links would put <SERVICE>_PORT variables in the environment;
         for a release named dmarcd they would look like DMARCD_ settings. */}}
  enableServiceLinks: false
  {{- with get . "restartPolicy" }}
  restartPolicy: {{ . }}
  {{- end }}
  {{- with get $w "terminationGracePeriodSeconds" }}
  terminationGracePeriodSeconds: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  {{- with $.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- $aff := include "dmarcd.affinity" (dict "ctx" $ "component" .component "affinity" (get $w "affinity") "antiAffinity" (get $w "podAntiAffinity")) }}
  {{- if $aff }}
  affinity:
    {{- $aff | nindent 4 }}
  {{- end }}
  {{- with get $w "topologySpreadConstraints" }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "dmarcd.image" $ | quote }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      args:
        {{- toYaml .args | nindent 8 }}
      {{- if not (get . "hook") }}
      envFrom:
        - configMapRef:
            name: {{ include "dmarcd.fullname" $ }}
      {{- end }}
      {{- $env := concat (get . "env" | default list) (get $w "extraEnv" | default list) }}
      {{- with $env }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with get . "ports" }}
      ports:
        {{- range . }}
        - name: {{ .name }}
          containerPort: {{ .containerPort }}
          protocol: TCP
        {{- end }}
      {{- end }}
      {{- with get $w "livenessProbe" }}
      livenessProbe:
        {{- include "dmarcd.probe" (dict "probe" . "https" $https) | nindent 8 }}
      {{- end }}
      {{- with get $w "readinessProbe" }}
      readinessProbe:
        {{- include "dmarcd.probe" (dict "probe" . "https" $https) | nindent 8 }}
      {{- end }}
      {{- with $w.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if get . "secrets" }}
        - name: secrets
          mountPath: /run/secrets/dmarcd
          readOnly: true
        {{- end }}
        {{- if get . "tlsSecret" }}
        - name: tls
          mountPath: /run/secrets/dmarcd-tls
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        {{- with $.Values.tmpVolume.medium }}
        medium: {{ . }}
        {{- end }}
        {{- with $.Values.tmpVolume.sizeLimit }}
        sizeLimit: {{ . }}
        {{- end }}
    {{- if get . "secrets" }}
    - name: secrets
      projected:
        defaultMode: 288 # 0440: owner and the pod's fsGroup may read
        sources:
          {{- range .secrets }}
          {{- include "dmarcd.secretSource" . | nindent 10 }}
          {{- end }}
    {{- end }}
    {{- if get . "tlsSecret" }}
    - name: tls
      secret:
        secretName: {{ .tlsSecret }}
        defaultMode: 288 # 0440
    {{- end }}
{{- end -}}

{{/* Secret files every non-hook workload mounts: database and Redis URLs. */}}
{{- define "dmarcd.commonSecrets" -}}
{{- $list := list -}}
{{- with include "dmarcd.secretRef" (dict "ctx" . "which" "database") -}}
{{- $list = append $list (dict "ref" . "path" "database-url") -}}
{{- end -}}
{{- with include "dmarcd.secretRef" (dict "ctx" . "which" "redis") -}}
{{- $list = append $list (dict "ref" . "path" "redis-url") -}}
{{- end -}}
{{- toJson $list -}}
{{- end -}}

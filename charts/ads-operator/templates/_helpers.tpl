{{/*
Names. The release name is the default prefix so two releases (say, one per team
namespace set) never share a ServiceAccount, role or peering object.
*/}}
{{- define "ads-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ads-operator.fullname" -}}
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

{{- define "ads-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ads-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ads-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ads-operator.labels" -}}
helm.sh/chart: {{ include "ads-operator.chart" . }}
{{ include "ads-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ads-operator
{{- end }}

{{- define "ads-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ads-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create=false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ads-operator.peeringName" -}}
{{- default (include "ads-operator.fullname" .) .Values.peering.name }}
{{- end }}

{{/*
The image reference: a digest pins the exact build and wins over the tag.
*/}}
{{- define "ads-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Checks across values that a JSON schema cannot express with a readable message.
Included once, from the Deployment, so `helm install` stops before anything is created.
*/}}
{{- define "ads-operator.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.peering.enabled) }}
{{- fail "replicas > 1 needs peering.enabled=true: without kopf peering every replica would handle every resource" }}
{{- end }}
{{- /* With peering each replica of `ads-operator run` picks a random priority: the highest
works, the others wait (kopf would pause every peer of equal priority). */}}
{{- if and (eq .Values.oci.auth "api_key") (not .Values.oci.apiKey.secretName) }}
{{- fail "oci.auth=api_key needs oci.apiKey.secretName: the Secret holding the OCI config file and the key it names" }}
{{- end }}
{{- if and (eq .Values.oci.auth "oke_workload_identity") (not .Values.oci.region) }}
{{- fail "oci.auth=oke_workload_identity needs oci.region: OKE workload identity tokens are exchanged in a region" }}
{{- end }}
{{- if and .Values.watchNamespaces (not .Values.rbac.create) (not .Values.serviceAccount.name) }}
{{- fail "rbac.create=false needs serviceAccount.name: a ServiceAccount someone else has granted the rights" }}
{{- end }}
{{- if gt (len .Values.watchNamespaces) (len (uniq .Values.watchNamespaces)) }}
{{- fail "watchNamespaces lists a namespace twice" }}
{{- end }}
{{- end }}

{{/*
Rules the operator needs on the namespaced objects it serves. One list, used by the
ClusterRole (all namespaces) and by each per-namespace Role, so both modes grant exactly
the same verbs.
*/}}
{{- define "ads-operator.namespacedRules" -}}
# The custom resources: kopf lists and watches them, patches annotations (progress,
# finalizer) and writes .status through the status subresource.
- apiGroups: ["ads.oci.dev"]
  resources: ["datasciencejobs", "datasciencejobruns"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["ads.oci.dev"]
  resources: ["datasciencejobs/status", "datasciencejobruns/status"]
  verbs: ["get", "patch"]
# A job's schedule creates its runs; ttlSecondsAfterFinished and the job's run history
# limits delete them. Only runs: the operator never creates or deletes jobs.
- apiGroups: ["ads.oci.dev"]
  resources: ["datasciencejobruns"]
  verbs: ["create", "delete"]
# Lifecycle transitions and mirrored log lines become core v1 Events. `get`: after a
# restart the operator reads back the Events its log steps made first (their records).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "get"]
{{- if .Values.rbac.readSecrets }}
# authSecretRef: a resource may name a Secret with OCI credentials in its own namespace.
# Only `get` by name: the operator never lists or watches Secrets.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}
{{- if .Values.rbac.readConfigMaps }}
# configmap:// code sources are read by name when a job's artifact is built.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
{{- end }}
{{- end }}

{{/*
kopf peering: every replica writes its keep-alive into the peering object's status and
pauses while a peer with a higher priority is alive.
*/}}
{{- define "ads-operator.peeringVerbs" -}}
["get", "list", "watch", "patch"]
{{- end }}

{{/*
Templates of this chart keep to a small part of Helm's language (if/else/end, include, toYaml,
nindent, indent, quote, default, trunc, trimSuffix, printf, and, or, not, eq, .Values, .Release,
.Chart), which tests/Pvmd.Tests/Deploy renders itself: no helm binary runs in CI.
*/}}

{{- define "pvmd.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pvmd.serviceAccountName" -}}
{{- default (include "pvmd.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "pvmd.policyConfigMap" -}}
{{- if .Values.policy.create -}}
{{- printf "%s-policy" (include "pvmd.fullname" .) -}}
{{- else -}}
{{- .Values.policy.existingConfigMap -}}
{{- end -}}
{{- end -}}

{{- define "pvmd.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pvmd.labels" -}}
{{ include "pvmd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "pvmd.healthProbe" -}}
exec:
  command: [/opt/pvmd/pvmd, --health-check]
{{- end -}}

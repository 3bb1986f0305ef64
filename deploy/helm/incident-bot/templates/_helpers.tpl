{{- define "incident-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "incident-bot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "incident-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "incident-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "incident-bot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "incident-bot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "incident-bot.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "incident-bot.secretName" -}}
{{- default (include "incident-bot.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "incident-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "incident-bot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* One secret setting: from the Secret as a variable, or as <NAME>_FILE naming the mounted key.
     Called with (list $ "SLACK_BOT_TOKEN" .Values.secretKeys.slackBotToken optional). */}}
{{- define "incident-bot.secretEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $key := index . 2 -}}
{{- if $root.Values.secretFiles.enabled }}
- name: {{ $name }}_FILE
  value: {{ printf "%s/%s" $root.Values.secretFiles.mountPath $key | quote }}
{{- else }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "incident-bot.secretName" $root }}
      key: {{ $key }}
      {{- if index . 3 }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/* The Secret as files (secretFiles.enabled): the volume and its mount. */}}
{{- define "incident-bot.secretVolume" -}}
{{- if .Values.secretFiles.enabled }}
- name: secrets
  secret:
    secretName: {{ include "incident-bot.secretName" . }}
    defaultMode: 0440
{{- end }}
{{- end -}}
{{- define "incident-bot.secretMount" -}}
{{- if .Values.secretFiles.enabled }}
- name: secrets
  mountPath: {{ .Values.secretFiles.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/* The database URL from the Secret: what both the bot and the migration Job need. */}}
{{- define "incident-bot.databaseEnv" -}}
{{- include "incident-bot.secretEnv" (list . "DATABASE_URL" .Values.secretKeys.databaseUrl false) }}
- name: LOG_LEVEL
  value: {{ .Values.settings.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ .Values.settings.logFormat | quote }}
{{- end -}}

{{- define "incident-bot.checkValues" -}}
{{- if and (not .Values.existingSecret) (or (not .Values.secrets.slackBotToken) (not .Values.secrets.slackSigningSecret) (not .Values.secrets.databaseUrl)) -}}
{{- fail "set existingSecret (a Secret with SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, DATABASE_URL), or secrets.slackBotToken, secrets.slackSigningSecret and secrets.databaseUrl" -}}
{{- end -}}
{{- if and (not .Values.existingSecret) (hasPrefix "sqlite" .Values.secrets.databaseUrl) (gt (int .Values.replicaCount) 1) -}}
{{- fail "several replicas need PostgreSQL: secrets.databaseUrl is SQLite (each pod would get its own database)" -}}
{{- end -}}
{{- end -}}

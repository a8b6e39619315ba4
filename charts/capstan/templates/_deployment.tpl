{{/*
A component Deployment running one `capstan` subcommand. Call with
(dict "root" $ "component" "capi" "values" .Values.capi "args" (list "capi" "--flag=value")).
The image's entrypoint is the `capstan` binary.
*/}}
{{- define "capstan.deployment" -}}
{{- $root := .root -}}
{{- $values := .values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "capstan.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "capstan.componentLabels" . | nindent 4 }}
spec:
  replicas: {{ $values.replicas }}
  selector:
    matchLabels:
      {{- include "capstan.componentSelectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "capstan.componentSelectorLabels" . | nindent 8 }}
        {{- with $root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $root.Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "capstan.serviceAccountName" . }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "capstan.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- range .args }}
            - {{ . | quote }}
            {{- end }}
            - "--kube-api-qps={{ $values.kubeAPIQPS }}"
            - "--kube-api-burst={{ $values.kubeAPIBurst }}"
            - "--concurrency={{ $values.concurrency }}"
            - "--leader-elect={{ $values.leaderElection.enabled }}"
            - "--leader-elect-resource-namespace={{ $root.Release.Namespace }}"
            - "--metrics-bind-address=:{{ $values.metricsPort }}"
            - "--health-probe-bind-address=:{{ $values.healthPort }}"
            {{- range $values.extraArgs }}
            - {{ . | quote }}
            {{- end }}
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
          ports:
            - name: metrics
              containerPort: {{ $values.metricsPort }}
              protocol: TCP
            - name: health
              containerPort: {{ $values.healthPort }}
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: health
            initialDelaySeconds: 10
            periodSeconds: 20
          readinessProbe:
            httpGet:
              path: /readyz
              port: health
            periodSeconds: 10
          {{- with $root.Values.securityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

/**
 * Realistic pod-bearing manifests for the benchmarks: a deterministic mix of Deployments,
 * StatefulSets, Pods, Jobs and CronJobs with init containers, env, probes and resources,
 * some clean and some with the mistakes the rules look for.
 */
export function manifest(i: number): string {
  const name = `app-${i}`
  const jvm = i % 7 === 0
  const image = i % 11 === 0 ? 'nginx' : i % 13 === 0 ? 'Registry.example.com/Team/app:1.0' : `registry.example.com:5000/team/${name}:1.${i % 10}.${i % 3}`
  const container = `
        - name: main
          image: ${image}
          ${jvm ? 'command: ["java", "-Xmx2g", "-jar", "/app/app.jar"]' : 'args: ["--port=8080", "--log-level=$(LOG_LEVEL)"]'}
          env:
            - name: LOG_LEVEL
              value: info
            - name: JAVA_TOOL_OPTIONS
              value: "-XX:MaxRAMPercentage=75"
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: { name: db, key: password }
          ports:
            - name: http
              containerPort: 8080
          resources:
            requests: { cpu: 250m, memory: ${i % 17 === 0 ? '512m' : '256Mi'} }
            limits: { cpu: "1", memory: ${jvm ? '2Gi' : '512Mi'} }
          livenessProbe:
            httpGet: { path: /healthz, port: ${i % 5 === 0 ? 'metrics' : 'http'} }
            periodSeconds: ${i % 3 === 0 ? 2 : 10}
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /ready, port: http }
          volumeMounts:
            - { name: config, mountPath: /etc/app }
        - name: sidecar
          image: registry.example.com/proxy@sha256:${'ab'.repeat(32)}
          args: ["proxy", "--upstream=127.0.0.1:8080"]
          resources:
            limits: { memory: 128Mi }`
  const podSpec = `
      initContainers:
        - name: migrate
          image: registry.example.com/team/migrate:2.1.0
          command: ["/bin/sh", "-c", "./migrate up && echo done"]
      containers:${container}
      volumes:
        - name: config
          configMap: { name: ${name}-config }`
  switch (i % 5) {
    case 0:
      return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: team-${i % 20}
  labels: { app: ${name} }
spec:${podSpec.replace(/\n {4}/g, '\n')}
`
    case 1:
      return `apiVersion: batch/v1
kind: CronJob
metadata:
  name: ${name}
  namespace: team-${i % 20}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure${podSpec.replace(/\n/g, '\n    ')}
`
    case 2:
      return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${name}
  namespace: team-${i % 20}
spec:
  serviceName: ${name}
  replicas: 3
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels: { app: ${name} }
    spec:${podSpec}
`
    default:
      return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: team-${i % 20}
  labels: { app: ${name} }
spec:
  replicas: ${1 + (i % 4)}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata:
      labels: { app: ${name} }
    spec:${podSpec}
`
  }
}

export function manifests(count: number): string {
  const out: string[] = []
  for (let i = 0; i < count; i++) out.push(manifest(i))
  return out.join('---\n')
}

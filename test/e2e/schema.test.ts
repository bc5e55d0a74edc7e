/**
 * schema-invalid against the real kube-apiserver (1.20) and the real kubectl: for each object,
 * `kubectl apply --dry-run=server --validate=strict` refuses it exactly when check denies it
 * with schema-invalid, at the field kubectl names. (Against 1.20, which has no server-side field
 * validation, kubectl validates with the server's OpenAPI: the same schema the check ships, of
 * an older version; the objects here mean the same in 1.20 and 1.33, checked with
 * --kubernetes-version 1.33, the oldest shipped.)
 */
import t from 'tap'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, startCluster } from './harness/cluster.js'
import { BIN, ensureBuilt } from './harness/webhook.js'

t.setTimeout(600_000)
const cluster = await startCluster()
t.teardown(() => cluster.stop())
await ensureBuilt()
const dir = await mkdtemp(join(tmpdir(), 'pp-schema-e2e-'))

const deployment = (container: string, extra = ''): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:${extra}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - ${container}
`
const GOOD = 'name: web\n          image: nginx:1.27\n          resources: { limits: { cpu: 1, memory: 256Mi } }'

/** reader: refused by the pod reader as an input error (status 2), which the schema check then does not repeat. */
const cases: { name: string; yaml: string; field?: string; reader?: boolean }[] = [
  { name: 'valid Deployment (quantities as numbers and strings)', yaml: deployment(GOOD) },
  { name: 'limts', yaml: deployment('name: web\n          image: nginx:1.27\n          resources: { limts: { memory: 256Mi } }'), field: 'limts' },
  { name: 'replicas as a string', yaml: deployment(GOOD, '\n  replicas: "2"'), field: 'replicas' },
  { name: 'container without name', yaml: deployment('image: nginx:1.27'), field: 'name', reader: true },
  { name: 'valid Service (named targetPort)', yaml: 'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: default }\nspec:\n  selector: { app: web }\n  ports: [{ port: 80, targetPort: http }]\n' },
  { name: 'Service port without port', yaml: 'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: default }\nspec:\n  selector: { app: web }\n  ports: [{ targetPort: 8080 }]\n', field: 'port' },
  { name: 'ConfigMap value a number', yaml: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c, namespace: default }\ndata:\n  PORT: 8080\n', field: 'PORT' },
  { name: 'Pod securityContext with a container-only field', yaml: 'apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: default }\nspec:\n  securityContext: { privileged: true }\n  containers: [{ name: p, image: nginx:1.27 }]\n', field: 'privileged' },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.yaml`)
    await writeFile(file, c.yaml)
    const kubectl = await cluster.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', file])
    const check = await run(process.execPath, [BIN, 'check', '--kubernetes-version', '1.33', '-o', 'json', file], { timeoutMs: 60_000 })
    const report = JSON.parse(check.stdout) as { findings: { rule: string; path: string }[]; errors: { message: string }[] }
    const schema = report.findings.filter((f) => f.rule === 'schema-invalid')
    if (c.field === undefined) {
      t.equal(kubectl.code, 0, `kubectl accepts it: ${kubectl.stderr}`)
      t.same(schema, [], 'check finds nothing wrong with its schema')
      return
    }
    t.not(kubectl.code, 0, 'kubectl refuses it')
    t.match(kubectl.stderr, c.field, `kubectl names ${c.field}: ${kubectl.stderr.trim()}`)
    if (c.reader === true) {
      t.equal(check.code, 2, 'check refuses it as invalid input')
      t.ok(report.errors.some((e) => e.message.includes(c.field ?? '')), `an input error names ${c.field}: ${report.errors.map((e) => e.message).join('; ')}`)
      t.same(schema, [], 'said once, by the input error')
      return
    }
    t.equal(schema.length, 1, `check denies it with schema-invalid (${schema.map((f) => f.path).join(', ')})`)
    t.ok(schema[0]?.path.endsWith(c.field), `at the same field (${schema[0]?.path ?? 'none'})`)
  })
}

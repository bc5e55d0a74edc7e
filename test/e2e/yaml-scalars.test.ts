/**
 * YAML as kubectl reads it, proven on the real kube-apiserver through the real kubectl:
 *   - a Pod whose env value is an unquoted `yes` is refused by `kubectl apply --dry-run=server`
 *     (kubectl sends `true`), and `check` reports the same field with the fix; quoted, both pass;
 *   - every plain scalar of the resolve table, stored in a custom resource that keeps unknown
 *     fields, comes back from the API server as the value `check` reads for it.
 */
import t from 'tap'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCluster, run } from './harness/cluster.js'
import { BIN, ensureBuilt, sleep } from './harness/webhook.js'
import { parseDocuments } from '../../src/input/documents.js'

t.setTimeout(600_000)
const cluster = await startCluster()
t.teardown(() => cluster.stop())
await ensureBuilt()
const dir = await mkdtemp(join(tmpdir(), 'pp-yaml-e2e-'))

function pod(value: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: flags
  namespace: default
spec:
  containers:
    - name: app
      image: docker.io/library/nginx:1.27.0
      command: ["/app/server"]
      resources:
        requests: { cpu: 100m, memory: 64Mi, ephemeral-storage: 1Gi }
        limits: { memory: 64Mi, ephemeral-storage: 1Gi }
      readinessProbe:
        httpGet: { path: /ready, port: 8080 }
      ports:
        - containerPort: 8080
      env:
        - name: DEBUG
          value: ${value}
`
}

async function check(file: string): Promise<{ code: number; out: string }> {
  const r = await run(process.execPath, [BIN, 'check', '--fail-on', 'deny', file])
  return { code: r.code, out: r.stdout + r.stderr }
}

t.test('an unquoted yes: the API server refuses the Pod and check reports the same field', async (t) => {
  const file = join(dir, 'unquoted.yaml')
  await writeFile(file, pod('yes'))
  const k = await cluster.kubectl(['apply', '--dry-run=server', '-f', file])
  t.not(k.code, 0, 'kubectl apply --dry-run=server is refused')
  // kubectl turned the scalar into JSON true, which the API server cannot read as a string
  t.match(k.stderr, /EnvVar\.Value/, `the refusal names the env value: ${k.stderr}`)
  t.match(k.stderr, /"value":true/, 'kubectl sent a boolean')
  const c = await check(file)
  t.equal(c.code, 2, `check fails on it: ${c.out}`)
  t.match(c.out, /unquoted\.yaml:20:18: spec\.containers\[0\]\.env\[0\]\.value must be a string, got a boolean: kubectl reads the unquoted yes as true \(YAML 1\.1\), and the API server refuses the object; quote it: "yes"/)
})

t.test('a quoted "yes" passes both', async (t) => {
  const file = join(dir, 'quoted.yaml')
  await writeFile(file, pod('"yes"'))
  const k = await cluster.kubectl(['apply', '--dry-run=server', '-f', file])
  t.equal(k.code, 0, `kubectl apply --dry-run=server accepts it: ${k.stderr}`)
  const c = await check(file)
  t.equal(c.code, 0, `check passes it: ${c.out}`)
  t.notMatch(c.out, /must be a string/)
})

/** Plain scalars whose reading differs between YAML 1.1 and 1.2, or between spellings. */
const SCALARS = [
  'y', 'Y', 'yes', 'Yes', 'YES', 'yEs', 'n', 'N', 'no', 'No', 'NO', 'on', 'On', 'ON', 'oN', 'off', 'Off', 'OFF',
  'true', 'True', 'TRUE', 'tRUE', 'false', 'False', 'FALSE', '~', 'null', 'Null', 'NULL', 'nULL',
  '0', '12', '+12', '-12', '0755', '0o17', '0x1F', '-0x1F', '0b101', '1_000', '00', '089', '08.5',
  '1.5', '.5', '-.5', '1e3', '12.', '1_0.5', '1:30', '2001-12-14', '1e400', '0o', '5e', '_1', '250m', '1Gi', '9223372036854775807',
]

t.test('every plain scalar of the table comes back from the API server as check reads it', async (t) => {
  await cluster.applyYaml(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: scalars.e2e.pod-preflight.io
spec:
  group: e2e.pod-preflight.io
  scope: Namespaced
  names: { plural: scalars, singular: scalar, kind: Scalar }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`)
  const text = `apiVersion: e2e.pod-preflight.io/v1
kind: Scalar
metadata:
  name: table
  namespace: default
data:
${SCALARS.map((s, i) => `  k${i}: ${s}`).join('\n')}
`
  const file = join(dir, 'scalars.yaml')
  await writeFile(file, text)
  let r = await cluster.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', file])
  for (let i = 0; i < 30 && r.code !== 0; i++) {
    await sleep(1000) // the CRD becomes established
    r = await cluster.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', file])
  }
  t.equal(r.code, 0, `the API server takes the object: ${r.stderr}`)
  const served = (JSON.parse(r.stdout) as { data: Record<string, unknown> }).data
  for (const exact of [false, true]) {
    const ours = parseDocuments(text, 'scalars.yaml', { exact })
    t.same(ours.errors, [])
    const read = (ours.documents[0]?.value as { data: Record<string, unknown> }).data
    SCALARS.forEach((s, i) => t.same(read[`k${i}`], served[`k${i}`], `${s} (${exact ? 'exact' : 'fast'} reader)`))
  }
})

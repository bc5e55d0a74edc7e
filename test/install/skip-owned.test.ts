/**
 * The `matchConditions` entry that keeps a 1.28+ API server from calling the webhook for
 * controller-owned objects: rendered by `install` when the policy says `ownedObjects: skip` and the
 * server has the field, and shown in README "Fewer reviews" as a kustomization and JSON patch for
 * the `manifests/` base. No API server of 1.28 or later runs in these tests, so what can be checked
 * without one is checked here, on install's output and on the README's own text:
 * - install renders the condition exactly when the policy skips owned objects and the server is
 *   1.28 or later, and the README shows the same expression;
 * - `kubectl kustomize` of the two files over install's output changes the webhook entry only;
 * - the result is a valid ValidatingWebhookConfiguration in every shipped Kubernetes schema
 *   version (the same client-node models the schema check is generated from), and a misspelt
 *   field or a condition without its expression is not;
 * - the expression parses as CEL and, run by cel-es over owned and unowned objects, is false
 *   exactly where the webhook's own controllingWorkload() finds a judged controller.
 */
import t, { type Test } from 'tap'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { parseAllDocuments } from 'yaml'
import { Ajv } from 'ajv'
import { parse as parseCel, run as runCel, isCelError } from '@bufbuild/cel'
import { renderWith } from '../../src/install/generate.js'
import { controllingWorkload, notOwnedExpression } from '../../src/admission/owners.js'
import { defaultInstallOptions, formatObjects, installOptions } from '../../src/install/command.js'
import { memoryIO } from '../../src/cli/io.js'
import { matchConditionsNote } from '../../src/doctor/checks.js'
import { VERSIONS, generate } from '../../scripts/k8s-schemas.js'

const README = new URL('../../README.md', import.meta.url).pathname
const VWC = 'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration'

type Obj = Record<string, any>

/** The README's two files: the yaml blocks of the "Fewer reviews" paragraph, named by their first comment. */
async function readmeFiles(): Promise<Map<string, string>> {
  const text = await readFile(README, 'utf8')
  const start = text.indexOf('**Fewer reviews: not calling the webhook for controller-owned objects')
  if (start < 0) throw new Error('README: the "Fewer reviews" paragraph is missing')
  const end = text.indexOf('\n#### ', start)
  const section = text.slice(start, end < 0 ? undefined : end)
  const files = new Map<string, string>()
  for (const m of section.matchAll(/```yaml\n(# ([\w.-]+\.yaml)[^\n]*\n[\s\S]*?)```/g)) files.set(m[2] as string, m[1] as string)
  return files
}

function kustomize(dir: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`)
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj)
}

const key = (o: Obj): string => `${o['apiVersion']}|${o['kind']}|${o['metadata']?.['namespace'] ?? ''}|${o['metadata']?.['name']}`

async function rendered(t: Test): Promise<{ installed: Obj[]; patched: Obj[] }> {
  const files = await readmeFiles()
  t.same([...files.keys()].sort(), ['kustomization.yaml', 'skip-owned.yaml'], 'the README shows both files')
  const dir = await mkdtemp(join(tmpdir(), 'pp-skip-owned-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const { objects } = await renderWith({}, { major: 1, minor: 36 })
  // What `pod-preflight install > pod-preflight.yaml` writes for a 1.36 server.
  await writeFile(join(dir, 'pod-preflight.yaml'), formatObjects(objects, 'yaml', []))
  const installed = objects as Obj[]
  for (const [name, text] of files) await writeFile(join(dir, name), text)
  return { installed, patched: kustomize(dir) }
}

function webhookConfiguration(objects: Obj[]): Obj {
  const vwc = objects.find((o) => o['kind'] === 'ValidatingWebhookConfiguration')
  if (vwc === undefined) throw new Error('no ValidatingWebhookConfiguration')
  return vwc
}

function theExpression(patched: Obj[]): string {
  const conditions = webhookConfiguration(patched)['webhooks'][0]['matchConditions'] as Obj[]
  return conditions[0]?.['expression'] as string
}

t.test("kubectl kustomize of the README's files adds one match condition and changes nothing else", async (t) => {
  const { installed, patched } = await rendered(t)
  t.same(patched.map(key).sort(), installed.map(key).sort(), 'the same objects')
  const want = new Map(installed.map((o) => [key(o), o]))
  for (const o of patched) {
    if (o['kind'] !== 'ValidatingWebhookConfiguration') {
      t.same(o, want.get(key(o)), `${key(o)} unchanged`)
      continue
    }
    const webhooks = o['webhooks'] as Obj[]
    t.equal(webhooks.length, 1, 'one webhook entry')
    const conditions = webhooks[0]?.['matchConditions'] as Obj[]
    t.same(conditions.map((c) => c['name']), ['not-owned-by-a-workload'])
    t.type(conditions[0]?.['expression'], 'string')
    const { matchConditions: _, ...rest } = webhooks[0] as Obj
    t.same({ ...o, webhooks: [rest] }, want.get(key(o)), 'the webhook entry is otherwise the one install renders')
    t.match(matchConditionsNote(webhooks), /^; match condition "not-owned-by-a-workload": /, 'doctor names the condition')
  }
})

/** The default policy with `ownedObjects` set, as a file. */
async function policyFile(t: Test, owned: 'judge' | 'skip'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pp-skip-owned-policy-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const text = await readFile(new URL('../../policies/default.yaml', import.meta.url), 'utf8')
  const changed = text.replace(/^ownedObjects: judge$/m, `ownedObjects: ${owned}`)
  if (!changed.includes(`ownedObjects: ${owned}`)) throw new Error('policies/default.yaml has no ownedObjects line')
  await writeFile(join(dir, 'policy.yaml'), changed)
  return join(dir, 'policy.yaml')
}
const skipPolicyFile = (t: Test): Promise<string> => policyFile(t, 'skip')

/** install's output for a policy file with `ownedObjects` set, for `minor` (1.minor). */
async function installWith(t: Test, owned: 'judge' | 'skip', minor: number): Promise<{ objects: Obj[]; header: string }> {
  const { objects, describe } = await renderWith({ policyFile: await policyFile(t, owned) }, { major: 1, minor })
  return { objects: objects as Obj[], header: describe }
}

t.test('install renders the condition when the policy skips owned objects and the API server has matchConditions', async (t) => {
  const readme = (s: string): string => s.replace(/\s+/g, ' ').trim()
  for (const minor of [28, 30, 36]) {
    const { objects } = await installWith(t, 'skip', minor)
    const entry = webhookConfiguration(objects)['webhooks'][0] as Obj
    t.same(entry['matchConditions'], [{ name: 'not-owned-by-a-workload', expression: notOwnedExpression() }], `1.${minor}: one condition`)
    t.match((await installWith(t, 'skip', minor)).header, /controller-owned objects not sent to the webhook \(matchConditions\)/, `1.${minor}: the header says so`)
  }
  const { patched } = await rendered(t)
  t.equal(readme(theExpression(patched)), readme(notOwnedExpression()), "the README's patch carries install's expression")
  for (const minor of [20, 23, 27]) {
    const { objects } = await installWith(t, 'skip', minor)
    t.notOk('matchConditions' in (webhookConfiguration(objects)['webhooks'][0] as Obj), `1.${minor}: no condition (the field is not served)`)
    t.notMatch((await installWith(t, 'skip', minor)).header, /not sent/, `1.${minor}: the header does not claim it`)
  }
  const older = await installOptions({ ...defaultInstallOptions(), policyFile: await skipPolicyFile(t) }, memoryIO(), { major: 1, minor: 27 })
  t.match(older.notes.join('\n'), /ownedObjects: skip; Kubernetes 1\.27 has no webhook matchConditions \(1\.28 and later\), so the API server still calls the webhook for controller-owned objects/, '1.27: install says why')
  const newer = await installOptions({ ...defaultInstallOptions(), policyFile: await skipPolicyFile(t) }, memoryIO(), { major: 1, minor: 28 })
  t.notMatch(newer.notes.join('\n'), /matchConditions/, '1.28: nothing to say')
  for (const minor of [28, 36]) {
    const { objects } = await installWith(t, 'judge', minor)
    t.notOk('matchConditions' in (webhookConfiguration(objects)['webhooks'][0] as Obj), `1.${minor}, ownedObjects: judge: no condition`)
  }
  const { objects } = await renderWith({}, { major: 1, minor: 36 })
  t.notOk('matchConditions' in (webhookConfiguration(objects as Obj[])['webhooks'][0] as Obj), 'the default policy (judge): no condition')
})

t.test('the patched ValidatingWebhookConfiguration is valid in every shipped Kubernetes schema version', async (t) => {
  const { patched } = await rendered(t)
  const installed = webhookConfiguration((await installWith(t, 'skip', 36)).objects)
  for (const [vwc, what] of [[webhookConfiguration(patched), 'README patch'], [installed, 'install, ownedObjects: skip']] as const)
  for (const version of Object.keys(VERSIONS)) {
    const doc = await generate(version, [VWC])
    const def = doc.kinds[VWC]
    t.ok(def, `Kubernetes ${version} has the kind`)
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, allowUnionTypes: true })
    const validate = ajv.compile({ definitions: doc.definitions, allOf: [{ $ref: `#/definitions/${def}` }] })
    t.ok(validate(vwc), `${what}: valid in Kubernetes ${version}: ${JSON.stringify(validate.errors?.slice(0, 3))}`)
    // The schema can fail: near misses of the same patch are refused.
    const entry = vwc['webhooks'][0] as Obj
    const { matchConditions, ...others } = entry
    const misspelt = { ...vwc, webhooks: [{ ...others, matchCondition: matchConditions }] }
    t.notOk(validate(misspelt), `Kubernetes ${version}: matchCondition (misspelt) is refused`)
    const noExpression = { ...vwc, webhooks: [{ ...others, matchConditions: [{ name: 'not-owned-by-a-workload' }] }] }
    t.notOk(validate(noExpression), `Kubernetes ${version}: a condition without its expression is refused`)
    const notAList = { ...vwc, webhooks: [{ ...others, matchConditions: matchConditions[0] }] }
    t.notOk(validate(notAList), `Kubernetes ${version}: matchConditions that is not a list is refused`)
  }
})

/** Pods, ReplicaSets and Jobs with the owners a cluster gives them, and near misses. */
function fixtures(): { name: string; object: Obj }[] {
  const owner = (apiVersion: string, kind: string, controller?: boolean): Obj => ({
    apiVersion,
    kind,
    name: `${kind.toLowerCase()}-1`,
    uid: '0f0e8a4c-1111-4222-8333-944445555666',
    ...(controller === undefined ? {} : { controller, blockOwnerDeletion: true }),
  })
  const pod = (refs?: Obj[]): Obj => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'shop', labels: { app: 'web' }, ...(refs === undefined ? {} : { ownerReferences: refs }) },
    spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] },
  })
  const list: { name: string; object: Obj }[] = [
    { name: 'a bare Pod', object: pod() },
    { name: 'a Pod with an empty ownerReferences list', object: pod([]) },
    { name: "a ReplicaSet's Pod", object: pod([owner('apps/v1', 'ReplicaSet', true)]) },
    { name: "a StatefulSet's Pod", object: pod([owner('apps/v1', 'StatefulSet', true)]) },
    { name: "a DaemonSet's Pod", object: pod([owner('apps/v1', 'DaemonSet', true)]) },
    { name: "a Job's Pod", object: pod([owner('batch/v1', 'Job', true)]) },
    { name: "a ReplicationController's Pod", object: pod([owner('v1', 'ReplicationController', true)]) },
    { name: "an extensions/v1beta1 ReplicaSet's Pod", object: pod([owner('extensions/v1beta1', 'ReplicaSet', true)]) },
    { name: 'a Pod whose ReplicaSet owner is not its controller', object: pod([owner('apps/v1', 'ReplicaSet', false)]) },
    { name: 'a Pod whose ReplicaSet owner has no controller field', object: pod([owner('apps/v1', 'ReplicaSet')]) },
    { name: 'a Pod controlled by a custom resource', object: pod([owner('example.com/v1', 'Workflow', true)]) },
    { name: "a Pod controlled by a custom resource named like a workload ('ReplicaSet' of another group)", object: pod([owner('example.com/v1', 'ReplicaSet', true)]) },
    { name: "a StatefulSet owner in extensions (no such group for it)", object: pod([owner('extensions/v1beta1', 'StatefulSet', true)]) },
    { name: 'a ReplicationController owner with a group', object: pod([owner('example.com/v1', 'ReplicationController', true)]) },
    { name: 'a Pod controlled by a Node (static Pod mirror)', object: pod([owner('v1', 'Node', true)]) },
    { name: 'two owners, the second the controlling ReplicaSet', object: pod([owner('example.com/v1', 'Tracker', false), owner('apps/v1', 'ReplicaSet', true)]) },
    { name: 'two owners, a controlling custom resource and a plain ReplicaSet', object: pod([owner('example.com/v1', 'Workflow', true), owner('apps/v1', 'ReplicaSet', false)]) },
    {
      name: "a Deployment's ReplicaSet",
      object: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-7d4b9', namespace: 'shop', ownerReferences: [owner('apps/v1', 'Deployment', true)] }, spec: {} },
    },
    {
      name: "a CronJob's Job",
      object: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'nightly-1', namespace: 'shop', ownerReferences: [owner('batch/v1', 'CronJob', true)] }, spec: {} },
    },
    { name: 'a Deployment', object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: {} } },
    { name: 'a Job applied by hand', object: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once', namespace: 'shop' }, spec: {} } },
  ]
  return list
}

t.test('the expression is CEL, and the API server would call the webhook exactly for what it may refuse', async (t) => {
  const { patched } = await rendered(t)
  const installed = webhookConfiguration((await installWith(t, 'skip', 28)).objects)['webhooks'][0]['matchConditions'][0]['expression'] as string
  for (const [expression, what] of [[theExpression(patched), 'README'], [installed, 'install']] as const) await t.test(what, async (t) => {
  t.doesNotThrow(() => parseCel(expression), 'the expression parses')
  t.throws(() => parseCel(expression.slice(0, -1)), 'a parenthesis short is a syntax error (the parser can fail)')
  let called = 0
  let skipped = 0
  for (const f of fixtures()) {
    const operation = 'CREATE'
    const result = runCel(expression, { object: f.object, oldObject: null, request: { operation, kind: { kind: f.object['kind'] } } })
    if (isCelError(result)) {
      t.fail(`${f.name}: the expression failed: ${String(result)}`)
      continue
    }
    t.type(result, 'boolean', `${f.name}: a bool`)
    const owned = controllingWorkload(f.object) !== undefined
    t.equal(result, !owned, `${f.name}: ${owned ? 'not called (the webhook would never refuse it)' : 'called'}`)
    if (result === true) called++
    else skipped++
  }
  t.ok(called >= 8 && skipped >= 8, `both outcomes are exercised (called ${called}, skipped ${skipped})`)
  })
})

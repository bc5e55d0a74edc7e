// audit from cluster state files: which objects are judged, how owned pods are represented, the
// join of failing pods with the rule that predicted them, and every output format.
import t from 'tap'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RULES } from '../../src/rules/index.js'
import { memoryIO } from '../../src/cli/io.js'
import { main } from '../../src/cli/main.js'
import { auditCommand, type AuditCommandOptions } from '../../src/audit/command.js'
import { groupWorkloads } from '../../src/audit/workloads.js'
import { runAudit, type AuditReport } from '../../src/audit/audit.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'
import { formatAuditHtml } from '../../src/audit/html.js'

const CWD = process.cwd()
const STATE = 'test/fixtures/audit/cluster.yaml'
const NOW = new Date('2026-01-01T10:05:00Z')

function options(extra: Partial<AuditCommandOptions> = {}): AuditCommandOptions {
  return { rules: RULES, format: 'json', failOn: 'deny', color: false, showInfo: false, progress: false, clusterState: [STATE], now: NOW, ...extra }
}

async function auditJson(extra: Partial<AuditCommandOptions> = {}): Promise<{ code: number; report: AuditReport; err: string }> {
  const io = memoryIO('', {}, CWD)
  const code = await auditCommand(options(extra), io)
  return { code, report: JSON.parse(io.out()) as AuditReport, err: io.err() }
}

const label = (w: AuditReport['workloads'][number]): string => `${w.object.kind} ${w.object.namespace}/${w.object.name}`

t.test('every workload judged once; owned pods, ReplicaSets and Jobs represented by their owner', async (t) => {
  const { code, report } = await auditJson()
  t.equal(code, 1, 'exit 1: something would be denied')
  t.same(report.workloads.map(label), [
    'StatefulSet data/db',
    'CronJob data/report',
    'Pod data/cache-0',
    'Pod data/debug',
    'Deployment shop/billing',
    'Deployment shop/web',
  ])
  const byName = new Map(report.workloads.map((w) => [w.object.name, w]))
  t.same(byName.get('billing')?.pods, { total: 3, failing: 3 }, 'the three pods behind the ReplicaSet belong to the Deployment')
  t.same(byName.get('report')?.pods, { total: 1, failing: 1 }, 'the Job pod belongs to the CronJob')
  t.same(byName.get('cache-0')?.owner, { kind: 'CacheCluster', name: 'cache' }, 'one pod stands for the pods of an unlisted owner')
  t.equal(byName.get('cache-0')?.pods.total, 2)
  t.equal(report.summary.workloads, 6)
  t.equal(report.summary.pods, 7)
})

t.test('a failure is joined with the rule that predicted it', async (t) => {
  const { report } = await auditJson()
  const billing = report.workloads.find((w) => w.object.name === 'billing')
  t.ok(billing)
  t.same(billing?.findings.filter((f) => f.action !== 'info').map((f) => `${f.action} ${f.rule}`), ['deny jvm-heap-exceeds-memory-limit'])
  t.equal(billing?.failures.length, 1)
  t.equal(billing?.failures[0]?.text, '3 pods oom-killed; jvm-heap-exceeds-memory-limit would have denied this')
  t.same(billing?.failures[0]?.predictedBy, { rule: 'jvm-heap-exceeds-memory-limit', action: 'deny' })
  t.equal(billing?.failingPods.length, 3)
  t.equal(billing?.failingPods[0]?.diagnoses[0]?.cause, 'oom-killed')
  t.equal(report.summary.predictedFailures, 1)
  const web = report.workloads.find((w) => w.object.name === 'web')
  t.same(web?.failures, [], 'a workload without failing pods has no failures')
  t.same(web?.findings.filter((f) => f.action !== 'info'), [], 'the good Deployment has nothing above info')
})

t.test('cluster-aware rules judge against the same state', async (t) => {
  const { report } = await auditJson()
  const db = report.workloads.find((w) => w.object.name === 'db')
  t.same(db?.findings.map((f) => `${f.action} ${f.rule} ${f.path}`), ['warn node-selector-unsatisfiable spec.template.spec.nodeSelector'])
})

t.test('summary per namespace and per rule adds up', async (t) => {
  const { report } = await auditJson()
  const s = report.summary
  let deny = 0
  let warn = 0
  for (const n of Object.values(s.byNamespace)) {
    deny += n.deny
    warn += n.warn
  }
  t.equal(deny, s.findings.deny)
  t.equal(warn, s.findings.warn)
  t.same(s.byRule['command-missing'], { deny: 1, warn: 0, info: 0 })
  t.same(s.byNamespace['shop'], { deny: 1, warn: 0, info: s.byNamespace['shop']?.info ?? -1, workloads: 2, failingPods: 3 })
  t.equal(s.workloadsBy.deny + s.workloadsBy.warn + s.workloadsBy.info + s.workloadsBy.clean, s.workloads)
})

t.test('-n limits the audit to a namespace', async (t) => {
  const { report } = await auditJson({ namespaces: ['shop'] })
  t.same(report.workloads.map(label), ['Deployment shop/billing', 'Deployment shop/web'])
  t.same(report.namespaces, ['shop'])
})

t.test('text: a table per namespace and per rule, the join line, and a summary', async (t) => {
  const io = memoryIO('', {}, CWD)
  await auditCommand(options({ format: 'text' }), io)
  const out = io.out()
  t.match(out, /FAILING 3 pods oom-killed; jvm-heap-exceeds-memory-limit would have denied this/)
  t.match(out, /By namespace\nNAMESPACE\s+WORKLOADS\s+DENY\s+WARN\s+INFO\s+FAILING PODS\n/)
  t.match(out, /\nshop\s+2\s+1\s+0\s+\d+\s+3\n/)
  t.match(out, /By rule\nRULE\s+DENY\s+WARN\s+INFO\n/)
  t.match(out, /6 workloads in 2 namespaces audited/)
  t.notMatch(out, /\u001b/, 'no colour when not asked for')
})

t.test('sarif: one result per finding, located by object and path', async (t) => {
  const io = memoryIO('', {}, CWD)
  await auditCommand(options({ format: 'sarif' }), io)
  const sarif = JSON.parse(io.out()) as { runs: { results: { ruleId: string; locations: { logicalLocations: { fullyQualifiedName: string }[] }[] }[] }[] }
  const { report } = await auditJson()
  const results = sarif.runs[0]?.results ?? []
  t.equal(results.length, report.summary.findings.deny + report.summary.findings.warn + report.summary.findings.info)
  t.ok(results.some((r) => r.locations[0]?.logicalLocations[0]?.fullyQualifiedName === 'Deployment/shop/billing/spec.template.spec.containers[0].command[1]'))
})

t.test('the CLI: -o and --format are one flag, --output-file writes the report, bad flags are usage errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'audit-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const out = join(dir, 'report.html')
  const io = memoryIO('', {}, CWD)
  const code = await main(['audit', '--cluster-state', STATE, '--format', 'html', '--output-file', out], io)
  t.equal(code, 1)
  t.equal(io.out(), '', 'nothing on stdout when writing a file')
  t.match(io.err(), /wrote .*report\.html: 6 workloads, 2 would be denied, 4 failing pods/)
  t.match(await readFile(out, 'utf8'), /^<!doctype html>/)

  const bad = memoryIO('', {}, CWD)
  t.equal(await main(['audit', '--cluster-state', STATE, '-o', 'xml'], bad), 2)
  t.match(bad.err(), /--output must be one of text, json, sarif, html, not "xml"/)
  const both = memoryIO('', {}, CWD)
  t.equal(await main(['audit', '-A', '-n', 'shop', '--cluster-state', STATE], both), 2)
  t.match(both.err(), /exclude each other/)
  const never = memoryIO('', {}, CWD)
  t.equal(await main(['audit', '--cluster-state', STATE, '-o', 'json', '--fail-on', 'never'], never), 0)
})

t.test('a missing state file is an error naming it, not a crash', async (t) => {
  const io = memoryIO('', {}, CWD)
  const code = await auditCommand(options({ clusterState: ['no/such/file.yaml'], format: 'text' }), io)
  t.equal(code, 2, 'an unreadable state file fails the run (status 2), as an unreadable manifest fails check')
  t.match(io.out(), /ERROR no\/such\/file\.yaml/)
})

t.test('owner chains: uid mismatch, loops and duplicates never hang or double-count', async (t) => {
  const pod = (name: string, owner?: Record<string, unknown>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', uid: `u-${name}`, ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
  })
  const rs = (name: string, uid: string, owner?: Record<string, unknown>) => ({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'ns', uid, ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } },
  })
  // Two ReplicaSets owning each other: a loop that must end.
  const a = rs('a', 'ua', { kind: 'ReplicaSet', name: 'b', uid: 'ub', controller: true })
  const b = rs('b', 'ub', { kind: 'ReplicaSet', name: 'a', uid: 'ua', controller: true })
  // A ReplicaSet of the same name as the owner, but another uid: the owner is gone.
  const stale = rs('gone', 'new-uid')
  const orphan = pod('orphan', { kind: 'ReplicaSet', name: 'gone', uid: 'old-uid', controller: true })
  const { workloads } = groupWorkloads([a, b, stale, orphan, orphan, pod('p1', { kind: 'ReplicaSet', name: 'a', uid: 'ua', controller: true })])
  t.equal(workloads.filter((w) => w.object.name === 'orphan').length, 1, 'a pod listed twice is judged once')
  t.same(workloads.find((w) => w.object.name === 'orphan')?.owner, { kind: 'ReplicaSet', name: 'gone' }, 'not attached to the new object of the same name')
  t.ok(workloads.length >= 3)
})

t.test('HTML: self-contained, escaped, the data of every workload embedded', async (t) => {
  const policy = await loadDefaultPolicy(RULES)
  const hostile = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'x', namespace: 'evil', labels: {}, annotations: {} },
    spec: { containers: [{ name: '</script><img src=x onerror=alert(1)>\u001b[31m', image: 'busybox:1.36' }] },
  }
  const report = runAudit([hostile], { policy, rules: RULES, source: 'test', now: NOW })
  const html = formatAuditHtml(report)
  t.notMatch(html, /<img src=x/, 'no markup from the cluster reaches the page')
  t.notMatch(html, /<\/script><img/, 'the embedded JSON cannot close its script element')
  t.notMatch(html, /\u001b/, 'controls are escaped')
  t.notMatch(html, /(src|href)=["']?https?:/, 'nothing is loaded from the network')
  t.match(html, /Content-Security-Policy/)
})

t.test('PolicyReports: fail/warn/pass per the action, deterministic, digest blind to key order', async (t) => {
  const { toPolicyReports, reportDigest } = await import('../../src/audit/policy-report.js')
  const policy = await loadDefaultPolicy(RULES)
  const { report } = await auditJson()
  const one = toPolicyReports(report, { rules: RULES, policy, clusterSynced: true })
  const two = toPolicyReports(report, { rules: RULES, policy, clusterSynced: true })
  t.same([...one.namespaced.keys()], ['data', 'shop'])
  const shop = one.namespaced.get('shop')
  const results = (name: string, rule: string) => shop?.results.filter((r) => r.resources[0]?.name === name && r.rule === rule).map((r) => r.result)
  t.same(results('billing', 'jvm-heap-exceeds-memory-limit'), ['fail'])
  t.same(results('web', 'jvm-heap-exceeds-memory-limit'), ['pass'])
  t.same(results('billing', 'ephemeral-storage-limit-missing'), ['pass'], 'an info finding is a pass, with its message')
  t.equal(shop?.results.find((r) => r.result === 'fail')?.properties?.['failingPods'], '3 pods oom-killed; jvm-heap-exceeds-memory-limit would have denied this')
  t.equal(reportDigest(shop ?? {}), reportDigest(two.namespaced.get('shop') ?? {}), 'the same audit, the same digest')
  const reordered = JSON.parse(JSON.stringify(shop, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as object).reverse()) : v))) as object
  t.equal(reportDigest(reordered), reportDigest(shop ?? {}), 'key order does not matter')
  const total = one.cluster.summary
  t.equal(total.fail, [...one.namespaced.values()].reduce((n, r) => n + r.summary.fail, 0), 'the cluster summary adds up')
})

import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'

const examples = new URL('../../examples/', import.meta.url).pathname

async function check(args: string[], stdin = '', cwd = examples): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO(stdin, {}, cwd)
  const code = await main(['check', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

interface JsonReport {
  findings: Array<{ rule: string; action: string; object: { kind: string; name: string; namespace: string | null }; container: string | null; path: string; message: string; fix: string; source: { file: string; line: number | null } }>
  errors: Array<{ file: string; line?: number; message: string }>
  warnings: unknown[]
  skipped: Array<{ file: string; line?: number; reason: string }>
  summary: { files: number; documents: number; objects: number; deny: number; warn: number; info: number; errors: number; notJudged: Record<string, number> }
}

const json = (s: string): JsonReport => JSON.parse(s) as JsonReport

t.test('a clean manifest passes with exit 0', async (t) => {
  const r = await check(['web-deployment.yaml'])
  t.equal(r.code, 0, r.out)
  t.match(r.out, /2 objects checked in 1 file, 0 objects denied, 0 warnings/, 'the Deployment and the Service that selects it')
})

t.test('a broken pod is denied with exit 1, each finding with path, message and fix', async (t) => {
  const r = await check(['--format', 'json', 'broken-pod.yaml'])
  t.equal(r.code, 1)
  const report = json(r.out)
  const denied = report.findings.filter((f) => f.action === 'deny').map((f) => `${f.rule} ${f.path}`)
  t.ok(denied.includes('command-missing spec.containers[0]') || denied.some((d) => d.startsWith('command-missing spec.containers[0]')), 'busybox without a command')
  t.ok(denied.some((d) => d.startsWith('command-whitespace-in-executable spec.containers[1].command')), 'whitespace in the executable')
  t.ok(denied.some((d) => d.startsWith('image-name-invalid spec.containers[2].image')), 'upper case image')
  t.ok(denied.some((d) => d.startsWith('memory-quantity-suspicious spec.containers[2].resources.limits.memory')), '512m of memory')
  for (const f of report.findings) {
    t.equal(f.object.kind, 'Pod')
    t.equal(f.object.namespace, 'shop')
    t.equal(f.source.file, 'broken-pod.yaml')
    t.ok(typeof f.source.line === 'number' && f.source.line > 1, `a line for ${f.path}`)
    t.ok(f.fix.length > 0)
  }
  t.equal(report.summary.deny, report.findings.filter((f) => f.action === 'deny').length)
})

t.test('the text format groups by object and shows the fix; no colour off a terminal', async (t) => {
  const r = await check(['broken-pod.yaml', 'java-deployment.yaml'])
  t.equal(r.code, 1)
  t.match(r.out, /^Pod shop\/broken {2}broken-pod\.yaml:2$/m)
  t.match(r.out, /^Deployment shop\/orders {2}java-deployment\.yaml:2$/m)
  t.match(r.out, /DENY jvm-heap-exceeds-memory-limit/)
  t.match(r.out, /fix: /)
  t.notMatch(r.out, /\u001b\[/, 'no escape codes')
  const colored = await check(['--color', 'broken-pod.yaml'])
  t.match(colored.out, /\u001b\[31mDENY/)
})

t.test('warnings alone exit 0, or 1 with --fail-on warn', async (t) => {
  const r = await check(['nightly-cronjob.yaml'])
  t.equal(r.code, 0, r.out)
  t.match(r.out, /WARN image-tag-latest/)
  t.match(r.out, /WARN command-shell-syntax-without-shell/)
  t.equal((await check(['--fail-on', 'warn', 'nightly-cronjob.yaml'])).code, 1)
})

t.test('directories, stdin, and every pod-bearing kind', async (t) => {
  const r = await check(['--format', 'json', '.'])
  const report = json(r.out)
  t.equal(report.summary.files, 5)
  t.equal(report.summary.objects, 5, 'four workloads and a Service')
  t.same(report.summary.notJudged, { AdmissionReview: 1 }, 'the example review for the webhook is counted, not judged')
  const stdin = await check(['--format', 'json', '-'], 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n    - name: c\n      image: busybox\n')
  const s = json(stdin.out)
  t.ok(s.findings.some((f) => f.rule === 'command-missing' && f.source.file === '<stdin>' && f.source.line === 6))
  const kinds = ['v1/ReplicationController', 'apps/v1/ReplicaSet', 'apps/v1/DaemonSet', 'extensions/v1beta1/Deployment', 'apps/v1beta2/StatefulSet', 'batch/v1/Job', 'batch/v1beta1/CronJob']
  for (const k of kinds) {
    const kind = k.split('/').pop() ?? ''
    const apiVersion = k.slice(0, -(kind.length + 1))
    const tpl = 'template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:\n        - name: c\n          image: busybox'
    const spec = kind === 'CronJob' ? `spec:\n  schedule: "* * * * *"\n  jobTemplate:\n    spec:\n      ${tpl.replace(/\n/g, '\n    ')}` : `spec:\n  ${tpl}`
    const r = await check(['--format', 'json', '-'], `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: x}\n${spec}\n`)
    const rep = json(r.out)
    t.equal(rep.summary.objects, 1, `${k} is judged`)
    t.same(rep.errors, [], `${k} has no input errors`)
  }
})

t.test('bad input: a clear error naming the file and line; other files still checked; exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-check-'))
  writeFileSync(join(dir, 'syntax.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n')
  writeFileSync(join(dir, 'binary.yaml'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00]))
  writeFileSync(join(dir, 'no-template.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 2\n')
  writeFileSync(join(dir, 'no-name.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - image: nginx:1.27\n    - name: b\n')
  writeFileSync(join(dir, 'wrong-type.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: nginx:1.27\n      command: "nginx -g daemon off;"\n')
  writeFileSync(join(dir, 'not-k8s.yaml'), '- just\n- a list\n')
  writeFileSync(join(dir, 'kind-only.yaml'), 'kind: Pod\nmetadata: {name: k}\n')
  writeFileSync(join(dir, 'good.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: g}\nspec:\n  containers:\n    - name: c\n      image: busybox:1.36\n')
  const r = await check(['--format', 'json', '.'], '', dir)
  t.equal(r.code, 2)
  const report = json(r.out)
  const errs = report.errors.map((e) => `${e.file}:${e.line ?? ''} ${e.message}`)
  t.ok(errs.some((e) => /^binary\.yaml: not a text file/.test(e)), errs.join('\n'))
  t.ok(errs.some((e) => /^syntax\.yaml:\d+ /.test(e)))
  t.ok(errs.some((e) => /^no-template\.yaml:\d+ spec\.template is missing/.test(e)))
  t.ok(errs.some((e) => /^no-name\.yaml:6 spec\.containers\[0\]\.name is missing/.test(e)))
  t.ok(errs.some((e) => /^no-name\.yaml:7 spec\.containers\[1\]\.image is missing/.test(e)))
  t.ok(errs.some((e) => /^wrong-type\.yaml:8 spec\.containers\[0\]\.command must be a list of strings, got a string/.test(e)))
  t.notOk(errs.some((e) => e.startsWith('not-k8s.yaml')), 'a YAML list is no Kubernetes object: skipped, not an error')
  t.ok(report.skipped.some((k) => k.file === 'not-k8s.yaml'), 'and said so')
  t.ok(errs.some((e) => /^kind-only\.yaml:1 not a Kubernetes object \(an object without apiVersion\)/.test(e)), 'kind without apiVersion is still an error')
  t.ok(report.findings.some((f) => f.source.file === 'good.yaml' && f.rule === 'command-missing'), 'the good file is still checked')
  t.ok(r.err.includes('binary.yaml'), 'errors also on stderr for machine formats')
  t.notMatch(r.err, /at .*\.(ts|js):\d+/, 'no stack trace')
})

t.test('a 50 MB file is refused with a clear message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-big-'))
  writeFileSync(join(dir, 'big.yaml'), `# ${'x'.repeat(50 * 1024 * 1024)}\n`)
  const r = await check(['big.yaml'], '', dir)
  t.equal(r.code, 2)
  t.match(r.out, /big\.yaml: file is 50\.0 MiB, above the 32\.0 MiB limit; split it or raise --max-file-size/)
})

t.test('usage errors exit 2 with the help', async (t) => {
  const none = await check([])
  t.equal(none.code, 2)
  t.match(none.err, /no manifests given/)
  const bad = await check(['--format', 'xml', 'x.yaml'])
  t.equal(bad.code, 2)
  t.match(bad.err, /-o\/--output must be one of text, json, yaml, sarif, junit, codequality, github, not "xml"/)
  const unknown = await check(['--frmat', 'json', 'x.yaml'])
  t.equal(unknown.code, 2)
  t.match(unknown.err, /unknown option '--frmat'/)
  const near = await check(['--outptu', 'json', 'x.yaml'])
  t.equal(near.code, 2)
  t.match(near.err, /unknown option '--outptu' \(Did you mean --output\?\)/)
  const help = await check(['--help'])
  t.equal(help.code, 0)
  t.match(help.out, /Usage: pod-preflight check/)
})

t.test('a broken policy is an error naming the file, the line and the path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-pol-'))
  writeFileSync(join(dir, 'p.yaml'), 'apiVersion: pod-preflight/v1\nkind: Policy\nrules:\n  command-mising: deny\n  probe-liveness-aggressive:\n    params: { windowSeconds: "ten" }\n')
  const r = await check(['--policy', join(dir, 'p.yaml'), join(examples, 'web-deployment.yaml')])
  t.equal(r.code, 2)
  t.match(r.err, /p\.yaml:4: rules\.command-mising: unknown rule id; did you mean command-missing\?/)
  t.match(r.err, /p\.yaml:6: rules\.probe-liveness-aggressive\.params\.windowSeconds: must be/)
  const missing = await check(['--policy', join(dir, 'nope.yaml'), 'web-deployment.yaml'])
  t.equal(missing.code, 2)
  t.match(missing.err, /nope\.yaml: no such file/)
})

t.test('the shipped policies load, and the strict one is stricter', async (t) => {
  const policies = new URL('../../policies/', import.meta.url).pathname
  const d = await check(['--format', 'json', '--policy', join(policies, 'default.yaml'), 'nightly-cronjob.yaml'])
  t.equal(d.code, 0)
  const s = await check(['--format', 'json', '--policy', join(policies, 'strict.yaml'), 'nightly-cronjob.yaml'])
  t.equal(s.code, 1, 'strict denies the latest tag')
})

t.test('SARIF 2.1.0 with rule metadata and locations', async (t) => {
  const r = await check(['--format', 'sarif', 'broken-pod.yaml'])
  t.equal(r.code, 1)
  const sarif = JSON.parse(r.out) as {
    version: string
    runs: Array<{ tool: { driver: { name: string; rules: Array<{ id: string; help: { text: string }; shortDescription: { text: string } }> } }; results: Array<{ ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }>
  }
  t.equal(sarif.version, '2.1.0')
  const run = sarif.runs[0]
  if (run === undefined) throw new Error('no run')
  t.equal(run.tool.driver.name, 'pod-preflight')
  t.ok(run.tool.driver.rules.length >= 40)
  for (const rule of run.tool.driver.rules) t.ok(rule.help.text.length > 20 && rule.shortDescription.text.length > 10, rule.id)
  t.ok(run.results.length >= 4)
  for (const res of run.results) {
    t.equal(run.tool.driver.rules[res.ruleIndex]?.id, res.ruleId, 'ruleIndex points at the rule')
    t.equal(res.locations[0]?.physicalLocation.artifactLocation.uri, 'broken-pod.yaml')
    t.ok((res.locations[0]?.physicalLocation.region.startLine ?? 0) > 1)
    t.ok(['error', 'warning', 'note'].includes(res.level))
  }
})

t.test('JUnit XML: well formed, one testcase per object, denials as failures', async (t) => {
  const r = await check(['--format', 'junit', '.'])
  t.equal(r.code, 1)
  const xml = r.out
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="pod-preflight" tests="5" failures="2" errors="0" skipped="0">/)
  // Well-formedness: every element opened is closed in order.
  const stack: string[] = []
  for (const m of xml.matchAll(/<(\/?)([a-z-]+)[^>]*?(\/?)>/g)) {
    const [, close, name = '', selfClose] = m
    if (selfClose === '/') continue
    if (close === '/') t.equal(stack.pop(), name, `</${name}> closes what was opened`)
    else stack.push(name)
  }
  t.same(stack, [], 'all elements closed')
  t.equal((xml.match(/<testcase /g) ?? []).length, 5)
  t.equal((xml.match(/<failure /g) ?? []).length, 2)
})

t.test('rules lists every rule', async (t) => {
  const io = memoryIO()
  t.equal(await main(['rules', '--format', 'json'], io), 0)
  const rules = (JSON.parse(io.out()) as { rules: Array<{ id: string; defaultAction: string; scope: string[]; description: string }> }).rules
  t.ok(rules.length >= 46)
  t.ok(rules.every((r) => r.description.length > 10 && r.scope.length > 0))
  const text = memoryIO()
  await main(['rules'], text)
  t.match(text.out(), /^command-missing\s+deny\s+static\s+/m)
  const one = memoryIO()
  t.equal(await main(['rules', 'jvm-heap-exceeds-memory-limit'], one), 0)
  t.match(one.out(), /At run time: /)
  const unknown = memoryIO()
  t.equal(await main(['rules', 'nope'], unknown), 2)
  t.match(unknown.err(), /unknown rule "nope"/)
})

t.test('batch mode, --complete and --cluster-state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ppf-batch-'))
  const deploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      nodeSelector: {disktype: ssd}
      containers:
        - name: api
          image: ghcr.io/example/api:1.0.0
          args: ["--port=8080"]
          envFrom:
            - configMapRef: {name: api-config}
          resources: {limits: {memory: 256Mi}}
`
  writeFileSync(join(dir, 'deploy.yaml'), deploy)
  writeFileSync(join(dir, 'config.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api-config, namespace: shop}\ndata: {a: b}\n')
  writeFileSync(
    join(dir, 'nodes.yaml'),
    `apiVersion: v1
kind: List
items:
${[1, 2, 3]
  .map(
    (i) => `  - apiVersion: v1
    kind: Node
    metadata: {name: node-${i}, labels: {kubernetes.io/hostname: node-${i}}}
    status:
      allocatable: {cpu: "4", memory: 16Gi, pods: "110"}
      conditions: [{type: Ready, status: "True"}]`,
  )
  .join('\n')}
`,
  )
  const rules = (r: { out: string }): string[] => json(r.out).findings.map((f) => f.rule)
  const alone = await check(['--format', 'json', 'deploy.yaml'], '', dir)
  t.notOk(rules(alone).includes('configmap-missing'), 'without --complete a reference is never guessed missing')
  t.notOk(rules(alone).includes('node-selector-unsatisfiable'), 'without cluster state no scheduling rule runs')
  const complete = await check(['--format', 'json', '--complete', 'deploy.yaml'], '', dir)
  t.ok(rules(complete).includes('configmap-missing'), '--complete: absent means missing')
  const together = await check(['--format', 'json', '--complete', 'deploy.yaml', 'config.yaml'], '', dir)
  t.notOk(rules(together).includes('configmap-missing'), 'a ConfigMap in the same run counts as existing')
  const state = await check(['--format', 'json', '--cluster-state', 'nodes.yaml', 'deploy.yaml'], '', dir)
  const f = json(state.out).findings.find((x) => x.rule === 'node-selector-unsatisfiable')
  t.ok(f, 'the nodeSelector is judged against the saved nodes')
  t.match(f?.message ?? '', /0\/3 nodes/)
  t.equal(f?.action, 'warn')
  const bad = await check(['--format', 'json', '--cluster-state', 'nope.yaml', 'deploy.yaml'], '', dir)
  t.equal(bad.code, 2, 'an unreadable state file is an input error')
  t.match(bad.err, /nope\.yaml/)
})

t.test('the summary counts objects denied, and the deny findings apart', async (t) => {
  const r = await check(['.'])
  const report = json((await check(['-o', 'json', '.'])).out)
  const objects = new Set(report.findings.filter((f) => f.action === 'deny').map((f) => `${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}`)).size
  const findings = report.findings.filter((f) => f.action === 'deny').length
  t.ok(findings > objects, `more deny findings (${findings}) than objects denied (${objects}) in examples/`)
  t.match(r.out, new RegExp(`, ${objects} objects? denied \\(${findings} deny findings\\), `))
})

t.test('--fail-on never: findings do not fail the run, unreadable input still does', async (t) => {
  t.equal((await check(['--fail-on', 'never', 'broken-pod.yaml'])).code, 0)
  t.equal((await check(['--fail-on', 'never', 'broken-pod.yaml', 'no-such-file.yaml'])).code, 2)
  const bad = await check(['--fail-on', 'sometimes', 'broken-pod.yaml'])
  t.equal(bad.code, 2)
  t.match(bad.err, /--fail-on must be deny, warn, info or never, not "sometimes"/)
})

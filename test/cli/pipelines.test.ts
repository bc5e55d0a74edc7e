/**
 * `check` on what deploy pipelines hold: a GitOps tree where manifests sit next to
 * kustomization.yaml, Chart.yaml, values and CI files; `helm template` output with its
 * `# Source:` comments; kustomize bases and overlays rendered by the real `kubectl kustomize`.
 * Exit codes, locations and skip notes are asserted in every output format.
 */
import t from 'tap'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'

const fixtures = new URL('../fixtures/pipelines/', import.meta.url).pathname
const rendered = readFileSync(join(fixtures, 'chart/rendered.yaml'), 'utf8')
/** The real PATH, for the real kubectl. */
const PATH = process.env['PATH'] ?? ''
/** A PATH that leads to no kubectl and no helm. */
const emptyBin = mkdtempSync(join(tmpdir(), 'ppf-nobin-'))

async function check(args: string[], opts: { stdin?: string; cwd?: string; path?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO(opts.stdin ?? '', { PATH: opts.path ?? PATH }, opts.cwd ?? fixtures)
  const code = await main(['check', ...args], io)
  return { code, out: io.out(), err: io.err() }
}

interface JsonReport {
  findings: Array<{ rule: string; action: string; object: { kind: string; name: string; namespace: string | null }; path: string; source: { file: string; line: number | null } }>
  errors: Array<{ file: string; line?: number; message: string }>
  skipped: Array<{ file: string; line?: number; reason: string }>
  summary: { files: number; objects: number; deny: number; skipped: number; errors: number; notJudged: Record<string, number> }
}
const json = (s: string): JsonReport => JSON.parse(s) as JsonReport

interface SarifLog {
  runs: Array<{
    tool: { driver: { rules: Array<{ id: string; helpUri?: string; properties: { tags: string[]; 'security-severity'?: string } }> } }
    invocations: Array<{ executionSuccessful: boolean; toolExecutionNotifications: Array<{ level: string; message: { text: string }; locations: Array<{ physicalLocation: { artifactLocation: { uri?: string; uriBaseId?: string; description?: { text: string } }; region?: { startLine: number } } }> }> }>
    results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { artifactLocation: { uri?: string; uriBaseId?: string; description?: { text: string } }; region?: { startLine: number } } }> }>
  }>
}
const sarif = (s: string): SarifLog => JSON.parse(s) as SarifLog

/** A copy of a fixture tree in a temporary directory, to add what git cannot hold (.git, node_modules). */
function copyTree(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ppf-${name}-`))
  cpSync(join(fixtures, name), join(dir, name), { recursive: true })
  return dir
}

const BROKEN = 'apiVersion: v1\nkind: Pod\nmetadata: {name: broken}\nspec:\n  containers:\n    - name: c\n      image: busybox\n      resources: {limits: {memory: 1m}}\n'

t.test('a GitOps tree: objects checked, kustomizations rendered, the rest skipped with a note, exit 0', async (t) => {
  const cwd = copyTree('gitops')
  // What a checkout holds besides manifests: never walked, whatever they contain.
  mkdirSync(join(cwd, 'gitops/node_modules/some-chart'), { recursive: true })
  writeFileSync(join(cwd, 'gitops/node_modules/some-chart/pod.yaml'), BROKEN)
  mkdirSync(join(cwd, 'gitops/.git/refs'), { recursive: true })
  writeFileSync(join(cwd, 'gitops/.git/refs/pod.yaml'), BROKEN)

  const r = await check(['-o', 'json', 'gitops'], { cwd })
  t.equal(r.code, 0, r.out + r.err)
  const report = json(r.out)
  t.same(report.errors, [], 'nothing that is not a Kubernetes object is an error')
  const skipped = Object.fromEntries(report.skipped.map((k) => [k.file, k.reason]))
  t.match(skipped['gitops/envs/prod/values-api.yaml'], /^Helm values, not a Kubernetes object/)
  t.match(skipped['gitops/charts/api/Chart.yaml'], /Helm chart, not rendered: helm is not on PATH; run 'helm template gitops\/charts\/api \| pod-preflight check -f -'/)
  t.match(skipped['gitops/ci/release.yml'], /no apiVersion and kind/)
  t.equal(report.skipped.length, 3, Object.keys(skipped).join(', '))
  t.equal(report.summary.skipped, 3)
  t.notOk(report.skipped.some((k) => k.file.includes('templates')), 'the chart templates are not read as YAML')
  t.notOk(report.findings.some((f) => f.object.name === 'broken'), 'node_modules and .git are not walked')
  // apps/web and clusters/prod are both kustomizations: each rendered, each named.
  const sources = new Set(report.findings.map((f) => f.source.file))
  t.notOk([...sources].some((s) => s.endsWith('deployment.yaml') && s.includes('apps/web')), 'apps/web is read through kubectl kustomize, not file by file')
  t.equal(report.summary.objects, 5, 'the CronJob, and the Deployment and Service of each of the two kustomizations')

  const never = json((await check(['-o', 'json', '--kustomize=never', 'gitops'], { cwd })).out)
  t.equal(never.summary.objects, 3, 'the CronJob and the plain files of apps/web')
  t.match(never.skipped.find((k) => k.file === 'gitops/clusters/prod/kustomization.yaml')?.reason, /not rendered \(--kustomize=never\)/)

  const text = await check(['gitops'], { cwd })
  t.equal(text.code, 0)
  t.match(text.out, /^Skipped \(not Kubernetes objects, or not rendered\)$/m)
  t.match(text.out, /^ {2}SKIP gitops\/envs\/prod\/values-api\.yaml: Helm values, not a Kubernetes object$/m)
  t.match(text.out, /^ {2}SKIP gitops\/ci\/release\.yml:2: no apiVersion and kind/m)
  t.match(text.out, /5 objects checked in \d+ files, 0 objects denied, 0 warnings, 0 info, 3 skipped$/m)

  const s = await check(['-o', 'sarif', 'gitops'], { cwd })
  t.equal(s.code, 0)
  const run = sarif(s.out).runs[0]
  const notes = run?.invocations[0]?.toolExecutionNotifications ?? []
  t.ok(run?.invocations[0]?.executionSuccessful, 'skipping is not a failure')
  const values = notes.find((n) => n.locations[0]?.physicalLocation.artifactLocation.uri === 'gitops/envs/prod/values-api.yaml')
  t.equal(values?.level, 'note')
  t.match(values?.message.text, /^skipped: Helm values/)
  t.equal(notes.filter((n) => n.level === 'note').length, 3)

  const x = await check(['-o', 'junit', 'gitops'], { cwd })
  t.equal(x.code, 0)
  t.match(x.out, /<testsuites name="pod-preflight" tests="\d+" failures="0" errors="0" skipped="3">/)
  t.match(x.out, /<testsuite name="gitops\/envs\/prod\/values-api\.yaml" tests="1" failures="0" errors="0" skipped="1">\n {4}<testcase classname="gitops\/envs\/prod\/values-api\.yaml" name="not a Kubernetes object"><skipped message="Helm values, not a Kubernetes object"\/><\/testcase>/)
})

t.test('files named one by one, as pre-commit passes them: the ones that are not objects are skipped', async (t) => {
  const cwd = copyTree('gitops')
  writeFileSync(join(cwd, '.gitlab-ci.yml'), 'stages: [test]\ntest:\n  script: [make]\n')
  writeFileSync(join(cwd, '.pre-commit-config.yaml'), 'repos: []\n')
  const files = [
    'gitops/.github/workflows/check.yml',
    '.gitlab-ci.yml',
    '.pre-commit-config.yaml',
    'gitops/charts/api/Chart.yaml',
    'gitops/charts/api/values.yaml',
    'gitops/charts/api/templates/deployment.yaml',
    'gitops/apps/jobs/cleanup-cronjob.yaml',
  ]
  for (const format of ['json', 'text', 'sarif', 'junit']) {
    const r = await check(['-o', format, ...files], { cwd })
    t.equal(r.code, 0, `${format}: ${r.out}${r.err}`)
    t.equal(r.err, '', `${format}: nothing on stderr`)
    for (const f of files.slice(0, 6)) t.ok(r.out.includes(f), `${format} names ${f}`)
  }
  const report = json((await check(['-o', 'json', ...files], { cwd })).out)
  const reason = (f: string): string | undefined => report.skipped.find((k) => k.file === f)?.reason
  t.match(reason('gitops/.github/workflows/check.yml'), /GitHub Actions workflow/)
  t.match(reason('.gitlab-ci.yml'), /GitLab CI/)
  t.match(reason('.pre-commit-config.yaml'), /pre-commit/)
  t.match(reason('gitops/charts/api/Chart.yaml'), /Helm chart metadata/)
  t.match(reason('gitops/charts/api/values.yaml'), /Helm values/)
  t.match(reason('gitops/charts/api/templates/deployment.yaml'), /Helm chart template, not YAML until rendered: run 'helm template gitops\/charts\/api \| pod-preflight check -f -'/)
  t.equal(report.summary.objects, 1, 'the CronJob is checked')
})

t.test('a document with kind but no apiVersion, or the reverse, is still an error (exit 2)', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'ppf-half-'))
  writeFileSync(join(cwd, 'half.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: v1\nmetadata: {name: q}\n---\nname: just-data\n')
  const r = await check(['-o', 'json', 'half.yaml'], { cwd })
  t.equal(r.code, 2)
  const report = json(r.out)
  t.same(report.errors.map((e) => `${e.file}:${e.line} ${e.message}`), [
    'half.yaml:5 not a Kubernetes object (an object without apiVersion); every document needs apiVersion and kind',
    'half.yaml:8 not a Kubernetes object (an object without kind); every document needs apiVersion and kind',
  ])
  t.same(report.skipped, [{ file: 'half.yaml', line: 11, reason: 'no apiVersion and kind: not a Kubernetes object' }], 'the document with neither is skipped')
})

t.test('helm template output: findings at the template named by # Source, in every format', async (t) => {
  const viaStdin = await check(['-o', 'json', '-'], { stdin: rendered })
  t.equal(viaStdin.code, 1)
  const report = json(viaStdin.out)
  const memory = report.findings.find((f) => f.rule === 'memory-quantity-suspicious')
  t.same(memory?.source, { file: 'web/templates/deployment.yaml', line: 42 }, 'the line within that template\'s output (line 1 is its apiVersion)')
  t.same(memory?.object, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'demo-web' })
  t.notOk(report.findings.some((f) => f.source.file === '<stdin>'), 'no finding points at <stdin>')

  const asFile = json((await check(['-o', 'json', 'chart/rendered.yaml'])).out)
  t.same(asFile.findings.find((f) => f.rule === 'memory-quantity-suspicious')?.source, { file: 'web/templates/deployment.yaml', line: 42 }, 'a saved rendering reads the same')

  const text = await check(['-'], { stdin: rendered })
  t.equal(text.code, 1)
  t.match(text.out, /^Deployment demo-web {2}web\/templates\/deployment\.yaml:1$/m)
  t.match(text.out, /DENY memory-quantity-suspicious {2}spec\.template\.spec\.containers\[0\]\.resources\.limits\.memory \(line 42\)/)

  const s = sarif((await check(['-o', 'sarif', '-'], { stdin: rendered })).out)
  const result = s.runs[0]?.results.find((x) => x.ruleId === 'memory-quantity-suspicious')
  t.same(result?.locations[0]?.physicalLocation.artifactLocation, { uri: 'web/templates/deployment.yaml', uriBaseId: '%SRCROOT%' })
  t.equal(result?.locations[0]?.physicalLocation.region?.startLine, 42)

  const x = await check(['-o', 'junit', '-'], { stdin: rendered })
  t.match(x.out, /<testsuite name="web\/templates\/deployment\.yaml" tests="1" failures="1" errors="0" skipped="0">/)
  t.match(x.out, /<testcase classname="web\/templates\/deployment\.yaml" name="Deployment demo-web \(line 1\)"><failure/)

  // A comment that only looks like one is not followed: it names no template path.
  const near = await check(['-o', 'json', '-'], { stdin: `# Source: https://example.com/manifests\n${BROKEN}` })
  t.ok(json(near.out).findings.every((f) => f.source.file === '<stdin>'), 'a # Source comment that is not a template path is ignored')
})

t.test('SARIF: stdin has no made-up file; only security rules carry security-severity; every rule has a helpUri', async (t) => {
  const r = await check(['-o', 'sarif', '-'], { stdin: BROKEN })
  t.equal(r.code, 1)
  const run = sarif(r.out).runs[0]
  const loc = run?.results[0]?.locations[0]?.physicalLocation.artifactLocation
  t.equal(loc?.uri, undefined, 'no uri: there is no file in the repository to point at')
  t.equal(loc?.uriBaseId, undefined)
  t.equal(loc?.description?.text, 'standard input')
  const rules = run?.tool.driver.rules ?? []
  t.ok(rules.length > 40)
  for (const rule of rules) {
    t.match(rule.helpUri, /^https:\/\/github\.com\/pod-preflight\/pod-preflight\/blob\/main\/docs\/rules\/[a-z-]+\.md$/, `${rule.id} has a helpUri`)
    const security = rule.properties.tags.includes('security')
    t.equal(rule.properties['security-severity'] !== undefined, security, `${rule.id}: security-severity only with the security tag`)
  }
  const byId = new Map(rules.map((r) => [r.id, r]))
  t.ok(byId.get('image-registry-not-allowed')?.properties.tags.includes('security'), 'pulling from an untrusted registry is a security matter')
  for (const id of ['memory-quantity-suspicious', 'command-missing', 'probe-liveness-aggressive', 'secret-missing', 'image-tag-latest']) {
    t.equal(byId.get(id)?.properties['security-severity'], undefined, `${id} is about reliability: no security alert`)
    t.ok(byId.get(id)?.properties.tags.includes('reliability'), `${id} is tagged reliability`)
  }
})

t.test('a kustomize base and overlay, rendered by kubectl kustomize', async (t) => {
  const overlay = await check(['-o', 'json', 'kustomize/overlays/prod'])
  t.equal(overlay.code, 1, overlay.out + overlay.err)
  const report = json(overlay.out)
  const denied = report.findings.filter((f) => f.action === 'deny')
  t.same(denied.map((f) => f.path).sort(), ['spec.template.spec.containers[0].resources.limits.memory', 'spec.template.spec.containers[0].resources.requests.memory'], 'the patch\'s 512m, after kustomize applied it')
  for (const f of denied) {
    t.same(f.object, { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'prod-web' }, 'the object as kustomize renders it')
    t.same(f.source, { file: 'kustomize/overlays/prod/kustomization.yaml', line: null }, 'named by its kustomization')
  }
  t.same(report.skipped, [])

  const base = await check(['kustomize/base'])
  t.equal(base.code, 0, base.out)
  t.match(base.out, /2 objects checked in 1 file, 0 objects denied/)

  const named = json((await check(['-o', 'json', 'kustomize/overlays/prod/kustomization.yaml'])).out)
  t.equal(named.summary.deny, 2, 'a kustomization.yaml named on its own stands for its directory')

  const text = await check(['kustomize/overlays/prod'])
  t.match(text.out, /^Deployment prod\/prod-web {2}kustomize\/overlays\/prod\/kustomization\.yaml$/m)
  const s = sarif((await check(['-o', 'sarif', 'kustomize/overlays/prod'])).out)
  t.same(s.runs[0]?.results[0]?.locations[0]?.physicalLocation.artifactLocation, { uri: 'kustomize/overlays/prod/kustomization.yaml', uriBaseId: '%SRCROOT%' })
  t.equal(s.runs[0]?.results[0]?.locations[0]?.physicalLocation.region?.startLine, 1)
  const x = await check(['-o', 'junit', 'kustomize/overlays/prod'])
  t.match(x.out, /<testcase classname="kustomize\/overlays\/prod\/kustomization\.yaml" name="Deployment prod\/prod-web"><failure message="2 denied/)
})

t.test('--kustomize: never reads the files as they are, auto without kubectl says so, always without kubectl fails', async (t) => {
  const never = await check(['-o', 'json', '--kustomize', 'never', 'kustomize/overlays/prod'])
  t.equal(never.code, 0, 'the patch alone is no object, and the base is not in this directory')
  const n = json(never.out)
  t.match(n.skipped.find((k) => k.file === 'kustomize/overlays/prod/memory.yaml')?.reason, /a kustomize patch listed in its kustomization/)
  t.match(n.skipped.find((k) => k.file === 'kustomize/overlays/prod/kustomization.yaml')?.reason, /not rendered \(--kustomize=never\)/)

  const auto = await check(['-o', 'json', 'kustomize/overlays/prod'], { path: emptyBin })
  t.equal(auto.code, 0)
  t.match(json(auto.out).skipped.find((k) => k.file === 'kustomize/overlays/prod/kustomization.yaml')?.reason, /kubectl is not on PATH.*'kubectl kustomize kustomize\/overlays\/prod \| pod-preflight check -f -'/)

  const always = await check(['--kustomize=always', 'kustomize/overlays/prod'], { path: emptyBin })
  t.equal(always.code, 2)
  t.match(always.out, /kustomize\/overlays\/prod\/kustomization\.yaml: --kustomize=always, but kubectl is not on PATH/)

  const bad = await check(['--kustomize=sometimes', 'kustomize/base'])
  t.equal(bad.code, 2)
  t.match(bad.err, /--kustomize must be auto, always or never, not "sometimes"/)
})

t.test('a kustomization kubectl cannot build: its error, on one line, exit 2; the rest still checked', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'ppf-kbad-'))
  mkdirSync(join(cwd, 'broken'))
  writeFileSync(join(cwd, 'broken/kustomization.yaml'), 'resources:\n  - missing.yaml\n')
  writeFileSync(join(cwd, 'pod.yaml'), BROKEN)
  const r = await check(['-o', 'json', 'broken', 'pod.yaml'], { cwd })
  t.equal(r.code, 2)
  const report = json(r.out)
  const e = report.errors.find((x) => x.file === 'broken/kustomization.yaml')
  t.match(e?.message, /^kubectl kustomize broken failed \(exit status 1\): .*missing\.yaml/)
  t.notMatch(e?.message, /\n/)
  t.ok(report.findings.some((f) => f.object.name === 'broken'), 'the other input is still judged')
  t.notMatch(r.err, /at .*\.(ts|js):\d+/, 'no stack trace')
})

t.test('a chart directory with helm on PATH is rendered by helm template; findings at its templates', async (t) => {
  // No helm binary can be installed here: this stand-in prints the committed rendering of the
  // chart and fails on any other arguments, which is what this test is about (the arguments,
  // the mapping of helm's CHART/templates/… to the chart's directory, and a failure's stderr).
  const bin = mkdtempSync(join(tmpdir(), 'ppf-helm-'))
  const copy = join(bin, 'rendered.yaml')
  writeFileSync(copy, rendered)
  writeFileSync(join(bin, 'helm'), `#!/bin/sh\nif [ "$1" = template ] && [ -f "$2/Chart.yaml" ]; then /bin/cat '${copy}'; exit 0; fi\necho "Error: unexpected arguments: $*" >&2\nexit 1\n`)
  chmodSync(join(bin, 'helm'), 0o755)
  const r = await check(['-o', 'json', 'chart/web'], { path: bin })
  t.equal(r.code, 1, r.out + r.err)
  const report = json(r.out)
  t.same(report.findings.find((f) => f.rule === 'memory-quantity-suspicious')?.source, { file: 'chart/web/templates/deployment.yaml', line: 42 }, 'helm\'s web/templates/… is the chart directory\'s templates/…')
  t.same(report.skipped, [], 'Chart.yaml and values.yaml are the chart: nothing to skip')

  writeFileSync(join(bin, 'helm'), '#!/bin/sh\necho "Error: template: web/templates/deployment.yaml:20:28: executing \\"web/templates/deployment.yaml\\" at <.Values.image.repo>: nil pointer" >&2\nexit 1\n')
  const failed = await check(['-o', 'json', 'chart/web'], { path: bin })
  t.equal(failed.code, 2)
  t.match(json(failed.out).errors[0], { file: 'chart/web/Chart.yaml', message: /^helm template chart\/web failed \(exit status 1\): Error: template: web\/templates\/deployment\.yaml:20:28/ })
})

t.test('--include and --exclude pick files by glob', async (t) => {
  const cwd = copyTree('gitops')
  const only = json((await check(['-o', 'json', '--include', '*cronjob.yaml', 'gitops'], { cwd })).out)
  t.equal(only.summary.objects, 1, 'the CronJob alone: the kustomization.yaml files do not match either')
  const excluded = json((await check(['-o', 'json', '--exclude', 'gitops/clusters/**', '--exclude', 'gitops/apps/web', '--exclude', 'release.yml', 'gitops'], { cwd })).out)
  t.equal(excluded.summary.objects, 1, 'only the CronJob is left')
  t.notOk(excluded.skipped.some((k) => k.file.endsWith('release.yml')), 'an excluded file is not even noted')
  const named = json((await check(['-o', 'json', '--exclude', '**/apps/**', 'gitops/apps/jobs/cleanup-cronjob.yaml'], { cwd })).out)
  t.equal(named.summary.objects, 0, 'a file named on the command line is excluded too')
})

t.test('-o github: annotations at templates and kustomizations, skipped files as log lines', async (t) => {
  const cwd = copyTree('gitops')
  cpSync(join(fixtures, 'kustomize'), join(cwd, 'kustomize'), { recursive: true })
  const r = await check(['-o', 'github', 'gitops', 'kustomize/overlays/prod'], { cwd })
  t.equal(r.code, 1)
  t.match(r.out, /^::error file=kustomize\/overlays\/prod\/kustomization\.yaml,title=memory-quantity-suspicious \(deny\)%3A Deployment prod\/prod-web::/m)
  t.match(r.out, /^pod-preflight: skipped gitops\/envs\/prod\/values-api\.yaml: Helm values, not a Kubernetes object$/m)
  t.notMatch(r.out, /^::\w+ file=gitops\/envs/m, 'no annotation for a skipped file')
  t.match(r.out, /^pod-preflight: .*, 3 skipped$/m)
  const helm = await check(['-o', 'github', '-'], { stdin: rendered })
  t.match(helm.out, /^::error file=web\/templates\/deployment\.yaml,line=42,col=\d+,title=memory-quantity-suspicious \(deny\)/m)
})

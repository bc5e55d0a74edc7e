/**
 * The GitHub Action (action.yml) run as the runner runs it: its step's `run` with the
 * `${{ … }}` expressions the runner substitutes (inputs, with their defaults, and
 * github.action_path), under `bash --noprofile --norc -eo pipefail` in the workspace, with the
 * GITHUB_* and RUNNER_* variables a runner sets. Asserted: the annotations on stdout, the
 * outputs file, the step summary, the SARIF file and the exit status.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../../', import.meta.url))
const examples = join(root, 'examples')

interface Step {
  name?: string
  id?: string
  shell?: string
  run?: string
  env?: Record<string, string>
  'working-directory'?: string
}
interface ActionYml {
  name?: unknown
  description?: unknown
  inputs?: Record<string, { description?: unknown; required?: unknown; default?: unknown }>
  outputs?: Record<string, { description?: unknown; value?: unknown }>
  runs?: { using?: unknown; steps?: Step[] }
}

const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as ActionYml
const inputs = action.inputs ?? {}
const steps = action.runs?.steps ?? []
const checkStep = steps.find((s) => s.id === 'check')

t.before(() => {
  // The entry point runs dist/; build it when a source is newer, as npm start does.
  const b = spawnSync(process.execPath, [join(root, 'scripts/build-if-stale.mjs')], { cwd: root, encoding: 'utf8' })
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}`)
})

t.test('action.yml: a composite action with the required keys, every input used, every output set by a step', async (t) => {
  t.type(action.name, 'string')
  t.type(action.description, 'string')
  t.equal(action.runs?.using, 'composite')
  t.same(Object.keys(inputs).sort(), ['cluster-state', 'fail-on', 'paths', 'policy', 'sarif-file'])
  const text = JSON.stringify(steps)
  for (const [name, spec] of Object.entries(inputs)) {
    t.ok(typeof spec.description === 'string' && spec.description.length > 10, `${name} is described`)
    t.type(spec.default, 'string', `${name} has a default`)
    t.ok(text.includes(`\${{ inputs.${name} }}`), `${name} is used by a step`)
  }
  for (const m of text.matchAll(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g)) t.ok(m[1] !== undefined && m[1] in inputs, `inputs.${m[1] ?? ''} is declared`)
  for (const s of steps) {
    t.equal(s.shell, 'bash', `${s.name ?? '?'}: a composite run step names its shell`)
    t.notMatch(s.run ?? '', /\$\{\{\s*inputs\./, `${s.name ?? '?'}: no input spliced into the script (injection)`)
  }
  const install = steps[0]
  t.equal(install?.['working-directory'], '${{ github.action_path }}', "installed in the action's own checkout")
  t.match(install?.run, /^npm ci .*&& npm run build/)
  t.ok(checkStep !== undefined, 'the check step has id check')
  for (const [name, spec] of Object.entries(action.outputs ?? {})) {
    t.type(spec.description, 'string', `${name} is described`)
    t.equal(spec.value, `\${{ steps.check.outputs.${name} }}`, `${name} comes from the check step`)
  }
})

interface Run {
  code: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  env: Record<string, string>
}

/** The `name<<DELIM … DELIM` and `name=value` forms of $GITHUB_OUTPUT, as the runner reads them. */
function readOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc !== null) {
      const [, name = '', delim] = heredoc
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i] ?? '')
      if (i >= lines.length) throw new Error(`unterminated output ${name}`)
      out[name] = value.join('\n')
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
    }
  }
  return out
}

/** The runner's substitution of the expressions this action uses. */
function expand(s: string, given: Record<string, string>): string {
  return s.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, expr: string) => {
    if (expr === 'github.action_path') return root.replace(/\/$/, '')
    const m = /^inputs\.([\w-]+)$/.exec(expr)
    if (m?.[1] !== undefined) return given[m[1]] ?? String(inputs[m[1]]?.default ?? '')
    throw new Error(`expression not handled: ${expr}`)
  })
}

function runAction(workspace: string, given: Record<string, string>): Run {
  if (checkStep?.run === undefined) throw new Error('no check step')
  const home = mkdtempSync(join(tmpdir(), 'ppf-runner-'))
  const temp = join(home, '_temp')
  mkdirSync(temp)
  const outputFile = join(temp, '_runner_file_commands', 'set_output')
  const summaryFile = join(temp, '_runner_file_commands', 'step_summary')
  mkdirSync(join(temp, '_runner_file_commands'))
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_ENV: join(temp, '_runner_file_commands', 'set_env'),
    GITHUB_PATH: join(temp, '_runner_file_commands', 'add_path'),
    GITHUB_ACTION_PATH: root.replace(/\/$/, ''),
    GITHUB_ACTION: '__pod-preflight_pod-preflight',
    GITHUB_REPOSITORY: 'shop/deploy',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_SHA: '0'.repeat(40),
    GITHUB_REF: 'refs/pull/7/merge',
    GITHUB_RUN_ID: '1',
    RUNNER_OS: 'Linux',
    RUNNER_TEMP: temp,
    RUNNER_TOOL_CACHE: join(home, 'toolcache'),
  }
  for (const [k, v] of Object.entries(checkStep.env ?? {})) env[k] = expand(v, given)
  const script = join(temp, 'step.sh')
  writeFileSync(script, expand(checkStep.run, given))
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: workspace, env, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, outputs: readOutputs(readFileSync(outputFile, 'utf8')), summary: readFileSync(summaryFile, 'utf8'), env }
}

function workspaceWith(files: Record<string, string>): string {
  const ws = mkdtempSync(join(tmpdir(), 'ppf-ws-'))
  for (const [name, from] of Object.entries(files)) {
    mkdirSync(join(ws, name, '..'), { recursive: true })
    if (existsSync(from)) cpSync(from, join(ws, name))
    else writeFileSync(join(ws, name), from)
  }
  return ws
}

interface Sarif {
  version: string
  runs: Array<{ results: Array<{ ruleId: string; level: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }>
}

t.test('a pull request with a broken pod: error annotations, outputs, a SARIF file, status 1', async (t) => {
  const ws = workspaceWith({ 'k8s/broken-pod.yaml': join(examples, 'broken-pod.yaml'), 'k8s/web.yaml': join(examples, 'web-deployment.yaml'), 'README.md': '# deploy\n' })
  const r = runAction(ws, { paths: 'k8s' })
  t.equal(r.code, 1, r.stderr)
  const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error '))
  t.equal(errors.length, 4, 'the four deny findings')
  t.match(errors[0], /^::error file=k8s\/broken-pod\.yaml,line=10,col=7,title=command-missing \(deny\)%3A Pod shop\/broken::spec\.containers\[0\]\.command: container "shell" sets no command/)
  t.equal(r.stdout.split('\n').filter((l) => l.startsWith('::warning ')).length, 1)
  t.match(r.stdout, /^pod-preflight: 3 objects checked in 2 files/m)
  t.same(r.outputs, { deny: '4', warn: '1', info: '3', findings: '8', errors: '0', skipped: '0', 'sarif-file': join(r.env['RUNNER_TEMP'] ?? '', 'pod-preflight.sarif'), 'exit-code': '1' })
  const sarif = JSON.parse(readFileSync(r.outputs['sarif-file'] ?? '', 'utf8')) as Sarif
  t.equal(sarif.version, '2.1.0')
  const results = sarif.runs[0]?.results ?? []
  t.equal(results.length, 8)
  t.ok(results.every((x) => x.locations[0]?.physicalLocation.artifactLocation.uri === 'k8s/broken-pod.yaml'), 'URIs relative to the workspace, as code scanning places them')
  t.match(r.summary, /^### pod-preflight: failed \(findings at or above deny\)$/m)
  t.match(r.summary, /4 deny, 1 warn, 3 info findings; 0 input errors; 0 skipped/)
  t.match(r.summary, /\| `ephemeral-storage-limit-missing` \| 3 \|/)
})

t.test('clean manifests pass; the SARIF file goes where sarif-file says', async (t) => {
  const ws = workspaceWith({ 'deploy/web.yaml': join(examples, 'web-deployment.yaml') })
  const r = runAction(ws, { paths: 'deploy', 'sarif-file': 'reports/preflight.sarif' })
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stdout, /^::(error|warning) /m)
  t.equal(r.outputs['sarif-file'], join(ws, 'reports/preflight.sarif'))
  t.equal(r.outputs['deny'], '0')
  t.equal(r.outputs['exit-code'], '0')
  t.same((JSON.parse(readFileSync(join(ws, 'reports/preflight.sarif'), 'utf8')) as Sarif).runs[0]?.results, [])
  t.match(r.summary, /^### pod-preflight: passed$/m)
})

t.test('fail-on, policy and cluster-state inputs reach check; several paths on lines', async (t) => {
  const ws = workspaceWith({
    'apps/cron.yaml': join(examples, 'nightly-cronjob.yaml'),
    'apps/web.yaml': join(examples, 'web-deployment.yaml'),
    'ci/strict.yaml': join(root, 'policies/strict.yaml'),
  })
  const warned = runAction(ws, { paths: 'apps/cron.yaml\napps/web.yaml\n' })
  t.equal(warned.code, 0, 'warnings alone pass by default')
  t.ok(Number(warned.outputs['warn']) > 0)
  t.match(warned.stdout, /^::warning file=apps\/cron\.yaml,line=\d+/m)
  const failOn = runAction(ws, { paths: 'apps/cron.yaml apps/web.yaml', 'fail-on': 'warn' })
  t.equal(failOn.code, 1, 'fail-on warn fails on them')
  t.equal(failOn.outputs['exit-code'], '1')
  const strict = runAction(ws, { paths: 'apps', policy: 'ci/strict.yaml' })
  t.equal(strict.code, 1, 'the strict policy denies the latest tag')
  t.match(strict.stdout, /^::error file=apps\/cron\.yaml,line=\d+,col=\d+,title=image-tag-latest \(deny\)/m)

  // A node list where no node carries the label the Deployment asks for: only the cluster rules see it.
  const pinned = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gpu, namespace: shop}\nspec:\n  selector: {matchLabels: {app: gpu}}\n  template:\n    metadata: {labels: {app: gpu}}\n    spec:\n      nodeSelector: {disktype: ssd}\n      containers:\n        - name: app\n          image: registry.k8s.io/pause:3.9\n          resources: {limits: {memory: 64Mi}, requests: {memory: 64Mi}}\n'
  const nodes = 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Node\n    metadata: {name: n1, labels: {disktype: hdd}}\n    status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}, conditions: [{type: Ready, status: "True"}]}\n'
  writeFileSync(join(ws, 'apps/gpu.yaml'), pinned)
  writeFileSync(join(ws, 'nodes.yaml'), nodes)
  const without = runAction(ws, { paths: 'apps/gpu.yaml' })
  t.notMatch(without.stdout, /node-selector-unsatisfiable/, 'no cluster state, no cluster rule')
  const withState = runAction(ws, { paths: 'apps/gpu.yaml', 'cluster-state': 'nodes.yaml' })
  t.match(withState.stdout, /^::warning file=apps\/gpu\.yaml,line=\d+,col=\d+,title=node-selector-unsatisfiable \(warn\)/m)
})

t.test('input and usage errors: status 2, annotated, counted', async (t) => {
  const ws = workspaceWith({ 'k8s/bad.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n', 'k8s/web.yaml': join(examples, 'web-deployment.yaml') })
  const r = runAction(ws, { paths: 'k8s' })
  t.equal(r.code, 2)
  t.match(r.stdout, /^::error file=k8s\/bad\.yaml,line=\d+(,col=\d+)?,title=pod-preflight%3A input error::/m)
  t.equal(r.outputs['errors'], '1')
  t.equal(r.outputs['exit-code'], '2')
  t.match(r.summary, /failed \(input or usage errors\)/)

  const usage = runAction(ws, { paths: 'k8s/web.yaml', 'fail-on': 'sometimes' })
  t.equal(usage.code, 2)
  t.match(usage.stdout, /^::error title=pod-preflight::.*--fail-on must be deny, warn, info or never, not "sometimes"/m, 'a usage error is shown on the run')
  t.equal(usage.outputs['sarif-file'], '', 'no report, no SARIF file')

  const missing = runAction(ws, { paths: 'nope/' })
  t.equal(missing.code, 2)
  t.match(missing.stdout, /^::error file=nope[^:]*::.*/m, 'a path that does not exist is named')
})

/**
 * Rule fixtures, in the Polaris manner: test/fixtures/rules/<rule-id>/fire.*.yaml must make the
 * rule report, silent.*.yaml must not. Header comments in a fixture refine what is expected:
 *   # expect: <field path>        a finding of the rule must have exactly this path (repeatable)
 *   # action: deny|warn|info      every finding of the rule must have this action
 *   # message: <text>             some finding's message must contain this text (repeatable)
 *   # params: <JSON object>       the rule's params for this fixture
 *   # count: <n>                  exactly n findings of the rule
 *
 * Cluster-aware rules (scope batch or cluster) get their context from the fixture directory:
 *   cluster.yaml (or cluster.*.yaml)  state objects (Nodes, ResourceQuotas, ConfigMaps...) as
 *                                     `kubectl get -o yaml` prints them; the rule sees them as
 *                                     the cluster view, exactly as `--cluster-state` would load them
 *   # cluster: <file>             the state file of this fixture (default: cluster.yaml if present)
 *   # context: <ctx>              cluster | batch | batch-complete | cluster+batch |
 *                                 cluster+batch-complete | none. batch: the fixture's own
 *                                 documents are the other objects of the run (a CLI run);
 *                                 batch-complete: the same, declared complete (--complete).
 *                                 Default: cluster when a state file applies and the rule has
 *                                 scope cluster; else none for a rule with scope static (as
 *                                 before); else batch for a rule with scope batch.
 *
 * Document rules (schema-invalid) get the kind schemas `check` gives them:
 *   # kubernetes-version: <v>     the shipped Kubernetes version (default: the newest)
 *   # crd: <file>                 a CRD file of the fixture directory, as `check --crd` reads it (repeatable)
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseDocuments } from '../../src/input/documents.js'
import { buildPolicy } from '../../src/policy/policy.js'
import { evaluateObject, type EvaluateOptions, type Evaluation } from '../../src/engine/evaluate.js'
import type { PodRule } from '../../src/engine/rule.js'
import type { ReportAction } from '../../src/engine/types.js'
import { relatedFromObjects } from '../../src/engine/related.js'
import { clusterViewFromText } from '../../src/cluster/files.js'
import { isDocumentRule } from '../../src/engine/rule.js'
import { kubernetesSchemas } from '../../src/schema/kubernetes.js'

export const FIXTURE_ROOT = new URL('../fixtures/rules/', import.meta.url).pathname

export type FixtureContext = 'cluster' | 'batch' | 'batch-complete' | 'cluster+batch' | 'cluster+batch-complete' | 'none'
const CONTEXTS: readonly string[] = ['cluster', 'batch', 'batch-complete', 'cluster+batch', 'cluster+batch-complete', 'none']

export interface FixtureHeader {
  expect: string[]
  action?: ReportAction
  messages: string[]
  params: Record<string, unknown>
  count?: number
  context?: FixtureContext
  cluster?: string
  kubernetesVersion?: string
  crds: string[]
}

export interface Fixture {
  file: string
  name: string
  kind: 'fire' | 'silent'
  text: string
  header: FixtureHeader
}

export function parseHeader(text: string): FixtureHeader {
  const header: FixtureHeader = { expect: [], messages: [], params: {}, crds: [] }
  for (const line of text.split('\n')) {
    const m = /^#\s*(expect|action|message|params|count|context|cluster|kubernetes-version|crd):\s*(.*?)\s*$/.exec(line)
    if (m === null) continue
    const [, key, value = ''] = m
    if (key === 'expect') header.expect.push(value)
    else if (key === 'message') header.messages.push(value)
    else if (key === 'action') header.action = value as ReportAction
    else if (key === 'count') header.count = Number(value)
    else if (key === 'params') header.params = JSON.parse(value) as Record<string, unknown>
    else if (key === 'cluster') header.cluster = value
    else if (key === 'kubernetes-version') header.kubernetesVersion = value
    else if (key === 'crd') header.crds.push(value)
    else if (key === 'context') {
      if (!CONTEXTS.includes(value)) throw new Error(`unknown fixture context '${value}' (one of ${CONTEXTS.join(', ')})`)
      header.context = value as FixtureContext
    }
  }
  return header
}

export function fixturesOf(ruleId: string): Fixture[] {
  const dir = join(FIXTURE_ROOT, ruleId)
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => /^(fire|silent)\..+\.ya?ml$/.test(f))
    .sort()
    .map((name) => {
      const file = join(dir, name)
      const text = readFileSync(file, 'utf8')
      return { file, name, kind: name.startsWith('fire.') ? 'fire' : 'silent', text, header: parseHeader(text) } as Fixture
    })
}

export interface FixtureRun {
  evaluations: Evaluation[]
  parseErrors: string[]
}

/** Runs one rule, alone, on every document of a fixture. */
export function runRule(rule: PodRule<unknown>, text: string, params: Record<string, unknown> = {}, extra: Partial<EvaluateOptions> = {}): FixtureRun {
  const { documents, errors } = parseDocuments(text, 'fixture')
  const action = rule.defaultAction === 'off' ? 'warn' : rule.defaultAction
  const policy = buildPolicy(
    { apiVersion: 'pod-preflight/v1', kind: 'Policy', rules: { [rule.id]: { action, params } } },
    'fixture policy',
    [rule],
  )
  const evaluations = documents.map((d) => evaluateObject(d.value, { policy, rules: [rule], namespace: 'default', ...extra }))
  return { evaluations, parseErrors: errors.map((e) => `${e.line ?? '?'}: ${e.message}`) }
}

export interface FixtureSetup {
  /** The cluster view and/or related objects the rule gets. */
  extra: Partial<EvaluateOptions>
  /** Problems of the state file (a fixture's state must be valid). */
  stateErrors: string[]
  context: FixtureContext
}

/**
 * The context a cluster-aware rule gets for a fixture: the state file of the directory as the
 * cluster view (as --cluster-state loads it), and/or the fixture's own documents as the run.
 */
export function fixtureSetup(rule: PodRule<unknown>, fx: Fixture): FixtureSetup {
  const dir = join(FIXTURE_ROOT, rule.id)
  const stateName = fx.header.cluster ?? (existsSync(join(dir, 'cluster.yaml')) ? 'cluster.yaml' : undefined)
  const hasCluster = rule.scope.includes('cluster')
  const hasBatch = rule.scope.includes('batch')
  const context: FixtureContext =
    fx.header.context ?? (stateName !== undefined && hasCluster ? 'cluster' : rule.scope.includes('static') ? 'none' : hasBatch ? 'batch' : 'cluster')
  const extra: Partial<EvaluateOptions> = {}
  const stateErrors: string[] = []
  if (context.startsWith('cluster')) {
    if (stateName === undefined) {
      stateErrors.push(`context ${context} needs a state file: add ${join(dir, 'cluster.yaml')} or a '# cluster:' header`)
    } else {
      const { view, errors } = clusterViewFromText(readFileSync(join(dir, stateName), 'utf8'), stateName)
      for (const e of errors) stateErrors.push(`${e.file}:${e.line ?? '?'}: ${e.message}`)
      extra.cluster = view
    }
  }
  if (isDocumentRule(rule)) {
    const crds = fx.header.crds.flatMap((f) => parseDocuments(readFileSync(join(dir, f), 'utf8'), f).documents.map((d) => d.value))
    const schemas = kubernetesSchemas({ ...(fx.header.kubernetesVersion !== undefined ? { version: fx.header.kubernetesVersion } : {}), crds })
    for (const p of schemas.crdProblems) stateErrors.push(p.message)
    extra.schemas = schemas
  }
  if (context.includes('batch')) {
    const { documents } = parseDocuments(fx.text, fx.name)
    extra.related = relatedFromObjects(documents.map((d) => d.value), { complete: context.endsWith('batch-complete'), namespace: 'default' })
  }
  return { extra, stateErrors, context }
}

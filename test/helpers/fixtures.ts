/**
 * Rule fixtures, in the Polaris manner: test/fixtures/rules/<rule-id>/fire.*.yaml must make the
 * rule report, silent.*.yaml must not. Header comments in a fixture refine what is expected:
 *   # expect: <field path>        a finding of the rule must have exactly this path (repeatable)
 *   # action: deny|warn|info      every finding of the rule must have this action
 *   # message: <text>             some finding's message must contain this text (repeatable)
 *   # params: <JSON object>       the rule's params for this fixture
 *   # count: <n>                  exactly n findings of the rule
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseDocuments } from '../../src/input/documents.js'
import { buildPolicy } from '../../src/policy/policy.js'
import { evaluateObject, type EvaluateOptions, type Evaluation } from '../../src/engine/evaluate.js'
import type { PodRule } from '../../src/engine/rule.js'
import type { ReportAction } from '../../src/engine/types.js'

export const FIXTURE_ROOT = new URL('../fixtures/rules/', import.meta.url).pathname

export interface FixtureHeader {
  expect: string[]
  action?: ReportAction
  messages: string[]
  params: Record<string, unknown>
  count?: number
}

export interface Fixture {
  file: string
  name: string
  kind: 'fire' | 'silent'
  text: string
  header: FixtureHeader
}

export function parseHeader(text: string): FixtureHeader {
  const header: FixtureHeader = { expect: [], messages: [], params: {} }
  for (const line of text.split('\n')) {
    const m = /^#\s*(expect|action|message|params|count):\s*(.*?)\s*$/.exec(line)
    if (m === null) continue
    const [, key, value = ''] = m
    if (key === 'expect') header.expect.push(value)
    else if (key === 'message') header.messages.push(value)
    else if (key === 'action') header.action = value as ReportAction
    else if (key === 'count') header.count = Number(value)
    else if (key === 'params') header.params = JSON.parse(value) as Record<string, unknown>
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

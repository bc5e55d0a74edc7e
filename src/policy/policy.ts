import { readFile } from 'node:fs/promises'
import { BUILTIN_POLICIES, builtinPolicyFile, readBuiltinPolicy, type BuiltinPolicy } from './builtin.js'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { jsonKeeps, paramsExportName, policyValidator, POLICY_EXPORT, schemasKey, shippedPolicies, type ShippedPolicies, type ShippedPolicy } from './validators.js'
import { yamlModule } from '../lazy-modules.js'
import { policySchema, POLICY_API_VERSION } from './schema.js'
import type { PodRule } from '../engine/rule.js'
import type { Action } from '../engine/types.js'
import type { LabelSelector } from '../engine/k8s.js'
import { parsePath } from '../input/field-path.js'
import { selectorMatches } from '../engine/labels.js'
import { safeText } from '../text/sanitize.js'

export interface RuleSetting {
  action: Action
  params: Record<string, unknown>
}

export interface Exemption {
  reason: string
  /** Rule ids; undefined means every rule. */
  rules?: string[]
  /** Namespace names; `*` matches any run of characters. Undefined means every namespace. */
  namespaces?: string[]
  selector?: LabelSelector
}

/** enforce: deny findings refuse the object; audit: they are answered as warnings and counted as "would deny". */
export type Mode = 'enforce' | 'audit'
/** What the webhook does with objects a workload controller created. */
export type OwnedObjects = 'judge' | 'skip'

/** Where the `pod-preflight/skip` annotation is honoured. */
export interface SkipControl {
  enabled: boolean
  /** Namespace names (`*` globs) where it is honoured; undefined means every namespace. */
  namespaces?: readonly string[]
}

/** A policy binding: in the namespaces its selector matches, its mode and rule actions apply. */
export interface Binding {
  name: string
  namespaceSelector: LabelSelector
  /** The binding's own mode, when it sets one; otherwise the policy's applies. */
  mode?: Mode
  /** Rule actions it overrides (parameters stay the policy's). */
  overrides: ReadonlyMap<string, Action>
  /** The policy as it applies in the namespaces this binding matches. */
  policy: Policy
}

export interface Policy {
  name: string
  /** Where it was read from, for messages. */
  source: string
  rules: ReadonlyMap<string, RuleSetting>
  exemptions: readonly Exemption[]
  mode: Mode
  /**
   * What the webhook does with an object a workload controller created (a ReplicaSet's Pod, a
   * Deployment's ReplicaSet, a CronJob's Job), which it never refuses: `judge` it (its findings
   * logged and counted) or `skip` it (allowed at once, only counted). The policy's own; bindings
   * do not change it.
   */
  ownedObjects: OwnedObjects
  skip: SkipControl
  /** In list order: the first whose selector matches a namespace's labels applies there. */
  bindings: readonly Binding[]
  /** Set on the policy a binding derives: the binding's name. */
  binding?: string
}

/** The label every namespace carries from Kubernetes 1.21 on; filled in for older servers. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name'

/**
 * The policy that applies in a namespace: the first binding whose selector matches the
 * namespace's labels, else the policy itself. Labels undefined means they are not known.
 */
export function policyForNamespace(policy: Policy, namespace: string | undefined, labels: Readonly<Record<string, string>> | undefined): Policy {
  if (policy.bindings.length === 0 || namespace === undefined || labels === undefined) return policy
  const all = labels[NAMESPACE_NAME_LABEL] === undefined ? { ...labels, [NAMESPACE_NAME_LABEL]: namespace } : labels
  for (const b of policy.bindings) {
    if (selectorMatches(b.namespaceSelector, all)) return b.policy
  }
  return policy
}

/** True when the skip annotation is honoured in `namespace` (undefined: a run with no namespace). */
export function skipHonoured(skip: SkipControl, namespace: string | undefined): boolean {
  if (!skip.enabled) return false
  if (skip.namespaces === undefined) return true
  return namespace !== undefined && skip.namespaces.some((p) => globMatch(p, namespace))
}

/** `*` matches any run of characters; nothing else is special. Linear in the pattern. */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  return re.test(value)
}

/** A policy that cannot be used; the message names the file, the field path and the line. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError'
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
  }
}

let validatePolicyFn: ValidateFunction | undefined
const validatePolicy = (): ValidateFunction => (validatePolicyFn ??= policyValidator(POLICY_EXPORT, policySchema))
const paramValidators = new WeakMap<object, ValidateFunction>()

function paramsValidator(rule: PodRule<unknown>): ValidateFunction {
  let v = paramValidators.get(rule)
  if (v === undefined) {
    v = policyValidator(paramsExportName(rule.id), rule.params)
    paramValidators.set(rule, v)
  }
  return v
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join('')
}

function describeAjvError(e: ErrorObject, prefix: string): { path: string; message: string } {
  const rel = pointerToPath(e.instancePath)
  const base = prefix === '' ? rel : rel === '' ? prefix : rel.startsWith('[') ? `${prefix}${rel}` : `${prefix}.${rel}`
  const join = (p: string, k: string): string => (p === '' ? k : `${p}.${k}`)
  switch (e.keyword) {
    case 'additionalProperties':
      return { path: join(base, String(e.params['additionalProperty'])), message: 'unknown field' }
    case 'required':
      return { path: join(base, String(e.params['missingProperty'])), message: 'is required' }
    case 'enum':
      return { path: base, message: `must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` }
    case 'const':
      return { path: base, message: `must be ${JSON.stringify(e.params['allowedValue'])}` }
    default:
      return { path: base, message: e.message ?? 'is invalid' }
  }
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0
    dp[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0
      dp[j] = Math.min((dp[j] ?? 0) + 1, (dp[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return dp[b.length] ?? 0
}

export function suggestRuleId(id: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const k of known) {
    const d = levenshtein(id, k)
    if (d < bestD) {
      bestD = d
      best = k
    }
  }
  return bestD <= Math.max(2, Math.floor(id.length / 4)) ? best : undefined
}

/**
 * Builds a policy from its parsed content. `locate` turns a field path into a line for messages.
 * Every rule not named in the file keeps its default action and default params. `validated` is
 * what the validators made of this very content for these very schemas (a shipped policy, at
 * build time): the content is then not validated again, and each rule takes those params.
 */
export function buildPolicy(
  content: unknown,
  source: string,
  rules: readonly PodRule<unknown>[],
  locate: (path: string) => number | undefined = () => undefined,
  validated?: Readonly<Record<string, Record<string, unknown>>>,
): Policy {
  const problems: string[] = []
  const report = (path: string, message: string): void => {
    const line = locate(path)
    problems.push(`${source}${line === undefined ? '' : `:${line}`}: ${path === '' ? '' : `${path}: `}${message}`)
  }
  if (content === null || content === undefined) {
    report('', `the policy is empty; it needs at least apiVersion: ${POLICY_API_VERSION} and kind: Policy`)
    throw new PolicyError(problems)
  }
  const validate = validated === undefined ? validatePolicy() : undefined
  if (validate !== undefined && !validate(content)) {
    // anyOf errors repeat each alternative's complaint; keep the most useful, once.
    const seen = new Set<string>()
    for (const e of validate.errors ?? []) {
      // A rule entry is either an action or a map; its anyOf alternatives each complain, so
      // say once what is allowed instead.
      if (e.schemaPath.startsWith('#/properties/rules/additionalProperties/anyOf/')) {
        if (e.schemaPath.includes('/anyOf/0/') || e.keyword === 'type') continue
      }
      if (e.keyword === 'anyOf') {
        report(pointerToPath(e.instancePath), 'must be an action (deny, warn, info, off) or a map with action and params')
        continue
      }
      const d = describeAjvError(e, '')
      const key = `${d.path}: ${d.message}`
      if (seen.has(key)) continue
      seen.add(key)
      report(d.path, d.message)
    }
    throw new PolicyError(problems)
  }
  const byId = new Map(rules.map((r) => [r.id, r]))
  const settings = new Map<string, RuleSetting>()
  const raw = content as {
    metadata?: { name?: string }
    mode?: Mode
    ownedObjects?: OwnedObjects
    skipAnnotation?: { enabled?: boolean; namespaces?: string[] }
    bindings?: { name: string; namespaceSelector: LabelSelector; mode?: Mode; rules?: Record<string, Action> }[]
    rules?: Record<string, Action | { action?: Action; params?: Record<string, unknown> }>
    exemptions?: Exemption[]
  }
  const given = raw.rules ?? {}
  for (const id of Object.keys(given)) {
    if (!byId.has(id)) {
      const hint = suggestRuleId(id, byId.keys())
      report(`rules.${id}`, `unknown rule id${hint ? `; did you mean ${hint}?` : ''} ('pod-preflight rules' lists them)`)
    }
  }
  for (const rule of rules) {
    const entry = given[rule.id]
    const action: Action = typeof entry === 'string' ? entry : (entry?.action ?? rule.defaultAction)
    const ahead = validated?.[rule.id]
    if (ahead !== undefined) {
      settings.set(rule.id, { action, params: ahead })
      continue
    }
    const params: Record<string, unknown> = structuredClone(typeof entry === 'object' ? (entry.params ?? {}) : {})
    const validate = paramsValidator(rule)
    if (!validate(params)) {
      for (const e of validate.errors ?? []) {
        const d = describeAjvError(e, `rules.${rule.id}.params`)
        report(d.path, d.message)
      }
      continue
    }
    settings.set(rule.id, { action, params })
  }
  const exemptions = raw.exemptions ?? []
  exemptions.forEach((ex, i) => {
    for (const [j, id] of (ex.rules ?? []).entries()) {
      if (!byId.has(id)) {
        const hint = suggestRuleId(id, byId.keys())
        report(`exemptions[${i}].rules[${j}]`, `unknown rule id '${id}'${hint ? `; did you mean ${hint}?` : ''}`)
      }
    }
  })
  const seenNames = new Map<string, number>()
  ;(raw.bindings ?? []).forEach((b, i) => {
    const at = `bindings[${i}]`
    const first = seenNames.get(b.name)
    if (first !== undefined) report(`${at}.name`, `'${b.name}' is already the name of bindings[${first}]; names must be unique`)
    else seenNames.set(b.name, i)
    if (b.mode === undefined && (b.rules === undefined || Object.keys(b.rules).length === 0)) {
      report(at, 'a binding needs a mode, rule actions (rules:), or both; as it is it changes nothing')
    }
    for (const id of Object.keys(b.rules ?? {})) {
      if (!byId.has(id)) {
        const hint = suggestRuleId(id, byId.keys())
        report(`${at}.rules.${id}`, `unknown rule id${hint ? `; did you mean ${hint}?` : ''} ('pod-preflight rules' lists them)`)
      }
    }
    checkSelector(b.namespaceSelector, `${at}.namespaceSelector`, report)
  })
  exemptions.forEach((ex, i) => {
    if (ex.selector !== undefined) checkSelector(ex.selector, `exemptions[${i}].selector`, report)
  })
  if (problems.length > 0) throw new PolicyError(problems)
  const skip: SkipControl = { enabled: raw.skipAnnotation?.enabled ?? true }
  if (raw.skipAnnotation?.namespaces !== undefined) skip.namespaces = raw.skipAnnotation.namespaces
  const policy: Policy = { name: raw.metadata?.name ?? source, source, rules: settings, exemptions, mode: raw.mode ?? 'enforce', ownedObjects: raw.ownedObjects ?? 'judge', skip, bindings: [] }
  policy.bindings = (raw.bindings ?? []).map((b): Binding => {
    const overrides = new Map(Object.entries(b.rules ?? {}))
    const rulesHere = new Map(settings)
    for (const [id, action] of overrides) {
      const base = settings.get(id)
      if (base !== undefined) rulesHere.set(id, { action, params: base.params })
    }
    const derived: Policy = { ...policy, rules: rulesHere, mode: b.mode ?? policy.mode, bindings: [], binding: b.name }
    const binding: Binding = { name: b.name, namespaceSelector: b.namespaceSelector, overrides, policy: derived }
    if (b.mode !== undefined) binding.mode = b.mode
    return binding
  })
  return policy
}

/** What the API server would refuse in a LabelSelector: In/NotIn without values, Exists/DoesNotExist with some. */
function checkSelector(selector: LabelSelector, at: string, report: (path: string, message: string) => void): void {
  ;(selector.matchExpressions ?? []).forEach((e, j) => {
    const n = e.values?.length ?? 0
    if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) report(`${at}.matchExpressions[${j}].values`, `${e.operator} needs at least one value`)
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0) report(`${at}.matchExpressions[${j}].values`, `${e.operator} takes no values`)
  })
}

/**
 * Parses policy text (YAML or JSON). A shipped policy's text was read at build time: it is read
 * again only to say where a problem is, and validated again only when the schemas changed since.
 */
export function parsePolicy(text: string, source: string, rules: readonly PodRule<unknown>[]): Policy {
  return policyFromShipped(text, source, rules, shippedPolicies()) ?? policyFromText(text, source, rules)
}

function policyFromText(text: string, source: string, rules: readonly PodRule<unknown>[]): Policy {
  const { content, locate } = readPolicyText(text, source)
  return buildPolicy(content, source, rules, locate)
}

const keyOfRules = new WeakMap<readonly PodRule<unknown>[], string>()

/** The policy `text` makes, from what the build made of it when it is a shipped policy's text; else undefined. */
export function policyFromShipped(text: string, source: string, rules: readonly PodRule<unknown>[], shipped: ShippedPolicies | null): Policy | undefined {
  if (shipped === null) return undefined
  const found = shipped.policies.find((p) => p.text === text)
  if (found === undefined) return undefined
  let schemas = keyOfRules.get(rules)
  if (schemas === undefined) keyOfRules.set(rules, (schemas = schemasKey(policySchema, rules)))
  let read: ReturnType<typeof readPolicyText> | undefined
  const locate = (path: string): number | undefined => (read ??= readPolicyText(text, source)).locate(path)
  // A copy: the policy keeps parts of its content, and a caller may change them.
  if (found.validated !== undefined && shipped.schemas === schemas) {
    const { content, params } = structuredClone(found.validated)
    return buildPolicy(content, source, rules, locate, params)
  }
  return buildPolicy(structuredClone(found.content), source, rules, locate)
}

/** The shipped policies' file (dist/policy/policies.generated.json) the build writes: see ShippedPolicies. */
export function shippedPoliciesData(texts: readonly { text: string; source: string }[], rules: readonly PodRule<unknown>[]): ShippedPolicies {
  const policies: ShippedPolicy[] = []
  for (const { text, source } of texts) {
    const { content } = readPolicyText(text, source)
    // Only what JSON keeps as it is: a policy holding a .inf or a date is read at run time.
    if (!jsonKeeps(content)) continue
    const entry: ShippedPolicy = { text, content }
    const validating = structuredClone(content)
    try {
      const policy = buildPolicy(validating, source, rules)
      entry.validated = { content: validating, params: Object.fromEntries([...policy.rules].map(([id, s]) => [id, s.params])) }
      if (!jsonKeeps(entry.validated)) delete entry.validated
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err
    }
    policies.push(entry)
  }
  return { schemas: schemasKey(policySchema, rules), policies }
}

/** Policy text as the yaml package reads it, and where each field path is; a text it cannot read is a PolicyError. */
export function readPolicyText(text: string, source: string): { content: unknown; locate: (path: string) => number | undefined } {
  const { LineCounter, parseDocument, isNode } = yamlModule()
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false })
  if (doc.errors.length > 0) {
    throw new PolicyError(
      doc.errors.slice(0, 1).map((e) => `${source}:${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0] ?? e.message}`),
    )
  }
  let content: unknown
  try {
    content = doc.toJS({ maxAliasCount: 100 })
  } catch (err) {
    throw new PolicyError([`${source}: cannot read: ${err instanceof Error ? err.message : String(err)}`])
  }
  const locate = (path: string): number | undefined => {
    const segs = parsePath(path)
    if (segs === undefined) return undefined
    for (let n = segs.length; n >= 0; n--) {
      const node = doc.getIn(segs.slice(0, n), true)
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line
    }
    return undefined
  }
  return { content, locate }
}

/** `--policy builtin:NAME` names a shipped policy (default, strict) instead of a file. */
export const BUILTIN_PREFIX = 'builtin:'

/** The shipped policy a --policy value names, or undefined for a file path; an unknown name is an error. */
export function builtinPolicyName(value: string): BuiltinPolicy | undefined {
  if (!value.startsWith(BUILTIN_PREFIX)) return undefined
  const name = value.slice(BUILTIN_PREFIX.length)
  if ((BUILTIN_POLICIES as readonly string[]).includes(name)) return name as BuiltinPolicy
  throw new PolicyError([`${safeText(value, 80)}: no such built-in policy; the built-in policies are ${BUILTIN_POLICIES.map((n) => BUILTIN_PREFIX + n).join(' and ')}`])
}

/** A policy file, or a shipped policy named `builtin:default` / `builtin:strict` (inside the single executable too). */
export async function loadPolicyFile(file: string, rules: readonly PodRule<unknown>[]): Promise<Policy> {
  const builtin = builtinPolicyName(file)
  if (builtin !== undefined) return loadBuiltinPolicy(builtin, rules)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new PolicyError([`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`}`])
  }
  return parsePolicy(text, file, rules)
}

/** The policy shipped with the package, used when no --policy is given. */
export const DEFAULT_POLICY_FILE = builtinPolicyFile('default')

export async function loadDefaultPolicy(rules: readonly PodRule<unknown>[]): Promise<Policy> {
  return loadBuiltinPolicy('default', rules)
}

async function loadBuiltinPolicy(name: BuiltinPolicy, rules: readonly PodRule<unknown>[]): Promise<Policy> {
  let text: string
  try {
    text = await readBuiltinPolicy(name)
  } catch (err) {
    throw new PolicyError([`the built-in policy (policies/${name}.yaml) is missing from this installation: ${(err as NodeJS.ErrnoException).code ?? String(err)}`])
  }
  return parsePolicy(text, `policies/${name}.yaml (built in)`, rules)
}

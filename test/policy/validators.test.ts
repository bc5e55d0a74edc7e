/**
 * The policy's validators compiled at build time (src/policy/validators.ts) against the same
 * schemas compiled while running: the same verdict, the same errors (keyword, path, params,
 * message) and the same defaults filled in, for the policy schema and every rule's parameters,
 * on valid and broken inputs made from each schema.
 */
import t from 'tap'
import { createRequire } from 'node:module'
import { Ajv, type ValidateFunction } from 'ajv'
import standaloneCode from 'ajv/dist/standalone/index.js'
import { RULES } from '../../src/rules/index.js'
import { policySchema } from '../../src/policy/schema.js'
import { generatedValidatorsCode, paramsExportName, POLICY_AJV_OPTIONS, POLICY_EXPORT, SOURCES_EXPORT, policyValidator } from '../../src/policy/validators.js'

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The generated module, evaluated as the build writes it. */
function generated(): Obj {
  const code = generatedValidatorsCode(policySchema, RULES, standaloneCode.default)
  const module = { exports: {} as Obj }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('exports', 'require', 'module', code)(module.exports, createRequire(import.meta.url), module)
  return module.exports
}

/** Values that break a schema node: the wrong type, out of range, an unknown field... */
function breakers(schema: unknown): unknown[] {
  if (!isObj(schema)) return [null]
  const out: unknown[] = [null, true, 'text', -1, 0, 1.5, 100000, [], [''], [5], {}, { unknownField: 1 }]
  if (isObj(schema['properties'])) {
    for (const [k, sub] of Object.entries(schema['properties'])) {
      for (const b of breakers(sub).slice(0, 14)) out.push({ [k]: b })
    }
  }
  if (isObj(schema['items'])) for (const b of breakers(schema['items']).slice(0, 8)) out.push([b], ['ok', b])
  return out
}

const summary = (v: ValidateFunction, data: unknown): unknown => {
  const copy = structuredClone(data)
  const ok = v(copy)
  return { ok, data: copy, errors: v.errors ?? null }
}

const gen = generated()
const runtime = new Ajv(POLICY_AJV_OPTIONS)

t.test('every schema is generated, with its source', async (t) => {
  const sources = gen[SOURCES_EXPORT] as Record<string, string>
  t.equal(sources[POLICY_EXPORT], JSON.stringify(policySchema))
  for (const r of RULES) t.equal(sources[paramsExportName(r.id)], JSON.stringify(r.params), r.id)
})

t.test('the rules\' parameters: the same verdict, errors and defaults', async (t) => {
  let broken = 0
  for (const r of RULES) {
    const ahead = gen[paramsExportName(r.id)] as ValidateFunction
    const now = runtime.compile(r.params)
    for (const input of breakers(r.params)) {
      const a = summary(ahead, input)
      const b = summary(now, input)
      if ((b as { ok: boolean }).ok === false) broken++
      if (JSON.stringify(a) !== JSON.stringify(b)) t.same(a, b, `${r.id}: ${JSON.stringify(input)}`)
    }
  }
  t.ok(broken > RULES.length * 5, `${broken} broken inputs compared`)
})

t.test('the policy schema: the same verdict and errors', async (t) => {
  const ahead = gen[POLICY_EXPORT] as ValidateFunction
  const now = runtime.compile(policySchema)
  const head = { apiVersion: 'pod-preflight/v1', kind: 'Policy' }
  const inputs: unknown[] = [
    head,
    {},
    { ...head, apiVersion: 'v1' },
    { ...head, mode: 'maybe', extra: 1 },
    { ...head, rules: { a: 'deny', b: 'block', c: { action: 'warn', params: { x: 1 } }, d: { action: 'no', other: 1 }, e: 5 } },
    { ...head, bindings: [{ name: '', namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }, { name: 'x' }] },
    { ...head, bindings: Array.from({ length: 101 }, (_, i) => ({ name: `b${i}`, namespaceSelector: {} })) },
    { ...head, exemptions: [{ reason: '' }, { reason: 'r', rules: [], namespaces: [''], selector: { matchLabels: { a: 1 } } }] },
    { ...head, skipAnnotation: { enabled: 'yes', namespaces: [] }, metadata: { name: 5, owner: 'x' } },
    ...breakers(policySchema).map((b) => (isObj(b) ? { ...head, ...b } : b)),
  ]
  for (const input of inputs) t.same(summary(ahead, input), summary(now, input), JSON.stringify(input).slice(0, 200))
})

t.test('from the sources, with no generated module, a schema is compiled while running', async (t) => {
  const v = policyValidator('params:not-a-rule', { type: 'object', properties: { n: { type: 'integer', default: 3 } } })
  const data: Obj = {}
  t.ok(v(data))
  t.same(data, { n: 3 })
})

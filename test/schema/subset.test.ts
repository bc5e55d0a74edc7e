/**
 * The built-in kinds are validated without compiling (src/schema/subset.ts); these tests hold it
 * to what ajv, which validated them before, says for the same schema: the same errors in the same
 * order, on every object of the fixtures and the peer corpus, and on mutations of each that break
 * it in the ways the schema check reports (a wrong type, an unknown field, a missing field, a
 * list where an object belongs...).
 */
import t from 'tap'
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import { parseDocuments } from '../../src/input/documents.js'
import { schemaDocument, SHIPPED_VERSIONS, usesSubsetOnly } from '../../src/schema/kubernetes.js'
import { subsetValidator, type SubsetSchema } from '../../src/schema/subset.js'
import { CORPUS } from './corpus-scan.js'

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) yield* walk(p)
    else if (/\.ya?ml$/.test(e)) yield p
  }
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Every object of the YAML files under the fixtures (and the corpus, when present). */
function objects(): Obj[] {
  const out: Obj[] = []
  const dirs = [fileURLToPath(new URL('../fixtures', import.meta.url))]
  if (existsSync(join(CORPUS, 'expectations.json'))) dirs.push(CORPUS)
  for (const dir of dirs) {
    for (const file of walk(dir)) {
      const { documents } = parseDocuments(readFileSync(file, 'utf8'), file)
      for (const d of documents) if (isObj(d.value) && typeof d.value['kind'] === 'string') out.push(d.value)
    }
  }
  return out
}

/** Deterministic breakages of an object: at most `max`, each one change at one place. */
function mutations(o: Obj, max: number): Obj[] {
  const places: { parent: Obj | unknown[]; key: string | number }[] = []
  const visit = (v: unknown, depth: number): void => {
    if (depth > 12 || places.length > 400) return
    if (Array.isArray(v)) v.forEach((x, i) => (places.push({ parent: v, key: i }), visit(x, depth + 1)))
    else if (isObj(v)) for (const k of Object.keys(v)) (places.push({ parent: v, key: k }), visit(v[k], depth + 1))
  }
  visit(o, 0)
  const changes: ((v: unknown) => unknown)[] = [
    (v) => (typeof v === 'string' ? 7 : typeof v === 'number' ? String(v) : isObj(v) ? [v] : Array.isArray(v) ? { x: v } : 'text'),
    (v) => (isObj(v) ? { ...v, unknownField: 1, 'a/b~c': { y: true } } : v === null ? 1.5 : null),
    (v) => (isObj(v) ? {} : Array.isArray(v) ? [1, 'a', null, {}, []] : true),
    (v) => (typeof v === 'number' ? v + 0.5 : isObj(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? false : x])) : v),
  ]
  const out: Obj[] = []
  const step = Math.max(1, Math.floor(places.length / max))
  for (let i = 0; i < places.length && out.length < max; i += step) {
    const copy = structuredClone(o)
    // Find the same place in the copy by walking the path again.
    const target = places[i]
    if (target === undefined) continue
    const path: (string | number)[] = []
    const find = (v: unknown, trail: (string | number)[]): boolean => {
      if (v === target.parent) {
        path.push(...trail, target.key)
        return true
      }
      if (Array.isArray(v)) return v.some((x, j) => find(x, [...trail, j]))
      if (isObj(v)) return Object.keys(v).some((k) => find(v[k], [...trail, k]))
      return false
    }
    if (!find(o, [])) continue
    let parent: unknown = copy
    for (const seg of path.slice(0, -1)) parent = (parent as Obj)[seg as string]
    const key = path[path.length - 1] as string
    const change = changes[i % changes.length]
    if (change !== undefined) (parent as Obj)[key] = change((parent as Obj)[key])
    out.push(copy)
  }
  return out
}

const pick = (e: { keyword: string; instancePath: string; params: unknown; data?: unknown; parentSchema?: unknown }): unknown => ({
  keyword: e.keyword,
  instancePath: e.instancePath,
  params: e.params,
  data: e.data,
  parentSchema: e.parentSchema,
})

const all = objects()

t.test('the shipped schemas use only the keywords the validator reads', async (t) => {
  for (const version of SHIPPED_VERSIONS) t.ok(usesSubsetOnly(schemaDocument(version).definitions), `Kubernetes ${version}`)
  t.notOk(usesSubsetOnly({ X: { type: 'string', pattern: '^a' } as SubsetSchema }), 'a pattern is refused')
  t.notOk(usesSubsetOnly({ X: { $ref: '#/definitions/Y', type: 'object' } }), 'a $ref beside other keywords is refused')
})

t.test('the same errors as ajv, in the same order, on the fixtures, the corpus and their mutations', async (t) => {
  t.ok(all.length > 300, `${all.length} objects`)
  for (const version of SHIPPED_VERSIONS) {
    const doc = schemaDocument(version)
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, validateFormats: false, allowUnionTypes: true, inlineRefs: false, validateSchema: false })
    ajv.addSchema({ $id: 'k', definitions: doc.definitions })
    let compared = 0
    let failing = 0
    const differences: string[] = []
    for (const o of all) {
      const def = doc.kinds[`${String(o['apiVersion'])}/${String(o['kind'])}`]
      if (def === undefined) continue
      const ours = subsetValidator(doc.definitions, def)
      const theirs = ajv.getSchema(`k#/definitions/${def}`) ?? ajv.compile({ $ref: `k#/definitions/${def}` })
      for (const x of [o, ...mutations(o, 12)]) {
        const expected = theirs(x) ? [] : (theirs.errors ?? []).map(pick)
        const got = ours(x).map(pick)
        compared++
        if (expected.length > 0) failing++
        if (differences.length < 5 && JSON.stringify(got) !== JSON.stringify(expected)) {
          differences.push(`${String(o['kind'])} ${JSON.stringify((o['metadata'] as Obj | undefined)?.['name'])}: ajv ${JSON.stringify(expected).slice(0, 400)} / here ${JSON.stringify(got).slice(0, 400)}`)
        }
      }
    }
    t.ok(compared > 1000 && failing > compared / 3, `Kubernetes ${version}: ${compared} objects, ${failing} with errors`)
    t.same(differences, [], `Kubernetes ${version}`)
  }
})

t.test('integers, numbers, null and the empty schema as ajv reads them', async (t) => {
  const defs = {
    R: { type: 'object', required: ['i'], additionalProperties: false, properties: { i: { type: 'integer' }, n: { type: 'number' }, q: { type: ['integer', 'string'] }, any: {}, m: { type: 'object', additionalProperties: { type: 'string' } } } },
  }
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true, inlineRefs: false, validateSchema: false })
  ajv.addSchema({ $id: 'k', definitions: defs })
  const theirs = ajv.compile({ $ref: 'k#/definitions/R' })
  const ours = subsetValidator(defs, 'R')
  const cases: unknown[] = [
    { i: 1 }, { i: 1.5 }, { i: Infinity }, { i: NaN }, { i: '1' }, { n: NaN }, { i: 1, n: Infinity }, { i: 1, q: 2.5 }, { i: 1, q: null },
    { i: null }, { i: 1, any: [1] }, { i: 1, m: { a: 1, 'x/y': 'ok', 'p~q': 2 } }, { i: 1, m: [] }, null, [], 'text', { i: 1, __proto__x: 1 },
  ]
  for (const c of cases) t.same(ours(c).map(pick), theirs(c) ? [] : (theirs.errors ?? []).map(pick), JSON.stringify(c) ?? String(c))
})

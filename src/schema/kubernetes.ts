/**
 * The schema check's data and validators: the JSON Schemas of the built-in kinds, generated from
 * the Kubernetes OpenAPI definitions of each shipped version (scripts/k8s-schemas.ts writes
 * data/kubernetes-<version>.json), and of the custom resources whose CRDs the user passes.
 *
 * Work is bounded: a version's file is read on first use only; the built-in kinds are validated
 * as the data reads, without compiling (./subset.ts); a CRD's kind gets one ajv validator, compiled
 * on the first object of that kind (the number of kinds is fixed by the CRDs given); the issues of
 * one object are listed up to the caller's limit and the rest only counted.
 */
import { readFileSync } from 'node:fs'
import * as sea from 'node:sea'
import { inSingleExecutable } from '../policy/builtin.js'
import type { Ajv, ValidateFunction } from 'ajv'
import { ajvModule } from '../lazy-modules.js'
import { subsetValidator, SUBSET_KEYWORDS, type SubsetError, type SubsetSchema } from './subset.js'
import type { SchemaCheck, SchemaIssue } from '../engine/rule.js'
import { closestName } from './suggest.js'
import { crdSchemas, type CrdProblem, type CrdSchema } from './crd.js'
import { quote } from '../text/sanitize.js'

/** The Kubernetes versions whose schemas are shipped, oldest first; the last is the default. */
export const SHIPPED_VERSIONS: readonly string[] = ['1.33', '1.34', '1.36']
export const DEFAULT_KUBERNETES_VERSION: string = SHIPPED_VERSIONS[SHIPPED_VERSIONS.length - 1] ?? '1.36'

interface SchemaDocument {
  kubernetes: string
  source: { openapi: string; models: string; quantities: string }
  kinds: Record<string, string>
  definitions: Record<string, SubsetSchema>
}

const documents = new Map<string, SchemaDocument>()

/** Where a version's schemas are: under src/ (dist/) and the asset key in the single executable. */
export const schemaDataKey = (version: string): string => `schema/data/kubernetes-${version}.json`

/** A shipped version's schemas, read once. */
export function schemaDocument(version: string): SchemaDocument {
  let doc = documents.get(version)
  if (doc === undefined) {
    if (!SHIPPED_VERSIONS.includes(version)) throw new Error(`no schemas for Kubernetes ${version}`)
    // The npm package has the file in dist/schema/data/; the single executable carries it as an asset.
    const key = schemaDataKey(version)
    const text = inSingleExecutable() ? sea.getAsset(key, 'utf8') : readFileSync(new URL(`../${key}`, import.meta.url), 'utf8')
    doc = JSON.parse(text) as SchemaDocument
    documents.set(version, doc)
  }
  return doc
}

/**
 * `1.36`, `v1.36` or `1.36.2` → the shipped `1.36`; undefined when that minor is not shipped.
 */
export function shippedVersion(text: string): string | undefined {
  const m = /^v?(\d{1,3})\.(\d{1,3})(?:\.\d{1,5})?$/.exec(text.trim())
  if (m === null) return undefined
  const v = `${Number(m[1])}.${Number(m[2])}`
  return SHIPPED_VERSIONS.includes(v) ? v : undefined
}

const BUILT_IN_GROUP = /^(?:[a-z0-9-]+\.)*k8s\.io$|^(?:apps|batch|autoscaling|policy|extensions)$/

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  switch (typeof v) {
    case 'string':
      return `a string ${quote(v, 40)}`
    case 'number':
      return `a number ${String(v)}`
    case 'boolean':
      return `a boolean ${String(v)}`
    case 'object':
      return 'an object'
    default:
      return typeof v
  }
}

function expectedName(type: unknown): string {
  const list = Array.isArray(type) ? (type as string[]) : [String(type)]
  // A Quantity is written as a string or a number; say it as users write it.
  const names = list.map((t) => (t === 'array' ? 'list' : t === 'number' && list.includes('string') ? 'number' : t))
  return names.join(' or ')
}

/** A JSON pointer's segments, `~1` and `~0` unescaped; array indexes as numbers where the data is a list. */
function pointerSegments(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return []
  const out: (string | number)[] = []
  let node: unknown = root
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      out.push(Number(key))
      node = node[Number(key)]
    } else {
      out.push(key)
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined
    }
  }
  return out
}

/** What an error of ajv (CRDs) or of ./subset.ts (built-in kinds) carries that is read here. */
interface SchemaError {
  keyword: string
  instancePath: string
  params: SubsetError['params'] | Record<string, unknown>
  data?: unknown
  parentSchema?: unknown
}

function issueOf(e: SchemaError, root: unknown): SchemaIssue | undefined {
  const at = pointerSegments(e.instancePath, root)
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String((e.params as { additionalProperty?: unknown }).additionalProperty)
      const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties
      const issue: SchemaIssue = { path: [...at, field], problem: 'unknown-field' }
      const suggestion = props !== undefined ? closestName(field, Object.keys(props)) : undefined
      if (suggestion !== undefined) issue.suggestion = suggestion
      return issue
    }
    case 'required':
      return { path: [...at, String((e.params as { missingProperty?: unknown }).missingProperty)], problem: 'missing-field' }
    case 'type':
      // JSON null means "not set" to the API server, whatever the field's type.
      if (e.data === null) return undefined
      return { path: at, problem: 'wrong-type', expected: expectedName((e.params as { type?: unknown }).type), actual: typeName(e.data) }
    case 'enum':
      return { path: at, problem: 'wrong-type', expected: `one of ${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).slice(0, 8).map((v) => JSON.stringify(v)).join(', ')}`, actual: typeName(e.data) }
    default:
      return undefined
  }
}

type Validate = (object: unknown) => readonly SchemaError[]

/** The built-in kinds' validators of each shipped version, for the life of the process (bounded by the versions and kinds shipped). */
const builtInValidators = new Map<string, Map<string, Validate>>()
/** One ajv per shipped version, made for the first CRD (its schemas refer to the version's ObjectMeta). */
const crdAjv = new Map<string, Ajv>()

function builtInValidator(version: string, doc: SchemaDocument, key: string): Validate | undefined {
  let cache = builtInValidators.get(version)
  if (cache === undefined) builtInValidators.set(version, (cache = new Map()))
  let v = cache.get(key)
  const def = doc.kinds[key]
  if (v === undefined && def !== undefined) {
    v = subsetValidator(doc.definitions, def)
    cache.set(key, v)
  }
  return v
}

function ajvForCrds(version: string, id: string, doc: SchemaDocument): Ajv {
  let ajv = crdAjv.get(version)
  if (ajv === undefined) {
    // strict off: CRD schemas carry x-kubernetes-* and OpenAPI keywords ajv does not know; formats are not checked (kubectl does not either).
    ajv = new (ajvModule().Ajv)({ allErrors: true, verbose: true, strict: false, validateFormats: false, allowUnionTypes: true, inlineRefs: false, validateSchema: false, code: { optimize: false } })
    ajv.addSchema({ $id: id, definitions: doc.definitions })
    crdAjv.set(version, ajv)
  }
  return ajv
}

/** Whether every node of the definitions uses only the keywords ./subset.ts reads (the shipped data does; a test pins it). */
export function usesSubsetOnly(definitions: Readonly<Record<string, SubsetSchema>>): boolean {
  const ok = (s: unknown): boolean => {
    if (typeof s === 'boolean') return true
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return false
    const node = s as Record<string, unknown>
    if (!Object.keys(node).every((k) => SUBSET_KEYWORDS.has(k))) return false
    if (node['$ref'] !== undefined && Object.keys(node).length > 1) return false
    const props = node['properties']
    if (props !== undefined && (typeof props !== 'object' || props === null || !Object.values(props).every(ok))) return false
    return (node['items'] === undefined || ok(node['items'])) && (node['additionalProperties'] === undefined || ok(node['additionalProperties']))
  }
  return Object.values(definitions).every(ok)
}

export interface KubernetesSchemasOptions {
  version?: string
  /** Custom resource definitions (parsed objects); their openAPIV3Schema validates their custom resources. */
  crds?: readonly unknown[]
}

export interface KubernetesSchemas extends SchemaCheck {
  /** Problems with the CRDs given (not a CRD, no schema...), for the run to report. */
  crdProblems: CrdProblem[]
  /** Custom resources: kinds of a CRD given, as `group/version/Kind`. */
  crdKinds: readonly string[]
}

/** The schema check of one run: the built-in kinds of a shipped version, plus the CRDs given. */
export function kubernetesSchemas(options: KubernetesSchemasOptions = {}): KubernetesSchemas {
  const version = options.version ?? DEFAULT_KUBERNETES_VERSION
  const doc = schemaDocument(version)
  const id = `kubernetes-${version}`
  const { schemas: crds, problems: crdProblems } = crdSchemas(options.crds ?? [], `${id}#/definitions/V1ObjectMeta`)
  // Custom resources' validators belong to this run (its CRDs); the built-in ones are shared.
  const compiled = new Map<string, Validate>()

  const keyOf = (apiVersion: string, kind: string): string => `${apiVersion}/${kind}`
  const crdFor = (key: string): CrdSchema | undefined => crds.get(key)

  const validator = (key: string): Validate | undefined => {
    if (doc.kinds[key] !== undefined) return builtInValidator(version, doc, key)
    let v = compiled.get(key)
    if (v !== undefined) return v
    const crd = crdFor(key)
    if (crd === undefined) return undefined
    const fn: ValidateFunction = ajvForCrds(version, id, doc).compile(crd.schema)
    const crdValidate: Validate = (object) => (fn(object) ? [] : (fn.errors ?? []))
    compiled.set(key, crdValidate)
    return crdValidate
  }

  return {
    version,
    crdProblems,
    crdKinds: [...crds.keys()],
    covers(apiVersion, kind) {
      const key = keyOf(apiVersion, kind)
      return doc.kinds[key] !== undefined || crds.has(key)
    },
    validate(object, limit) {
      const apiVersion = object['apiVersion']
      const kind = object['kind']
      if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined
      const key = keyOf(apiVersion, kind)
      const v = validator(key)
      if (v === undefined) return undefined
      const schema = doc.kinds[key] !== undefined ? `Kubernetes ${version}` : `the CRD ${crdFor(key)?.name ?? key}`
      const errors = v(object)
      const issues: SchemaIssue[] = []
      let more = 0
      for (const e of errors) {
        const issue = issueOf(e, object)
        if (issue === undefined) continue
        if (issues.length < limit) issues.push(issue)
        else more++
      }
      return { issues, more, schema }
    },
  }
}

/** Whether an apiVersion belongs to Kubernetes itself (its custom resources are skipped without a CRD). */
export function isBuiltInApiVersion(apiVersion: string): boolean {
  const slash = apiVersion.indexOf('/')
  return slash < 0 || BUILT_IN_GROUP.test(apiVersion.slice(0, slash))
}

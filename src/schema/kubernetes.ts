/**
 * The schema check's data and validators: the JSON Schemas of the built-in kinds, generated from
 * the Kubernetes OpenAPI definitions of each shipped version (scripts/k8s-schemas.ts writes
 * data/kubernetes-<version>.json), and of the custom resources whose CRDs the user passes.
 *
 * Work is bounded: a version's file is read on first use only; one ajv validator is compiled per
 * kind, on the first object of that kind, and kept (the number of kinds is fixed by the data and
 * the CRDs given); the issues of one object are listed up to the caller's limit and the rest only
 * counted.
 */
import { readFileSync } from 'node:fs'
import * as sea from 'node:sea'
import { inSingleExecutable } from '../policy/builtin.js'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
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
  definitions: Record<string, Record<string, unknown>>
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

function issueOf(e: ErrorObject, root: unknown): SchemaIssue | undefined {
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

/** One ajv and its compiled validators per shipped version, for the life of the process (bounded by the versions and kinds shipped). */
interface VersionValidators {
  ajv: Ajv
  id: string
  doc: SchemaDocument
  compiled: Map<string, ValidateFunction>
}
const perVersion = new Map<string, VersionValidators>()

function versionValidators(version: string): VersionValidators {
  let v = perVersion.get(version)
  if (v === undefined) {
    const doc = schemaDocument(version)
    const ajv = ajvFor()
    const id = `kubernetes-${version}`
    ajv.addSchema({ $id: id, definitions: doc.definitions })
    v = { ajv, id, doc, compiled: new Map() }
    perVersion.set(version, v)
  }
  return v
}

function ajvFor(): Ajv {
  // strict off: CRD schemas carry x-kubernetes-* and OpenAPI keywords ajv does not know; formats are not checked (kubectl does not either).
  return new Ajv({ allErrors: true, verbose: true, strict: false, validateFormats: false, allowUnionTypes: true, inlineRefs: false, validateSchema: false, code: { optimize: false } })
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
  const { ajv, id, doc, compiled: builtIn } = versionValidators(version)
  const { schemas: crds, problems: crdProblems } = crdSchemas(options.crds ?? [], `${id}#/definitions/V1ObjectMeta`)
  // Custom resources' validators belong to this run (its CRDs); the built-in ones are shared.
  const compiled = new Map<string, ValidateFunction>()

  const keyOf = (apiVersion: string, kind: string): string => `${apiVersion}/${kind}`
  const crdFor = (key: string): CrdSchema | undefined => crds.get(key)

  const validator = (key: string): ValidateFunction | undefined => {
    const def = doc.kinds[key]
    const cache = def !== undefined ? builtIn : compiled
    let v = cache.get(key)
    if (v !== undefined) return v
    const crd = def === undefined ? crdFor(key) : undefined
    if (def === undefined && crd === undefined) return undefined
    v = def !== undefined ? ajv.compile({ $ref: `${id}#/definitions/${def}` }) : ajv.compile(crd?.schema ?? {})
    cache.set(key, v)
    return v
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
      if (v(object)) return { issues: [], more: 0, schema }
      const issues: SchemaIssue[] = []
      let more = 0
      for (const e of v.errors ?? []) {
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

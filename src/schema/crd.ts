/**
 * Custom resources: the `openAPIV3Schema` of each served version of a CustomResourceDefinition,
 * turned into the JSON Schema ajv validates with, closed the way the API server's strict field
 * validation is (a field the schema does not declare is unknown, unless the schema keeps unknown
 * fields with x-kubernetes-preserve-unknown-fields).
 *
 * Only what the schema check reports is carried over: types (x-kubernetes-int-or-string,
 * nullable), properties, items, additionalProperties, required and enum. Patterns (RE2, not
 * JavaScript), bounds, CEL rules and formats are left to the API server. Bounded: at most
 * MAX_DEPTH levels and MAX_NODES schema nodes per CRD; deeper or further parts accept anything.
 */
type Schema = Record<string, unknown>

export const MAX_DEPTH = 64
export const MAX_NODES = 20_000

/** What could not be used, and which of the objects given it is about. */
export interface CrdProblem {
  index: number
  message: string
}

export interface CrdSchema {
  /** The CRD's metadata.name (`widgets.example.com`), for messages. */
  name: string
  schema: Schema
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

const TYPES = new Set(['string', 'integer', 'number', 'boolean', 'array', 'object'])

function convert(node: unknown, depth: number, budget: { nodes: number }): Schema {
  if (!isRecord(node) || depth > MAX_DEPTH || --budget.nodes < 0) return {}
  const out: Schema = {}
  if (node['x-kubernetes-int-or-string'] === true) {
    out['type'] = ['integer', 'string']
  } else if (typeof node['type'] === 'string' && TYPES.has(node['type'])) {
    out['type'] = node['nullable'] === true ? [node['type'], 'null'] : node['type']
  }
  if (Array.isArray(node['enum']) && node['enum'].length > 0) out['enum'] = node['nullable'] === true ? [...node['enum'], null] : node['enum']
  const props = node['properties']
  if (isRecord(props)) {
    const p: Schema = {}
    for (const [k, v] of Object.entries(props)) p[k] = convert(v, depth + 1, budget)
    if (node['x-kubernetes-embedded-resource'] === true) {
      for (const k of ['apiVersion', 'kind', 'metadata']) if (p[k] === undefined) p[k] = {}
    }
    out['properties'] = p
  }
  if (Array.isArray(node['required'])) out['required'] = node['required'].filter((r): r is string => typeof r === 'string')
  if (node['items'] !== undefined) out['items'] = convert(node['items'], depth + 1, budget)
  const additional = node['additionalProperties']
  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    // Unknown fields are kept: nothing to report.
  } else if (isRecord(additional)) {
    out['additionalProperties'] = convert(additional, depth + 1, budget)
  } else if (additional === false || isRecord(props)) {
    out['additionalProperties'] = false
  }
  return out
}

/**
 * The schemas of the custom resources the CRDs define, by `group/version/Kind`, and what could not
 * be used (an object that is not a CRD, a version without a schema).
 */
export function crdSchemas(objects: readonly unknown[], objectMetaRef: string): { schemas: Map<string, CrdSchema>; problems: CrdProblem[] } {
  const schemas = new Map<string, CrdSchema>()
  const problems: CrdProblem[] = []
  for (const [index, o] of objects.entries()) {
    const problem = (message: string): void => {
      problems.push({ index, message })
    }
    if (!isRecord(o)) continue
    if (o['kind'] !== 'CustomResourceDefinition' || typeof o['apiVersion'] !== 'string' || !o['apiVersion'].startsWith('apiextensions.k8s.io/')) {
      problem(`not a CustomResourceDefinition (kind ${JSON.stringify(o['kind'] ?? null)}); only CRDs are read with --crd`)
      continue
    }
    const meta = isRecord(o['metadata']) ? o['metadata'] : {}
    const name = typeof meta['name'] === 'string' ? meta['name'] : '(unnamed)'
    const spec = isRecord(o['spec']) ? o['spec'] : {}
    const group = spec['group']
    const kind = isRecord(spec['names']) ? spec['names']['kind'] : undefined
    if (typeof group !== 'string' || typeof kind !== 'string') {
      problem(`CRD ${name} has no spec.group or spec.names.kind`)
      continue
    }
    const versions = Array.isArray(spec['versions']) ? spec['versions'] : []
    // apiextensions.k8s.io/v1beta1 could hold one schema for every version in spec.validation.
    const shared = isRecord(spec['validation']) ? spec['validation']['openAPIV3Schema'] : undefined
    let found = 0
    for (const v of versions) {
      if (!isRecord(v) || typeof v['name'] !== 'string' || v['served'] === false) continue
      const own = isRecord(v['schema']) ? v['schema']['openAPIV3Schema'] : undefined
      const source = own ?? shared
      if (!isRecord(source)) continue
      const schema = convert(source, 0, { nodes: MAX_NODES })
      const props = isRecord(schema['properties']) ? schema['properties'] : {}
      schema['type'] = 'object'
      schema['properties'] = { ...props, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { $ref: objectMetaRef } }
      if (source['x-kubernetes-preserve-unknown-fields'] !== true) schema['additionalProperties'] = false
      schemas.set(`${group}/${v['name']}/${kind}`, { name, schema })
      found++
    }
    if (found === 0) problem(`CRD ${name} has no served version with spec.versions[].schema.openAPIV3Schema; its ${kind} objects are not checked`)
  }
  return { schemas, problems }
}

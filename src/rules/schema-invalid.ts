import { defineDocumentRule, MAX_FINDINGS_PER_RULE, NO_PARAMS, type RuleFinding, type SchemaIssue } from '../engine/rule.js'
import { formatPath, type PathSegment } from '../input/field-path.js'
import { quote } from '../text/sanitize.js'

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers'])

/** The container a path runs through, by name, when it does. */
function containerOf(raw: unknown, path: readonly PathSegment[]): string | undefined {
  let node: unknown = raw
  let name: string | undefined
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as PathSegment
    if (typeof node !== 'object' || node === null) return name
    const next: unknown = (node as Record<string | number, unknown>)[seg]
    if (typeof seg === 'string' && CONTAINER_LISTS.has(seg) && typeof path[i + 1] === 'number') {
      const c: unknown = Array.isArray(next) ? next[path[i + 1] as number] : undefined
      const n = typeof c === 'object' && c !== null ? (c as Record<string, unknown>)['name'] : undefined
      name = typeof n === 'string' && n !== '' ? n : undefined
    }
    node = next
  }
  return name
}

/** `kubectl explain` of the object that holds a field: `deployment.spec.template.spec.containers.resources`. */
function explainPath(kind: string, path: readonly PathSegment[]): string {
  return [kind.toLowerCase(), ...path.filter((s): s is string => typeof s === 'string')].join('.')
}

/** `integer` → `an integer`, `string or number` → `a string or number`; `one of …` as is. */
function article(type: string): string {
  if (type.startsWith('one of')) return type
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`
}

function numericString(actual: string | undefined): string | undefined {
  const m = /^a string "(-?\d+(?:\.\d+)?)"$/.exec(actual ?? '')
  return m?.[1]
}

function finding(issue: SchemaIssue, kind: string, schema: string, raw: unknown): RuleFinding {
  const path = formatPath(issue.path)
  const field = issue.path[issue.path.length - 1]
  const parent = issue.path.slice(0, -1)
  const container = containerOf(raw, issue.path)
  const inContainer = container !== undefined ? ` (container ${quote(container, 60)})` : ''
  const f: RuleFinding = { path, message: '', fix: '' }
  if (container !== undefined) f.container = container
  const name = quote(String(field), 60)
  switch (issue.problem) {
    case 'unknown-field': {
      const where = parent.length > 0 ? ` in ${formatPath(parent)}` : ''
      const mean = issue.suggestion !== undefined ? ` (did you mean ${quote(issue.suggestion, 60)}?)` : ''
      f.message =
        `unknown field ${name}${mean}${where}${inContainer}: ${kind} has no such field in ${schema}, so kubectl apply --validate=strict refuses the object; ` +
        'where unknown fields are only warned about, the API server drops it and it has no effect'
      f.fix =
        issue.suggestion !== undefined
          ? `rename ${name} to ${quote(issue.suggestion, 60)}`
          : `remove ${name}, or move it to where it belongs (kubectl explain ${explainPath(kind, parent)} lists the fields there)`
      break
    }
    case 'wrong-type': {
      const expected = issue.expected ?? 'another type'
      f.message = `${path}${inContainer} is ${issue.actual ?? 'of another type'}, but ${kind} in ${schema} expects ${article(expected)} there: the API server cannot decode it and refuses the object, so the apply fails`
      const digits = numericString(issue.actual)
      if (digits !== undefined && /integer|number/.test(expected)) f.fix = `write the number without quotes: ${String(field)}: ${digits}`
      else if (expected === 'string' && /^a boolean /.test(issue.actual ?? '')) {
        f.fix = `quote the value as written (${String(field)}: "…"): unquoted, YAML reads yes, no, on, off, true and false as a boolean`
      } else if (expected === 'string' && /^a number /.test(issue.actual ?? '')) {
        f.fix = `quote the value as written (${String(field)}: "…"): unquoted, YAML reads it as the number ${(issue.actual ?? '').replace(/^a number /, '')}`
      }
      else f.fix = `make ${path} ${article(expected)}`
      break
    }
    case 'missing-field': {
      const holder = parent.length > 0 ? formatPath(parent) : 'the object'
      f.message = `${holder}${inContainer} has no ${name}, which ${kind} in ${schema} requires: the API server refuses the object (Required value), so the apply fails`
      f.fix = `add ${name} to ${holder} (kubectl explain ${explainPath(kind, parent)} describes it)`
      break
    }
  }
  return f
}

export const rule = defineDocumentRule({
  id: 'schema-invalid',
  title: 'Object does not match its kind\'s schema',
  defaultAction: 'deny',
  scope: ['static'],
  params: NO_PARAMS,
  docs: {
    summary: 'Unknown fields, values of the wrong type and missing required fields, as kubectl apply --validate=strict refuses them.',
    description:
      'Every object of a built-in kind (the pod-bearing kinds and those deployed next to them: Service, ConfigMap, Secret, ServiceAccount, ' +
      'PersistentVolumeClaim, Namespace, LimitRange, ResourceQuota, Ingress, IngressClass, NetworkPolicy, HorizontalPodAutoscaler, ' +
      'PodDisruptionBudget, RBAC roles and bindings, PriorityClass) is validated against the schema Kubernetes publishes for it ' +
      '(its OpenAPI definitions, shipped for several Kubernetes versions; `check --kubernetes-version` picks one, the newest by default). ' +
      'A field the kind does not have is reported with the closest known name (`limts` → did you mean `limits`); a value of the wrong ' +
      'type (`replicas: "2"`, an env `value: 1`) and a missing required field (a container without `name`) are reported with their path. ' +
      'A Quantity may be a string or a number, an int-or-string either, and null means unset, as the API server reads them. ' +
      'Custom resources are checked only against the CRDs passed with `check --crd FILE` (their openAPIV3Schema); others, and ' +
      'apiVersions the chosen Kubernetes version does not serve, are not checked. ' +
      'Only `check` runs this rule: at admission the API server has already validated the object.',
    failure:
      'kubectl apply --validate=strict (and a server-side dry run in strict mode) refuses the object and the deploy pipeline stops; where ' +
      'unknown fields are only warned about, the API server drops them, so a misspelt `limts:` sets no limit and the container runs unbounded; ' +
      'a wrong type or a missing required field is refused by the API server in every mode.',
    fix: 'Rename the field to the name suggested, move it to where the kind declares it, write the value in the type asked for, or add the required field; `kubectl explain KIND.FIELD` shows the schema.',
  },
  checkDocument(object, ctx) {
    const schemas = ctx.schemas
    if (schemas === undefined) return []
    const result = schemas.validate(object.raw, MAX_FINDINGS_PER_RULE)
    if (result === undefined) return []
    const findings = result.issues.map((i) => finding(i, object.kind, result.schema, object.raw))
    const last = findings[findings.length - 1]
    if (last !== undefined && result.more > 0) last.more = result.more
    return findings
  },
})

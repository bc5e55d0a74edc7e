import type { Action, ObjectRef, PodView, ReportAction, Scope } from './types.js'
import type { ObjectMeta } from './k8s.js'
import type { ClusterView } from '../cluster/view.js'
import type { RelatedObjects } from './related.js'

/** A rule's parameters as a JSON Schema object; every property has a default. */
export interface ParamsSchema {
  type: 'object'
  properties: Record<string, Record<string, unknown>>
  additionalProperties: false
  required?: string[]
}

export interface RuleDocs {
  /** One line for `pod-preflight rules`. */
  summary: string
  /** What the rule detects, in a few sentences. */
  description: string
  /** What happens at run time when the problem reaches the cluster. */
  failure: string
  /** How to fix it. */
  fix: string
}

/** What is wrong with an object against its kind's schema, as the schema check reports it. */
export interface SchemaIssue {
  /** Where: the field itself (a wrong type, an unknown or a missing field), as path segments. */
  path: (string | number)[]
  problem: 'unknown-field' | 'wrong-type' | 'missing-field'
  /** wrong-type: what the schema wants (`integer`, `string`, `integer or string`, `object`...). */
  expected?: string
  /** wrong-type: what the object holds (`a string "2"`, `a number 1.5`, `true`...), quoted and shortened. */
  actual?: string
  /** unknown-field: the known field of that object whose name is closest, when one is close. */
  suggestion?: string
}

/**
 * The schemas of the Kubernetes kinds (and of the custom resources whose CRDs were given), as
 * the engine reads them: owned here, implemented in src/schema/. Present only where the run
 * asks for schema checks (`check`); the webhook never has it, since the API server validates.
 */
export interface SchemaCheck {
  /** The Kubernetes version the built-in schemas are of (`1.36`). */
  version: string
  /** Whether a schema covers this apiVersion and kind. */
  covers(apiVersion: string, kind: string): boolean
  /**
   * The issues of an object of a covered kind, at most `limit` of them in order; `more` counts
   * the rest. Undefined when no schema covers the kind.
   */
  validate(object: Record<string, unknown>, limit: number): { issues: SchemaIssue[]; more: number; schema: string } | undefined
}

export interface RuleContext<P> {
  params: P
  /** Kind schemas; present only in runs that check them (see SchemaCheck). */
  schemas?: SchemaCheck
  /** Live or saved cluster state; present only when the run has it. */
  cluster?: ClusterView
  /** The other objects of the same CLI run, or of the namespace at admission. */
  related?: RelatedObjects
}

/**
 * At most this many findings of one rule on one object are listed (the engine summarises the
 * rest). A rule whose findings grow with the input builds only this many and counts the rest
 * in `more`, so that 100,000 bad arguments cost a counter, not 100,000 messages.
 */
export const MAX_FINDINGS_PER_RULE = 20

/** What a rule reports; the engine adds the rule id, the action and the object. */
export interface RuleFinding {
  path: string
  container?: string
  message: string
  fix: string
  /** Set only by rules whose action depends on the finding (see the rule's docs); policy `off` still wins. */
  action?: ReportAction
  /** How many further findings like this one the rule counted without building them. */
  more?: number
}

export interface PodRule<P = Record<string, unknown>> {
  /** What the rule judges: pod templates (the default), other objects (see ObjectRule), or every object (see DocumentRule). */
  target?: 'pod' | 'object' | 'document'
  id: string
  title: string
  defaultAction: Action
  scope: readonly Scope[]
  params: ParamsSchema
  docs: RuleDocs
  /**
   * The rule guards against a security risk, not only a failure at run time (SARIF reports its
   * results as security alerts, with a security-severity). Most rules are about reliability.
   */
  security?: true
  check(pod: PodView, ctx: RuleContext<P>): RuleFinding[]
}

export const NO_PARAMS: ParamsSchema = { type: 'object', properties: {}, additionalProperties: false }

/** Declares a rule; the type parameter is the shape its params have after defaults are applied. */
export function defineRule<P = Record<string, never>>(rule: PodRule<P>): PodRule<P> {
  return rule
}

/** An object that carries no pod template (a Service, an Ingress), as object rules see it. */
export interface ObjectView {
  object: ObjectRef
  kind: string
  meta: ObjectMeta
  /** The raw object as given; object rules check the shape of what they read. */
  raw: Record<string, unknown>
}

/**
 * A rule about objects that carry no pod template: Services and Ingresses, judged against the
 * workloads of the same run or the cluster. It is a PodRule whose `check` finds nothing, so
 * every place that lists, documents or configures rules treats it like any other; only the
 * engine calls `checkObject`, for objects of its kinds.
 */
export interface ObjectRule<P = Record<string, unknown>> extends PodRule<P> {
  target: 'object'
  /** Kinds as `Kind` for the core group or `group/Kind`: `Service`, `networking.k8s.io/Ingress`. */
  kinds: readonly string[]
  checkObject(object: ObjectView, ctx: RuleContext<P>): RuleFinding[]
}

export function defineObjectRule<P = Record<string, never>>(rule: Omit<ObjectRule<P>, 'check' | 'target'>): ObjectRule<P> {
  return { ...rule, target: 'object', check: () => [] }
}

export function isObjectRule<P>(rule: PodRule<P>): rule is ObjectRule<P> {
  return rule.target === 'object'
}

/** The key object rules list kinds by: `Kind` for the core group, `group/Kind` otherwise. */
export function kindKey(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/')
  return slash < 0 ? kind : `${apiVersion.slice(0, slash)}/${kind}`
}

/**
 * A rule about every object, whatever its kind, as written: the schema check. It runs only where
 * the run has kind schemas (`ctx.schemas`, the CLI's check), and only on the kinds they cover.
 */
export interface DocumentRule<P = Record<string, unknown>> extends PodRule<P> {
  target: 'document'
  checkDocument(object: ObjectView, ctx: RuleContext<P>): RuleFinding[]
}

export function defineDocumentRule<P = Record<string, never>>(rule: Omit<DocumentRule<P>, 'check' | 'target'>): DocumentRule<P> {
  return { ...rule, target: 'document', check: () => [] }
}

export function isDocumentRule<P>(rule: PodRule<P>): rule is DocumentRule<P> {
  return rule.target === 'document'
}

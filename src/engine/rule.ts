import type { Action, PodView, ReportAction, Scope } from './types.js'
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

export interface RuleContext<P> {
  params: P
  /** Live or saved cluster state; present only when the run has it. */
  cluster?: ClusterView
  /** The other objects of the same CLI run, or of the namespace at admission. */
  related?: RelatedObjects
}

/** What a rule reports; the engine adds the rule id, the action and the object. */
export interface RuleFinding {
  path: string
  container?: string
  message: string
  fix: string
  /** Set only by rules whose action depends on the finding (see the rule's docs); policy `off` still wins. */
  action?: ReportAction
}

export interface PodRule<P = Record<string, unknown>> {
  id: string
  title: string
  defaultAction: Action
  scope: readonly Scope[]
  params: ParamsSchema
  docs: RuleDocs
  check(pod: PodView, ctx: RuleContext<P>): RuleFinding[]
}

export const NO_PARAMS: ParamsSchema = { type: 'object', properties: {}, additionalProperties: false }

/** Declares a rule; the type parameter is the shape its params have after defaults are applied. */
export function defineRule<P = Record<string, never>>(rule: PodRule<P>): PodRule<P> {
  return rule
}

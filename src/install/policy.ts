/**
 * The policy file `install` ships in the ConfigMap: the user's file (or the default policy),
 * validated as the webhook will read it, with the rollout mode written in and, where the API
 * server cannot exclude namespaces by name, an exemption for the namespaces never judged.
 * Comments and layout of the user's file are kept: it is edited as a YAML document.
 */
import { isMap, isSeq, parseDocument, YAMLMap, type Document } from 'yaml'
import { parsePolicy, PolicyError, type OwnedObjects, type Policy } from '../policy/policy.js'
import type { PodRule } from '../engine/rule.js'

export type PolicyMode = 'enforce' | 'audit'
export const POLICY_MODES: readonly PolicyMode[] = ['enforce', 'audit']

/** A ConfigMap holds at most 1 MiB; keep room for the object around the file. */
export const MAX_POLICY_BYTES = 900 * 1024

export interface ShipPolicyOptions {
  /** undefined: keep the file's own `mode:`, or write `enforce` when it has none. */
  mode?: PolicyMode
  /** Namespaces to exempt from every rule in the policy itself (for API servers before 1.21). */
  exemptNamespaces?: readonly string[]
  exemptReason?: string
}

export interface ShippedPolicy {
  text: string
  mode: PolicyMode
  /** How many bindings by namespace the policy has (each needs Namespace labels at admission). */
  bindings: number
  /** The policy's `ownedObjects`: `skip` lets install tell a 1.28+ API server not to call for them. */
  ownedObjects: OwnedObjects
  /** Things the user should know: the flag overriding the file's mode, for example. */
  notes: string[]
}

export class InstallPolicyError extends Error {
  override readonly name = 'InstallPolicyError'
}

function validate(text: string, source: string, rules: readonly PodRule<unknown>[]): Policy {
  try {
    return parsePolicy(text, source, rules)
  } catch (err) {
    if (err instanceof PolicyError) throw new InstallPolicyError(`the policy to ship is not valid:\n${err.message}`)
    throw err
  }
}

function insertBefore(doc: Document, key: string, before: string[], value: unknown): void {
  const map = doc.contents
  if (!(map instanceof YAMLMap)) return
  const pair = doc.createPair(key, value)
  const i = map.items.findIndex((p) => before.includes(String((p.key as { value?: unknown } | null)?.value ?? p.key)))
  if (i < 0) map.items.push(pair)
  else map.items.splice(i, 0, pair)
}

export function shipPolicy(text: string, source: string, rules: readonly PodRule<unknown>[], o: ShipPolicyOptions = {}): ShippedPolicy {
  if (Buffer.byteLength(text, 'utf8') > MAX_POLICY_BYTES) {
    throw new InstallPolicyError(`${source}: ${Buffer.byteLength(text, 'utf8')} bytes is more than a ConfigMap can hold (at most ${MAX_POLICY_BYTES} bytes here)`)
  }
  // The file as the user wrote it must be valid before anything is added to it.
  validate(text, source, rules)
  const doc = parseDocument(text)
  if (!isMap(doc.contents)) throw new InstallPolicyError(`${source}: a policy is a YAML mapping`)
  const notes: string[] = []

  const current = doc.get('mode')
  const fileMode = current === 'enforce' || current === 'audit' ? current : undefined
  const mode: PolicyMode = o.mode ?? fileMode ?? 'enforce'
  if (o.mode !== undefined && fileMode !== undefined && fileMode !== o.mode) {
    notes.push(`${source} says mode: ${fileMode}; --mode ${o.mode} replaces it in the shipped policy`)
  }
  if (doc.has('mode')) doc.set('mode', mode)
  else insertBefore(doc, 'mode', ['rules', 'exemptions', 'bindings'], mode)
  const modeNode = doc.contents.items.find((p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === 'mode')
  if (modeNode !== undefined && fileMode === undefined && modeNode.key !== null && typeof modeNode.key === 'object') {
    ;(modeNode.key as { commentBefore?: string }).commentBefore =
      ' enforce: deny findings refuse the object. audit: they are let through as warnings naming the rule.'
  }

  const exempt = o.exemptNamespaces ?? []
  if (exempt.length > 0) {
    const entry = doc.createNode({ reason: o.exemptReason ?? 'not judged by pod-preflight', namespaces: [...exempt] })
    const list = doc.get('exemptions')
    if (isSeq(list)) list.items.unshift(entry)
    else doc.set('exemptions', doc.createNode([entry.toJSON()]))
  }

  const out = doc.toString({ lineWidth: 0 })
  const shipped = validate(out, `${source} (as shipped)`, rules)
  return { text: out, mode, bindings: shipped.bindings.length, ownedObjects: shipped.ownedObjects, notes }
}

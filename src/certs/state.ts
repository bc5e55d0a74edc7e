/**
 * The self-managed certificates as they live in their Secret, and the one decision made from
 * them: what, if anything, to change next. Pure: no I/O, the clock is a parameter.
 *
 * The Secret (type kubernetes.io/tls) holds:
 *   tls.crt, tls.key, ca.crt, ca.key             the certificate served now and its CA
 *   next-tls.crt, next-tls.key, next-ca.crt, next-ca.key
 *                                                 a renewal staged: its CA is published in the
 *                                                 caBundle before anyone serves it
 *   previous-ca.crt                               the CA served before the last switch, kept in
 *                                                 the caBundle until its certificate expires
 * and the annotations pod-preflight.io/generation (a counter, +1 on every write, so a replica
 * with an older read never overwrites a newer caBundle), pod-preflight.io/staged-at and
 * pod-preflight.io/previous-until.
 *
 * A renewal never leaves the API server with a served certificate its caBundle does not trust:
 *   1. stage (at 2/3 of the lifetime): a new CA + certificate are written as next-*;
 *   2. publish: the caBundle becomes previous + current + next CA;
 *   3. switch (once the bundle holding the next CA has been seen published for `settle`):
 *      next-* becomes current, the old CA becomes previous-ca; replicas swap what they serve;
 *   4. drop (when the old certificate expires): previous-ca leaves the Secret and the bundle.
 */
import { createSecureContext } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { BACKDATE_MS, coversHost, issuedByOneOf, pemOf, splitBundle, type CertificateSet } from './x509.js'

export const ANNOTATION_GENERATION = 'pod-preflight.io/generation'
export const ANNOTATION_STAGED_AT = 'pod-preflight.io/staged-at'
export const ANNOTATION_PREVIOUS_UNTIL = 'pod-preflight.io/previous-until'
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by'
export const MANAGED_BY = 'pod-preflight'

/** A Secret as this module sees it: decoded data, with its version for conditional writes. */
export interface SecretDoc {
  resourceVersion: string
  labels: Record<string, string>
  annotations: Record<string, string>
  /** Values decoded from base64, as text. */
  data: Record<string, string>
}

export interface CertPair {
  set: CertificateSet
  ca: X509Certificate
  leaf: X509Certificate
}

export interface CertState {
  generation: number
  current: CertPair
  next?: CertPair & { stagedAt: Date }
  previousCa?: { cert: X509Certificate; until: Date }
}

export type ReadResult = { ok: true; state: CertState } | { ok: false; problem: string }

const KEYS = { cert: 'tls.crt', key: 'tls.key', caCert: 'ca.crt', caKey: 'ca.key' } as const
const NEXT_KEYS = { cert: 'next-tls.crt', key: 'next-tls.key', caCert: 'next-ca.crt', caKey: 'next-ca.key' } as const
const PREVIOUS_CA = 'previous-ca.crt'

function readPair(data: Record<string, string>, keys: typeof KEYS | typeof NEXT_KEYS): CertPair | string {
  const missing = Object.values(keys).filter((k) => (data[k] ?? '') === '')
  if (missing.length > 0) return `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`
  const set: CertificateSet = { cert: data[keys.cert] ?? '', key: data[keys.key] ?? '', caCert: data[keys.caCert] ?? '', caKey: data[keys.caKey] ?? '' }
  let leaf: X509Certificate
  let ca: X509Certificate
  try {
    leaf = new X509Certificate(set.cert)
  } catch {
    return `${keys.cert} is not a PEM certificate`
  }
  try {
    ca = new X509Certificate(set.caCert)
  } catch {
    return `${keys.caCert} is not a PEM certificate`
  }
  try {
    createSecureContext({ cert: set.cert, key: set.key })
  } catch {
    return `${keys.key} is not the key of ${keys.cert}`
  }
  if (issuedByOneOf(leaf, [ca]) === undefined) return `${keys.cert} was not signed by ${keys.caCert}`
  return { set, ca, leaf }
}

function date(s: string | undefined): Date | undefined {
  if (s === undefined) return undefined
  const d = new Date(s)
  return Number.isNaN(d.getTime()) ? undefined : d
}

/** Reads the certificates of a Secret; a Secret that cannot be served from gives the reason. */
export function readState(doc: SecretDoc): ReadResult {
  const current = readPair(doc.data, KEYS)
  if (typeof current === 'string') return { ok: false, problem: current }
  const gen = Number(doc.annotations[ANNOTATION_GENERATION] ?? '0')
  const state: CertState = { generation: Number.isSafeInteger(gen) && gen >= 0 ? gen : 0, current }
  // A broken staged renewal or previous CA is dropped on the next write, not a reason to stop serving.
  if ((doc.data[NEXT_KEYS.cert] ?? '') !== '') {
    const next = readPair(doc.data, NEXT_KEYS)
    const stagedAt = date(doc.annotations[ANNOTATION_STAGED_AT])
    if (typeof next !== 'string' && stagedAt !== undefined) state.next = { ...next, stagedAt }
  }
  const prev = doc.data[PREVIOUS_CA] ?? ''
  const until = date(doc.annotations[ANNOTATION_PREVIOUS_UNTIL])
  if (prev !== '' && until !== undefined) {
    try {
      state.previousCa = { cert: new X509Certificate(prev), until }
    } catch {
      // unreadable: left out of the bundle, removed on the next write
    }
  }
  return { ok: true, state }
}

/** The Secret contents for a state (data as text, to be base64-encoded by the writer). */
export function secretContents(s: CertState): { data: Record<string, string>; annotations: Record<string, string> } {
  const data: Record<string, string> = {
    [KEYS.cert]: s.current.set.cert,
    [KEYS.key]: s.current.set.key,
    [KEYS.caCert]: s.current.set.caCert,
    [KEYS.caKey]: s.current.set.caKey,
  }
  const annotations: Record<string, string> = { [ANNOTATION_GENERATION]: String(s.generation) }
  if (s.next !== undefined) {
    data[NEXT_KEYS.cert] = s.next.set.cert
    data[NEXT_KEYS.key] = s.next.set.key
    data[NEXT_KEYS.caCert] = s.next.set.caCert
    data[NEXT_KEYS.caKey] = s.next.set.caKey
    annotations[ANNOTATION_STAGED_AT] = s.next.stagedAt.toISOString()
  }
  if (s.previousCa !== undefined) {
    data[PREVIOUS_CA] = pemOf(s.previousCa.cert)
    annotations[ANNOTATION_PREVIOUS_UNTIL] = s.previousCa.until.toISOString()
  }
  return { data, annotations }
}

/** Makes a pair from freshly issued certificates. */
export function pairOf(set: CertificateSet): CertPair {
  return { set, ca: new X509Certificate(set.caCert), leaf: new X509Certificate(set.cert) }
}

/** The CAs the caBundle must hold for this state, oldest first. */
export function desiredBundle(s: CertState): X509Certificate[] {
  const out: X509Certificate[] = []
  const add = (c: X509Certificate): void => {
    if (!out.some((o) => o.fingerprint256 === c.fingerprint256)) out.push(c)
  }
  if (s.previousCa !== undefined) add(s.previousCa.cert)
  add(s.current.ca)
  if (s.next !== undefined) add(s.next.ca)
  return out
}

export function bundlePem(cas: readonly X509Certificate[]): string {
  return cas.map(pemOf).join('')
}

/** Whether a caBundle (PEM) holds every one of the CAs. */
export function bundleHolds(bundle: string, cas: readonly X509Certificate[]): boolean {
  let have: X509Certificate[]
  try {
    have = splitBundle(bundle)
  } catch {
    return false
  }
  return cas.every((c) => have.some((h) => h.fingerprint256 === c.fingerprint256))
}

/** When a certificate is renewed: at 2/3 of its lifetime. */
export function renewAt(leaf: X509Certificate): Date {
  // Counted from when it was made, not from its backdated notBefore: with a short lifetime the
  // backdating would otherwise bring the renewal forward to moments after issue.
  const to = new Date(leaf.validTo).getTime()
  const from = Math.min(new Date(leaf.validFrom).getTime() + BACKDATE_MS, to)
  return new Date(from + ((to - from) * 2) / 3)
}

function expired(leaf: X509Certificate, now: Date): boolean {
  return now.getTime() >= new Date(leaf.validTo).getTime()
}

function coversAll(leaf: X509Certificate, hosts: readonly string[]): boolean {
  return hosts.every((h) => coversHost(leaf, h))
}

export type Step =
  /** The served certificate is expired (or there is none usable): nothing trusts it anyway, so replace it at once. */
  | { kind: 'replace'; reason: string }
  /** Stage a renewal (its CA gets published before anyone serves it). */
  | { kind: 'stage'; reason: string }
  /** Serve the staged renewal: allowed once its CA has been seen in the caBundle for `settle`. */
  | { kind: 'switch' }
  /** Drop the previous CA: its certificate has expired. */
  | { kind: 'drop' }
  | { kind: 'none' }

export interface PlanInput {
  now: Date
  /** Names the serving certificate must be valid for. */
  hosts: readonly string[]
  /** When this replica first saw the next CA in the caBundle (undefined: not yet, or no caBundle to wait for). */
  nextPublishedSince: Date | undefined
  /** Whether there is a caBundle to wait for (false when the webhook configuration does not exist). */
  haveBundle: boolean
  settleMs: number
}

export function plan(s: CertState, p: PlanInput): Step {
  if (expired(s.current.leaf, p.now)) return { kind: 'replace', reason: `the certificate expired at ${new Date(s.current.leaf.validTo).toISOString()}` }
  const due = p.now.getTime() >= renewAt(s.current.leaf).getTime()
  const uncovered = p.hosts.filter((h) => !coversHost(s.current.leaf, h))
  if (due || uncovered.length > 0) {
    const next = s.next
    if (next === undefined || expired(next.leaf, p.now) || !coversAll(next.leaf, p.hosts)) {
      return { kind: 'stage', reason: due ? 'two thirds of its lifetime have passed' : `it does not cover ${uncovered.join(', ')}` }
    }
    if (!p.haveBundle) return { kind: 'switch' }
    if (p.nextPublishedSince !== undefined && p.now.getTime() - p.nextPublishedSince.getTime() >= p.settleMs) return { kind: 'switch' }
    return { kind: 'none' }
  }
  if (s.previousCa !== undefined && p.now.getTime() >= s.previousCa.until.getTime()) return { kind: 'drop' }
  return { kind: 'none' }
}

/** The state after a step; `fresh` is a newly issued set for replace and stage. */
export function apply(s: CertState, step: Step, now: Date, fresh?: CertPair): CertState {
  const generation = s.generation + 1
  switch (step.kind) {
    case 'replace':
      if (fresh === undefined) throw new Error('replace needs a fresh certificate')
      return { generation, current: fresh }
    case 'stage': {
      if (fresh === undefined) throw new Error('stage needs a fresh certificate')
      const out: CertState = { generation, current: s.current, next: { ...fresh, stagedAt: now } }
      if (s.previousCa !== undefined) out.previousCa = s.previousCa
      return out
    }
    case 'switch': {
      if (s.next === undefined) return s
      const { stagedAt: _stagedAt, ...next } = s.next
      return { generation, current: next, previousCa: { cert: s.current.ca, until: new Date(s.current.leaf.validTo) } }
    }
    case 'drop': {
      const out: CertState = { generation, current: s.current }
      if (s.next !== undefined) out.next = s.next
      return out
    }
    case 'none':
      return s
  }
}

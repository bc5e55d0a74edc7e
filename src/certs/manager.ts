/**
 * Self-managed certificates: finds or creates the webhook's CA and serving certificate in its
 * Secret, keeps the caBundle of its ValidatingWebhookConfiguration in step, renews before expiry
 * without a moment in which the API server is served a certificate its caBundle does not trust
 * (see state.ts for the steps), and hands every change of the served certificate to the server.
 *
 * Every replica runs the same loop: read the Secret (polling, every syncIntervalMs), serve what
 * it holds, publish its CAs, and take the next step with a conditional write. Two replicas that
 * race on a step both compute it; the API server's 409 picks one, and the other reads the winner's
 * result on its next pass. Keys never reach a log line: only subjects, fingerprints and dates.
 */
import type { X509Certificate } from 'node:crypto'
import type { Logger } from 'pino'
import type { TlsMaterial } from '../admission/tls.js'
import { CertApiError, type CertApi, type WebhookConfigDoc } from './api.js'
import { BACKDATE_MS, issueCertificates } from './x509.js'
import { CertStartError } from './defaults.js'
import {
  apply,
  bundleHolds,
  bundlePem,
  desiredBundle,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  pairOf,
  plan,
  readState,
  renewAt,
  secretContents,
  type CertPair,
  type CertState,
  type Step,
} from './state.js'

export { CertStartError, DEFAULT_CERT_VALIDITY_MS, MIN_CERT_VALIDITY_MS } from './defaults.js'

/** The names the API server uses for a Service: the caBundle check is against one of these. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service]
}

/** Between publishing a new CA and serving its certificate: time for every API server to pick up the caBundle. */
export function settleFor(validityMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.round(validityMs / 30)))
}

export interface CertManagerOptions {
  api: CertApi
  /** Names the certificate must cover besides the hosts of url clientConfigs (serviceHosts()). */
  hosts: readonly string[]
  validityMs: number
  syncIntervalMs: number
  settleMs?: number
  logger: Logger
  now?: () => Date
  /** Counts each step taken (created, staged, switched, dropped, replaced, ca_bundle, error). */
  onStep?: (step: string) => void
}

export interface CertManager {
  /** Reads or creates the certificate; throws CertStartError when it cannot. */
  start(): Promise<TlsMaterial>
  /** Called with every new certificate to serve, after start(). */
  onCertificate(fn: (m: TlsMaterial, leaf: X509Certificate) => void): void
  /** One pass of the loop now. */
  sync(): Promise<void>
  /** The certificate served now. */
  served(): X509Certificate | undefined
  stop(): void
}


const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export function createCertManager(o: CertManagerOptions): CertManager {
  const log = o.logger.child({ component: 'certificates' })
  const now = o.now ?? (() => new Date())
  const settleMs = o.settleMs ?? settleFor(o.validityMs)
  let served: CertPair | undefined
  let listener: ((m: TlsMaterial, leaf: X509Certificate) => void) | undefined
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let stopped = false
  /** fingerprint of a staged CA -> when this replica first saw it in every caBundle entry. */
  const publishedSince = new Map<string, Date>()

  const issue = async (hosts: readonly string[]): Promise<CertPair> => {
    const t = now()
    const set = await issueCertificates({ hosts, notBefore: new Date(t.getTime() - BACKDATE_MS), notAfter: new Date(t.getTime() + o.validityMs) })
    return pairOf(set)
  }

  const hostsWith = (vwc: WebhookConfigDoc | undefined): string[] => {
    const out = [...o.hosts]
    for (const w of vwc?.webhooks ?? []) {
      if (w.url === undefined) continue
      try {
        const h = new URL(w.url).hostname.replace(/^\[(.*)\]$/, '$1')
        if (h !== '' && !out.includes(h)) out.push(h)
      } catch {
        // not a URL: the API server would not accept it either
      }
    }
    return out
  }

  const serve = (pair: CertPair): void => {
    if (served?.leaf.fingerprint256 === pair.leaf.fingerprint256) return
    const first = served === undefined
    served = pair
    log.info(
      { subject: pair.leaf.subject, san: pair.leaf.subjectAltName, notAfter: new Date(pair.leaf.validTo).toISOString(), renewAt: renewAt(pair.leaf).toISOString(), fingerprint256: pair.leaf.fingerprint256 },
      first ? 'serving certificate loaded' : 'serving certificate switched',
    )
    if (!first) listener?.({ cert: Buffer.from(pair.set.cert), key: Buffer.from(pair.set.key) }, pair.leaf)
  }

  /** Makes the caBundle hold the state's CAs; returns the configuration as it is now (undefined: none). */
  const publish = async (state: CertState, vwc: WebhookConfigDoc | undefined): Promise<WebhookConfigDoc | undefined> => {
    if (vwc === undefined) return undefined
    const want = desiredBundle(state)
    const pem = bundlePem(want)
    const inStep = vwc.webhooks.every((w) => w.caBundle === pem)
    if (inStep) return vwc
    // A replica with an older read of the Secret must not undo a newer caBundle.
    if (vwc.bundleGeneration !== undefined && vwc.bundleGeneration > state.generation) return vwc
    const r = await o.api.setCaBundle(vwc, pem, state.generation)
    if (r === 'conflict') return o.api.getWebhookConfiguration()
    o.onStep?.('ca_bundle')
    log.info({ webhookConfiguration: o.api.webhookConfigurationName, entries: vwc.webhooks.length, cas: want.map((c) => c.fingerprint256), generation: state.generation }, 'caBundle updated')
    return { ...vwc, webhooks: vwc.webhooks.map((w) => ({ ...w, caBundle: pem })), bundleGeneration: state.generation }
  }

  const nextPublished = (state: CertState, vwc: WebhookConfigDoc | undefined): Date | undefined => {
    const next = state.next
    if (next === undefined || vwc === undefined) return undefined
    const key = next.ca.fingerprint256
    if (!vwc.webhooks.every((w) => bundleHolds(w.caBundle, [next.ca]))) {
      publishedSince.delete(key)
      return undefined
    }
    let since = publishedSince.get(key)
    if (since === undefined) {
      since = now()
      publishedSince.set(key, since)
      // Bounded: only staged CAs are remembered, and a stale one is forgotten here.
      for (const k of publishedSince.keys()) if (k !== key) publishedSince.delete(k)
    }
    return since
  }

  /** Creates the Secret, or reads the one another replica created first. */
  const createOrRead = async (hosts: readonly string[]): Promise<void> => {
    const pair = await issue(hosts)
    const r = await o.api.createSecret(secretContents({ generation: 1, current: pair }))
    if (r === 'done') {
      o.onStep?.('created')
      log.info({ secret: o.api.secretRef, fingerprint256: pair.leaf.fingerprint256 }, 'certificate created')
    } else {
      log.info({ secret: o.api.secretRef }, 'another replica created the certificate first; using it')
    }
  }

  /** One pass: at most a few steps, each followed by a fresh read. */
  const pass = async (starting: boolean): Promise<void> => {
    for (let round = 0; round < 5; round++) {
      let vwc: WebhookConfigDoc | undefined
      let vwcError: string | undefined
      try {
        vwc = await o.api.getWebhookConfiguration()
        if (vwc === undefined && round === 0 && !starting) log.debug({ webhookConfiguration: o.api.webhookConfigurationName }, 'webhook configuration not found; nothing to publish yet')
      } catch (err) {
        vwcError = reasonOf(err)
      }
      const hosts = hostsWith(vwc)
      let doc = await o.api.getSecret()
      if (doc === undefined) {
        await createOrRead(hosts)
        doc = await o.api.getSecret()
        if (doc === undefined) throw new CertApiError(404, `${o.api.secretRef} vanished right after it was created`)
      }
      const read = readState(doc)
      let state: CertState
      if (!read.ok) {
        const ours = doc.labels[MANAGED_BY_LABEL] === MANAGED_BY
        const empty = Object.keys(doc.data).length === 0
        if (!ours && !empty) {
          throw new CertStartError(
            `${o.api.secretRef} exists but is not one pod-preflight manages and cannot be served (${read.problem}). ` +
              'Delete it to let the webhook create its own, or serve your certificate with --tls-cert/--tls-key instead of --tls-secret.',
          )
        }
        // Ours (or empty) but unusable: a new certificate replaces it, as an expired one would be.
        log.warn({ secret: o.api.secretRef, problem: read.problem }, 'certificate in the Secret is unusable; replacing it')
        const gen = Number(doc.annotations['pod-preflight.io/generation'] ?? '0')
        state = { generation: Number.isSafeInteger(gen) ? gen : 0, current: await issue(hosts) }
        const w = await o.api.replaceSecret(doc.resourceVersion, secretContents({ ...state, generation: state.generation + 1 }))
        if (w === 'done') o.onStep?.('replaced')
        continue
      }
      state = read.state
      serve(state.current)
      if (vwcError !== undefined) {
        o.onStep?.('error')
        log.warn({ webhookConfiguration: o.api.webhookConfigurationName, reason: vwcError }, 'cannot read the webhook configuration; its caBundle is not kept in step until this is fixed')
      } else {
        try {
          vwc = await publish(state, vwc)
        } catch (err) {
          o.onStep?.('error')
          log.warn({ webhookConfiguration: o.api.webhookConfigurationName, reason: reasonOf(err) }, 'caBundle not updated; retrying')
          vwcError = reasonOf(err)
        }
      }
      const step: Step = plan(state, {
        now: now(),
        hosts,
        nextPublishedSince: nextPublished(state, vwc),
        // Without a readable configuration nobody can say the new CA is trusted: keep serving the current one.
        haveBundle: vwc !== undefined || vwcError !== undefined,
        settleMs,
      })
      if (step.kind === 'none') return
      // An expired certificate is replaced even when the caBundle cannot be written: nothing trusts it anyway.
      if (step.kind === 'switch' && vwcError !== undefined) return
      const fresh = step.kind === 'replace' || step.kind === 'stage' ? await issue(hosts) : undefined
      const nextState = apply(state, step, now(), fresh)
      const w = await o.api.replaceSecret(doc.resourceVersion, secretContents(nextState))
      if (w === 'conflict') continue
      const names = { replace: 'replaced', stage: 'staged', switch: 'switched', drop: 'dropped' } as const
      o.onStep?.(names[step.kind])
      log.info(
        { secret: o.api.secretRef, step: names[step.kind], reason: 'reason' in step ? step.reason : undefined, generation: nextState.generation, fingerprint256: fresh?.leaf.fingerprint256 },
        step.kind === 'stage' ? 'renewal staged; its CA is published before it is served' : step.kind === 'switch' ? 'renewed certificate in use' : step.kind === 'drop' ? 'previous CA dropped from the caBundle' : 'expired certificate replaced',
      )
    }
  }

  const sync = async (): Promise<void> => {
    if (running !== undefined) return running
    running = pass(false)
      .catch((err: unknown) => {
        o.onStep?.('error')
        log.warn({ secret: o.api.secretRef, reason: reasonOf(err) }, 'certificate sync failed; serving the current certificate and retrying')
      })
      .finally(() => {
        running = undefined
      })
    return running
  }

  return {
    async start() {
      // A Secret we cannot read or write is a configuration error: say so instead of crash-looping silently.
      const deadline = Date.now() + 60_000
      for (let attempt = 1; ; attempt++) {
        try {
          await pass(true)
          break
        } catch (err) {
          if (err instanceof CertStartError) throw err
          if (err instanceof CertApiError && err.status >= 400 && err.status < 500 && err.status !== 409 && err.status !== 429) throw new CertStartError(err.message)
          if (Date.now() > deadline) throw new CertStartError(`cannot obtain the serving certificate from ${o.api.secretRef}: ${reasonOf(err)}`)
          log.warn({ attempt, reason: reasonOf(err) }, 'certificate not ready yet; retrying')
          await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)))
        }
      }
      if (served === undefined) throw new CertStartError(`no usable certificate in ${o.api.secretRef}`)
      if (!stopped && o.syncIntervalMs > 0) {
        timer = setInterval(() => void sync(), o.syncIntervalMs)
        timer.unref()
      }
      return { cert: Buffer.from(served.set.cert), key: Buffer.from(served.set.key) }
    },
    onCertificate(fn) {
      listener = fn
    },
    sync,
    served: () => served?.leaf,
    stop() {
      stopped = true
      if (timer !== undefined) clearInterval(timer)
    },
  }
}

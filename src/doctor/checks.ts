/**
 * The checks of `pod-preflight doctor`, against a live installation through the API server
 * (a KubeRest) and one TLS handshake with the webhook. Secret data is never read: the
 * certificate checked is the one the webhook presents.
 */
import { X509Certificate } from 'node:crypto'
import { request as httpsRequest } from 'node:https'
import { connect } from 'node:tls'
import { parseWebhookConfiguration, type WebhookEntry } from '../certs/api.js'
import { coversHost, issuedByOneOf, splitBundle } from '../certs/x509.js'
import { statusMessage, type KubeResponse, type KubeRest } from '../kube/rest.js'
import { parsePolicy, PolicyError, type OwnedObjects } from '../policy/policy.js'
import { NOT_OWNED_CONDITION } from '../admission/owners.js'
import { RULES } from '../rules/index.js'
import { atLeast, checkSupported, formatKubeVersion, KubeVersionError, parseKubeVersion, type KubeVersion } from '../install/kube-version.js'
import { POLICY_CONFIGMAP, POLICY_KEY, type KubeObject } from '../install/render.js'
import type { CheckResult } from './report.js'
import { quote } from '../text/sanitize.js'

export interface DoctorTarget {
  namespace: string
  webhookConfiguration: string
  service: string
  serviceAccount: string
  deployment: string
  /** Namespace of the dry-run probe Pod. */
  probeNamespace: string
  /** The flags `install` was run with, as `pod-preflight install ...` words for the fixes. */
  installFlags: string
  /** Installed with the cluster view (serve --cluster): its sync is checked on the webhook's /readyz. */
  clusterView?: boolean
}

export interface DoctorDeps {
  rest: KubeRest
  /** The certificate a TLS handshake with host:port presents (SNI servername). */
  servedCertificate(host: string, port: number, servername: string): Promise<X509Certificate>
  /**
   * The RBAC rules the rendered install gives the service account, for this server version and
   * a policy with or without bindings by namespace (as the policy ConfigMap holds it now).
   */
  neededRules(version: KubeVersion, policyBindings: boolean): Promise<NeededRule[]>
  /**
   * GET /readyz of the webhook at host:port over TLS (the served certificate is judged by the
   * checks above, not here): its status and text, at most MAX_READYZ_BYTES.
   */
  readyz(host: string, port: number, servername: string): Promise<{ status: number; body: string }>
  now(): Date
}

/** The most of a /readyz answer read. */
export const MAX_READYZ_BYTES = 64 * 1024

export interface NeededRule {
  verb: string
  group: string
  resource: string
  name?: string
  /** Undefined: cluster-wide. */
  namespace?: string
}

/** A certificate closer to its end than this is reported (the self-managed mode renews long before). */
export const EXPIRY_WARNING_MS = 14 * 24 * 3600_000
/** At most this many webhook entries and access reviews are checked. */
export const MAX_WEBHOOKS = 16
export const MAX_ACCESS_REVIEWS = 64

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}

/** At most this many match condition names are listed in a message (an entry may have 64). */
export const MAX_CONDITIONS_SHOWN = 3
/** The API server allows at most this many match conditions an entry; no more are read. */
const MAX_CONDITIONS_PER_ENTRY = 64

/**
 * What the webhook-configuration check adds when entries have `matchConditions` (1.28 and later;
 * `install` of a policy with `ownedObjects: skip` adds one, as does the README's "Fewer reviews"
 * patch): their names, escaped and shortened, and what they mean for what the webhook sees. ''
 * when there are none.
 */
export function matchConditionsNote(rawWebhooks: readonly unknown[]): string {
  const names: string[] = []
  let count = 0
  for (const w of rawWebhooks) {
    const conditions = rec(w)['matchConditions']
    if (!Array.isArray(conditions)) continue
    for (const c of conditions.slice(0, MAX_CONDITIONS_PER_ENTRY)) {
      count++
      const name = rec(c)['name']
      if (names.length < MAX_CONDITIONS_SHOWN) names.push(quote(typeof name === 'string' ? name : '?', 66))
    }
  }
  if (count === 0) return ''
  const more = count > names.length ? ` and ${count - names.length} more` : ''
  return `; match condition${count === 1 ? '' : 's'} ${names.join(', ')}${more}: the API server calls the webhook only where they hold, so what they leave out (e.g. controller-owned objects) is not in its metrics or log`
}

/**
 * The policy says `ownedObjects: judge` while an entry carries the condition that keeps
 * controller-owned objects from the webhook: what the policy asks is not done. The problem, or
 * undefined when the two agree.
 */
export function ownedObjectsMismatch(rawWebhooks: readonly unknown[], ownedObjects: OwnedObjects): string | undefined {
  if (ownedObjects !== 'judge') return undefined
  const has = rawWebhooks.some((w) => {
    const conditions = rec(w)['matchConditions']
    return Array.isArray(conditions) && conditions.slice(0, MAX_CONDITIONS_PER_ENTRY).some((c) => rec(c)['name'] === NOT_OWNED_CONDITION)
  })
  if (!has) return undefined
  return `it says ownedObjects: judge, but the webhook configuration's match condition "${NOT_OWNED_CONDITION}" keeps the API server from sending controller-owned objects, so they are not judged`
}

function days(ms: number): string {
  const d = ms / (24 * 3600_000)
  return d >= 2 ? `${Math.floor(d)} days` : `${Math.max(0, Math.round(ms / 3600_000))} hours`
}

/** A Pod every policy refuses without cluster state: no command for busybox, and a memory limit of half a byte. */
export function probePod(namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pod-preflight-doctor-probe', namespace },
    spec: { containers: [{ name: 'probe', image: 'busybox:1.36.1', resources: { limits: { memory: '512m' } } }] },
  }
}

async function get(rest: KubeRest, path: string): Promise<KubeResponse> {
  return rest.request({ method: 'GET', path })
}

interface Endpoint {
  host: string
  port: number
  servername: string
  where: string
}

/** Runs every check; later checks that need an earlier one's answer are skipped with a reason. */
export async function runChecks(t: DoctorTarget, d: DoctorDeps): Promise<CheckResult[]> {
  const out: CheckResult[] = []
  const reinstall = `pod-preflight install ${t.installFlags}| kubectl apply -f -`.replace(/ +\|/, ' |')

  // 1. The API server and its version.
  let version: KubeVersion | undefined
  let gitVersion = ''
  try {
    const r = await get(d.rest, '/version')
    if (r.status !== 200) throw new Error(statusMessage(r))
    gitVersion = String(rec(r.body)['gitVersion'] ?? '')
    version = parseKubeVersion(gitVersion, '/version')
    checkSupported(version, 'the API server')
    out.push({ id: 'api-server', verdict: 'pass', message: `reached; Kubernetes ${gitVersion}` })
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    out.push({
      id: 'api-server',
      verdict: 'fail',
      message: version === undefined ? `cannot read the API server's version: ${message}` : message,
      fix: err instanceof KubeVersionError && version !== undefined ? 'upgrade the cluster to a supported Kubernetes version' : 'check --kubeconfig/--context and that the API server is reachable (kubectl version)',
    })
    if (version === undefined) return out
  }

  // 2. The webhook configuration, and whether it was rendered for this server.
  const vwcPath = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${encodeURIComponent(t.webhookConfiguration)}`
  const vr = await get(d.rest, vwcPath)
  if (vr.status !== 200) {
    out.push({
      id: 'webhook-configuration',
      verdict: 'fail',
      message: vr.status === 404 ? `ValidatingWebhookConfiguration ${t.webhookConfiguration} does not exist: nothing is judged` : `cannot read ValidatingWebhookConfiguration ${t.webhookConfiguration}: ${statusMessage(vr)}`,
      fix: vr.status === 404 ? reinstall : 'run doctor as a user who may get validatingwebhookconfigurations',
    })
    return out
  }
  const vwc = parseWebhookConfiguration(vr.body)
  const rawWebhooks = (Array.isArray(rec(vr.body)['webhooks']) ? (rec(vr.body)['webhooks'] as unknown[]) : []).slice(0, MAX_WEBHOOKS)
  const webhooks = vwc.webhooks.slice(0, MAX_WEBHOOKS)
  if (webhooks.length === 0) {
    out.push({ id: 'webhook-configuration', verdict: 'fail', message: `ValidatingWebhookConfiguration ${t.webhookConfiguration} has no webhooks`, fix: reinstall })
    return out
  }
  out.push({
    id: 'webhook-configuration',
    verdict: 'pass',
    message: `ValidatingWebhookConfiguration ${t.webhookConfiguration} has ${webhooks.length} webhook${webhooks.length === 1 ? '' : 's'}${matchConditionsNote(rawWebhooks)}`,
  })
  const byName = rawWebhooks.some((w) => JSON.stringify(rec(w)['namespaceSelector'] ?? {}).includes('kubernetes.io/metadata.name'))
  if (byName && !atLeast(version, 1, 21)) {
    out.push({
      id: 'kube-version',
      verdict: 'fail',
      message: `the webhook configuration excludes namespaces by the kubernetes.io/metadata.name label, which Kubernetes ${formatKubeVersion(version)} does not set: kube-system and the webhook's own namespace are judged too`,
      fix: `render for this server: ${reinstall}`,
    })
  } else {
    out.push({ id: 'kube-version', verdict: 'pass', message: `rendered for Kubernetes ${formatKubeVersion(version)}${byName ? ' (1.21 or later: namespaces excluded by name)' : ' (namespaces excluded by the opt-out label and the policy)'}` })
  }

  // 3. Endpoints, certificate trust and expiry, per webhook (entries sharing a backend are checked once).
  const seen = new Set<string>()
  let reached: Reached | undefined
  for (const w of webhooks) {
    const key = w.url ?? `${w.service?.namespace}/${w.service?.name}`
    if (seen.has(key)) continue
    seen.add(key)
    const r = await checkWebhook(w, t, d, out, reinstall)
    reached ??= r
  }

  // 3b. The cluster view has synced (the webhook's /readyz says so).
  if (t.clusterView === true) await checkClusterView(reached, webhooks, t, d, out, reinstall)

  // 4. The policy ConfigMap parses as the webhook reads it (read before the RBAC check: its
  // bindings by namespace need list/watch on namespaces).
  const policy = await checkPolicy(t, d, reinstall, rawWebhooks)

  // 5. RBAC of the service account, by SubjectAccessReview.
  await checkRbac(t, d, version, policy.bindings, out, reinstall)
  out.push(policy.result)

  // 6. The whole path: a server-side dry run of a known-bad Pod.
  await checkProbe(t, d, out)
  return out
}

async function checkPolicy(t: DoctorTarget, d: DoctorDeps, reinstall: string, rawWebhooks: readonly unknown[]): Promise<{ result: CheckResult; bindings: boolean }> {
  const cm = await get(d.rest, `/api/v1/namespaces/${encodeURIComponent(t.namespace)}/configmaps/${POLICY_CONFIGMAP}`)
  if (cm.status !== 200) {
    return {
      bindings: false,
      result: {
        id: 'policy',
        verdict: 'fail',
        message: cm.status === 404 ? `ConfigMap ${t.namespace}/${POLICY_CONFIGMAP} does not exist: the webhook runs its built-in default policy` : `cannot read ConfigMap ${t.namespace}/${POLICY_CONFIGMAP}: ${statusMessage(cm)}`,
        fix: cm.status === 404 ? reinstall : 'run doctor as a user who may get configmaps in that namespace',
      },
    }
  }
  const text = rec(rec(cm.body)['data'])[POLICY_KEY]
  if (typeof text !== 'string') {
    return { bindings: false, result: { id: 'policy', verdict: 'fail', message: `ConfigMap ${t.namespace}/${POLICY_CONFIGMAP} has no ${POLICY_KEY} key: the webhook runs its built-in default policy`, fix: reinstall } }
  }
  try {
    const policy = parsePolicy(text, `${t.namespace}/${POLICY_CONFIGMAP}`, RULES)
    const n = policy.bindings.length
    const parses = `ConfigMap ${t.namespace}/${POLICY_CONFIGMAP} parses (mode ${policy.mode}${n > 0 ? `, ${n} binding${n === 1 ? '' : 's'} by namespace` : ''}, ownedObjects ${policy.ownedObjects})`
    const mismatch = ownedObjectsMismatch(rawWebhooks, policy.ownedObjects)
    if (mismatch !== undefined) {
      return {
        bindings: n > 0,
        result: {
          id: 'policy',
          verdict: 'warn',
          message: `${parses}; ${mismatch}`,
          fix: `install again with this policy, which leaves the condition out (pod-preflight install ${t.installFlags}--policy FILE | kubectl apply -f -), or set ownedObjects: skip in it`,
        },
      }
    }
    return { bindings: n > 0, result: { id: 'policy', verdict: 'pass', message: parses } }
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err
    return {
      bindings: false,
      result: {
        id: 'policy',
        verdict: 'fail',
        message: `ConfigMap ${t.namespace}/${POLICY_CONFIGMAP} does not parse (the webhook keeps its last good policy): ${err.problems.slice(0, 3).join('; ')}`,
        fix: `correct it: kubectl -n ${t.namespace} edit configmap ${POLICY_CONFIGMAP} (check it first with pod-preflight check --policy FILE)`,
      },
    }
  }
}

async function endpointsOf(w: WebhookEntry, t: DoctorTarget, d: DoctorDeps, out: CheckResult[]): Promise<Endpoint | undefined> {
  if (w.url !== undefined) {
    let u: URL
    try {
      u = new URL(w.url)
    } catch {
      out.push({ id: 'endpoints', verdict: 'fail', message: `webhook ${w.name}: clientConfig.url is not a URL`, fix: 'correct clientConfig.url' })
      return undefined
    }
    const host = u.hostname.replace(/^\[|\]$/g, '')
    return { host, port: u.port === '' ? 443 : Number(u.port), servername: host, where: u.host }
  }
  if (w.service === undefined) return undefined
  const { namespace, name } = w.service
  const r = await get(d.rest, `/api/v1/namespaces/${encodeURIComponent(namespace)}/endpoints/${encodeURIComponent(name)}`)
  const subsets = r.status === 200 && Array.isArray(rec(r.body)['subsets']) ? (rec(r.body)['subsets'] as unknown[]) : []
  let first: Endpoint | undefined
  let ready = 0
  let notReady = 0
  for (const s of subsets.slice(0, 64)) {
    const addrs = Array.isArray(rec(s)['addresses']) ? (rec(s)['addresses'] as unknown[]) : []
    notReady += Array.isArray(rec(s)['notReadyAddresses']) ? (rec(s)['notReadyAddresses'] as unknown[]).length : 0
    ready += addrs.length
    const port = Number(rec((Array.isArray(rec(s)['ports']) ? (rec(s)['ports'] as unknown[]) : [])[0])['port'])
    const ip = rec(addrs[0])['ip']
    if (first === undefined && typeof ip === 'string' && Number.isInteger(port)) first = { host: ip, port, servername: `${name}.${namespace}.svc`, where: `${ip}:${port}` }
  }
  if (ready === 0) {
    out.push({
      id: 'endpoints',
      verdict: 'fail',
      message:
        r.status === 404 || r.status === 200
          ? `Service ${namespace}/${name} has no ready endpoints${notReady > 0 ? ` (${notReady} not ready)` : ''}: the webhook is down, so the API server's calls fail (failurePolicy decides whether Pods are then refused or let through unchecked)`
          : `cannot read the endpoints of Service ${namespace}/${name}: ${statusMessage(r)}`,
      fix: `see why the webhook pods are not ready: kubectl -n ${t.namespace} get pods -l app.kubernetes.io/name=${t.deployment}; kubectl -n ${t.namespace} logs deploy/${t.deployment}`,
    })
    return undefined
  }
  out.push({ id: 'endpoints', verdict: 'pass', message: `Service ${namespace}/${name} has ${ready} ready endpoint${ready === 1 ? '' : 's'}` })
  return first
}

/** A webhook endpoint that answered a TLS handshake, and the Service behind it if any. */
interface Reached {
  endpoint: Endpoint
}

async function checkWebhook(w: WebhookEntry, t: DoctorTarget, d: DoctorDeps, out: CheckResult[], reinstall: string): Promise<Reached | undefined> {
  const ep = await endpointsOf(w, t, d, out)
  let bundle: X509Certificate[] = []
  try {
    bundle = splitBundle(w.caBundle)
  } catch {
    bundle = []
  }
  if (ep === undefined) return undefined
  let served: X509Certificate
  try {
    served = await d.servedCertificate(ep.host, ep.port, ep.servername)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const down = /ECONNREFUSED|ECONNRESET/.test(message)
    out.push({
      id: 'serving-certificate',
      verdict: w.url !== undefined || down ? 'fail' : 'warn',
      message: `webhook ${w.name}: no TLS handshake with ${ep.where}: ${message}${down ? ': the webhook is down' : ''}`,
      fix: down ? `start the webhook (kubectl -n ${t.namespace} rollout status deploy/${t.deployment})` : 'run doctor where the webhook pods are reachable (inside the cluster network) to check the served certificate',
    })
    return undefined
  }
  if (bundle.length === 0) {
    out.push({
      id: 'ca-bundle',
      verdict: 'fail',
      message: `webhook ${w.name}: the caBundle is empty or holds no certificate: the API server cannot trust the webhook, every call fails`,
      fix: `self-managed: the webhook writes it at start (kubectl -n ${t.namespace} logs deploy/${t.deployment}); cert-manager: check the cainjector; provided: ${reinstall.replace('install ', 'install --ca-bundle CA.pem ')}`,
    })
  } else if (issuedByOneOf(served, bundle) === undefined) {
    out.push({
      id: 'ca-bundle',
      verdict: 'fail',
      message: `webhook ${w.name}: the caBundle (${bundle.length} certificate${bundle.length === 1 ? '' : 's'}) does not verify the certificate served at ${ep.where} (issued by ${served.issuer.replace(/\n/g, ', ')}): the API server refuses the TLS handshake, every call fails`,
      fix: `self-managed: restart the webhook so that it writes its CA again (kubectl -n ${t.namespace} rollout restart deploy/${t.deployment}); provided: put the CA that signed the Secret's certificate in the caBundle (${reinstall.replace('install ', 'install --ca-bundle CA.pem ')})`,
    })
  } else if (!coversHost(served, ep.servername)) {
    out.push({
      id: 'ca-bundle',
      verdict: 'fail',
      message: `webhook ${w.name}: the served certificate is not valid for ${ep.servername} (it names ${served.subjectAltName ?? 'no subjectAltName'})`,
      fix: `issue the serving certificate for ${ep.servername}`,
    })
  } else {
    out.push({ id: 'ca-bundle', verdict: 'pass', message: `webhook ${w.name}: the caBundle verifies the certificate served at ${ep.where} for ${ep.servername}` })
  }
  const now = d.now().getTime()
  const end = new Date(served.validTo).getTime()
  const start = new Date(served.validFrom).getTime()
  if (end <= now) {
    out.push({
      id: 'certificate-expiry',
      verdict: 'fail',
      message: `the certificate served at ${ep.where} expired ${served.validTo}: the API server refuses it, every call fails`,
      fix: `self-managed: restart the webhook, it renews at start (kubectl -n ${t.namespace} rollout restart deploy/${t.deployment}); provided or cert-manager: renew the certificate in its Secret`,
    })
  } else if (start > now) {
    out.push({ id: 'certificate-expiry', verdict: 'fail', message: `the certificate served at ${ep.where} is valid only from ${served.validFrom}`, fix: 'check the clocks of the cluster and of the issuer' })
  } else if (end - now < EXPIRY_WARNING_MS) {
    out.push({
      id: 'certificate-expiry',
      verdict: 'warn',
      message: `the certificate served at ${ep.where} expires in ${days(end - now)} (${served.validTo})`,
      fix: 'self-managed renews at two thirds of the lifetime: if it has not, see the webhook logs; provided: renew it now',
    })
  } else {
    out.push({ id: 'certificate-expiry', verdict: 'pass', message: `the certificate served at ${ep.where} is valid for ${days(end - now)} more` })
  }
  return { endpoint: ep }
}

/**
 * The cluster view's line of the webhook's /readyz ("cluster view: synced, state 3 s old",
 * "not synced yet", "state is 95 s old ...", with the kinds that are refused or down): read from
 * the endpoint the handshake reached, else through the API server's service proxy.
 */
async function checkClusterView(reached: Reached | undefined, webhooks: readonly WebhookEntry[], t: DoctorTarget, d: DoctorDeps, out: CheckResult[], reinstall: string): Promise<void> {
  let answer: { status: number; body: string } | undefined
  let where = ''
  const problems: string[] = []
  if (reached !== undefined) {
    try {
      answer = await d.readyz(reached.endpoint.host, reached.endpoint.port, reached.endpoint.servername)
      where = reached.endpoint.where
    } catch (err) {
      problems.push(`${reached.endpoint.where}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  const svc = webhooks.find((w) => w.service !== undefined)?.service
  if (answer === undefined && svc !== undefined) {
    // The API server reaches the pods where doctor may not (outside the cluster network).
    const path = `/api/v1/namespaces/${encodeURIComponent(svc.namespace)}/services/${encodeURIComponent(`https:${svc.name}:443`)}/proxy/readyz`
    try {
      const r = await d.rest.request({ method: 'GET', path, accept: 'text/plain, */*', maxBytes: MAX_READYZ_BYTES, timeoutMs: 5_000 })
      // A Status object is the API server's own answer (no endpoint, forbidden), not the webhook's.
      if (rec(r.body)['kind'] === 'Status') problems.push(`service proxy: ${statusMessage(r)}`)
      else {
        answer = { status: r.status, body: r.text }
        where = `Service ${svc.namespace}/${svc.name} (through the API server's service proxy)`
      }
    } catch (err) {
      problems.push(`service proxy: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  if (answer === undefined) {
    out.push({
      id: 'cluster-view',
      verdict: 'fail',
      message: `cannot read the webhook's /readyz to see whether its cluster view has synced${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`,
      fix: `see the endpoints and certificate checks above; from outside the cluster network doctor reads it through the API server's service proxy, which needs get on services/proxy in ${t.namespace}`,
    })
    return
  }
  const line = answer.body.slice(0, MAX_READYZ_BYTES).split('\n').find((l) => l.startsWith('cluster view:'))
  const logs = `kubectl -n ${t.namespace} logs deploy/${t.deployment} | grep -i 'cluster view'`
  if (line === undefined) {
    out.push({
      id: 'cluster-view',
      verdict: 'fail',
      message: `the webhook at ${where} does not run the cluster view (its /readyz has no cluster view line): cluster rules are skipped`,
      fix: `install with the cluster view: ${reinstall}`,
    })
  } else {
    // "HEAD; KIND unavailable (REASON; its rules stay silent); KIND down N s (ERROR)": Secrets
    // are left out of the shipped role on purpose (RBAC cannot grant metadata only), so their
    // absence is expected. At most one match per kind the view has.
    const head = line.split('; ')[0] ?? line
    const unavailable = [...line.matchAll(/(?:^|; )([a-z]+) unavailable \(([a-z ]+):/g)].slice(0, 32).map((m) => ({ resource: m[1] ?? '', why: m[2] ?? '' }))
    const refused = unavailable.filter((u) => u.resource !== 'secrets')
    const down = [...line.matchAll(/(?:^|; )([a-z]+) (down \d+ s|not listed yet)/g)].slice(0, 32).map((m) => `${m[1] ?? ''} ${m[2] ?? ''}`)
    const whys = [...new Set(refused.map((u) => u.why))].join(', ')
    if (!/^cluster view: synced\b/.test(head) || refused.length > 0) {
      out.push({
        id: 'cluster-view',
        verdict: 'fail',
        message:
          refused.length > 0
            ? `the webhook at ${where}: ${head}; ${refused.map((u) => u.resource).join(', ')} unavailable (${whys}): cluster rules that need these kinds are skipped`
            : `the webhook at ${where}: ${line}${answer.status !== 200 ? ` (/readyz answered ${answer.status})` : ''}: cluster rules are skipped`,
        fix: refused.length > 0 ? `grant the view its role (see the rbac check): ${reinstall}` : `see why it cannot list: ${logs}`,
      })
    } else if (down.length > 0) {
      out.push({ id: 'cluster-view', verdict: 'warn', message: `the webhook at ${where}: ${head}; ${down.join('; ')}`, fix: `the API server's watches broke; if it lasts: ${logs}` })
    } else {
      out.push({ id: 'cluster-view', verdict: 'pass', message: `the webhook at ${where}: ${head}${unavailable.length > 0 ? ' (Secrets left out, as the shipped role does)' : ''}` })
    }
  }
}

async function checkRbac(t: DoctorTarget, d: DoctorDeps, version: KubeVersion, policyBindings: boolean, out: CheckResult[], reinstall: string): Promise<void> {
  const rules = (await d.neededRules(version, policyBindings)).slice(0, MAX_ACCESS_REVIEWS)
  const user = `system:serviceaccount:${t.namespace}:${t.serviceAccount}`
  const missing: string[] = []
  for (const r of rules) {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${t.namespace}`, 'system:authenticated'],
        resourceAttributes: { verb: r.verb, group: r.group, resource: r.resource, ...(r.name !== undefined ? { name: r.name } : {}), ...(r.namespace !== undefined ? { namespace: r.namespace } : {}) },
      },
    }
    const res = await d.rest.request({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body })
    if (res.status !== 201 && res.status !== 200) {
      out.push({ id: 'rbac', verdict: 'fail', message: `cannot ask the API server about ${user}'s access: ${statusMessage(res)}`, fix: 'run doctor as a user who may create subjectaccessreviews (cluster admins may)' })
      return
    }
    if (rec(rec(res.body)['status'])['allowed'] !== true) {
      missing.push(`${r.verb} ${r.resource}${r.group !== '' ? `.${r.group}` : ''}${r.name !== undefined ? `/${r.name}` : ''}${r.namespace !== undefined ? ` in ${r.namespace}` : ' (cluster-wide)'}`)
    }
  }
  if (missing.length > 0) {
    out.push({
      id: 'rbac',
      verdict: 'fail',
      message: `${user} may not ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}`,
      fix: `apply the Roles and bindings install renders: ${reinstall}`,
    })
  } else {
    out.push({ id: 'rbac', verdict: 'pass', message: `${user} has the ${rules.length} permission${rules.length === 1 ? '' : 's'} the install needs` })
  }
}

async function checkProbe(t: DoctorTarget, d: DoctorDeps, out: CheckResult[]): Promise<void> {
  const pod = probePod(t.probeNamespace)
  const r = await d.rest.request({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(t.probeNamespace)}/pods?dryRun=All`, body: pod })
  const message = statusMessage(r)
  if (r.status >= 400 && /admission webhook ".*" denied the request/.test(message)) {
    out.push({ id: 'dry-run', verdict: 'pass', message: `a known-bad Pod in ${t.probeNamespace} is refused through the API server (server-side dry run)` })
  } else if (r.status === 201 && r.warnings.length > 0) {
    out.push({ id: 'dry-run', verdict: 'pass', message: `a known-bad Pod in ${t.probeNamespace} is admitted with ${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'} (audit mode): ${r.warnings[0] ?? ''}` })
  } else if (r.status === 201) {
    out.push({
      id: 'dry-run',
      verdict: 'fail',
      message: `a known-bad Pod in ${t.probeNamespace} is admitted without a word: the webhook did not judge it (namespace excluded, or the webhook unreachable with failurePolicy Ignore)`,
      fix: `see the checks above; try another --probe-namespace if ${t.probeNamespace} is excluded`,
    })
  } else if (r.status === 404) {
    out.push({ id: 'dry-run', verdict: 'warn', message: `namespace ${t.probeNamespace} does not exist: the probe was not made`, fix: 'give --probe-namespace with an existing, judged namespace' })
  } else {
    out.push({
      id: 'dry-run',
      verdict: 'fail',
      message: `a server-side dry run of a Pod in ${t.probeNamespace} failed: ${message}`,
      fix: /failed calling webhook/.test(message) ? 'the API server cannot call the webhook: see the endpoints and certificate checks above' : 'run doctor as a user who may create pods in that namespace',
    })
  }
}

/** GET /readyz over TLS without trusting the certificate (trust is checked against the caBundle); at most MAX_READYZ_BYTES. */
export function tlsReadyz(host: string, port: number, servername: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host, port, path: '/readyz', method: 'GET', servername: /^[\d.:]+$/.test(servername) ? undefined : servername, rejectUnauthorized: false, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          if (size >= MAX_READYZ_BYTES) return
          chunks.push(c)
          size += c.length
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_READYZ_BYTES) }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)))
    req.on('error', reject)
    req.end()
  })
}

/** The certificate a TLS server presents, read without trusting it (trust is checked against the caBundle). */
export function tlsServedCertificate(host: string, port: number, servername: string, timeoutMs = 5_000): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, servername: /^[\d.:]+$/.test(servername) ? undefined : servername, rejectUnauthorized: false }, () => {
      const c = s.getPeerX509Certificate()
      s.end()
      if (c === undefined) reject(new Error('no certificate presented'))
      else resolve(c)
    })
    s.on('error', (err) => reject(err))
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no handshake within ${timeoutMs / 1000} s`)))
  })
}

/** The verbs on resources that the Roles and ClusterRoles bound to the service account in `objects` grant. */
export function rulesFromObjects(objects: readonly KubeObject[], namespace: string, serviceAccount: string): NeededRule[] {
  const bound = new Set<string>()
  for (const o of objects) {
    if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') continue
    const subjects = Array.isArray(o['subjects']) ? (o['subjects'] as unknown[]) : []
    if (!subjects.some((s) => rec(s)['kind'] === 'ServiceAccount' && rec(s)['name'] === serviceAccount && rec(s)['namespace'] === namespace)) continue
    const ref = rec(o['roleRef'])
    bound.add(`${o.kind === 'RoleBinding' ? `Role/${String(o.metadata['namespace'])}` : 'ClusterRole'}/${String(ref['name'])}`)
  }
  const out: NeededRule[] = []
  for (const o of objects) {
    if (o.kind !== 'Role' && o.kind !== 'ClusterRole') continue
    const key = o.kind === 'Role' ? `Role/${String(o.metadata['namespace'])}/${String(o.metadata['name'])}` : `ClusterRole/${String(o.metadata['name'])}`
    if (!bound.has(key)) continue
    for (const r of Array.isArray(o['rules']) ? (o['rules'] as unknown[]) : []) {
      const rr = rec(r)
      const list = (k: string): string[] => (Array.isArray(rr[k]) ? (rr[k] as unknown[]).filter((x): x is string => typeof x === 'string') : [])
      const names = list('resourceNames')
      for (const group of list('apiGroups'))
        for (const resource of list('resources'))
          for (const verb of list('verbs'))
            for (const name of names.length > 0 ? names : [undefined]) {
              out.push({ verb, group, resource, ...(name !== undefined ? { name } : {}), ...(o.kind === 'Role' ? { namespace: String(o.metadata['namespace']) } : {}) })
            }
    }
  }
  return out
}

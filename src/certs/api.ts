/**
 * The API calls the self-managed certificates make, and nothing more: get/create/update of one
 * Secret, get/patch of one ValidatingWebhookConfiguration (the RBAC the mode needs). Every write
 * is conditional (create fails with 409 when the Secret exists; updates carry the
 * resourceVersion they were computed from), so replicas never overwrite each other's newer work.
 */
import type { KubeRest, KubeResponse } from '../kube/rest.js'
import { statusMessage } from '../kube/rest.js'
import { MANAGED_BY, MANAGED_BY_LABEL, type SecretDoc } from './state.js'

export const ANNOTATION_BUNDLE_GENERATION = 'pod-preflight.io/ca-bundle-generation'

export interface WebhookEntry {
  name: string
  /** The caBundle, decoded (PEM text); '' when absent. */
  caBundle: string
  url?: string
  service?: { namespace: string; name: string }
}

export interface WebhookConfigDoc {
  resourceVersion: string
  /** The Secret generation the caBundle was last written from, when written by pod-preflight. */
  bundleGeneration: number | undefined
  hasAnnotations: boolean
  webhooks: WebhookEntry[]
}

export type WriteResult = 'done' | 'conflict'

export interface CertApi {
  /** Where the Secret lives, for messages. */
  readonly secretRef: string
  readonly webhookConfigurationName: string
  getSecret(): Promise<SecretDoc | undefined>
  createSecret(contents: { data: Record<string, string>; annotations: Record<string, string> }): Promise<WriteResult>
  replaceSecret(resourceVersion: string, contents: { data: Record<string, string>; annotations: Record<string, string> }): Promise<WriteResult>
  getWebhookConfiguration(): Promise<WebhookConfigDoc | undefined>
  /** Sets the caBundle of every webhook entry, if the configuration is still at `doc.resourceVersion`. */
  setCaBundle(doc: WebhookConfigDoc, bundlePem: string, generation: number): Promise<WriteResult>
}

/** An answer the API server gave that the caller cannot work around (403, 422...). */
export class CertApiError extends Error {
  override readonly name = 'CertApiError'
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isRecord(v)) return out
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x
  return out
}

function fail(what: string, r: KubeResponse): CertApiError {
  const hint = r.status === 403 ? ' (the service account lacks the permission; see the RBAC of the self-managed mode in the README)' : ''
  return new CertApiError(r.status, `${what}: ${r.status} ${statusMessage(r)}${hint}`)
}

export function parseSecret(body: unknown): SecretDoc {
  const meta = isRecord(body) && isRecord(body['metadata']) ? body['metadata'] : {}
  const raw = isRecord(body) ? strings(body['data']) : {}
  const data: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw)) data[k] = Buffer.from(v, 'base64').toString('utf8')
  return {
    resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '',
    labels: strings(meta['labels']),
    annotations: strings(meta['annotations']),
    data,
  }
}

export function parseWebhookConfiguration(body: unknown): WebhookConfigDoc {
  const meta = isRecord(body) && isRecord(body['metadata']) ? body['metadata'] : {}
  const annotations = isRecord(meta['annotations']) ? meta['annotations'] : undefined
  const gen = annotations?.[ANNOTATION_BUNDLE_GENERATION]
  const webhooks: WebhookEntry[] = []
  const list = isRecord(body) && Array.isArray(body['webhooks']) ? body['webhooks'] : []
  for (const w of list) {
    if (!isRecord(w)) continue
    const cc = isRecord(w['clientConfig']) ? w['clientConfig'] : {}
    const entry: WebhookEntry = {
      name: typeof w['name'] === 'string' ? w['name'] : '',
      caBundle: typeof cc['caBundle'] === 'string' ? Buffer.from(cc['caBundle'], 'base64').toString('utf8') : '',
    }
    if (typeof cc['url'] === 'string') entry.url = cc['url']
    const svc = cc['service']
    if (isRecord(svc) && typeof svc['name'] === 'string' && typeof svc['namespace'] === 'string') entry.service = { name: svc['name'], namespace: svc['namespace'] }
    webhooks.push(entry)
  }
  return {
    resourceVersion: typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '',
    bundleGeneration: typeof gen === 'string' && /^\d+$/.test(gen) ? Number(gen) : undefined,
    hasAnnotations: annotations !== undefined,
    webhooks,
  }
}

function encode(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(data)) out[k] = Buffer.from(v, 'utf8').toString('base64')
  return out
}

/** JSON Pointer escaping of one path segment (RFC 6901). */
function pointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1')
}

export function restCertApi(rest: KubeRest, o: { namespace: string; secretName: string; webhookConfigurationName: string }): CertApi {
  const secretPath = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/secrets`
  const vwcPath = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${encodeURIComponent(o.webhookConfigurationName)}`
  const secretRef = `Secret ${o.namespace}/${o.secretName}`
  const secretObject = (contents: { data: Record<string, string>; annotations: Record<string, string> }, resourceVersion?: string): unknown => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name: o.secretName,
      namespace: o.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, 'app.kubernetes.io/name': 'pod-preflight' },
      annotations: contents.annotations,
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    },
    data: encode(contents.data),
  })
  return {
    secretRef,
    webhookConfigurationName: o.webhookConfigurationName,
    async getSecret() {
      const r = await rest.request({ method: 'GET', path: `${secretPath}/${encodeURIComponent(o.secretName)}` })
      if (r.status === 404) return undefined
      if (r.status !== 200) throw fail(`cannot get ${secretRef}`, r)
      return parseSecret(r.body)
    },
    async createSecret(contents) {
      const r = await rest.request({ method: 'POST', path: secretPath, body: secretObject(contents) })
      if (r.status === 409) return 'conflict'
      if (r.status !== 201 && r.status !== 200) throw fail(`cannot create ${secretRef}`, r)
      return 'done'
    },
    async replaceSecret(resourceVersion, contents) {
      const r = await rest.request({ method: 'PUT', path: `${secretPath}/${encodeURIComponent(o.secretName)}`, body: secretObject(contents, resourceVersion) })
      if (r.status === 409) return 'conflict'
      if (r.status !== 200) throw fail(`cannot update ${secretRef}`, r)
      return 'done'
    },
    async getWebhookConfiguration() {
      const r = await rest.request({ method: 'GET', path: vwcPath })
      if (r.status === 404) return undefined
      if (r.status !== 200) throw fail(`cannot get ValidatingWebhookConfiguration ${o.webhookConfigurationName}`, r)
      return parseWebhookConfiguration(r.body)
    },
    async setCaBundle(doc, bundle, generation) {
      const b64 = Buffer.from(bundle, 'utf8').toString('base64')
      // The resourceVersion in the patch makes it conditional: the API server answers 409 when the
      // object changed since `doc` was read, so the entry indexes below are the ones read.
      const ops: unknown[] = [{ op: 'replace', path: '/metadata/resourceVersion', value: doc.resourceVersion }]
      ops.push(
        doc.hasAnnotations
          ? { op: 'add', path: `/metadata/annotations/${pointer(ANNOTATION_BUNDLE_GENERATION)}`, value: String(generation) }
          : { op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_BUNDLE_GENERATION]: String(generation) } },
      )
      doc.webhooks.forEach((_w, i) => ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: b64 }))
      const r = await rest.request({ method: 'PATCH', path: vwcPath, body: ops, contentType: 'application/json-patch+json' })
      if (r.status === 409) return 'conflict'
      if (r.status !== 200) throw fail(`cannot patch the caBundle of ValidatingWebhookConfiguration ${o.webhookConfigurationName}`, r)
      return 'done'
    },
  }
}

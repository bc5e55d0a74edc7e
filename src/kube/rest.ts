/**
 * A small JSON client for the Kubernetes API: one request, one answer, with the kubeconfig's
 * credentials (client-node's applyToHTTPSOptions: certificates, tokens, exec plugins, the
 * in-cluster service account). Used where a handful of calls is needed and the typed clients
 * would only add weight: the self-managed certificates and `doctor`.
 *
 * Bounded: answers larger than MAX_BODY_BYTES (or the request's maxBytes) are cut off and reported as an error; every
 * request has a timeout.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { request as httpRequest } from 'node:http'
import type { KubeConfig } from '@kubernetes/client-node'

export const MAX_BODY_BYTES = 4 * 1024 * 1024
export const DEFAULT_TIMEOUT_MS = 15_000

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Path and query, e.g. /api/v1/namespaces/x/secrets/y */
  path: string
  body?: unknown
  /** Content-Type of the body (default application/json; patches name their kind). */
  contentType?: string
  accept?: string
  timeoutMs?: number
  /** Largest answer accepted (default MAX_BODY_BYTES), for the few lists known to be larger. */
  maxBytes?: number
}

export interface KubeResponse {
  status: number
  /** The parsed JSON answer, or undefined when the answer was not JSON. */
  body: unknown
  /** The raw text (at most MAX_BODY_BYTES). */
  text: string
  /** Warning headers (admission warnings arrive this way). */
  warnings: string[]
}

export interface KubeRest {
  request(r: KubeRequest): Promise<KubeResponse>
}

/** The message of a Kubernetes Status answer, or a short description of the HTTP status. */
export function statusMessage(r: KubeResponse): string {
  const b = r.body
  if (typeof b === 'object' && b !== null && 'message' in b && typeof b.message === 'string') return b.message
  return `HTTP ${r.status}`
}

/** A request that could not be made or answered (connection refused, timeout, TLS). */
export class KubeTransportError extends Error {
  override readonly name = 'KubeTransportError'
}

/** Reads a Warning header value `299 - "text"` into its text. */
export function warningText(h: string): string {
  const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(h)
  return m?.[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : h
}

export function kubeRest(kc: KubeConfig): KubeRest {
  return {
    async request(r) {
      const cluster = kc.getCurrentCluster()
      if (cluster === null) throw new KubeTransportError('the kubeconfig has no current cluster')
      const url = new URL(cluster.server.replace(/\/+$/, '') + r.path)
      const body = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body))
      const opts: RequestOptions = { method: r.method, headers: {} }
      await kc.applyToHTTPSOptions(opts)
      const headers: Record<string, string | number> = { ...(opts.headers as Record<string, string>), Accept: r.accept ?? 'application/json' }
      if (body !== undefined) {
        headers['Content-Type'] = r.contentType ?? 'application/json'
        headers['Content-Length'] = body.length
      }
      opts.headers = headers
      const timeoutMs = r.timeoutMs ?? DEFAULT_TIMEOUT_MS
      return new Promise<KubeResponse>((resolve, reject) => {
        const send = url.protocol === 'http:' ? httpRequest : httpsRequest
        const req = send(url, opts, (res) => {
          const chunks: Buffer[] = []
          let size = 0
          const maxBytes = r.maxBytes ?? MAX_BODY_BYTES
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size > maxBytes) {
              req.destroy(new KubeTransportError(`${r.method} ${r.path}: answer larger than ${maxBytes} bytes`))
              return
            }
            chunks.push(c)
          })
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: unknown
            try {
              parsed = text === '' ? undefined : (JSON.parse(text) as unknown)
            } catch {
              parsed = undefined
            }
            const w = res.headers['warning']
            const warnings = (Array.isArray(w) ? w : w === undefined ? [] : [w]).flatMap((h) => h.split(/,(?=\s*\d{3} )/)).map((h) => warningText(h.trim()))
            resolve({ status: res.statusCode ?? 0, body: parsed, text, warnings })
          })
          res.on('error', reject)
        })
        req.setTimeout(timeoutMs, () => req.destroy(new KubeTransportError(`${r.method} ${url.host}${r.path}: no answer within ${Math.round(timeoutMs / 1000)} s`)))
        req.on('error', (err) => reject(err instanceof KubeTransportError ? err : new KubeTransportError(`${r.method} ${url.host}${r.path}: ${err.message}`)))
        req.end(body)
      })
    },
  }
}

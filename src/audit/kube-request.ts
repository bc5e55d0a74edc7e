/**
 * One JSON request to the API server with a kubeconfig's credentials (certificates, tokens,
 * exec plugins, through client-node's applyToHTTPSOptions), for the writes of the background
 * scan and the Lease of leader election: server-side apply needs its own content type, and a
 * Lease update needs the status code of a conflict, both plainer this way than through the
 * generated clients.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { request as httpRequest } from 'node:http'
import type { KubeConfig } from '@kubernetes/client-node'

export interface KubeResponse {
  status: number
  body: unknown
}

/** Answers larger than this are refused (a PolicyReport or a Lease is far smaller). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024

export class KubeRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** The API's Status message of a failed request, or the HTTP status line. */
export function statusMessage(r: KubeResponse): string {
  const b = r.body
  if (typeof b === 'object' && b !== null && typeof (b as { message?: unknown }).message === 'string') return (b as { message: string }).message
  return `HTTP ${r.status}`
}

export async function kubeRequest(
  kc: KubeConfig,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: { body?: unknown; contentType?: string; timeoutMs?: number } = {},
): Promise<KubeResponse> {
  const cluster = kc.getCurrentCluster()
  if (cluster === null) throw new Error('the kubeconfig has no current cluster')
  const url = new URL(cluster.server.replace(/\/+$/, '') + path)
  const opts: RequestOptions = { method, headers: {} }
  await kc.applyToHTTPSOptions(opts)
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
  opts.headers = {
    ...(opts.headers as Record<string, string>),
    Accept: 'application/json',
    ...(payload !== undefined ? { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': String(payload.length) } : {}),
  }
  const timeoutMs = options.timeoutMs ?? 30_000
  return new Promise<KubeResponse>((resolve, reject) => {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest
    const req = send(url, opts, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('response too large'))
        else chunks.push(c)
      })
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = text === '' ? undefined : (JSON.parse(text) as unknown)
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body })
      })
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from the API server in ${Math.round(timeoutMs / 1000)} s`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/**
 * The serving certificate: read from files, checked, and swapped into the running server when
 * the files change (new TLS handshakes get the new certificate; open connections keep theirs).
 */
import { readFile } from 'node:fs/promises'
import { X509Certificate } from 'node:crypto'
import { createSecureContext, type Server as TlsServer } from 'node:tls'
import type { Logger } from 'pino'
import { watchFiles, type FileWatch } from './file-watch.js'
import type { WebhookMetrics } from './metrics.js'

/**
 * The TLS the webhook serves, in one place: TLS 1.2 and 1.3 only, and on 1.2 only ECDHE key
 * exchange (forward secrecy) with AEAD ciphers (AES-GCM, ChaCha20-Poly1305); no CBC, no RSA key
 * exchange. Every TLS 1.3 suite is AEAD. The server's order wins (strongest first the client
 * supports). Used for the listening server and for every certificate swapped in later.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

export const SERVING_TLS = { minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true } as const

/** The secure-context options for a certificate and key: SERVING_TLS with them. */
export function servingContext(m: TlsMaterial): { cert: Buffer; key: Buffer } & typeof SERVING_TLS {
  return { cert: m.cert, key: m.key, ...SERVING_TLS }
}

export interface TlsMaterial {
  cert: Buffer
  key: Buffer
}

export interface CertificateInfo {
  subject: string
  subjectAltName: string
  notAfter: Date
  fingerprint256: string
}

/** A usage problem with the certificate files, explained for the person starting the server. */
export class TlsFilesError extends Error {
  override readonly name = 'TlsFilesError'
}

export async function readTlsFiles(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new TlsFilesError(
        `cannot read the ${what} ${path} (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}); ` +
          'create one with certs/generate.sh or point --tls-cert/--tls-key at yours',
      )
    }
  }
  // Both are read at once, but the certificate's problem is the one reported when both fail:
  // Promise.all would name whichever read failed first, a different message from run to run.
  const [c, k] = await Promise.allSettled([read(certPath, 'TLS certificate'), read(keyPath, 'TLS key')])
  if (c.status === 'rejected') throw c.reason
  if (k.status === 'rejected') throw k.reason
  const cert = c.value
  const key = k.value
  inspectTls({ cert, key })
  return { cert, key }
}

/** Checks that the key matches the certificate and returns what the logs show of it; throws TlsFilesError. */
export function inspectTls(m: TlsMaterial): CertificateInfo {
  try {
    createSecureContext({ cert: m.cert, key: m.key })
  } catch (err) {
    throw new TlsFilesError(`the TLS certificate and key cannot be used together: ${err instanceof Error ? err.message : String(err)}`)
  }
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(m.cert)
  } catch (err) {
    throw new TlsFilesError(`the TLS certificate is not a PEM certificate: ${err instanceof Error ? err.message : String(err)}`)
  }
  return { subject: x509.subject, subjectAltName: x509.subjectAltName ?? '', notAfter: new Date(x509.validTo), fingerprint256: x509.fingerprint256 }
}

export interface TlsReloaderOptions {
  certPath: string
  keyPath: string
  initial: TlsMaterial
  server: Pick<TlsServer, 'setSecureContext'>
  intervalMs: number
  logger: Logger
  metrics: WebhookMetrics
}

export function startTlsReloader(o: TlsReloaderOptions): FileWatch {
  const log = o.logger.child({ component: 'tls' })
  const info = inspectTls(o.initial)
  o.metrics.certificateExpiry.set({}, Math.floor(info.notAfter.getTime() / 1000))
  log.info({ cert: o.certPath, subject: info.subject, san: info.subjectAltName, notAfter: info.notAfter.toISOString() }, 'serving certificate loaded')
  return watchFiles(
    [o.certPath, o.keyPath],
    o.intervalMs,
    [o.initial.cert, o.initial.key],
    ([cert, key]) => {
      if (cert === undefined || key === undefined) return
      const next = inspectTls({ cert, key })
      o.server.setSecureContext(servingContext({ cert, key }))
      o.metrics.tlsReloads.inc({ result: 'ok' })
      o.metrics.certificateExpiry.set({}, Math.floor(next.notAfter.getTime() / 1000))
      log.info({ cert: o.certPath, subject: next.subject, san: next.subjectAltName, notAfter: next.notAfter.toISOString() }, 'serving certificate reloaded')
    },
    (err) => {
      // Half-written files during a rotation land here; the next change retries. The old certificate stays.
      o.metrics.tlsReloads.inc({ result: 'error' })
      log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'serving certificate not reloaded; keeping the current one')
    },
  )
}

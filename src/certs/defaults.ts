/**
 * What `serve` needs to know of the self-managed certificates before it loads them (the X.509
 * library is loaded only when --tls-secret is given).
 */
export const DEFAULT_CERT_VALIDITY_MS = 365 * 24 * 3600_000
/** A renewal publishes its CA, waits for the API servers to pick it up, then switches: it needs some room. */
export const MIN_CERT_VALIDITY_MS = 30_000

/** The certificate cannot be obtained at start; the message says what and how to fix it. */
export class CertStartError extends Error {
  override readonly name = 'CertStartError'
}

/**
 * X.509 for the self-managed certificates: a CA and a serving certificate it signs, both
 * ECDSA P-256 (small keys, fast to make, accepted by every API server since 1.0), made with
 * @peculiar/x509 on Node's WebCrypto. No openssl at run time.
 *
 * Each renewal makes a new CA as well as a new serving certificate: the CA key lives next to
 * the serving key in the same Secret, so a long-lived CA would add no protection, and a fresh
 * CA per renewal lets the old one leave the caBundle once its certificate has expired.
 */
// tsyringe (used by @peculiar/x509) needs the Reflect metadata API before it loads.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
/** Certificates start this long before they are made, so a node whose clock is a little behind accepts them. */
export const BACKDATE_MS = 60_000

export interface CertificateSet {
  /** PEM of the CA certificate (what goes into a caBundle). */
  caCert: string
  caKey: string
  /** PEM of the serving certificate, signed by the CA. */
  cert: string
  key: string
}

export interface IssueOptions {
  /** DNS names and IP addresses the serving certificate is valid for; the first is its common name. */
  hosts: readonly string[]
  notBefore: Date
  notAfter: Date
  /** Shown in the CA's subject, to tell CAs apart in a caBundle. */
  caName?: string
}

function serial(): string {
  // 16 random bytes with the top bit clear: a positive integer, unique per certificate.
  const b = randomBytes(16)
  b[0] = (b[0] ?? 0) & 0x7f
  return b.toString('hex')
}

function cnEscape(s: string): string {
  return s.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`)
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')
}

/** Makes a new CA and a serving certificate for `hosts` signed by it. */
export async function issueCertificates(o: IssueOptions): Promise<CertificateSet> {
  if (o.hosts.length === 0) throw new Error('a serving certificate needs at least one host name')
  const subtle = webcrypto.subtle
  const caKeys = (await subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${cnEscape(o.caName ?? 'pod-preflight-ca')} ${o.notBefore.toISOString().slice(0, 19)}Z`,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  })
  const leafKeys = (await subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const names = o.hosts.map((h) => (isIP(h) !== 0 ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }))
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${cnEscape(o.hosts[0] ?? '')}`,
    issuer: ca.subject,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  })
  return {
    caCert: ca.toString('pem'),
    caKey: await exportKey(caKeys.privateKey),
    cert: leaf.toString('pem'),
    key: await exportKey(leafKeys.privateKey),
  }
}

/** At most this many certificates are read from one bundle: a caBundle holds two or three. */
export const MAX_BUNDLE_CERTIFICATES = 32
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/** The certificates of a PEM bundle, in order (at most MAX_BUNDLE_CERTIFICATES); throws on a block that does not parse. */
export function splitBundle(pem: string): X509Certificate[] {
  const out: X509Certificate[] = []
  for (const m of pem.matchAll(PEM_BLOCK)) {
    if (out.length >= MAX_BUNDLE_CERTIFICATES) break
    out.push(new X509Certificate(m[0]))
  }
  return out
}

/** One PEM block per certificate, normalised (so that equal certificates compare equal as text). */
export function pemOf(c: X509Certificate): string {
  return c.toString().trim() + '\n'
}

/** Whether `cert` was signed by one of the CAs (signature and issuer name; dates are checked separately). */
export function issuedByOneOf(cert: X509Certificate, cas: readonly X509Certificate[]): X509Certificate | undefined {
  return cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))
}

/** The DNS names and IP addresses of a certificate's subjectAltName. */
export function hostsOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? ''
  const out: string[] = []
  for (const part of san.split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part.trim())
    if (m?.[2] !== undefined) out.push(m[2])
  }
  return out
}

/** Whether the certificate is valid for `host` (exact names; the serving certificates made here use no wildcards). */
export function coversHost(cert: X509Certificate, host: string): boolean {
  return isIP(host) !== 0 ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined
}

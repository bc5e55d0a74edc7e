/**
 * The self-managed certificate loop against an in-memory API that keeps resourceVersions and
 * answers 409 as the API server does. Time is a fake clock, so a whole renewal runs in
 * milliseconds; the end-to-end suite runs it against the real API server.
 */
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { pino } from 'pino'
import { CertApiError, type CertApi, type WebhookConfigDoc } from '../../src/certs/api.js'
import { createCertManager, serviceHosts, CertStartError, type CertManager } from '../../src/certs/manager.js'
import { MANAGED_BY, MANAGED_BY_LABEL, type SecretDoc } from '../../src/certs/state.js'
import { issuedByOneOf, splitBundle } from '../../src/certs/x509.js'

const silent = pino({ level: 'silent' })

class FakeCluster {
  secret: SecretDoc | undefined
  vwc: (WebhookConfigDoc & { exists: boolean }) = { exists: true, resourceVersion: '1', bundleGeneration: undefined, hasAnnotations: false, webhooks: [{ name: 'a', caBundle: '' }, { name: 'b', caBundle: '' }] }
  rv = 10
  creates = 0
  conflicts = 0
  secretStatus = 200
  bump(): string {
    return String(++this.rv)
  }
  api(): CertApi {
    return {
      secretRef: 'Secret ns/tls',
      webhookConfigurationName: 'pod-preflight',
      getSecret: async () => {
        if (this.secretStatus !== 200) throw new CertApiError(this.secretStatus, `cannot get Secret ns/tls: ${this.secretStatus} forbidden`)
        return this.secret === undefined ? undefined : structuredClone(this.secret)
      },
      createSecret: async (c) => {
        this.creates++
        // Let the other replica run between the read and the write, as a real race does.
        await new Promise((r) => setImmediate(r))
        if (this.secret !== undefined) {
          this.conflicts++
          return 'conflict'
        }
        this.secret = { resourceVersion: this.bump(), labels: { [MANAGED_BY_LABEL]: MANAGED_BY }, annotations: { ...c.annotations }, data: { ...c.data } }
        return 'done'
      },
      replaceSecret: async (rv, c) => {
        if (this.secret === undefined || this.secret.resourceVersion !== rv) {
          this.conflicts++
          return 'conflict'
        }
        this.secret = { resourceVersion: this.bump(), labels: this.secret.labels, annotations: { ...c.annotations }, data: { ...c.data } }
        return 'done'
      },
      getWebhookConfiguration: async () => (this.vwc.exists ? structuredClone(this.vwc) : undefined),
      setCaBundle: async (doc, pem, generation) => {
        if (doc.resourceVersion !== this.vwc.resourceVersion) return 'conflict'
        this.vwc = { ...this.vwc, resourceVersion: this.bump(), bundleGeneration: generation, hasAnnotations: true, webhooks: this.vwc.webhooks.map((w) => ({ ...w, caBundle: pem })) }
        return 'done'
      },
    }
  }
  /** Every webhook entry's caBundle trusts `leaf`. */
  trusts(leaf: X509Certificate | undefined): boolean {
    if (leaf === undefined) return false
    return this.vwc.webhooks.every((w) => issuedByOneOf(leaf, splitBundle(w.caBundle)) !== undefined)
  }
  bundleSize(): number {
    return splitBundle(this.vwc.webhooks[0]?.caBundle ?? '').length
  }
}

function manager(cluster: FakeCluster, clock: { t: number }, validityMs = 90_000): CertManager {
  return createCertManager({
    api: cluster.api(),
    hosts: serviceHosts('pod-preflight', 'ns'),
    validityMs,
    syncIntervalMs: 0,
    settleMs: 3_000,
    logger: silent,
    now: () => new Date(clock.t),
  })
}

t.test('two replicas starting together agree on one certificate, and the caBundle trusts it', async (t) => {
  const cluster = new FakeCluster()
  const clock = { t: Date.now() }
  const [a, b] = [manager(cluster, clock), manager(cluster, clock)]
  const [ma, mb] = await Promise.all([a.start(), b.start()])
  t.equal(cluster.creates, 2, 'both tried to create')
  t.equal(cluster.conflicts, 1, 'the API server refused the second create')
  t.equal(ma.cert.toString(), mb.cert.toString(), 'both serve the winner\'s certificate')
  t.ok(cluster.trusts(a.served()), 'every webhook entry trusts it')
  const leaf = new X509Certificate(ma.cert)
  t.match(leaf.subjectAltName ?? '', /DNS:pod-preflight\.ns\.svc\b/)
  t.notMatch(ma.key.toString(), /CERTIFICATE/, 'the key is a key')
})

t.test('a renewal publishes the new CA before anyone serves it, and drops the old one after it expires', async (t) => {
  const cluster = new FakeCluster()
  const clock = { t: Date.now() }
  const a = manager(cluster, clock)
  const b = manager(cluster, clock)
  await Promise.all([a.start(), b.start()])
  const first = a.served()?.fingerprint256
  const switched: string[] = []
  a.onCertificate((_m, leaf) => switched.push(leaf.fingerprint256))
  let sawTwo = false
  // Walk through 2.5 lifetimes in 500 ms steps; after every pass of either replica, the
  // caBundle must trust what both serve.
  for (let i = 0; i < 450; i++) {
    clock.t += 500
    await (i % 2 === 0 ? a : b).sync()
    if (!cluster.trusts(a.served()) || !cluster.trusts(b.served())) {
      t.fail(`at +${i * 0.5}s the caBundle does not trust a served certificate`)
      return
    }
    if (cluster.bundleSize() === 2) sawTwo = true
    t.ok(cluster.bundleSize() <= 3, 'the caBundle stays small')
  }
  t.ok(sawTwo, 'old and new CA were published side by side')
  t.ok(switched.length >= 2, `replica a swapped its certificate in place (${switched.length} times)`)
  t.not(a.served()?.fingerprint256, first)
  await b.sync()
  t.equal(a.served()?.fingerprint256, b.served()?.fingerprint256, 'both replicas serve the same certificate')
  const expiry = new Date(a.served()?.validTo ?? 0).getTime()
  t.ok(expiry > clock.t, 'what is served has not expired')
})

t.test('an expired certificate is replaced at once', async (t) => {
  const cluster = new FakeCluster()
  const clock = { t: Date.now() }
  const a = manager(cluster, clock)
  await a.start()
  const before = a.served()?.fingerprint256
  clock.t += 120_000
  const restarted = manager(cluster, clock)
  await restarted.start()
  t.not(restarted.served()?.fingerprint256, before)
  t.ok(new Date(restarted.served()?.validTo ?? 0).getTime() > clock.t)
  t.ok(cluster.trusts(restarted.served()))
  t.equal(cluster.bundleSize(), 1, 'the expired CA is not kept')
})

t.test('the certificate covers the host of a url clientConfig', async (t) => {
  const cluster = new FakeCluster()
  cluster.vwc.webhooks = [{ name: 'a', caBundle: '', url: 'https://127.0.0.1:9443/validate' }]
  const a = manager(cluster, { t: Date.now() })
  await a.start()
  t.not(a.served()?.checkIP('127.0.0.1'), undefined)
})

t.test('a url added later makes a graceful renewal, not a broken one', async (t) => {
  const cluster = new FakeCluster()
  const clock = { t: Date.now() }
  const a = manager(cluster, clock)
  await a.start()
  cluster.vwc.webhooks = cluster.vwc.webhooks.map((w) => ({ ...w, url: 'https://webhook.example:9443/validate' }))
  cluster.vwc.resourceVersion = cluster.bump()
  await a.sync()
  t.equal(a.served()?.checkHost('webhook.example'), undefined, 'not served before its CA is published and settled')
  t.equal(cluster.bundleSize(), 2)
  clock.t += 3_500
  await a.sync()
  t.equal(a.served()?.checkHost('webhook.example'), 'webhook.example')
  t.ok(cluster.trusts(a.served()))
})

t.test('a stale replica does not undo a newer caBundle', async (t) => {
  const cluster = new FakeCluster()
  const clock = { t: Date.now() }
  const a = manager(cluster, clock)
  await a.start()
  const bundle = cluster.vwc.webhooks[0]?.caBundle
  cluster.vwc = { ...cluster.vwc, bundleGeneration: 99, resourceVersion: cluster.bump(), webhooks: cluster.vwc.webhooks.map((w) => ({ ...w, caBundle: 'written from a newer Secret' })) }
  await a.sync()
  t.equal(cluster.vwc.webhooks[0]?.caBundle, 'written from a newer Secret')
  t.not(bundle, undefined)
})

t.test('a Secret that is not ours stops the start with what to do', async (t) => {
  const cluster = new FakeCluster()
  cluster.secret = { resourceVersion: '5', labels: {}, annotations: {}, data: { 'tls.crt': 'not a certificate' } }
  const err = await manager(cluster, { t: Date.now() }).start().then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof CertStartError, 'refused at start')
  t.match(String((err as Error).message), /not one pod-preflight manages[\s\S]*--tls-cert/)
  t.equal(cluster.secret.data['tls.crt'], 'not a certificate', 'the user\'s Secret is left alone')
})

t.test('an empty Secret (made by an installer) is filled in', async (t) => {
  const cluster = new FakeCluster()
  cluster.secret = { resourceVersion: '5', labels: {}, annotations: {}, data: {} }
  const a = manager(cluster, { t: Date.now() })
  await a.start()
  t.ok(cluster.trusts(a.served()))
})

t.test('a forbidden Secret stops the start with the permission to grant', async (t) => {
  const cluster = new FakeCluster()
  cluster.secretStatus = 403
  const err = await manager(cluster, { t: Date.now() }).start().then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof CertStartError, 'refused at start')
  t.match(String((err as Error).message), /403/)
})

t.test('no webhook configuration yet: the certificate is served and published once it appears', async (t) => {
  const cluster = new FakeCluster()
  cluster.vwc.exists = false
  const a = manager(cluster, { t: Date.now() })
  await a.start()
  t.ok(a.served())
  cluster.vwc.exists = true
  await a.sync()
  t.ok(cluster.trusts(a.served()))
})

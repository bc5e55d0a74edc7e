/**
 * What the listening server holds to under clients that misbehave: the TLS versions and suites
 * it accepts, a slow client cut at the configured request timeout, and a SIGTERM that ends the
 * process before its deadline even while a client holds a request open.
 */
import t, { type Test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { startServer, type RunningServer, type ServerOptions } from '../../src/admission/server.js'
import { createLogger } from '../../src/admission/logger.js'
import { connectionTimeouts } from '../../src/admission/app.js'
import { pod, review, TEST_RULES } from './helpers.js'
import { request as httpsRequest } from 'node:https'
import { open as openFile } from 'node:fs/promises'

const run = promisify(execFile)
const GENERATE = new URL('../../certs/generate.sh', import.meta.url).pathname
const BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname
const logger = createLogger('silent')

async function certDir(t: Test): Promise<{ dir: string; ca: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'pp-serving-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await run('bash', [GENERATE, '--out', dir, '--dev'])
  await writeFile(join(dir, 'policy.yaml'), 'apiVersion: pod-preflight/v1\nkind: Policy\nmetadata:\n  name: p\nrules:\n  test-broken-tag: { action: deny }\n')
  return { dir, ca: await readFile(join(dir, 'ca.crt')) }
}

async function start(t: Test, dir: string, extra: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const s = await startServer({ host: '127.0.0.1', port: 0, tlsCert: join(dir, 'tls.crt'), tlsKey: join(dir, 'tls.key'), reloadIntervalMs: 0, rules: TEST_RULES, policyFile: join(dir, 'policy.yaml'), logger, ...extra })
  t.teardown(() => s.close())
  return s
}

/** Resolves with the negotiated protocol and cipher, or rejects with the handshake error. */
function handshake(port: number, ca: Buffer, o: ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...o }, () => {
      const r = { protocol: s.getProtocol(), cipher: s.getCipher().name }
      s.end()
      resolve(r)
    })
    s.on('error', reject)
  })
}

/** Opens a TLS connection; resolves once it is up. */
function open(port: number, ca: Buffer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => resolve(s))
    s.on('error', reject)
  })
}

/** Milliseconds until the server closes `s`; collects what it sent. */
function closedAfter(s: TLSSocket, from: number): Promise<{ ms: number; received: string }> {
  let received = ''
  s.on('data', (c: Buffer) => (received += c.toString('utf8')))
  s.on('error', () => undefined)
  return new Promise((resolve) => s.once('close', () => resolve({ ms: performance.now() - from, received })))
}

t.test('TLS: 1.2 with ECDHE and AEAD suites, or 1.3; nothing older or weaker', async (t) => {
  const { dir, ca } = await certDir(t)
  const s = await start(t, dir)
  const tls13 = await handshake(s.port, ca, {})
  t.equal(tls13.protocol, 'TLSv1.3', 'a modern client gets TLS 1.3')
  const gcm = await handshake(s.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256' })
  t.equal(gcm.protocol, 'TLSv1.2')
  t.match(gcm.cipher, /^ECDHE-(RSA|ECDSA)-AES128-GCM-SHA256$/, 'ECDHE with AES-GCM is accepted on TLS 1.2')
  const chacha = await handshake(s.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-CHACHA20-POLY1305' })
  t.match(chacha.cipher, /CHACHA20-POLY1305$/, 'ChaCha20-Poly1305 is accepted')
  const preferred = await handshake(s.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256' })
  t.match(preferred.cipher, /AES128-GCM/, "the server's order wins over the client's")

  await t.rejects(handshake(s.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA256:AES128-GCM-SHA256' }), 'RSA key exchange (no forward secrecy) is refused')
  await t.rejects(handshake(s.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA' }), 'CBC suites are refused, even with ECDHE')
  // The client allows TLS 1.1 itself (security level 0), so the refusal is the server's.
  await t.rejects(handshake(s.port, ca, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), /protocol|version/i, 'TLS 1.1 is refused')
})

t.test('a slow client is cut at the configured request timeout, not 30-90 s later', async (t) => {
  t.same(connectionTimeouts(30_000), { requestTimeout: 30_000, headersTimeout: 30_000, connectionsCheckingInterval: 1000, handshakeTimeout: 30_000 }, 'one value for all; checked every second')
  t.equal(connectionTimeouts(1000).connectionsCheckingInterval, 100)
  const { dir, ca } = await certDir(t)
  const s = await start(t, dir, { requestTimeoutMs: 1000 })

  // Headers one byte every 100 ms, never finished.
  const a = await open(s.port, ca)
  const t0 = performance.now()
  const aClosed = closedAfter(a, t0)
  const headers = 'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Slow: ' + 'x'.repeat(200)
  let i = 0
  const drip = setInterval(() => {
    if (!a.destroyed && i < headers.length) a.write(headers[i++] ?? '')
  }, 100)
  // A body one byte every 100 ms after complete headers, never finished.
  const b = await open(s.port, ca)
  const t1 = performance.now()
  const bClosed = closedAfter(b, t1)
  b.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{')
  const drip2 = setInterval(() => {
    if (!b.destroyed) b.write(' ')
  }, 100)
  const [ra, rb] = await Promise.all([aClosed, bClosed])
  clearInterval(drip)
  clearInterval(drip2)
  t.ok(ra.ms >= 900 && ra.ms < 3000, `slow headers cut after ${Math.round(ra.ms)} ms (configured 1000)`)
  t.ok(rb.ms >= 900 && rb.ms < 3000, `slow body cut after ${Math.round(rb.ms)} ms (configured 1000)`)
  t.match(rb.received, /^HTTP\/1\.1 408/, 'the slow body is answered 408 Request Timeout')

  // A client that completes in time is served as before.
  const c = await open(s.port, ca)
  const cDone = closedAfter(c, performance.now())
  c.end('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  t.match((await cDone).received, /^HTTP\/1\.1 200/)
})

t.test('a client that closes mid-body is counted as an abort, not as a bad review', async (t) => {
  const { dir, ca } = await certDir(t)
  const s = await start(t, dir)
  const c = await open(s.port, ca)
  const closed = closedAfter(c, 0)
  c.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":')
  await new Promise((r) => setTimeout(r, 200))
  c.destroy()
  await closed
  for (let i = 0; i < 50 && s.metrics.clientAborts.value({}) === 0; i++) await new Promise((r) => setTimeout(r, 20))
  t.equal(s.metrics.clientAborts.value({}), 1, 'counted as a client abort')
  const metrics = s.metrics.registry.render()
  t.notMatch(metrics, /^pod_preflight_admission_bad_requests_total\{/m, 'no bad request counted')
  // A complete but malformed body still is a bad request.
  const d = await open(s.port, ca)
  const dDone = closedAfter(d, 0)
  d.end('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
  t.match((await dDone).received, /^HTTP\/1\.1 400/)
  t.match(s.metrics.registry.render(), /^pod_preflight_admission_bad_requests_total\{code="PP_ADM_NOT_JSON"\} 1$/m)
  t.equal(s.metrics.clientAborts.value({}), 1)
})

t.test('--metrics-port: /metrics on its own plain-HTTP port, and not on the webhook port', async (t) => {
  const { dir, ca } = await certDir(t)
  const s = await start(t, dir, { metricsPort: 0 })
  t.match(s.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
  const url = s.metricsUrl ?? ''
  const res = await fetch(url)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  t.match(await res.text(), /^pod_preflight_ready 1$/m)
  t.equal((await fetch(url.replace('/metrics', '/validate'), { method: 'POST', body: '{}' })).status, 404, 'the metrics port serves nothing else')
  t.equal((await fetch(url, { method: 'POST', body: '' })).status, 405)
  const onWebhook = await open(s.port, ca)
  const done = closedAfter(onWebhook, 0)
  onWebhook.end('GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  const got = await done
  t.match(got.received, /^HTTP\/1\.1 404/, 'the webhook port no longer serves /metrics')
  t.match(got.received, /PP_ADM_NOT_FOUND/)
  // Without the flag, /metrics stays on the webhook port.
  const plain = await start(t, dir)
  t.equal(plain.metricsUrl, undefined)
  const w = await open(plain.port, ca)
  const wDone = closedAfter(w, 0)
  w.end('GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  t.match((await wDone).received, /^HTTP\/1\.1 200[\s\S]*pod_preflight_ready/)
})

t.test('SIGTERM with a request held open: the process exits at the shutdown deadline', async (t) => {
  const { dir, ca } = await certDir(t)
  const child = spawn(
    process.execPath,
    ['--import=tsx', BIN, 'serve', '--port=0', `--tls-cert=${join(dir, 'tls.crt')}`, `--tls-key=${join(dir, 'tls.key')}`, '--shutdown-delay=0s', '--shutdown-timeout=1s', '--request-timeout=60s'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let logs = ''
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      logs += c.toString('utf8')
      const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(logs)
      if (m !== null) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening: ${logs}`)))
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  // Headers and part of a body, then nothing: the request stays open.
  const held = await open(port, ca)
  const heldClosed = closedAfter(held, 0)
  held.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"apiVersion":')
  await new Promise((r) => setTimeout(r, 300))
  const t0 = performance.now()
  child.kill('SIGTERM')
  const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8000))])
  const ms = performance.now() - t0
  t.equal(code, 0, 'exits cleanly')
  t.ok(ms >= 900 && ms < 4000, `exited ${Math.round(ms)} ms after SIGTERM (deadline 1000 ms)`)
  await heldClosed
  t.ok(held.destroyed || held.readableEnded, 'the held connection was closed by the server')
  t.match(logs, /shutdown deadline reached; closing the connections left/)
  t.match(logs, /"msg":"stopped"/)
})

t.test('serve writes its log to a stderr that is a file: every review line whole, and the last lines flushed at exit', async (t) => {
  const { dir, ca } = await certDir(t)
  const logPath = join(dir, 'serve.log')
  const log = await openFile(logPath, 'w')
  const child = spawn(process.execPath, ['--import=tsx', BIN, 'serve', '--host=127.0.0.1', '--port=0', `--tls-cert=${join(dir, 'tls.crt')}`, `--tls-key=${join(dir, 'tls.key')}`, '--shutdown-delay=0s'], {
    stdio: ['ignore', 'ignore', log.fd],
  })
  await log.close()
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let port = 0
  for (let i = 0; i < 300 && port === 0; i++) {
    await new Promise((r) => setTimeout(r, 100))
    port = Number(/"port":(\d+)[^\n]*"msg":"listening"/.exec(await readFile(logPath, 'utf8'))?.[1] ?? 0)
  }
  t.ok(port > 0, 'listening was logged')
  const post = (body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end(body)
    })
  const n = 40
  const statuses = await Promise.all(Array.from({ length: n }, (_, i) => post(JSON.stringify(review(pod(), { uid: `uid-${i}` })))))
  t.same(new Set(statuses), new Set([200]), 'every review answered')
  child.kill('SIGTERM')
  t.equal(await exited, 0)
  const lines = (await readFile(logPath, 'utf8')).split('\n').filter((l) => l !== '')
  const parsed = lines.map((l) => JSON.parse(l) as { msg?: string; uid?: string })
  const uids = new Set(parsed.filter((l) => l.msg === 'review').map((l) => l.uid))
  t.equal(uids.size, n, 'one whole JSON line per review')
  t.equal(parsed.at(-1)?.msg, 'stopped', 'the last line, written as the process ends, is there')
})

/**
 * What the listening server holds to under clients that misbehave: the TLS versions and suites
 * it accepts, a slow client cut at the configured request timeout, and a SIGTERM that ends the
 * process before its deadline even while a client holds a request open; and the same with
 * --http2, over h2 and over HTTP/1.1 on that server.
 */
import t, { type Test } from 'tap'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { connect as http2connect, type ClientHttp2Session } from 'node:http2'
import { startServer, type RunningServer, type ServerOptions } from '../../src/admission/server.js'
import { createLogger } from '../../src/admission/logger.js'
import { connectionTimeouts } from '../../src/admission/app.js'
import { pod, review, TEST_RULES } from './helpers.js'
import { request as httpsRequest } from 'node:https'
import { open as openFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'

const run = promisify(execFile)
const GENERATE = new URL('../../certs/generate.sh', import.meta.url).pathname
const BIN = new URL('../../src/cli/bin.ts', import.meta.url).pathname
const DIST_BIN = new URL('../../dist/cli/bin.js', import.meta.url).pathname
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

/** An HTTP/1.1 request whose body comes one byte every 100 ms after complete headers, never finished; resolves when the server closes it. */
async function slowBody(port: number, ca: Buffer): Promise<{ ms: number; received: string }> {
  const b = await open(port, ca)
  const closed = closedAfter(b, performance.now())
  b.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{')
  const drip = setInterval(() => {
    if (!b.destroyed) b.write(' ')
  }, 100)
  const r = await closed
  clearInterval(drip)
  return r
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
  const [ra, rb] = await Promise.all([aClosed, slowBody(s.port, ca)])
  clearInterval(drip)
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

/**
 * `serve` started as a program on a free port, its stderr (the log) a file: returns the port once
 * the listening line is logged (with workers, the primary's, which names their pids and comes once
 * every worker listens), the log file, and the exit code to come.
 */
async function spawnServe(t: Test, dir: string, program: string[], args: string[]): Promise<{ port: number; logPath: string; exited: Promise<number | null>; child: ReturnType<typeof spawn> }> {
  const logPath = join(dir, 'serve.log')
  const log = await openFile(logPath, 'w')
  const child = spawn(process.execPath, [...program, 'serve', '--host=127.0.0.1', '--port=0', `--tls-cert=${join(dir, 'tls.crt')}`, `--tls-key=${join(dir, 'tls.key')}`, '--shutdown-delay=0s', ...args], {
    stdio: ['ignore', 'ignore', log.fd],
  })
  await log.close()
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const workers = args.some((a) => a.startsWith('--workers'))
  let port = 0
  for (let i = 0; i < 300 && port === 0; i++) {
    await new Promise((r) => setTimeout(r, 100))
    const line = (await readFile(logPath, 'utf8')).split('\n').find((l) => l.includes('"msg":"listening"') && (!workers || l.includes('"pids":')))
    port = Number(/"port":(\d+)/.exec(line ?? '')?.[1] ?? 0)
  }
  return { port, logPath, exited, child }
}

t.test('serve writes its log to a stderr that is a file: every review line whole, and the last lines flushed at exit', async (t) => {
  const { dir, ca } = await certDir(t)
  const { port, logPath, exited, child } = await spawnServe(t, dir, ['--import=tsx', BIN], [])
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

// The built CLI, as users run it (with --workers, the primary forks the workers from it).
for (const extra of [[], ['--workers=2']]) t.test(`serve --review-log warned${extra.map((a) => ` ${a}`).join('')}: the built CLI logs the warned review, not the quiet one`, async (t) => {
  if (!existsSync(DIST_BIN)) throw new Error('dist/ is not built: npm run build first')
  const { dir, ca } = await certDir(t)
  const { port, logPath, exited, child } = await spawnServe(t, dir, [DIST_BIN], ['--review-log=warned', ...extra])
  t.ok(port > 0, 'listening was logged')
  const post = (body: string): Promise<{ allowed: boolean; warnings?: string[] }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => resolve((JSON.parse(text) as { response: { allowed: boolean; warnings?: string[] } }).response))
      })
      req.on('error', reject)
      req.end(body)
    })
  // A Pod as the default policy likes it, and one whose image reference cannot be pulled.
  const quiet = pod([{ name: 'app', image: 'nginx:1.27.0', command: ['/app/server'], resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '64Mi', 'ephemeral-storage': '1Gi' } }, livenessProbe: { httpGet: { path: '/healthz', port: 8080 } }, ports: [{ containerPort: 8080 }] }])
  const a = await post(JSON.stringify(review(quiet, { uid: 'uid-quiet' })))
  const b = await post(JSON.stringify(review(pod([{ name: 'app', image: 'Registry.Example/App:1.0' }]), { uid: 'uid-loud' })))
  t.ok(a.allowed && a.warnings === undefined, `the quiet Pod has nothing to say (${JSON.stringify(a.warnings ?? [])})`)
  t.notOk(b.allowed, 'the other is denied')
  child.kill('SIGTERM')
  t.equal(await exited, 0)
  const parsed = (await readFile(logPath, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { msg?: string; uid?: string; verdict?: string })
  t.same(parsed.filter((l) => l.msg === 'review').map((l) => [l.uid, l.verdict]), [['uid-loud', 'denied']], 'one review line: the denied one')
})

/** One HTTP/2 request on `session`; resolves with the status and body, however the stream ends. */
function h2request(session: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now()
  return new Promise((resolve) => {
    const req = session.request(headers)
    let status = 0
    let text = ''
    req.on('response', (h) => (status = Number(h[':status'])))
    req.setEncoding('utf8')
    req.on('data', (c: string) => (text += c))
    req.on('error', () => undefined)
    req.on('close', () => resolve({ status, body: text, ms: performance.now() - t0 }))
    if (body !== undefined) req.end(body)
  })
}

function h2connect(port: number, ca: Buffer): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost' }, () => resolve(session))
    session.on('error', reject)
  })
}

t.test('--http2: h2 for clients that offer it, HTTP/1.1 for the others, and the same TLS', async (t) => {
  const { dir, ca } = await certDir(t)
  const plain = await start(t, dir)
  const h2 = await start(t, dir, { http2: true })
  t.equal((await handshake(plain.port, ca, { ALPNProtocols: ['h2', 'http/1.1'] })).protocol, 'TLSv1.3')
  const alpn = (port: number, protocols: string[]): Promise<string | false> =>
    new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: protocols }, () => {
        const p = s.alpnProtocol ?? false
        s.end()
        resolve(p)
      })
      s.on('error', reject)
    })
  t.equal(await alpn(plain.port, ['h2', 'http/1.1']), 'http/1.1', 'by default only HTTP/1.1 is chosen, even when h2 is offered')
  t.equal(await alpn(h2.port, ['h2', 'http/1.1']), 'h2', 'with --http2, h2 when the client offers it')
  t.equal(await alpn(h2.port, ['http/1.1']), 'http/1.1', 'and HTTP/1.1 for a client that offers only that (the API server)')
  // The TLS settings hold on the HTTP/2 server too.
  const gcm = await handshake(h2.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256' })
  t.match(gcm.cipher, /^ECDHE-(RSA|ECDSA)-AES128-GCM-SHA256$/)
  await t.rejects(handshake(h2.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA' }), 'CBC suites are refused')
  await t.rejects(handshake(h2.port, ca, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), /protocol|version/i, 'TLS 1.1 is refused')

  // Reviews, health and metrics over h2, several streams on one connection.
  const session = await h2connect(h2.port, ca)
  t.teardown(() => session.close())
  const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE', namespace: 'ns', name: 'p', userInfo: { username: 'a' }, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', image: 'a.example/b:broken' }] } } } })
  const [validated, healthy, ready] = await Promise.all([
    h2request(session, { ':method': 'POST', ':path': '/validate', 'content-type': 'application/json' }, review),
    h2request(session, { ':path': '/healthz' }),
    h2request(session, { ':path': '/readyz' }),
  ])
  t.equal(validated.status, 200)
  t.match(validated.body, /"uid":"u-1"/)
  t.match(validated.body, /"allowed":false/, 'the review is judged over h2')
  t.equal(healthy.status, 200)
  t.equal(ready.status, 200)
  const big = await h2request(session, { ':method': 'POST', ':path': '/validate', 'content-type': 'application/json' }, 'x'.repeat(8 * 1024 * 1024))
  t.equal(big.status, 400, 'the body limit holds over h2')
  t.match(big.body, /PP_ADM_BODY_TOO_LARGE/)
  const metrics = (await h2request(session, { ':path': '/metrics' })).body
  t.match(metrics, /^pod_preflight_admission_reviews_total\{kind="Pod",operation="CREATE",verdict="denied"\} 1$/m)
  t.match(metrics, /^pod_preflight_tls_connections_total\{protocol="h2"\} [1-9]\d*$/m, 'connections are counted by the protocol chosen')
  t.match(metrics, /^pod_preflight_tls_connections_total\{protocol="http\/1\.1"\} [1-9]\d*$/m)
  t.match(plain.metrics.registry.render(), /^pod_preflight_tls_connections_total\{protocol="http\/1\.1"\} [1-9]\d*$/m)
  t.notMatch(plain.metrics.registry.render(), /protocol="h2"/)
})

t.test('--http2: a slow client is cut at the request timeout over h2 and over HTTP/1.1', async (t) => {
  const { dir, ca } = await certDir(t)
  const s = await start(t, dir, { http2: true, requestTimeoutMs: 1000 })
  // h2: a body one byte every 100 ms, never finished.
  const session = await h2connect(s.port, ca)
  t.teardown(() => session.destroy())
  const t0 = performance.now()
  const req = session.request({ ':method': 'POST', ':path': '/validate', 'content-type': 'application/json', 'content-length': '1000' })
  let status = 0
  let text = ''
  req.on('response', (h) => (status = Number(h[':status'])))
  req.setEncoding('utf8')
  req.on('data', (c: string) => (text += c))
  req.on('error', () => undefined)
  req.write('{')
  const drip = setInterval(() => {
    if (!req.destroyed && req.writable) req.write(' ')
  }, 100)
  await new Promise((r) => req.once('close', r))
  clearInterval(drip)
  const ms = performance.now() - t0
  t.ok(ms >= 900 && ms < 3000, `slow h2 body cut after ${Math.round(ms)} ms (configured 1000)`)
  t.equal(status, 408, 'answered 408 Request Timeout')
  t.match(text, /PP_ADM_REQUEST_TIMEOUT/)
  t.notOk(session.destroyed || session.closed, 'the connection stays for the other streams')
  t.equal((await h2request(session, { ':path': '/healthz' })).status, 200, 'and serves the next request')

  // A body over the limit is refused before it has all arrived; a client that goes on sending
  // it slowly has its stream closed at the timeout, and the server stays up.
  const over = session.request({ ':method': 'POST', ':path': '/validate', 'content-type': 'application/json', 'content-length': String(9 * 1024 * 1024) })
  let overStatus = 0
  over.on('response', (h) => (overStatus = Number(h[':status'])))
  over.on('error', () => undefined)
  over.resume()
  over.write('x'.repeat(8 * 1024 * 1024))
  const t2 = performance.now()
  const drip3 = setInterval(() => {
    if (!over.destroyed && over.writable) over.write(' ')
  }, 100)
  await new Promise((r) => over.once('close', r))
  clearInterval(drip3)
  const overMs = performance.now() - t2
  t.equal(overStatus, 400, 'refused as too large')
  t.ok(overMs < 3000, `the slow rest of it is stopped after ${Math.round(overMs)} ms`)
  const fresh = await h2connect(s.port, ca)
  t.teardown(() => fresh.close())
  t.equal((await h2request(fresh, { ':path': '/healthz' })).status, 200, 'the server is still up')

  // HTTP/1.1 on the same server: Node's HTTP/2 server takes no timeout options, the properties hold.
  const rb = await slowBody(s.port, ca)
  t.ok(rb.ms >= 900 && rb.ms < 3000, `slow HTTP/1.1 body cut after ${Math.round(rb.ms)} ms (configured 1000)`)
  t.match(rb.received, /^HTTP\/1\.1 408/)
})

t.test('--http2: close() ends idle h2 connections at once, and a held stream at the shutdown deadline', async (t) => {
  const { dir, ca } = await certDir(t)
  const idle = await start(t, dir, { http2: true, shutdownTimeoutMs: 5000 })
  const session = await h2connect(idle.port, ca)
  t.equal((await h2request(session, { ':path': '/healthz' })).status, 200)
  const sessionClosed = new Promise((r) => session.once('close', r))
  const t0 = performance.now()
  await idle.close()
  const ms = performance.now() - t0
  t.ok(ms < 2000, `closed in ${Math.round(ms)} ms with an idle h2 connection open (deadline 5000 ms)`)
  await sessionClosed
  t.pass('the client was told to go away and its connection ended')

  const held = await start(t, dir, { http2: true, shutdownTimeoutMs: 1000, requestTimeoutMs: 60_000 })
  const s2 = await h2connect(held.port, ca)
  s2.on('error', () => undefined)
  const req = s2.request({ ':method': 'POST', ':path': '/validate', 'content-type': 'application/json', 'content-length': '5000' })
  req.on('error', () => undefined)
  req.write('{"apiVersion":')
  await new Promise((r) => setTimeout(r, 300))
  const s2Closed = new Promise((r) => s2.once('close', r))
  const t1 = performance.now()
  await held.close()
  const ms2 = performance.now() - t1
  t.ok(ms2 >= 900 && ms2 < 4000, `close() returned ${Math.round(ms2)} ms after it began, with a stream held open (deadline 1000 ms)`)
  await s2Closed
  t.pass('the held connection was closed by the server')
})

t.test('--http2: a reloaded certificate is served over h2 as well', async (t) => {
  const { dir, ca } = await certDir(t)
  const s = await start(t, dir, { http2: true })
  const other = await mkdtemp(join(tmpdir(), 'pp-serving-2-'))
  t.teardown(() => rm(other, { recursive: true, force: true }))
  await run('bash', [GENERATE, '--out', other, '--dev'])
  const ca2 = await readFile(join(other, 'ca.crt'))
  await writeFile(join(dir, 'tls.key'), await readFile(join(other, 'tls.key')))
  await writeFile(join(dir, 'tls.crt'), await readFile(join(other, 'tls.crt')))
  await s.reloadNow()
  await t.rejects(h2connect(s.port, ca), 'the old CA no longer verifies it')
  const session = await h2connect(s.port, ca2)
  t.teardown(() => session.close())
  t.equal(session.alpnProtocol, 'h2', 'h2 is still offered with the new certificate')
  t.equal((await h2request(session, { ':path': '/healthz' })).status, 200)
})

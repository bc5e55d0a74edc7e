/**
 * serve --workers: the primary's pool and the worker's side, driven through their own
 * interfaces (WorkerProcess, PrimaryChannel) without forking; the real processes are tested in
 * test/e2e/workers.test.ts.
 */
import t from 'tap'
import { EventEmitter } from 'node:events'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { promisify } from 'node:util'
import { request } from 'node:https'
import { join } from 'node:path'
import pino from 'pino'
import { Writable } from 'node:stream'
import { createMetrics, mergeSnapshots, renderSnapshot, Registry } from '../../src/admission/metrics.js'
import { runWorker, WorkerPool, WorkerStartError, type FromWorker, type PrimaryChannel, type ToWorker, type WorkerProcess } from '../../src/admission/workers.js'
import { RULES } from '../../src/rules/index.js'
import { parseServeArgs } from '../../src/cli/commands/serve.js'
import { main } from '../../src/cli/main.js'
import { memoryIO } from '../../src/cli/io.js'

const GENERATE = new URL('../../certs/generate.sh', import.meta.url).pathname

function logger(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    },
  })
  return { log: pino({ level: 'debug' }, stream), lines }
}

/** A worker that answers as a real one would, from a registry of its own. */
class FakeWorker implements WorkerProcess {
  static nextPid = 1000
  readonly pid = FakeWorker.nextPid++
  readonly events = new EventEmitter()
  readonly received: ToWorker[] = []
  readonly registry = new Registry()
  readonly reviews = this.registry.counter('reviews_total', 'reviews', ['verdict'])
  readonly ready = this.registry.gauge('ready', 'ready', [], 'min')
  readonly rss = this.registry.gauge('rss_bytes', 'rss')
  missing: string[] = []
  /** Answer report requests (false: a worker that hangs). */
  answers = true
  killed: NodeJS.Signals[] = []
  exitOnShutdown = true

  send(message: ToWorker): void {
    this.received.push(message)
    if (message.t === 'report' && this.answers) {
      this.ready.set({}, this.missing.length === 0 ? 1 : 0)
      const m: FromWorker = { t: 'report', id: message.id, snapshot: this.registry.snapshot(), readiness: { missing: this.missing, details: ['cluster view: synced'] } }
      setImmediate(() => this.events.emit('message', m))
    }
    if (message.t === 'shutdown' && this.exitOnShutdown) setImmediate(() => this.exit(0, null))
  }
  kill(signal: NodeJS.Signals): void {
    this.killed.push(signal)
    setImmediate(() => this.exit(null, signal))
  }
  onMessage(listener: (message: FromWorker) => void): void {
    this.events.on('message', listener)
  }
  onExit(listener: (code: number | null, signal: string | null) => void): void {
    this.events.on('exit', listener)
  }
  say(m: FromWorker): void {
    this.events.emit('message', m)
  }
  exit(code: number | null, signal: string | null): void {
    this.events.emit('exit', code, signal)
  }
}

const TLS = { cert: Buffer.from('CERT'), key: Buffer.from('KEY') }

function pool(count: number, extra: { draining?: () => boolean; now?: () => number; backoff?: { initialMs: number; maxMs: number; resetAfterMs: number } } = {}) {
  const forked: FakeWorker[] = []
  const { log, lines } = logger()
  const metrics = createMetrics()
  const p = new WorkerPool({
    count,
    fork: () => {
      const w = new FakeWorker()
      forked.push(w)
      return w
    },
    logger: log,
    metrics,
    state: () => ({ tls: TLS, policy: { text: 'mode: audit', source: 'p.yaml' } }),
    readiness: () => ({ missing: extra.draining?.() === true ? ['shutdown'] : [], details: ['policy: p (audit)'] }),
    backoff: extra.backoff ?? { initialMs: 10, maxMs: 40, resetAfterMs: 60_000 },
    reportTimeoutMs: 200,
    ...(extra.now !== undefined ? { now: extra.now } : {}),
  })
  return { p, forked, lines, metrics }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Waits (at most 5 s: a loaded machine delays timers) until `ok` holds. */
async function until(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!ok() && Date.now() < deadline) await sleep(5)
}

async function started(count: number, extra: Parameters<typeof pool>[1] = {}) {
  const x = pool(count, extra)
  const port = x.p.start()
  for (const w of x.forked) {
    w.say({ t: 'hello' })
    w.say({ t: 'listening', port: 8443 })
  }
  if ((await port) !== 8443) throw new Error('start() resolved with another port')
  return x
}

t.test('a new worker is sent the certificate and the policy in force when it says hello', async (t) => {
  const { p, forked } = pool(2)
  const port = p.start()
  t.equal(forked.length, 2, 'forks one process per worker')
  forked[0]?.say({ t: 'hello' })
  t.same(forked[0]?.received, [
    { t: 'tls', cert: 'CERT', key: 'KEY' },
    { t: 'policy', policy: { text: 'mode: audit', source: 'p.yaml' } },
  ])
  t.same(forked[1]?.received, [], 'nothing before its hello')
  forked[0]?.say({ t: 'listening', port: 9443 })
  let resolved = false
  void port.then(() => (resolved = true))
  await sleep(10)
  t.notOk(resolved, 'start() waits for every worker')
  forked[1]?.say({ t: 'hello' })
  forked[1]?.say({ t: 'listening', port: 9443 })
  t.equal(await port, 9443)
  p.broadcast({ t: 'policy', policy: { text: 'mode: enforce', source: 'p.yaml' } })
  for (const w of forked) t.same(w.received.at(-1), { t: 'policy', policy: { text: 'mode: enforce', source: 'p.yaml' } }, 'a broadcast reaches every worker')
  await p.shutdown(1000)
})

t.test('a worker that fails to start fails the start, with its error code', async (t) => {
  const { p, forked } = pool(2)
  const port = p.start()
  forked[1]?.say({ t: 'failed', message: 'listen EADDRINUSE', code: 'EADDRINUSE' })
  const err = await port.catch((e: unknown) => e)
  t.ok(err instanceof WorkerStartError)
  t.equal((err as WorkerStartError).code, 'EADDRINUSE')
  await p.shutdown(200)
})

t.test('one scrape adds up every worker: counters summed, gauges as declared, the pod ready only when all are', async (t) => {
  const { p, forked } = await started(3)
  forked.forEach((w, i) => {
    w.reviews.inc({ verdict: 'allowed' }, 10 * (i + 1))
    w.rss.set({}, 100)
  })
  forked[2]?.reviews.inc({ verdict: 'denied' }, 4)
  let text = await p.metricsText()
  t.match(text, /^reviews_total\{verdict="allowed"\} 60$/m, '10 + 20 + 30')
  t.match(text, /^reviews_total\{verdict="denied"\} 4$/m)
  t.match(text, /^rss_bytes 300$/m, 'memory is the pod\'s: summed')
  t.match(text, /^ready 1$/m)
  t.match(text, /^pod_preflight_ready 1$/m)
  t.match(text, /^pod_preflight_workers 3$/m)
  t.same(await p.readiness(), { missing: [], details: ['policy: p (audit)', 'cluster view: synced'] }, 'the same detail line of several workers shows once')

  if (forked[1] !== undefined) forked[1].missing = ['cluster view']
  text = await p.metricsText()
  t.match(text, /^ready 0$/m, 'a gauge merged by its lowest value: one worker not ready makes the pod not ready')
  t.match(text, /^pod_preflight_ready 0$/m)
  t.same((await p.readiness()).missing, ['worker 2: cluster view'])

  if (forked[1] !== undefined) {
    forked[1].missing = []
    forked[1].answers = false
  }
  forked[1]?.reviews.inc({ verdict: 'allowed' }, 5)
  text = await p.metricsText()
  t.match(text, /^reviews_total\{verdict="allowed"\} 60$/m, 'a worker that does not answer counts with its last report')
  t.same((await p.readiness()).missing, ['worker 2 (not answering)'])
  await p.shutdown(1000)
})

t.test('a crashed worker is replaced after a backoff, logged and counted; what it counted stays counted', async (t) => {
  const { p, forked, lines } = await started(2)
  forked[0]?.reviews.inc({ verdict: 'allowed' }, 7)
  forked[1]?.reviews.inc({ verdict: 'allowed' }, 3)
  await p.metricsText()
  const dead = forked[0]
  dead?.exit(null, 'SIGKILL')
  t.same(p.pids(), [undefined, forked[1]?.pid], 'slot 1 waits for its restart')
  t.same((await p.readiness()).missing, ['worker 1 (restarting)'], 'not ready while a worker is missing')
  const line = lines.find((l) => l['msg'] === 'worker exited unexpectedly; starting another')
  t.equal(line?.['signal'], 'SIGKILL')
  t.equal(line?.['slot'], 1)
  t.equal(line?.['restartInMs'], 10)
  await until(() => forked.length === 3)
  t.equal(forked.length, 3, 'a new process took the slot')
  const fresh = forked[2]
  fresh?.say({ t: 'hello' })
  t.same(fresh?.received.map((m) => m.t), ['tls', 'policy'], 'the new worker gets the certificate and policy in force')
  t.equal(p.restartCount(), 1)
  fresh?.reviews.inc({ verdict: 'allowed' }, 1)
  const text = await p.metricsText()
  t.match(text, /^reviews_total\{verdict="allowed"\} 11$/m, '7 from the dead worker + 3 + 1')
  t.match(text, /^pod_preflight_worker_restarts_total 1$/m)
  await p.shutdown(1000)
})

t.test('the backoff doubles for a worker that keeps crashing, up to its ceiling, and resets after a long run', async (t) => {
  let clock = 0
  const { p, forked, lines } = await started(1, { now: () => clock, backoff: { initialMs: 5, maxMs: 20, resetAfterMs: 1000 } })
  const delays: unknown[] = []
  for (let i = 0; i < 4; i++) {
    forked.at(-1)?.exit(1, null)
    delays.push(lines.filter((l) => l['msg'] === 'worker exited unexpectedly; starting another').at(-1)?.['restartInMs'])
    await until(() => forked.length === i + 2)
  }
  t.same(delays, [5, 10, 20, 20])
  clock += 5000
  forked.at(-1)?.exit(1, null)
  t.equal(lines.filter((l) => l['msg'] === 'worker exited unexpectedly; starting another').at(-1)?.['restartInMs'], 5, 'after a run longer than resetAfterMs')
  await until(() => forked.length === 6)
  await p.shutdown(1000)
})

t.test('shutdown asks every worker to close, kills those still running at the deadline, and restarts none', async (t) => {
  const { p, forked, lines } = await started(2)
  if (forked[1] !== undefined) forked[1].exitOnShutdown = false
  const t0 = Date.now()
  await p.shutdown(150)
  t.ok(Date.now() - t0 >= 140, 'waited for the deadline')
  for (const w of forked) t.ok(w.received.some((m) => m.t === 'shutdown'))
  t.same(forked[0]?.killed, [], 'the worker that closed was not killed')
  t.same(forked[1]?.killed, ['SIGKILL'])
  t.ok(lines.some((l) => l['msg'] === 'workers still running at the shutdown deadline; killing them'))
  await sleep(30)
  t.equal(forked.length, 2, 'no restart during shutdown')
})

t.test('a worker asking for /metrics or /readyz gets the pod\'s answer', async (t) => {
  const { p, forked } = await started(2)
  forked[1]?.reviews.inc({ verdict: 'allowed' }, 2)
  forked[0]?.say({ t: 'ask', id: 7, what: 'metrics' })
  forked[1]?.say({ t: 'ask', id: 8, what: 'readiness' })
  await until(() => forked.every((w) => w.received.some((x) => x.t === 'answer')))
  const m = forked[0]?.received.find((x) => x.t === 'answer')
  t.ok(m !== undefined && m.t === 'answer' && m.id === 7 && /reviews_total\{verdict="allowed"\} 2/.test(m.text ?? ''))
  const r = forked[1]?.received.find((x) => x.t === 'answer')
  t.same(r, { t: 'answer', id: 8, readiness: { missing: [], details: ['policy: p (audit)', 'cluster view: synced'] } })
  await p.shutdown(1000)
})

t.test('mergeSnapshots: histograms add bucket by bucket; a name with another type is not mixed in', async (t) => {
  const a = new Registry()
  const b = new Registry()
  a.histogram('d', 'd', [], [0.1, 1]).observe({}, 0.05)
  b.histogram('d', 'd', [], [0.1, 1]).observe({}, 0.5)
  b.gauge('x', 'x').set({}, 3)
  const c = new Registry()
  c.counter('x', 'x').inc({}, 9)
  const text = renderSnapshot(mergeSnapshots([a.snapshot(), b.snapshot(), c.snapshot()]))
  t.match(text, /^d_bucket\{le="0.1"\} 1$/m)
  t.match(text, /^d_bucket\{le="1"\} 2$/m)
  t.match(text, /^d_count 2$/m)
  t.match(text, /^x 3$/m)
  t.notMatch(text, /^x 12$/m)
  t.equal(renderSnapshot(a.snapshot()), a.render(), 'a snapshot renders as the registry does')
})

/** The primary's end of a worker's channel. */
class FakePrimary implements PrimaryChannel {
  readonly sent: FromWorker[] = []
  private readonly events = new EventEmitter()
  send(m: FromWorker): void {
    this.sent.push(m)
    this.events.emit('sent', m)
  }
  onMessage(listener: (m: ToWorker) => void): void {
    this.events.on('to', listener)
  }
  onDisconnect(listener: () => void): void {
    this.events.on('disconnect', listener)
  }
  tell(m: ToWorker): void {
    this.events.emit('to', m)
  }
  disconnect(): void {
    this.events.emit('disconnect')
  }
  next(t: FromWorker['t']): Promise<FromWorker> {
    const seen = this.sent.find((m) => m.t === t)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve) => {
      const on = (m: FromWorker): void => {
        if (m.t !== t) return
        this.events.off('sent', on)
        resolve(m)
      }
      this.events.on('sent', on)
    })
  }
}

function get(port: number, path: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('a worker serves with the primary\'s certificate and policy, answers /readyz through the primary, and closes when told', async (t) => {
  const certs = await mkdtemp(join(tmpdir(), 'pp-workers-'))
  t.teardown(() => rm(certs, { recursive: true, force: true }))
  await promisify(execFile)('bash', [GENERATE, '--out', certs, '--dev'])
  const [cert, key, ca] = await Promise.all([readFile(join(certs, 'tls.crt'), 'utf8'), readFile(join(certs, 'tls.key'), 'utf8'), readFile(join(certs, 'ca.crt'), 'utf8')])
  const primary = new FakePrimary()
  const { log } = logger()
  const done = runWorker({ host: '127.0.0.1', port: 0, rules: RULES, logger: log }, primary, 1000)
  await primary.next('hello')
  primary.tell({ t: 'tls', cert, key })
  primary.tell({ t: 'policy', policy: { text: 'apiVersion: pod-preflight/v1\nkind: Policy\nmetadata: { name: from-primary }\nmode: audit\n', source: 'p.yaml' } })
  const listening = await primary.next('listening')
  const port = listening.t === 'listening' ? listening.port : 0
  t.ok(port > 0)

  primary.tell({ t: 'report', id: 1 })
  const report = await primary.next('report')
  t.ok(report.t === 'report' && report.readiness.missing.length === 0, 'ready with the policy given')
  t.ok(report.t === 'report' && report.snapshot.some((m) => m.name === 'pod_preflight_admission_reviews_total'), 'its metrics go with the report')

  const readyz = get(port, '/readyz', ca)
  const asked = await primary.next('ask')
  t.ok(asked.t === 'ask' && asked.what === 'readiness')
  if (asked.t === 'ask') primary.tell({ t: 'answer', id: asked.id, readiness: { missing: ['shutdown'], details: ['policy: from the primary'] } })
  t.same(await readyz, { status: 503, body: 'not ready: waiting for shutdown\npolicy: from the primary\n' }, '/readyz is the pod\'s, as the primary says')

  primary.tell({ t: 'shutdown' })
  t.equal(await done, 0)
})

t.test('a worker closes when the primary is gone', async (t) => {
  const primary = new FakePrimary()
  const { log } = logger()
  const done = runWorker({ host: '127.0.0.1', port: 0, rules: RULES, logger: log }, primary, 1000)
  await primary.next('hello')
  primary.disconnect()
  t.equal(await done, 0)
})

t.test('--workers: a whole number from 1 to 64, 1 by default; in --help and completion', async (t) => {
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b'])?.workers, 1)
  t.equal(parseServeArgs(['--tls-cert=a', '--tls-key=b', '--workers', '4'])?.workers, 4)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--workers=0']), /--workers: 0 is outside 1\.\.64/)
  t.throws(() => parseServeArgs(['--tls-cert=a', '--tls-key=b', '--workers=two']), /--workers: "two" is not a whole number/)
  const help = memoryIO()
  t.equal(await main(['serve', '--help'], help), 0)
  t.match(help.out(), /--workers <n>\s+worker processes sharing the webhook port/)
  const completion = memoryIO()
  t.equal(await main(['completion', 'bash'], completion), 0)
  t.match(completion.out(), /--workers/)
})

/**
 * A small HTTPS load generator for the webhook benchmark: keep-alive TLS connections speaking
 * just enough HTTP/1.1 (Content-Length bodies), so that the client costs far less CPU than the
 * servers it measures. Two modes:
 * - closed loop (`maxRate`): every connection sends its next request as soon as the answer is
 *   in; gives the highest rate the server sustains;
 * - open loop (`fixedRate`): requests are due at a fixed rate whatever the server does, and a
 *   request's latency counts from when it was due, so queueing shows (no coordinated omission).
 */
import { connect, type TLSSocket } from 'node:tls'
import { performance } from 'node:perf_hooks'

export interface Target {
  host: string
  port: number
  ca: Buffer
  path: string
}

export interface LoadResult {
  requests: number
  errors: number
  seconds: number
  rate: number
  /** Latencies in ms. */
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  /** CPU the client used, as a share of one core. */
  clientCpu: number
}

const CRLF2 = Buffer.from('\r\n\r\n')

function requestBytes(target: Target, body: Buffer): Buffer {
  const head = `POST ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), body])
}

/**
 * The requests to cycle through. With `unique`, every request gets its own copy with `token`
 * (a fixed-width placeholder in each body) overwritten by a sequence number, so that no two
 * requests carry the same object.
 */
class Requests {
  private readonly reqs: Buffer[]
  private readonly offsets: number[][]
  private n = 0
  constructor(target: Target, bodies: readonly Buffer[], private readonly unique: string | undefined) {
    this.reqs = bodies.map((b) => requestBytes(target, b))
    this.offsets = this.reqs.map((r) => {
      const found: number[] = []
      if (unique === undefined) return found
      for (let i = r.indexOf(unique); i >= 0; i = r.indexOf(unique, i + 1)) found.push(i)
      if (found.length === 0) throw new Error(`a body lacks the placeholder ${unique}`)
      return found
    })
  }
  next(): Buffer {
    const i = this.n++ % this.reqs.length
    const r = this.reqs[i] as Buffer
    if (this.unique === undefined) return r
    const copy = Buffer.from(r)
    const stamp = String(this.n).padStart(this.unique.length, '0').slice(-this.unique.length)
    for (const at of this.offsets[i] ?? []) copy.write(stamp, at, 'latin1')
    return copy
  }
}

/** One keep-alive connection: send() a request, get called back with the status when the whole answer is in. */
class Connection {
  private buf: Buffer = Buffer.alloc(0)
  private expected = -1
  private status = 0
  private onDone: ((status: number, body: Buffer) => void) | undefined
  busy = false

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.read(chunk))
  }

  static open(target: Target): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.host, port: target.port, ca: target.ca, servername: 'localhost' }, () => {
        socket.setNoDelay(true)
        resolve(new Connection(socket))
      })
      socket.once('error', reject)
    })
  }

  send(bytes: Buffer, onDone: (status: number, body: Buffer) => void): void {
    this.busy = true
    this.onDone = onDone
    this.socket.write(bytes)
  }

  private read(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    for (;;) {
      if (this.expected < 0) {
        const end = this.buf.indexOf(CRLF2)
        if (end < 0) return
        const head = this.buf.subarray(0, end).toString('latin1')
        this.status = Number(head.slice(9, 12))
        const m = /\r\ncontent-length: *(\d+)/i.exec(head)
        if (m === null) throw new Error(`answer without Content-Length: ${head}`)
        this.expected = Number(m[1])
        this.buf = this.buf.subarray(end + 4)
      }
      if (this.buf.length < this.expected) return
      const body = this.buf.subarray(0, this.expected)
      this.buf = this.buf.subarray(this.expected)
      this.expected = -1
      this.busy = false
      const done = this.onDone
      this.onDone = undefined
      done?.(this.status, body)
      if (this.buf.length === 0) return
    }
  }

  close(): void {
    this.socket.destroy()
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] ?? NaN
}

class Recorder {
  private lat = new Float64Array(1 << 16)
  n = 0
  errors = 0
  add(ms: number): void {
    if (this.n === this.lat.length) {
      const bigger = new Float64Array(this.lat.length * 2)
      bigger.set(this.lat)
      this.lat = bigger
    }
    this.lat[this.n++] = ms
  }
  result(seconds: number, cpuMicros: number): LoadResult {
    const sorted = this.lat.slice(0, this.n).sort()
    return {
      requests: this.n,
      errors: this.errors,
      seconds,
      rate: this.n / seconds,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? NaN) : NaN,
      clientCpu: cpuMicros / 1e6 / seconds,
    }
  }
}

function check(status: number, body: Buffer): boolean {
  // Every answer must be an AdmissionReview with a verdict.
  return status === 200 && body.includes('"allowed":')
}

async function openAll(target: Target, n: number): Promise<Connection[]> {
  return Promise.all(Array.from({ length: n }, () => Connection.open(target)))
}

/** Closed loop: `connections` requests in flight at all times, for warmup + duration seconds. */
export interface LoadOptions {
  connections: number
  warmupMs: number
  durationMs: number
  /** A placeholder in every body to overwrite per request (see Requests). */
  unique?: string
}

export async function maxRate(target: Target, bodies: readonly Buffer[], o: LoadOptions): Promise<LoadResult> {
  const reqs = new Requests(target, bodies, o.unique)
  const conns = await openAll(target, o.connections)
  const rec = new Recorder()
  let measuring = false
  let stopping = false
  let inFlight = 0
  let allDone: () => void = () => undefined
  const finished = new Promise<void>((resolve) => (allDone = resolve))
  const fire = (c: Connection): void => {
    if (stopping) {
      if (inFlight === 0) allDone()
      return
    }
    const bytes = reqs.next()
    const start = performance.now()
    inFlight++
    c.send(bytes, (status, body) => {
      inFlight--
      if (measuring) {
        rec.add(performance.now() - start)
        if (!check(status, body)) rec.errors++
      }
      fire(c)
    })
  }
  for (const c of conns) fire(c)
  await new Promise((r) => setTimeout(r, o.warmupMs))
  measuring = true
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, o.durationMs))
  measuring = false
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  stopping = true
  await Promise.race([finished, new Promise((r) => setTimeout(r, 5_000))])
  for (const c of conns) c.close()
  return rec.result(seconds, cpu.user + cpu.system)
}

/** Open loop: requests due at `rate` per second over `connections` connections. */
export async function fixedRate(target: Target, bodies: readonly Buffer[], o: LoadOptions & { rate: number }): Promise<LoadResult> {
  const reqs = new Requests(target, bodies, o.unique)
  const conns = await openAll(target, o.connections)
  const rec = new Recorder()
  const idle: Connection[] = [...conns]
  const queue: number[] = [] // due times of requests waiting for a free connection
  let sent = 0
  const begin = performance.now()
  const measureFrom = begin + o.warmupMs
  const end = measureFrom + o.durationMs
  let cpu0 = process.cpuUsage()
  let cpuMarked = false

  const dispatch = (c: Connection, due: number): void => {
    const bytes = reqs.next()
    c.send(bytes, (status, body) => {
      if (due >= measureFrom && due < end) {
        rec.add(performance.now() - due)
        if (!check(status, body)) rec.errors++
      }
      const waiting = queue.shift()
      if (waiting !== undefined) dispatch(c, waiting)
      else idle.push(c)
    })
  }

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now()
      if (!cpuMarked && now >= measureFrom) {
        cpu0 = process.cpuUsage()
        cpuMarked = true
      }
      const stopAt = Math.min(now, end)
      const dueCount = Math.floor(((stopAt - begin) / 1000) * o.rate)
      while (sent < dueCount) {
        const due = begin + (sent * 1000) / o.rate
        sent++
        const c = idle.pop()
        if (c !== undefined) dispatch(c, due)
        else queue.push(due)
      }
      if (now >= end) {
        resolve()
        return
      }
      setTimeout(tick, 1)
    }
    tick()
  })
  const cpu = process.cpuUsage(cpu0)
  // Let the last requests finish (they are part of the measurement).
  const drainUntil = performance.now() + 5_000
  while ((idle.length < conns.length || queue.length > 0) && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5))
  for (const c of conns) c.close()
  return rec.result(o.durationMs / 1000, cpu.user + cpu.system)
}

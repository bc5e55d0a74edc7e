/**
 * Running `pod-preflight serve` for the end-to-end tests the way the image starts it
 * (node dist/cli/bin.js serve ...), and registering it with a real API server through the
 * ValidatingWebhookConfiguration from manifests/ (clientConfig pointed at loopback).
 *
 *   await ensureBuilt()
 *   const webhook = await startWebhook(dir, ['--cluster', `--kubeconfig=${cluster.kubeconfigPath}`])
 *   t.teardown(() => webhook.stop())
 *   await cluster.applyYaml(await webhookConfiguration(webhook))
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { parse } from 'yaml'
import { freePort, run, type TestCluster } from './cluster.js'
import { LOG_FLUSH_MS } from '../../../src/admission/logger.js'

export const ROOT = new URL('../../../', import.meta.url).pathname
export const BIN = join(ROOT, 'dist/cli/bin.js')
/** The name of the webhook in manifests/base/40-validatingwebhookconfiguration.yaml. */
export const WEBHOOK = 'validate.pod-preflight.io'

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

/** `npm test` builds before tap runs; a test run on its own builds when dist/ is missing or older than src/. */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(BIN) && statSync(BIN).mtimeMs >= newestMtime(join(ROOT, 'src'))) return
  const r = await run('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeoutMs: 300_000 })
  if (r.code !== 0 || !existsSync(BIN)) throw new Error(`npm run build failed (${r.code}):\n${r.stdout}${r.stderr}`)
}

/** GET over HTTPS, trusting `ca` only. */
export function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, timeout: 5_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}

/**
 * Runs the webhook under a bash supervisor in its own process group that kills it when this
 * test process goes away, even by SIGKILL, so no server outlives the run.
 */
export const SUPERVISOR = `
parent=$1; shift
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit $?' TERM INT
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$parent" 2>/dev/null; then kill -KILL "$child" 2>/dev/null; exit 0; fi
  sleep 0.5 & wait $!
done
wait "$child"
`

export interface Webhook {
  url: string
  port: number
  caPem: string
  logPath: string
  proc: ChildProcess
  exited: Promise<number>
  stop(): Promise<void>
  /** The JSON lines the webhook has logged so far (those logged before the call included). */
  logs(): Promise<Record<string, unknown>[]>
}

/**
 * Generates dev certificates into `dir`, starts `pod-preflight serve` on a free loopback port
 * with `extraArgs`, and resolves once /readyz answers 200 over TLS with the generated CA.
 */
export async function startWebhook(dir: string, extraArgs: string[] = [], readyTimeoutMs = 60_000): Promise<Webhook> {
  const gen = await run('bash', [join(ROOT, 'certs/generate.sh'), '--dev', '--out', dir], { timeoutMs: 60_000 })
  if (gen.code !== 0) throw new Error(`certs/generate.sh failed: ${gen.stderr}`)
  const caPem = await readFile(join(dir, 'ca.crt'), 'utf8')
  const port = await freePort()
  const logPath = join(dir, 'webhook.log')
  const log = await open(logPath, 'a')
  const args = [
    BIN,
    'serve',
    '--host=127.0.0.1',
    `--port=${port}`,
    `--tls-cert=${join(dir, 'tls.crt')}`,
    `--tls-key=${join(dir, 'tls.key')}`,
    '--time-budget=2500ms',
    // Tests stop the webhook themselves and need no grace for endpoint removal.
    '--shutdown-delay=0s',
    ...extraArgs,
  ]
  const proc = spawn('bash', ['-c', SUPERVISOR, 'webhook-supervisor', String(process.pid), process.execPath, ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
  })
  await log.close()
  let done = false
  const exited = new Promise<number>((resolve) => proc.once('exit', (code) => { done = true; resolve(code ?? 128) }))
  const onExit = (): void => {
    if (!done && proc.pid !== undefined) {
      try { process.kill(-proc.pid, 'SIGKILL') } catch { /* gone */ }
    }
  }
  process.once('exit', onExit)
  const url = `https://127.0.0.1:${port}`
  const webhook: Webhook = {
    url,
    port,
    caPem,
    logPath,
    proc,
    exited,
    stop: async () => {
      if (done || proc.pid === undefined) return
      try { process.kill(-proc.pid, 'SIGTERM') } catch { /* gone */ }
      const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)])
      if (timedOut) try { process.kill(-proc.pid, 'SIGKILL') } catch { /* gone */ }
      await Promise.race([exited, sleep(5_000)])
      process.off('exit', onExit)
    },
    // The server writes its lines in batches, each within LOG_FLUSH_MS of being logged.
    logs: async () => {
      await sleep(3 * LOG_FLUSH_MS)
      return (await readFile(logPath, 'utf8'))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    },
  }
  // Ready means: listening, TLS with our CA works, policy loaded.
  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (done) throw new Error(`pod-preflight serve exited with ${await exited}:\n${await readFile(logPath, 'utf8')}`)
    try {
      const r = await get(`${url}/readyz`, caPem)
      if (r.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`pod-preflight serve was not ready within ${readyTimeoutMs / 1000} s:\n${await readFile(logPath, 'utf8')}`)
    await sleep(200)
  }
  return webhook
}

/** The ValidatingWebhookConfiguration from manifests/, pointed at the webhook on loopback. */
export async function webhookConfiguration(webhook: Webhook): Promise<string> {
  const text = await readFile(join(ROOT, 'manifests/base/40-validatingwebhookconfiguration.yaml'), 'utf8')
  const config = parse(text) as { webhooks: { clientConfig: unknown }[] }
  for (const w of config.webhooks) {
    w.clientConfig = { url: `${webhook.url}/validate`, caBundle: Buffer.from(webhook.caPem).toString('base64') }
  }
  return JSON.stringify(config)
}

/** kubectl failed because our webhook denied the request. */
export function deniedBy(r: { code: number; stderr: string }): boolean {
  return r.code !== 0 && r.stderr.includes(`admission webhook "${WEBHOOK}" denied the request`)
}

/**
 * Registers the webhook with the API server (only once it answers: its failurePolicy would let
 * requests through unchecked otherwise) and waits until the API server calls it, which it does
 * asynchronously: `probe` is a manifest the webhook denies.
 */
export async function registerWebhook(cluster: TestCluster, webhook: Webhook, probe: string, timeoutMs = 60_000): Promise<void> {
  await cluster.applyYaml(await webhookConfiguration(webhook))
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: probe })
    if (deniedBy(r)) return
    if (Date.now() > deadline) throw new Error(`the API server never called the webhook; last answer (${r.code}): ${r.stderr}${r.stdout}`)
    await sleep(500)
  }
}

/**
 * A Pod every policy denies without cluster state: busybox without a command exits at once
 * (command-missing), and 512m of memory is half a byte (memory-quantity-suspicious).
 */
export function badPod(namespace: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: bad-pod
  namespace: ${namespace}
spec:
  containers:
    - name: shell
      image: busybox:1.36.1
      resources:
        limits: { memory: 512m }
`
}

/**
 * The analyzer's fixtures and what each must produce. Pod fixtures are `kubectl get pod -o yaml`
 * output (often followed by `kubectl get events -o yaml`); describe fixtures are `kubectl describe
 * pod` text of current and older kubectl versions. All were captured as of NOW.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { analyze } from '../../src/analyzer/analyze.js'
import { parseDescribe } from '../../src/analyzer/describe.js'
import { assemble } from '../../src/analyzer/input.js'
import type { Diagnosis } from '../../src/analyzer/types.js'
import { parseDocuments } from '../../src/input/documents.js'

export const NOW = new Date('2024-05-13T10:40:00Z')
export const FIXTURES = new URL('../fixtures/analyzer/', import.meta.url).pathname

export interface Expected {
  cause: string
  container?: string
  exitCode?: number
  signal?: string
  preventedBy?: string
}

/** Fixture file → pod name → the diagnoses expected, in order. */
export const EXPECTED: Record<string, Record<string, Expected[]>> = {
  'pods/oom-killed-jvm.yaml': { 'orders-api-7d4b9c8f6d-x2x7k': [{ cause: 'oom-killed', container: 'api', exitCode: 137, signal: 'SIGKILL', preventedBy: 'jvm-heap-exceeds-memory-limit' }] },
  'pods/crashloop-exit0-busybox.yaml': { 'toolbox-5c9d7b6f4-hw8qz': [{ cause: 'exit-no-foreground-process', container: 'toolbox', exitCode: 0, preventedBy: 'command-missing' }] },
  'pods/crashloop-exit0-backgrounded.yaml': { 'legacy-portal-6f8b7d5c9-2kq7m': [{ cause: 'exit-no-foreground-process', container: 'tomcat', exitCode: 0, preventedBy: 'command-backgrounded' }] },
  'pods/job-completed.yaml': { 'nightly-report-28590960-7xk2p': [{ cause: 'completed', container: 'report', exitCode: 0 }] },
  'pods/killed-137-no-events.yaml': { 'ingest-worker': [{ cause: 'killed', container: 'worker', exitCode: 137, signal: 'SIGKILL' }] },
  'pods/liveness-killed.yaml': { 'query-svc-84c6f9d7b5-m4t9v': [{ cause: 'liveness-probe-killed', container: 'query', exitCode: 137, signal: 'SIGKILL', preventedBy: 'probe-liveness-aggressive' }] },
  'pods/liveness-killed-143.yaml': { 'invoicer-69c7d8b5f-n7q2w': [{ cause: 'liveness-probe-killed', container: 'invoicer', exitCode: 143, signal: 'SIGTERM', preventedBy: 'probe-liveness-startup-window-short' }] },
  'pods/grace-period-exceeded.yaml': { 'broker-1': [{ cause: 'grace-period-exceeded', container: 'broker', exitCode: 137, signal: 'SIGKILL', preventedBy: 'prestop-exceeds-grace-period' }] },
  'pods/image-not-found.yaml': { 'web-5f7c9d8b6-qr8wz': [{ cause: 'image-not-found', container: 'web' }] },
  'pods/image-pull-unauthorized.yaml': { 'ledger-6d5f8c7b9-4kq2n': [{ cause: 'image-pull-unauthorized', container: 'ledger', preventedBy: 'image-private-registry-no-pull-secret' }] },
  'pods/image-pull-timeout.yaml': { 'metrics-agent-9wq4x': [{ cause: 'image-pull-failed', container: 'agent' }] },
  'pods/invalid-image-name.yaml': { 'frontend-7b8c9d6f5-zt5kq': [{ cause: 'image-name-invalid', container: 'frontend', preventedBy: 'image-name-invalid' }] },
  'pods/image-never-pull.yaml': { 'batch-runner': [{ cause: 'image-never-pull', container: 'runner', preventedBy: 'image-pull-policy-never' }] },
  'pods/image-inspect-error.yaml': { 'static-site-6b9f7c5d8-kx7qp': [{ cause: 'image-inspect-failed', container: 'nginx' }] },
  'pods/config-missing-secret-key.yaml': { 'payments-api-59d8b7c6f4-9vx2r': [{ cause: 'config-missing', container: 'api', preventedBy: 'secret-missing' }] },
  'pods/command-not-found-whitespace.yaml': { 'scorer-7cf9b8d6c5-lw2hx': [{ cause: 'command-not-found', container: 'scorer', exitCode: 128, preventedBy: 'command-whitespace-in-executable' }] },
  'pods/command-not-executable.yaml': { 'syncer-66d4c9b7f8-p5j8m': [{ cause: 'command-not-executable', container: 'syncer', exitCode: 128 }] },
  'pods/exit-127-shell.yaml': { 'log-shipper-5b6c7d8f9-c4m8x': [{ cause: 'command-not-found', container: 'shipper', exitCode: 127 }] },
  'pods/create-container-error.yaml': { 'gateway-5b7d6c8f9-t2wq8': [{ cause: 'container-create-failed', container: 'gateway' }] },
  'pods/hook-failed-poststart.yaml': { 'editor-6c7d8b9f5-h4k8s': [{ cause: 'hook-failed', container: 'editor', exitCode: 137, signal: 'SIGKILL' }] },
  'pods/init-container-failed.yaml': {
    'billing-api-7f9c8d6b5-r8m2k': [
      { cause: 'init-container-failed', container: 'migrate' },
      { cause: 'app-error', container: 'migrate', exitCode: 1 },
    ],
  },
  'pods/init-container-never-exits.yaml': { 'catalog-web-6f5d7c8b9-w7n4p': [{ cause: 'init-container-failed', container: 'wait-for-db', preventedBy: 'init-container-never-exits' }] },
  'pods/unschedulable-insufficient-cpu.yaml': { 'spark-driver-5d8c7f9b6-vz6tn': [{ cause: 'unschedulable', preventedBy: 'no-node-fits-requests' }] },
  'pods/unschedulable-condition-only.yaml': { 'indexer-0': [{ cause: 'unschedulable', preventedBy: 'node-selector-unsatisfiable' }] },
  'pods/volume-mount-failed.yaml': { 'docs-site-7c6b5d9f8-qm2vx': [{ cause: 'volume-mount-failed', preventedBy: 'configmap-missing' }] },
  'pods/evicted-memory.yaml': { 'cache-warmup-5c8d9b7f6-jk4xs': [{ cause: 'evicted', preventedBy: 'memory-limit-missing' }] },
  'pods/node-lost.yaml': { 'tiles-6b8d7c9f5-f2g7h': [{ cause: 'node-lost' }] },
  'pods/stuck-terminating.yaml': { 'reporter-7d9c6b8f5-lq3zt': [{ cause: 'stuck-terminating' }] },
  'pods/not-ready-probe-port.yaml': { 'cart-5f6d7c8b9-b9x4d': [{ cause: 'not-ready', container: 'cart', preventedBy: 'probe-port-undeclared' }] },
  'pods/deadline-exceeded.yaml': { 'backfill-2024-05-12': [{ cause: 'deadline-exceeded' }] },
  'pods/job-backoff-limit.yaml': {
    'import-customers-4xq9z': [
      { cause: 'backoff-limit-exceeded' },
      { cause: 'app-error', container: 'loader', exitCode: 1 },
    ],
  },
  'pods/quota-exceeded.yaml': { 'search-ui-6d8f7c9b5-h2k9w': [{ cause: 'quota-exceeded', preventedBy: 'quota-exceeded' }] },
  'pods/failed-job-pods.yaml': {
    'parse-feed-8kx2v': [{ cause: 'app-error', container: 'main', exitCode: 1 }],
    'rotate-keys-5mz7q': [{ cause: 'shell-misuse', container: 'main', exitCode: 2 }],
    // Ran for a minute before exiting 125: the program chose the code, the runtime did start it.
    'bulk-export-9wq4t': [{ cause: 'app-error', container: 'main', exitCode: 125 }],
    'render-pdf-3jd8s': [{ cause: 'signal', container: 'main', exitCode: 130, signal: 'SIGINT' }],
    'train-model-6hz2k': [{ cause: 'aborted', container: 'main', exitCode: 134, signal: 'SIGABRT' }],
    'resize-images-2fx9m': [{ cause: 'segfault', container: 'main', exitCode: 139, signal: 'SIGSEGV' }],
    'exit-status-4tq6p': [{ cause: 'invalid-exit-code', container: 'main', exitCode: 128 }],
    'sync-ldap-7rq5w': [{ cause: 'exit-out-of-range', container: 'main', exitCode: 255 }],
    'cleanup-tmp-8vn3x': [{ cause: 'exit-out-of-range', container: 'main', exitCode: 255 }],
    'archive-logs-2mk8d': [{ cause: 'terminated', container: 'main', exitCode: 143, signal: 'SIGTERM' }],
  },
  'pods/container-runtime-failed-125.yaml': { 'thumbnailer-k8d2q': [{ cause: 'container-runtime-failed', container: 'worker', exitCode: 125 }] },
  'pods/container-lost-node-reboot.yaml': {
    'ledger-sync-7f6d5c4b3-q2w8e': [{ cause: 'container-lost', container: 'sync', exitCode: 255 }],
    // Same node trouble, but this container ran and exited 255 with reason Error: its own exit.
    'fx-rates-5c4b3a2f1-m7n6b': [{ cause: 'exit-out-of-range', container: 'rates', exitCode: 255 }],
  },
  'pods/healthy.yaml': { 'catalog-7b9d8c6f5-k2x8p': [] },
  'describe/current-crashloop-oom.txt': { 'payments-worker-6b9f8d7c5-zx4kl': [{ cause: 'oom-killed', container: 'worker', exitCode: 137, signal: 'SIGKILL', preventedBy: 'jvm-heap-exceeds-memory-limit' }] },
  'describe/current-imagepull-denied.txt': { 'report-ui-84b7c6d59f-7qk2z': [{ cause: 'image-pull-unauthorized', container: 'ui' }] },
  'describe/current-pending-taints.txt': { 'gpu-inference-0': [{ cause: 'unschedulable', preventedBy: 'taints-not-tolerated' }] },
  'describe/v1.5-liveness-tabs.txt': { 'checkout-2794012875-8b4gx': [{ cause: 'liveness-probe-killed', container: 'checkout', exitCode: 137, signal: 'SIGKILL', preventedBy: 'probe-liveness-aggressive' }] },
  'describe/v1.16-config-error.txt': { 'notifications-7d8c6b5f9d-jw2mz': [{ cause: 'config-missing', container: 'notifications', preventedBy: 'configmap-missing' }] },
  'describe/current-runcontainererror-last-state.txt': { 'pricing-engine-5d9c7b8f4-tq6zx': [{ cause: 'command-not-executable', container: 'engine', exitCode: 128 }] },
  'describe/terminating.txt': { 'elasticsearch-data-2': [{ cause: 'stuck-terminating' }] },
}

export interface FixtureRun {
  file: string
  pod: string
  diagnoses: Diagnosis[]
}

/** Reads a fixture the way `explain -f` does and analyses every pod in it. */
export function runFixture(file: string): FixtureRun[] {
  const text = readFileSync(FIXTURES + file, 'utf8')
  if (file.endsWith('.txt')) {
    const parsed = parseDescribe(text, NOW)
    if (!parsed.ok) throw new Error(`${file}: ${parsed.error}`)
    return parsed.pods.map((p) => {
      const a = analyze({ pod: p.pod, events: p.events, now: NOW, partialSpec: true })
      if (!a.ok) throw new Error(`${file}: ${a.error}`)
      return { file, pod: a.pod.name, diagnoses: a.diagnoses }
    })
  }
  const r = parseDocuments(text, file)
  if (r.errors.length > 0) throw new Error(`${file}: ${r.errors.map((e) => e.message).join('; ')}`)
  const { pods } = assemble(r.documents.map((d) => ({ value: d.value, file })))
  return pods.map((p) => {
    const a = analyze({ pod: p.pod, events: p.events, now: NOW, ...(p.owner ? { owner: p.owner } : {}) })
    if (!a.ok) throw new Error(`${file}: ${a.error}`)
    return { file, pod: a.pod.name, diagnoses: a.diagnoses }
  })
}

export function fixtureFiles(): string[] {
  const list = (dir: string): string[] => readdirSync(FIXTURES + dir).sort().map((f) => `${dir}/${f}`)
  return [...list('pods'), ...list('describe').filter((f) => f !== 'describe/deployment.txt')]
}

/** The comparable part of a diagnosis. */
export function shape(d: Diagnosis): Expected {
  const e: Expected = { cause: d.cause }
  if (d.container !== undefined) e.container = d.container
  if (d.exitCode !== undefined) e.exitCode = d.exitCode
  if (d.signal !== undefined) e.signal = d.signal
  if (d.preventedBy !== undefined) e.preventedBy = d.preventedBy
  return e
}

// The live source against a small fake API server: paging, the metadata-only Accept header for
// Secrets, watch events, 410 Gone, 403, the API server going away and coming back.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { KubeConfig } from '@kubernetes/client-node'
import { AUTH_TRIES, startLiveClusterView, type LiveClusterViewHandle } from '../../src/cluster/live.js'
import { clusterStateNote } from '../../src/admission/verdict.js'
import { schedule } from '../../src/cluster/scheduling.js'
import { bare } from './helpers.js'

interface Fake {
  server: Server
  port: number
  requests: { path: string; accept: string }[]
  /** Objects served per collection path, as the API server would store them. */
  objects: Map<string, Record<string, unknown>[]>
  /** Open watch responses per collection path. */
  watchers: Map<string, ServerResponse[]>
  forbidden: Set<string>
  /** Answer the next watch of a path with 410 Gone. */
  gone: Set<string>
  rv: number
  emit(path: string, type: string, obj: Record<string, unknown>): void
  close(): Promise<void>
  listen(): Promise<void>
}

const COLLECTIONS = ['nodes', 'resourcequotas', 'limitranges', 'configmaps', 'secrets', 'persistentvolumeclaims', 'serviceaccounts', 'services', 'pods']

async function fakeApiServer(): Promise<Fake> {
  const sockets = new Set<Socket>()
  const fake: Fake = {
    server: createServer(),
    port: 0,
    requests: [],
    objects: new Map(COLLECTIONS.map((c) => [c, []])),
    watchers: new Map(COLLECTIONS.map((c) => [c, []])),
    forbidden: new Set(),
    gone: new Set(),
    rv: 100,
    emit(path, type, obj) {
      this.rv++
      const o = { ...obj, metadata: { ...(obj['metadata'] as object), resourceVersion: String(this.rv) } }
      const list = this.objects.get(path) ?? []
      const name = (o.metadata as unknown as { name: string }).name
      const i = list.findIndex((x) => (x['metadata'] as { name: string }).name === name)
      if (type === 'DELETED') {
        if (i >= 0) list.splice(i, 1)
      } else if (i >= 0) list[i] = o
      else list.push(o)
      for (const w of this.watchers.get(path) ?? []) w.write(`${JSON.stringify({ type, object: o })}\n`)
    },
    async close() {
      for (const ws of this.watchers.values()) ws.splice(0)
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => this.server.close(() => r()))
    },
    async listen() {
      this.server = createServer(handler)
      this.server.on('connection', (s) => {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
      })
      await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', () => r()))
      const addr = this.server.address()
      if (addr !== null && typeof addr === 'object') this.port = addr.port
    },
  }
  function handler(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname.replace('/api/v1/', '')
    fake.requests.push({ path: `${url.pathname}${url.search}`, accept: String(req.headers.accept) })
    if (fake.forbidden.has(path)) {
      res.writeHead(403, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Status', code: 403, message: `${path} is forbidden: User "view" cannot list resource "${path}"` }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    if (url.searchParams.get('watch') === '1') {
      if (fake.gone.delete(path)) {
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } })}\n`)
        return
      }
      res.flushHeaders()
      fake.watchers.get(path)?.push(res)
      req.on('close', () => {
        const ws = fake.watchers.get(path) ?? []
        const i = ws.indexOf(res)
        if (i >= 0) ws.splice(i, 1)
      })
      return
    }
    // Lists of two items per page, to exercise continue tokens.
    const all = fake.objects.get(path) ?? []
    const start = Number(url.searchParams.get('continue') ?? '0')
    const items = all.slice(start, start + 2)
    const next = start + 2 < all.length ? String(start + 2) : undefined
    const metaOnly = String(req.headers.accept).includes('as=PartialObjectMetadataList')
    res.end(
      JSON.stringify({
        kind: metaOnly ? 'PartialObjectMetadataList' : 'List',
        metadata: { resourceVersion: String(fake.rv), ...(next !== undefined ? { continue: next } : {}) },
        items: metaOnly ? items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o['metadata'] })) : items,
      }),
    )
  }
  await fake.listen()
  return fake
}

function kubeConfigFor(port: number): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
    currentContext: 'fake',
  })
  return kc
}

// Deadlines are generous: they bound a wait on a loaded machine, they do not time anything.
async function waitFor(what: string, pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const node = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels, resourceVersion: '1' },
  status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }], images: [{ names: ['x'], sizeBytes: 1 }] },
})

t.test('the live view lists, watches, relists on 410, and survives the API server going away', async (t) => {
  const fake = await fakeApiServer()
  fake.objects.set('nodes', [node('a'), node('b'), node('c'), node('d'), node('e')])
  fake.objects.set('secrets', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'app', resourceVersion: '3' }, data: { password: 'c2VjcmV0' } }])
  fake.objects.set('configmaps', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'app', resourceVersion: '4' }, data: { url: 'x' } }])
  fake.forbidden.add('persistentvolumeclaims')
  const logs: string[] = []
  const logger = { info: (_o: object, m: string) => logs.push(`info ${m}`), warn: (_o: object, m: string) => logs.push(`warn ${m}`), error: (_o: object, m: string) => logs.push(`error ${m}`) }
  let live: LiveClusterViewHandle | undefined
  t.teardown(async () => {
    await live?.stop()
    await fake.close().catch(() => undefined)
  })
  live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), logger, staleAfterMs: 400, retryMaxMs: 100, resyncAfterMs: 0 })
  const { view } = live
  t.equal(view.synced, false, 'not synced before the first lists')
  await live.ready
  const watching = (): boolean => ['nodes', 'configmaps', 'secrets'].every((c) => (fake.watchers.get(c) ?? []).length > 0)
  await waitFor('the watches', watching)
  t.equal(view.synced, true)
  t.equal(view.nodes().length, 5, 'the five nodes came in three pages')
  t.ok(fake.requests.some((r) => r.path.includes('/nodes?') && r.path.includes('continue=2')), 'paged with continue')
  t.ok(view.secret('app', 'db'), 'the Secret is known by name')
  const secretRequests = fake.requests.filter((r) => r.path.startsWith('/api/v1/secrets'))
  t.ok(secretRequests.length >= 1)
  for (const r of secretRequests) t.match(r.accept, /as=PartialObjectMetadata(List)?;g=meta\.k8s\.io;v=v1/, `metadata only: ${r.path}`)
  t.notOk(secretRequests.some((r) => r.accept.includes(',')), 'never a fallback to full objects')
  t.same([...(view.configMap('app', 'cfg')?.keys ?? [])], ['url'])
  t.equal(view.knows('PersistentVolumeClaim', 'app'), false, 'a forbidden kind is unknown')
  t.equal(view.knows('ConfigMap', 'app'), true)
  t.ok(logs.some((l) => /^error cluster view cannot list persistentvolumeclaims \(HTTP 403 5 times in a row over \d+ s\)/.test(l)), 'a kind refused from the start is reported after five tries')
  t.ok(live.status().find((s) => s.kind === 'PersistentVolumeClaim')?.unavailable?.startsWith('forbidden'))
  const watch = fake.requests.find((r) => r.path.startsWith('/api/v1/nodes?') && r.path.includes('watch=1'))
  t.match(watch?.path ?? '', /resourceVersion=100/, 'the watch starts at the list\'s resourceVersion')
  t.match(fake.requests.find((r) => r.path.startsWith('/api/v1/pods?'))?.path ?? '', /fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed/)

  // Watch events change the verdict without a restart.
  const ssd = bare({ nodeSelector: { disktype: 'ssd' }, containers: [{ name: 'a', image: 'a' }] })
  t.equal(schedule(ssd, view)?.blockedAt, 'selector')
  fake.emit('nodes', 'ADDED', node('fast', { disktype: 'ssd' }))
  await waitFor('the new node', () => view.node('fast') !== undefined)
  t.equal(schedule(ssd, view)?.blockedAt, undefined)
  fake.emit('nodes', 'DELETED', node('fast', { disktype: 'ssd' }))
  await waitFor('the node to go', () => view.node('fast') === undefined)
  t.equal(schedule(ssd, view)?.blockedAt, 'selector')

  // 410 Gone: relist.
  const lists = () => fake.requests.filter((r) => r.path.startsWith('/api/v1/nodes?') && !r.path.includes('watch=1')).length
  const before = lists()
  fake.gone.add('nodes')
  for (const w of fake.watchers.get('nodes') ?? []) w.end() // the server closes the watch; the next one gets 410
  await waitFor('a relist after 410', () => lists() > before)
  await waitFor('the watches again', watching)
  t.equal(view.synced, true)

  // The API server goes away: stale after staleAfterMs, then back.
  await fake.close()
  await waitFor('stale', () => !view.synced)
  t.pass('synced turned false while the API server was away')
  await fake.listen()
  await waitFor('recovered', () => view.synced)
  await waitFor('the watches after the restart', watching)
  fake.emit('nodes', 'ADDED', node('late', { disktype: 'ssd' }))
  await waitFor('events after the restart', () => view.node('late') !== undefined)
  t.pass('synced again, and following events (the e2e test checks changes made while it was away)')
  t.ok(logs.some((l) => l.startsWith('warn cluster view is stale')))
  t.ok(logs.some((l) => l === 'info cluster view synced'))

  await live.stop()
  t.equal(view.synced, false, 'stopped: no longer synced')
})

t.test('stop() before the first sync rejects ready without an unhandled rejection', async (t) => {
  const kc = kubeConfigFor(1) // nothing listens on port 1
  const live = startLiveClusterView({ kubeConfig: kc, retryMaxMs: 50 })
  await waitFor('the first failed attempt', () => /ECONNREFUSED/.test(live.status()[0]?.lastError ?? ''))
  t.equal(live.view.synced, false)
  t.match(live.status()[0]?.lastError ?? '', /ECONNREFUSED/)
  await live.stop()
  await t.rejects(live.ready, /stopped before it synced/)
})

t.test('kinds can be left out', async (t) => {
  const fake = await fakeApiServer()
  t.teardown(() => fake.close())
  const live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), kinds: { Secret: false, Pod: false } })
  await live.ready
  t.notOk(fake.requests.some((r) => r.path.startsWith('/api/v1/secrets')), 'Secrets are never requested')
  t.equal(live.view.knows('Secret', 'x'), false)
  t.equal(live.view.knows('Pod'), false)
  await live.stop()
})

t.test('a periodic resync relists, and heals what a watch missed', async (t) => {
  const fake = await fakeApiServer()
  t.teardown(() => fake.close())
  const live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), resyncAfterMs: 300, kinds: { Node: true, Pod: false, Secret: false, ConfigMap: false, ServiceAccount: false, Service: false, PersistentVolumeClaim: false, LimitRange: false, ResourceQuota: false } })
  t.teardown(() => live.stop())
  await live.ready
  // Changed behind the watch's back: no event is sent.
  fake.objects.set('nodes', [node('missed')])
  await waitFor('the resync', () => live.view.node('missed') !== undefined)
  t.equal(live.view.synced, true, 'a resync does not make the view stale')
  t.same(live.status().map((s) => s.kind), ['Node'])
})

const ONLY_NODES = { Node: true, Pod: false, Secret: false, ConfigMap: false, ServiceAccount: false, Service: false, PersistentVolumeClaim: false, LimitRange: false, ResourceQuota: false } as const

function recordingLogger(): { logs: string[]; logger: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } } {
  const logs: string[] = []
  return { logs, logger: { info: (_o, m) => logs.push(`info ${m}`), warn: (_o, m) => logs.push(`warn ${m}`), error: (_o, m) => logs.push(`error ${m}`) } }
}

const nodeRequests = (fake: Fake): number => fake.requests.filter((r) => r.path.startsWith('/api/v1/nodes?')).length

t.test('a 403 after the API server restarts is retried with the ordinary backoff, not taken as missing RBAC', async (t) => {
  const fake = await fakeApiServer()
  fake.objects.set('nodes', [node('a')])
  t.teardown(() => fake.close().catch(() => undefined))
  const { logs, logger } = recordingLogger()
  const live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), kinds: ONLY_NODES, logger, retryMaxMs: 100, staleAfterMs: 60_000, resyncAfterMs: 0 })
  t.teardown(() => live.stop())
  await live.ready
  await waitFor('the watch', () => (fake.watchers.get('nodes') ?? []).length > 0)
  // The API server comes back with its RBAC cache still filling: everything is refused for a while.
  fake.forbidden.add('nodes')
  const before = nodeRequests(fake)
  for (const w of fake.watchers.get('nodes') ?? []) w.end()
  await waitFor('twice the tries that would report a missing permission', () => nodeRequests(fake) - before >= 2 * AUTH_TRIES)
  t.equal(live.view.knows('Node'), true, 'still known: a refusal this short is not an RBAC problem')
  t.equal(live.view.synced, true, 'not stale before staleAfterMs')
  t.notOk(logs.some((l) => l.startsWith('error')), 'no RBAC error logged')
  t.equal(logs.filter((l) => /^warn cluster view: (list|watch) nodes refused; retrying/.test(l)).length, 1, 'one warning for the whole episode')
  const status = live.status()[0]
  t.equal(status?.healthy, false)
  t.match(status?.lastError ?? '', /^HTTP 403: nodes is forbidden/)
  t.match(live.detail(), /^cluster view: synced, state \d+ s old; nodes down \d+ s \(HTTP 403: nodes is forbidden/)
  // RBAC is filled: the view heals within the capped backoff, and says so.
  fake.objects.set('nodes', [node('a'), node('b')])
  fake.forbidden.delete('nodes')
  await waitFor('the relist', () => live.view.node('b') !== undefined)
  await waitFor('the recovery log', () => logs.some((l) => /^info cluster view: nodes list\/watch recovered after \d+ s down$/.test(l)))
  t.equal(live.status()[0]?.healthy, true)
  t.equal(live.status()[0]?.ageSeconds, 0)
  t.equal(live.detail(), 'cluster view: synced, state 0 s old')
})

t.test('a persistent 403 is reported once as an RBAC problem, and heals when the permission appears', async (t) => {
  const fake = await fakeApiServer()
  fake.objects.set('nodes', [node('a')])
  t.teardown(() => fake.close().catch(() => undefined))
  const { logs, logger } = recordingLogger()
  const live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), kinds: ONLY_NODES, logger, retryMaxMs: 100, refusalGraceMs: 500, staleAfterMs: 60_000, resyncAfterMs: 0 })
  t.teardown(() => live.stop())
  await live.ready
  await waitFor('the watch', () => (fake.watchers.get('nodes') ?? []).length > 0)
  fake.forbidden.add('nodes')
  for (const w of fake.watchers.get('nodes') ?? []) w.end()
  await waitFor('the RBAC error', () => logs.some((l) => l.startsWith('error')))
  t.match(logs.find((l) => l.startsWith('error')) ?? '', /^error cluster view cannot list nodes \(HTTP 403 \d+ times in a row over \d+ s\); the rules that need Nodes stay silent \(grant list and watch on nodes to enable them\); retrying every 0 s$/)
  t.equal(live.view.knows('Node'), false, 'now unknown: its rules stay silent instead of judging on old nodes')
  t.match(live.status()[0]?.unavailable ?? '', /^forbidden: nodes is forbidden/)
  t.match(live.detail(), /nodes unavailable \(forbidden: nodes is forbidden.*; its rules stay silent\)/)
  // Retries go on at the capped backoff, and the error is not repeated.
  const before = nodeRequests(fake)
  await waitFor('more tries', () => nodeRequests(fake) - before >= 3)
  t.equal(logs.filter((l) => l.startsWith('error')).length, 1, 'logged once')
  fake.forbidden.delete('nodes')
  await waitFor('healed', () => live.view.knows('Node'))
  t.ok(logs.some((l) => /^info cluster view: nodes list\/watch recovered after \d+ s down$/.test(l)), 'the recovery is logged')
  t.equal(live.status()[0]?.unavailable, undefined)
})

t.test('a 401 is retried like a 403', async (t) => {
  const fake = await fakeApiServer()
  t.teardown(() => fake.close().catch(() => undefined))
  const { logs, logger } = recordingLogger()
  const server = fake.server
  // Refuse the first three requests as the API server does before its token authenticator is ready.
  let refused = 0
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  server.removeAllListeners('request')
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (refused < 3) {
      refused++
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Status', code: 401, message: 'Unauthorized' }))
      return
    }
    for (const h of handlers) h(req, res)
  })
  const live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), kinds: ONLY_NODES, logger, retryMaxMs: 100, resyncAfterMs: 0 })
  t.teardown(() => live.stop())
  await live.ready
  t.equal(refused, 3)
  t.equal(live.view.knows('Node'), true, 'listed after the refusals, not given up')
  t.notOk(logs.some((l) => l.startsWith('error')))
  t.ok(logs.some((l) => /^info cluster view: nodes list\/watch recovered after \d+ s down$/.test(l)))
})

t.test('staleness: the age of the state, in status, detail and the warning text', async (t) => {
  const fake = await fakeApiServer()
  fake.objects.set('nodes', [node('a')])
  t.teardown(() => fake.close().catch(() => undefined))
  const { logs, logger } = recordingLogger()
  const live = startLiveClusterView({ kubeConfig: kubeConfigFor(fake.port), kinds: ONLY_NODES, logger, retryMaxMs: 100, staleAfterMs: 1500, resyncAfterMs: 0 })
  t.teardown(() => live.stop())
  t.equal(clusterStateNote(live.view), 'pod-preflight has not synced the cluster state yet; rules that need it were skipped', 'never synced')
  t.equal(live.view.stateAgeMs?.(), undefined)
  await live.ready
  await waitFor('the watch', () => (fake.watchers.get('nodes') ?? []).length > 0)
  t.equal(live.view.stateAgeMs?.(), 0, 'fresh while the watch is open')
  t.equal(live.status()[0]?.ageSeconds, 0)
  await fake.close()
  await waitFor('down', () => live.status()[0]?.healthy === false)
  t.equal(live.view.synced, true, 'a short outage does not make the view stale')
  await waitFor('stale', () => !live.view.synced)
  await waitFor('two seconds old', () => (live.view.stateAgeMs?.() ?? 0) >= 2000)
  t.match(clusterStateNote(live.view), /^pod-preflight: cluster state is [2-9] s old; cluster rules skipped$/, 'the age, not "not synced yet"')
  t.ok((live.status()[0]?.ageSeconds ?? 0) >= 2)
  t.match(live.detail(), /^cluster view: state is \d+ s old \(stale after 2 s\): cluster rules skipped; nodes down \d+ s \(.*ECONNREFUSED/)
  t.equal(logs.filter((l) => l.startsWith('warn cluster view is stale')).length, 1)
  await fake.listen()
  await waitFor('synced again', () => live.view.synced)
  t.equal(live.view.stateAgeMs?.(), 0)
  t.ok(logs.some((l) => /^info cluster view: nodes list\/watch recovered after [2-9]\d* s down$/.test(l)), 'recovery logged with how long it was down')
})

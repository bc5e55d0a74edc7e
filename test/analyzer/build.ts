/** Small builders for synthetic pods in unit tests (the fixtures hold the realistic ones). */

type Json = Record<string, unknown>

export interface PodOptions {
  name?: string
  namespace?: string
  restartPolicy?: string
  owner?: { kind: string; name: string }
  phase?: string
  container?: Json
  status?: Json
  podStatus?: Json
  meta?: Json
  spec?: Json
}

export function makePod(o: PodOptions = {}): Json {
  const name = o.name ?? 'app-1'
  const meta: Json = { name, namespace: o.namespace ?? 'default', uid: `uid-${name}`, ...o.meta }
  if (o.owner) meta['ownerReferences'] = [{ apiVersion: 'apps/v1', kind: o.owner.kind, name: o.owner.name, uid: `uid-${o.owner.name}`, controller: true }]
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta,
    spec: { restartPolicy: o.restartPolicy ?? 'Always', containers: [{ name: 'main', image: 'registry.example.com/app:1.0', ...o.container }], ...o.spec },
    status: { phase: o.phase ?? 'Running', containerStatuses: [{ name: 'main', ready: false, restartCount: 0, image: 'registry.example.com/app:1.0', state: { running: { startedAt: '2024-05-13T10:00:00Z' } }, lastState: {}, ...o.status }], ...o.podStatus },
  }
}

/** A container that exited with `code` and is back-off restarting (restartPolicy Always). */
export function crashLoop(code: number, extra: Json = {}, o: PodOptions = {}): Json {
  return makePod({
    ...o,
    status: {
      restartCount: 4,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container' } },
      lastState: { terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: '2024-05-13T10:30:00Z', finishedAt: '2024-05-13T10:31:00Z', ...extra } },
      ...o.status,
    },
  })
}

/** A container of a Job pod that terminated with `code` (restartPolicy Never). */
export function jobExit(code: number, extra: Json = {}): Json {
  return makePod({
    restartPolicy: 'Never',
    phase: code === 0 ? 'Succeeded' : 'Failed',
    owner: { kind: 'Job', name: 'job-1' },
    status: { state: { terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', ...extra } } },
  })
}

export function event(reason: string, message: string, extra: Json = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `app-1.${reason}`, namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'app-1', namespace: 'default', uid: 'uid-app-1', fieldPath: 'spec.containers{main}' },
    reason,
    message,
    type: 'Warning',
    count: 3,
    firstTimestamp: '2024-05-13T10:20:00Z',
    lastTimestamp: '2024-05-13T10:38:00Z',
    ...extra,
  }
}

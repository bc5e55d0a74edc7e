import { eventObject, isElision, isPrompt, normalizeText, parseAge, parseEvents } from './describe.js'

/**
 * Events pasted as text, the most common paste in tickets: the Events section of `kubectl
 * describe pod` on its own (any kubectl version the describe reader knows), or the table of
 * `kubectl get events`: `LAST SEEN TYPE REASON OBJECT MESSAGE` (1.14 and later, with NAMESPACE
 * first under -A and SUBOBJECT, SOURCE, FIRST SEEN, COUNT, NAME under -o wide), and the older
 * `LASTSEEN FIRSTSEEN COUNT NAME KIND SUBOBJECT TYPE REASON SOURCE MESSAGE`.
 * Ages become times relative to `now`, as in the describe reader.
 */

type Json = Record<string, unknown>

export interface EventsText {
  form: 'describe-events' | 'get-events'
  /** core/v1 Event objects. */
  events: Json[]
  /** Some lines were replaced by `[...]` or similar. */
  elided: boolean
}

/** Placeholders for what a describe Events section alone does not say and its messages do not tell. */
export const UNKNOWN_POD = 'POD'
export const UNKNOWN_NAMESPACE = 'NAMESPACE'

const DESCRIBE_HEADER = /^\s*(Type\s+Reason\s+Age\s+From\s+Message|FirstSeen\s+LastSeen\s+Count\s+From)\b/
const GET_HEADER = /^\s*(NAMESPACE\s+)?(LAST SEEN|LASTSEEN)\s+\S/

function firstLines(text: string): string[] {
  return normalizeText(text).split('\n').filter((l) => l.trim() !== '' && !isPrompt(l))
}

/** True when the text starts like an events listing (describe's section or `kubectl get events`). */
export function looksLikeEventsText(text: string): boolean {
  const [head, next] = firstLines(text)
  if (head === undefined) return false
  if (/^Events:\s*$/.test(head)) return next === undefined || DESCRIBE_HEADER.test(next) || /^\s*<none>\s*$/.test(next)
  return DESCRIBE_HEADER.test(head) || GET_HEADER.test(head)
}

export function parseEventsText(text: string, now: Date): EventsText | undefined {
  const lines = normalizeText(text).split('\n').filter((l) => !isPrompt(l))
  const elided = lines.some(isElision)
  const start = lines.findIndex((l) => l.trim() !== '')
  const head = lines[start] ?? ''
  if (GET_HEADER.test(head)) return { form: 'get-events', events: parseGetEvents(lines.slice(start), now), elided }
  if (!/^Events:\s*$/.test(head) && !DESCRIBE_HEADER.test(head)) return undefined
  const rows = parseEvents(lines.slice(start))
  const who = podFromMessages(rows.map((r) => r.message))
  const events = rows.map((row, i) => eventObject(row, who, now, i))
  return { form: 'describe-events', events, elided }
}

/** The pod a describe Events section is about, from the messages that name it. */
function podFromMessages(messages: readonly string[]): { name: string; namespace: string } {
  for (const m of messages) {
    const assigned = /Successfully assigned ([a-z0-9.-]+)\/([a-z0-9.-]+) to /.exec(m)
    if (assigned?.[1] && assigned[2]) return { namespace: assigned[1], name: assigned[2] }
  }
  for (const m of messages) {
    const inPod = /in pod ([a-z0-9.-]+)_([a-z0-9-]+)\(/.exec(m)
    if (inPod?.[1] && inPod[2]) return { name: inPod[1], namespace: inPod[2] }
  }
  return { name: UNKNOWN_POD, namespace: UNKNOWN_NAMESPACE }
}

const KINDS: Record<string, string> = {
  pod: 'Pod', node: 'Node', replicaset: 'ReplicaSet', deployment: 'Deployment', statefulset: 'StatefulSet',
  daemonset: 'DaemonSet', job: 'Job', cronjob: 'CronJob', replicationcontroller: 'ReplicationController',
  persistentvolumeclaim: 'PersistentVolumeClaim', persistentvolume: 'PersistentVolume', service: 'Service',
  endpoints: 'Endpoints', horizontalpodautoscaler: 'HorizontalPodAutoscaler', namespace: 'Namespace',
}

function kindOf(word: string): string {
  const k = word.toLowerCase().replace(/\..*$/, '')
  return KINDS[k] ?? (k === '' ? 'Pod' : k[0]?.toUpperCase() + k.slice(1))
}

interface Column {
  name: string
  start: number
}

/** Header cells are separated by two or more spaces (kubectl pads by three); `LAST SEEN` has one. */
function columns(header: string): Column[] {
  return [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0].toUpperCase(), start: m.index }))
}

/** Rows of `kubectl get events`, by column position, else (re-flowed whitespace) by words. At most one event per line. */
function parseGetEvents(lines: string[], now: Date): Json[] {
  const header = lines[0] ?? ''
  const cols = columns(header)
  const idx = (...names: string[]): number => cols.findIndex((c) => names.includes(c.name))
  const iType = idx('TYPE')
  const iMessage = idx('MESSAGE')
  const out: Json[] = []
  for (const [n, line] of lines.slice(1).entries()) {
    if (line.trim() === '' || isElision(line) || GET_HEADER.test(line)) continue
    let cells = cols.map((c, i) => line.slice(c.start, i + 1 < cols.length ? cols[i + 1]?.start : undefined).trim())
    const aligned = cols.every((c) => c.start === 0 || c.start > line.length || /\s/.test(line[c.start - 1] ?? ' '))
    if (!aligned || (iType >= 0 && !/^(Normal|Warning)$/.test(cells[iType] ?? ''))) {
      // Whitespace re-flowed: every column before MESSAGE is one word (SOURCE "kubelet, node" aside).
      const words = line.trim().replace(/, /g, ',\u0000').split(/\s+/).map((w) => w.replace(/\u0000/g, ' '))
      if (iMessage < 0 || words.length < iMessage) continue
      cells = [...words.slice(0, iMessage), words.slice(iMessage).join(' ')]
      if (iType >= 0 && !/^(Normal|Warning)$/.test(cells[iType] ?? '')) continue
    }
    const cell = (...names: string[]): string | undefined => {
      const i = idx(...names)
      const v = i >= 0 ? cells[i] : undefined
      return v === undefined || v === '' || v === '<none>' ? undefined : v
    }
    let kind = 'Pod'
    let name = cell('NAME') ?? UNKNOWN_POD
    const object = cell('OBJECT')
    if (object !== undefined) {
      const slash = object.indexOf('/')
      kind = slash > 0 ? kindOf(object.slice(0, slash)) : 'Pod'
      name = slash > 0 ? object.slice(slash + 1) : object
    } else if (cell('KIND') !== undefined) {
      kind = kindOf(cell('KIND') ?? '')
      // Old tables print the event's own name (`pod.17cf0e1a2b3c4d5e`) in NAME.
      if (idx('OBJECT') < 0 && /\.[0-9a-f]{12,}$/.test(name)) name = name.replace(/\.[0-9a-f]{12,}$/, '')
    }
    const namespace = cell('NAMESPACE')
    const count = Number(cell('COUNT') ?? '1')
    const row = {
      type: cell('TYPE') ?? 'Normal',
      reason: cell('REASON') ?? '',
      count: Number.isInteger(count) && count > 0 ? count : 1,
      message: cell('MESSAGE') ?? '',
      ...(cell('LAST SEEN', 'LASTSEEN') !== undefined ? { age: cell('LAST SEEN', 'LASTSEEN') ?? '' } : {}),
      ...(cell('FIRST SEEN', 'FIRSTSEEN') !== undefined ? { first: cell('FIRST SEEN', 'FIRSTSEEN') ?? '' } : {}),
      ...(cell('SOURCE') !== undefined ? { from: cell('SOURCE') ?? '' } : {}),
      ...(cell('SUBOBJECT') !== undefined ? { fieldPath: cell('SUBOBJECT') ?? '' } : {}),
    }
    if (row.age !== undefined && parseAge(row.age) === undefined) delete (row as { age?: string }).age
    const ev = eventObject(row, { kind, name, namespace: namespace ?? '' }, now, n)
    if (namespace === undefined) {
      const involved = ev['involvedObject'] as Json
      delete involved['namespace']
      ev['metadata'] = { name: `${name}.events-${n}` }
    }
    out.push(ev)
  }
  // A table without NAMESPACE (kubectl get events in one namespace): the scheduler's message names it.
  const assigned = new Map<string, string>()
  for (const ev of out) {
    const m = /Successfully assigned ([a-z0-9.-]+)\/([a-z0-9.-]+) to /.exec(String(ev['message'] ?? ''))
    if (m?.[1] && m[2]) assigned.set(m[2], m[1])
  }
  for (const ev of out) {
    const involved = ev['involvedObject'] as Json
    const ns = involved['namespace'] === undefined ? assigned.get(String(involved['name'])) : undefined
    if (ns === undefined) continue
    involved['namespace'] = ns
    ev['metadata'] = { ...(ev['metadata'] as Json), namespace: ns }
  }
  return out
}

/**
 * Reads `kubectl describe pod` text, as people paste it into tickets, into the Pod and Event
 * objects the API would have returned, so the analyzer treats both inputs alike. It accepts the
 * layouts of current and older kubectl versions: events as `Type Reason Age From Message` or as
 * `FirstSeen LastSeen Count From SubObjectPath Type Reason Message`, spaces or tabs, lines
 * re-indented by a ticket system, several pods in one text.
 *
 * Describe text leaves things out (restartPolicy, named ports, affinity, lifecycle hooks,
 * condition messages, waiting messages); the analyzer is told so and does not judge them.
 */

type Json = Record<string, unknown>

interface Line {
  indent: number
  text: string
  children: Line[]
}

export interface DescribedPod {
  /** The Pod rebuilt from the text; undefined when the Containers section is missing (events only). */
  pod?: Json
  name: string
  namespace: string
  events: Json[]
  /** What the text does not show that the analysis would have used. */
  unseen: string[]
}

export type DescribeResult = { ok: true; pods: DescribedPod[] } | { ok: false; error: string }

/** The name given to a pod whose describe text was cut above its Containers section. */
export const UNNAMED = 'POD'

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g

/** True when the text starts (after blank or prompt lines) like `kubectl describe` output. */
export function looksLikeDescribe(text: string): boolean {
  const lines = normalize(text).split('\n')
  const first = lines.findIndex((l) => l.trim() !== '' && !isPrompt(l))
  if (first < 0) return false
  const head = lines[first] ?? ''
  // A describe cut at the top still has its sections at column 0 and container states below them.
  if (/^(Init Containers|Containers):\s*$/.test(head)) return lines.some((l) => /^\s+(State|Last State):\s+(Waiting|Running|Terminated)/.test(l))
  if (!/^Name:\s+\S/.test(head)) return false
  // `Name: x` alone is valid YAML; describe text always has more "Key:  value" columns at level 0.
  return lines.slice(first + 1, first + 40).some((l) => /^(Namespace|Labels|Annotations|Status|Node|Containers|Selector|Type|CreationTimestamp|Roles):(\s|$)/.test(l))
}

function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(ANSI, '').replace(/^\uFEFF/, '')
}

function isPrompt(line: string): boolean {
  return /^\s*(\$|#|>|PS [^>]*>)\s*kubectl\b/.test(line) || /^\s*\$\s/.test(line)
}

function indentOf(line: string): number {
  let n = 0
  for (const ch of line) {
    if (ch === ' ') n++
    else if (ch === '\t') n += 8 - (n % 8)
    else break
  }
  return n
}

/** Lines into a tree by indentation. */
function tree(lines: string[]): Line[] {
  const root: Line = { indent: -1, text: '', children: [] }
  const stack: Line[] = [root]
  for (const raw of lines) {
    if (raw.trim() === '') continue
    const node: Line = { indent: indentOf(raw), text: raw.trim(), children: [] }
    while (stack.length > 1 && (stack[stack.length - 1]?.indent ?? -1) >= node.indent) stack.pop()
    stack[stack.length - 1]?.children.push(node)
    stack.push(node)
  }
  return root.children
}

/** Re-creates the raw lines of a subtree, for tables that are parsed by columns. */
function flatten(nodes: Line[], out: { indent: number; text: string }[] = []): { indent: number; text: string }[] {
  for (const n of nodes) {
    out.push({ indent: n.indent, text: n.text })
    flatten(n.children, out)
  }
  return out
}

function kv(text: string): { key: string; value: string } | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_.\/-]*(?: [A-Za-z0-9_.\/()-]+)*):(?:\s+(.*))?$/.exec(text)
  if (m === null || m[1] === undefined) return undefined
  return { key: m[1], value: (m[2] ?? '').trim() }
}

function field(nodes: Line[], key: string): Line | undefined {
  return nodes.find((n) => kv(n.text)?.key === key)
}

function value(nodes: Line[], key: string): string | undefined {
  const n = field(nodes, key)
  if (n === undefined) return undefined
  const v = kv(n.text)?.value
  return v === undefined || v === '' || v === '<none>' ? undefined : v
}

function parseDate(s: string | undefined): string | undefined {
  if (s === undefined) return undefined
  const d = new Date(s)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

export { normalize as normalizeText, isPrompt }

/** A line a person put in place of what they cut: `[...]`, `...`, `<snip>`, `[truncated]`. */
export function isElision(line: string): boolean {
  return /^\s*(\[\s*(\.{3}|\u2026|snip(ped)?|truncated|cut|omitted)[^\]]{0,40}\]|\.{3,}|\u2026|<\s*snip(ped)?\s*>|\(\s*(\.{3}|\u2026)\s*\)|#\s*\.{3}.*)\s*$/i.test(line)
}

/** `5m`, `2m3s`, `3h10m`, `2d5h`, `45s`, `2y` → milliseconds. */
export function parseAge(s: string): number | undefined {
  const t = s.trim()
  if (!/^(\d+[smhdy])+$/.test(t)) return undefined
  let ms = 0
  for (const m of t.matchAll(/(\d+)([smhdy])/g)) {
    const n = Number(m[1])
    const unit = m[2]
    ms += n * (unit === 's' ? 1e3 : unit === 'm' ? 6e4 : unit === 'h' ? 36e5 : unit === 'd' ? 864e5 : 365 * 864e5)
  }
  return ms
}

// ------------------------------------------------------------------ kinds

/** Names the kind of a describe block that is not a Pod, from the fields only that kind prints. */
function otherKind(top: Set<string>, text: string): string | undefined {
  if (top.has('Pod Template') || top.has('Replicas')) {
    if (top.has('StrategyType') || top.has('NewReplicaSet') || top.has('OldReplicaSets')) return 'Deployment'
    if (/Controlled By:\s+Deployment\//.test(text)) return 'ReplicaSet'
    if (top.has('Update Strategy') && top.has('Pods Status') && !top.has('Desired Number of Nodes Scheduled')) return 'StatefulSet'
    if (top.has('Replicas')) return 'ReplicaSet'
  }
  if (top.has('Desired Number of Nodes Scheduled')) return 'DaemonSet'
  if (top.has('Schedule') && top.has('Concurrency Policy')) return 'CronJob'
  if (top.has('Completions') || top.has('Pods Statuses')) return 'Job'
  if (top.has('Capacity') || top.has('Allocatable') || top.has('System Info')) return 'Node'
  if (top.has('TargetPort') || top.has('Endpoints') || top.has('Session Affinity')) return 'Service'
  if (top.has('Default backend') || (top.has('Rules') && top.has('Ingress Class'))) return 'Ingress'
  if (top.has('StorageClass') && top.has('Access Modes')) return top.has('Claim') || top.has('Reclaim Policy') ? 'PersistentVolume' : 'PersistentVolumeClaim'
  if (/^Data\n====/m.test(text)) return top.has('Type') ? 'Secret' : 'ConfigMap'
  if (top.has('Mountable secrets') || top.has('Tokens')) return 'ServiceAccount'
  return undefined
}

// ------------------------------------------------------------------ containers

function parseProbe(s: string): Json | undefined {
  const m = /^(\S+)\s+(.*?)\s*delay=(\d+)s\s+timeout=(\d+)s\s+period=(\d+)s\s+#success=(\d+)\s+#failure=(\d+)/.exec(s)
  if (m === null) return undefined
  const [, kind = '', target = '', delay, timeout, period, success, failure] = m
  const probe: Json = {
    initialDelaySeconds: Number(delay),
    timeoutSeconds: Number(timeout),
    periodSeconds: Number(period),
    successThreshold: Number(success),
    failureThreshold: Number(failure),
  }
  const port = (p: string): string | number => (/^\d+$/.test(p) ? Number(p) : p)
  if (kind === 'http-get') {
    const u = /^(https?):\/\/([^/]*?)(?::([^/:]+))?(\/.*)?$/.exec(target.trim())
    if (u) {
      const get: Json = { path: u[4] ?? '/', scheme: (u[1] ?? 'http').toUpperCase() }
      if (u[3] !== undefined) get['port'] = port(u[3])
      if (u[2]) get['host'] = u[2]
      probe['httpGet'] = get
    }
  } else if (kind === 'tcp-socket') {
    const t = /^(.*):([^:]+)$/.exec(target.trim())
    if (t?.[2]) probe['tcpSocket'] = t[1] ? { host: t[1], port: port(t[2]) } : { port: port(t[2]) }
  } else if (kind === 'exec') {
    const cmd = /^\[(.*)\]$/.exec(target.trim())?.[1]
    probe['exec'] = { command: cmd !== undefined && cmd !== '' ? cmd.split(' ') : [] }
  } else if (kind === 'grpc') {
    const g = /:(\d+)/.exec(target)
    if (g?.[1]) probe['grpc'] = { port: Number(g[1]) }
  }
  return probe
}

function parseState(n: Line | undefined): Json | undefined {
  if (n === undefined) return undefined
  const state = kv(n.text)?.value
  const sub = n.children
  const code = value(sub, 'Exit Code')
  switch (state) {
    case 'Running': {
      const started = parseDate(value(sub, 'Started'))
      return { running: started ? { startedAt: started } : {} }
    }
    case 'Terminated': {
      const t: Json = { exitCode: code !== undefined && /^-?\d+$/.test(code) ? Number(code) : 0 }
      const reason = value(sub, 'Reason')
      if (reason) t['reason'] = reason
      const message = messageOf(sub)
      if (message) t['message'] = message
      const signal = value(sub, 'Signal')
      if (signal && /^\d+$/.test(signal)) t['signal'] = Number(signal)
      const started = parseDate(value(sub, 'Started'))
      if (started) t['startedAt'] = started
      const finished = parseDate(value(sub, 'Finished'))
      if (finished) t['finishedAt'] = finished
      if (code === undefined) return undefined // cut short: an exit code is what makes it a termination
      return { terminated: t }
    }
    case 'Waiting': {
      const w: Json = {}
      const reason = value(sub, 'Reason')
      if (reason) w['reason'] = reason
      const message = messageOf(sub)
      if (message) w['message'] = message
      return { waiting: w }
    }
    default:
      return undefined
  }
}

/** A Message field, with any continuation lines a long message wrapped onto. */
function messageOf(sub: Line[]): string | undefined {
  const n = field(sub, 'Message')
  if (n === undefined) return undefined
  const first = kv(n.text)?.value ?? ''
  const rest = flatten(n.children).map((l) => l.text)
  const all = [first, ...rest].filter((s) => s !== '').join(' ')
  return all === '' ? undefined : all
}

function parseEnv(n: Line | undefined): Json[] {
  if (n === undefined) return []
  const out: Json[] = []
  for (const c of n.children) {
    const e = kv(c.text)
    if (e === undefined) continue
    const v = e.value
    const secret = /^<set to the key '([^']+)' in secret '([^']+)'>/.exec(v)
    const cm = /^<set to the key '([^']+)' of config map '([^']+)'>/.exec(v)
    if (secret) out.push({ name: e.key, valueFrom: { secretKeyRef: { key: secret[1], name: secret[2] } } })
    else if (cm) out.push({ name: e.key, valueFrom: { configMapKeyRef: { key: cm[1], name: cm[2] } } })
    else if (/^\((v1|[a-z.]+\/v\d):/.test(v) || /^<set to the key/.test(v)) out.push({ name: e.key, valueFrom: {} })
    else out.push({ name: e.key, value: v })
  }
  return out
}

function parseEnvFrom(n: Line | undefined): Json[] {
  if (n === undefined) return []
  const out: Json[] = []
  for (const c of n.children) {
    const m = /^(\S+)\s+(ConfigMap|Secret)\b/.exec(c.text)
    if (m?.[1] && m[2]) out.push(m[2] === 'ConfigMap' ? { configMapRef: { name: m[1] } } : { secretRef: { name: m[1] } })
  }
  return out
}

function parseResources(n: Line | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const c of n?.children ?? []) {
    const e = kv(c.text)
    if (e && e.value !== '') out[e.key] = e.value
  }
  return out
}

function parsePorts(nodes: Line[]): Json[] {
  const raw = value(nodes, 'Port') ?? value(nodes, 'Ports')
  if (raw === undefined) return []
  return raw.split(/,\s*/).flatMap((p) => {
    const m = /^(\d+)\/(\w+)/.exec(p.trim())
    return m?.[1] ? [{ containerPort: Number(m[1]), protocol: m[2] }] : []
  })
}

function parseMounts(n: Line | undefined): Json[] {
  const out: Json[] = []
  for (const c of n?.children ?? []) {
    const m = /^(\S+) from (\S+) \(([^)]*)\)/.exec(c.text)
    if (m?.[1] && m[2]) out.push({ mountPath: m[1], name: m[2], readOnly: /\bro\b/.test(m[3] ?? '') })
  }
  return out
}

function parseContainer(n: Line): { spec: Json; status: Json } | undefined {
  const name = /^(.+?):$/.exec(n.text)?.[1]
  if (name === undefined) return undefined
  const f = n.children
  const items = (key: string): string[] => (field(f, key)?.children ?? []).flatMap((c) => flatten([c]).map((l) => l.text))
  const spec: Json = { name, image: value(f, 'Image') ?? '' }
  const command = items('Command')
  if (command.length) spec['command'] = command
  const args = items('Args')
  if (args.length) spec['args'] = args
  const ports = parsePorts(f)
  if (ports.length) spec['ports'] = ports
  const limits = parseResources(field(f, 'Limits'))
  const requests = parseResources(field(f, 'Requests'))
  if (Object.keys(limits).length || Object.keys(requests).length) spec['resources'] = { limits, requests }
  for (const [key, prop] of [['Liveness', 'livenessProbe'], ['Readiness', 'readinessProbe'], ['Startup', 'startupProbe']] as const) {
    const v = value(f, key)
    const probe = v ? parseProbe(v) : undefined
    if (probe) spec[prop] = probe
  }
  const env = parseEnv(field(f, 'Environment'))
  if (env.length) spec['env'] = env
  const envFrom = parseEnvFrom(field(f, 'Environment Variables from'))
  if (envFrom.length) spec['envFrom'] = envFrom
  const mounts = parseMounts(field(f, 'Mounts'))
  if (mounts.length) spec['volumeMounts'] = mounts
  const restartPolicy = value(f, 'Restart Policy')
  if (restartPolicy) spec['restartPolicy'] = restartPolicy
  const status: Json = { name, image: spec['image'], ready: value(f, 'Ready') === 'True', restartCount: Number(value(f, 'Restart Count') ?? 0) || 0 }
  const containerID = value(f, 'Container ID')
  if (containerID) status['containerID'] = containerID
  const imageID = value(f, 'Image ID')
  if (imageID) status['imageID'] = imageID
  const state = parseState(field(f, 'State'))
  if (state) status['state'] = state
  const last = parseState(field(f, 'Last State'))
  status['lastState'] = last ?? {}
  if (state === undefined && field(f, 'State') === undefined) return { spec, status: {} }
  return { spec, status }
}

function containersOf(section: Line | undefined): { specs: Json[]; statuses: Json[] } {
  const specs: Json[] = []
  const statuses: Json[] = []
  for (const n of section?.children ?? []) {
    const c = parseContainer(n)
    if (c === undefined) continue
    specs.push(c.spec)
    if (Object.keys(c.status).length > 0) statuses.push(c.status)
  }
  return { specs, statuses }
}

// ------------------------------------------------------------------ events

export interface EventRow {
  type: string
  reason: string
  age?: string
  count: number
  over?: string
  first?: string
  from?: string
  fieldPath?: string
  message: string
}

const EVENT_TYPES = /^(Normal|Warning)$/

/** One events table: header, dashes, rows; columns found by header position, else by separators. */
export function parseEvents(rawLines: string[]): EventRow[] {
  const headerIdx = rawLines.findIndex((l) => /^\s*(Type\s+Reason\s+Age|FirstSeen\s+LastSeen)/.test(l))
  if (headerIdx < 0) return []
  const header = rawLines[headerIdx] ?? ''
  const old = /FirstSeen/.test(header)
  const names = header.trim().split(/\s+/)
  const starts = names.map((name) => header.indexOf(name === 'Type' && old ? 'Type' : name))
  // Positions are only reliable for space-aligned text; tabs and re-flowed whitespace use the anchors.
  const rows: EventRow[] = []
  for (let i = headerIdx + 1; i < rawLines.length; i++) {
    const line = rawLines[i] ?? ''
    if (line.trim() === '' || /^\s*-+(\s+-+)*\s*$/.test(line) || isElision(line)) continue
    const row = old ? parseOldRow(line) : parseNewRow(line, starts)
    if (row) rows.push(row)
    else if (rows.length > 0) {
      const prev = rows[rows.length - 1]
      if (prev) prev.message = `${prev.message} ${line.trim()}`
    }
  }
  return rows
}

function parseAgeColumn(s: string): { age?: string; count: number; over?: string } {
  const m = /^(\S+)(?:\s+\(x(\d+) over (\S+)\))?$/.exec(s.trim())
  if (m === null) return { count: 1 }
  const out: { age?: string; count: number; over?: string } = { count: m[2] ? Number(m[2]) : 1 }
  if (m[1]) out.age = m[1]
  if (m[3]) out.over = m[3]
  return out
}

function parseNewRow(line: string, starts: number[]): EventRow | undefined {
  if (!line.includes('\t') && starts.length === 5 && starts.every((s) => s >= 0)) {
    const cell = (i: number): string => line.slice(starts[i] ?? 0, i + 1 < starts.length ? starts[i + 1] : undefined).trim()
    const aligned = starts.slice(1).every((s) => s <= line.length && (s === 0 || /\s/.test(line[s - 1] ?? ' ')))
    const type = cell(0)
    if (aligned && EVENT_TYPES.test(type) && cell(1) !== '' && !/\s/.test(cell(1))) {
      const age = parseAgeColumn(cell(2))
      const row: EventRow = { type, reason: cell(1), ...age, message: line.slice(starts[4] ?? 0).trim() }
      const from = cell(3)
      if (from) row.from = from
      return row
    }
  }
  // Whitespace was re-flowed: Type, Reason, Age (maybe "(xN over T)"), From ("kubelet, node" or one word), Message.
  const m = /^\s*(Normal|Warning)\s+(\S+)\s+(<unknown>|<invalid>|\S+(?:\s+\(x\d+\s+over\s+\S+\))?)\s+(\S+,\s+\S+|\S+)(?:\s+(.*))?$/.exec(line)
  if (m === null) return undefined
  const row: EventRow = { type: m[1] ?? 'Normal', reason: m[2] ?? '', ...parseAgeColumn(m[3] ?? ''), message: (m[5] ?? '').trim() }
  if (m[4]) row.from = m[4]
  return row
}

/** FirstSeen LastSeen Count From SubObjectPath Type Reason Message (Type absent in the oldest versions). */
function parseOldRow(line: string): EventRow | undefined {
  const cells = line.trim().split(/\t+|\s{2,}/)
  if (cells.length < 5) return undefined
  const [first, last, count] = cells
  if (first === undefined || last === undefined || count === undefined || !/^\d+$/.test(count)) return undefined
  let rest = cells.slice(3)
  let from = rest[0]
  // A From of `{kubelet node-1}` may have been split on its inner spaces.
  if (from?.startsWith('{') && !from.endsWith('}')) {
    const end = rest.findIndex((c) => c.endsWith('}'))
    if (end > 0) {
      from = rest.slice(0, end + 1).join(' ')
      rest = [from, ...rest.slice(end + 1)]
    }
  }
  rest = rest.slice(1)
  let fieldPath: string | undefined
  if (rest[0] !== undefined && /^(spec\.|implicitly required container)/.test(rest[0])) {
    fieldPath = rest[0]
    rest = rest.slice(1)
  }
  let type = 'Normal'
  if (rest[0] !== undefined && EVENT_TYPES.test(rest[0])) {
    type = rest[0]
    rest = rest.slice(1)
  }
  const reason = rest[0]
  if (reason === undefined) return undefined
  const row: EventRow = { type, reason, age: last, first, count: Number(count), message: rest.slice(1).join('  ').trim() }
  const component = from?.replace(/^\{|\}$/g, '').trim().split(/\s+/)[0]
  if (component) row.from = component
  if (fieldPath) row.fieldPath = fieldPath
  return row
}

export function eventObject(row: EventRow, pod: { name: string; namespace: string; kind?: string }, now: Date, index: number): Json {
  const lastMs = row.age ? parseAge(row.age) : undefined
  const firstMs = row.over ? parseAge(row.over) : row.first ? parseAge(row.first) : lastMs
  const involved: Json = { kind: pod.kind ?? 'Pod', name: pod.name, namespace: pod.namespace }
  if (row.fieldPath) involved['fieldPath'] = row.fieldPath
  const ev: Json = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${pod.name}.describe-${index}`, namespace: pod.namespace },
    involvedObject: involved,
    type: row.type,
    reason: row.reason,
    message: row.message,
    count: row.count,
  }
  if (row.from) {
    // "kubelet, worker-1" (kubectl before 1.19 and old event tables): the component and its host.
    const host = /^[^,]+,\s*(\S+)/.exec(row.from)?.[1]
    ev['source'] = { component: row.from.replace(/,.*$/, ''), ...(host !== undefined ? { host } : {}) }
  }
  if (lastMs !== undefined) ev['lastTimestamp'] = new Date(now.getTime() - lastMs).toISOString()
  if (firstMs !== undefined) ev['firstTimestamp'] = new Date(now.getTime() - firstMs).toISOString()
  return ev
}

// ------------------------------------------------------------------ pod

function parseVolumes(section: Line | undefined): Json[] {
  const out: Json[] = []
  for (const n of section?.children ?? []) {
    const name = /^(.+?):$/.exec(n.text)?.[1]
    if (name === undefined) continue
    const type = value(n.children, 'Type') ?? ''
    const vol: Json = { name }
    if (/^PersistentVolumeClaim/.test(type)) vol['persistentVolumeClaim'] = { claimName: value(n.children, 'ClaimName') ?? '' }
    else if (/^ConfigMap/.test(type)) vol['configMap'] = { name: value(n.children, 'Name') ?? '' }
    else if (/^Secret/.test(type)) vol['secret'] = { secretName: value(n.children, 'SecretName') ?? '' }
    else if (/^EmptyDir/.test(type)) vol['emptyDir'] = {}
    out.push(vol)
  }
  return out
}

function continuation(top: Line[], key: string): string[] {
  const n = field(top, key)
  if (n === undefined) return []
  const first = kv(n.text)?.value ?? ''
  return [first, ...flatten(n.children).map((l) => l.text)].filter((s) => s !== '' && s !== '<none>')
}

function parsePodBlock(block: string[], now: Date): DescribedPod | { error: string } {
  const elided = block.some(isElision)
  const top = tree(block.filter((l) => !isElision(l)))
  const topKeys = new Set(top.flatMap((n) => (n.indent === 0 ? [kv(n.text)?.key ?? ''] : [])))
  const text = block.join('\n')
  const name = value(top, 'Name')
  if (name === undefined) return { error: 'describe text without a Name' }
  const eventsAt = block.findIndex((l) => /^Events:/.test(l))
  const readEvents = (): Json[] => (eventsAt >= 0 ? parseEvents(block.slice(eventsAt + 1)).map((row, i) => eventObject(row, { name, namespace: value(top, 'Namespace') ?? 'default' }, now, i)) : [])
  const cut = elided ? ['parts of the text, cut out ([...])'] : []
  if (!topKeys.has('Containers') && !topKeys.has('Pod Template') && (elided || topKeys.has('Init Containers')) && eventsAt >= 0 && otherKind(topKeys, text) === undefined) {
    // A pod's describe whose Containers section was cut: its events still tell a story.
    const namespace = value(top, 'Namespace') ?? 'default'
    return { name, namespace, events: readEvents(), unseen: [...cut, 'the Containers section (states, exit codes, restart counts)'] }
  }
  if (!topKeys.has('Containers') || topKeys.has('Pod Template')) {
    const kind = otherKind(topKeys, text)
    return {
      error: kind
        ? `this is \`kubectl describe\` output for a ${kind} (${name}), not a Pod; run \`kubectl describe pod POD\` for one of its pods`
        : `this \`kubectl describe\` output (${name}) is not a Pod's: it has no Containers section`,
    }
  }
  const namespace = value(top, 'Namespace') ?? 'default'
  const meta: Json = { name, namespace }
  const labels = Object.fromEntries(continuation(top, 'Labels').flatMap((l) => {
    const i = l.indexOf('=')
    return i > 0 ? [[l.slice(0, i), l.slice(i + 1)]] : []
  }))
  if (Object.keys(labels).length) meta['labels'] = labels
  const owner = value(top, 'Controlled By') ?? value(top, 'Controllers') ?? value(top, 'Created By')
  const ownerMatch = owner ? /^(\w+)\/(\S+)/.exec(owner) : null
  if (ownerMatch?.[1] && ownerMatch[2]) meta['ownerReferences'] = [{ kind: ownerMatch[1], name: ownerMatch[2], controller: true }]
  const status: Json = {}
  const statusText = value(top, 'Status')
  const terminating = statusText ? /^Terminating(?: \(lasts (\S+)\))?/.exec(statusText) : null
  if (terminating) {
    const lasts = terminating[1] ? parseAge(terminating[1]) : undefined
    meta['deletionTimestamp'] = new Date(now.getTime() - (lasts ?? 0)).toISOString()
    const grace = value(top, 'Termination Grace Period')
    if (grace && /^\d+s$/.test(grace)) meta['deletionGracePeriodSeconds'] = Number(grace.slice(0, -1))
  } else if (statusText) {
    status['phase'] = statusText.split(/\s/)[0]
  }
  const reason = value(top, 'Reason')
  if (reason) status['reason'] = reason
  const message = messageOf(top)
  if (message) status['message'] = message
  const started = parseDate(value(top, 'Start Time'))
  if (started) status['startTime'] = started
  const qos = value(top, 'QoS Class')
  if (qos) status['qosClass'] = qos
  const spec: Json = {}
  const node = value(top, 'Node')
  if (node && node !== '<none>') {
    const [nodeName, hostIP] = node.split('/')
    if (nodeName) spec['nodeName'] = nodeName
    if (hostIP) status['hostIP'] = hostIP
  }
  const selectors = continuation(top, 'Node-Selectors').flatMap((l) => {
    const i = l.indexOf('=')
    return i > 0 ? [[l.slice(0, i), l.slice(i + 1)] as const] : []
  })
  if (selectors.length) spec['nodeSelector'] = Object.fromEntries(selectors)
  const section = (key: string): Line | undefined => top.find((n) => n.indent === 0 && kv(n.text)?.key === key)
  const inits = containersOf(section('Init Containers'))
  const apps = containersOf(section('Containers'))
  const ephemeral = containersOf(section('Ephemeral Containers'))
  if (apps.specs.length === 0) return { error: `Pod ${name}: the Containers section of the describe text is empty or cut short` }
  spec['containers'] = apps.specs
  if (inits.specs.length) spec['initContainers'] = inits.specs
  if (ephemeral.specs.length) spec['ephemeralContainers'] = ephemeral.specs
  const volumes = parseVolumes(section('Volumes'))
  if (volumes.length) spec['volumes'] = volumes
  status['containerStatuses'] = apps.statuses
  if (inits.statuses.length) status['initContainerStatuses'] = inits.statuses
  if (ephemeral.statuses.length) status['ephemeralContainerStatuses'] = ephemeral.statuses
  const conditions: Json[] = []
  for (const row of flatten(section('Conditions')?.children ?? [])) {
    const m = /^(\w+)\s+(True|False|Unknown)\b/.exec(row.text)
    if (m?.[1] && m[2]) conditions.push({ type: m[1], status: m[2] })
  }
  if (conditions.length) status['conditions'] = conditions
  const pod: Json = { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec, status }
  // The events table is read from the raw lines: its columns are positional.
  const events = readEvents()
  const unseen = [...cut]
  const stateless = [...inits.specs, ...apps.specs].map((c) => String(c['name'])).filter((n) => ![...inits.statuses, ...apps.statuses].some((st) => st['name'] === n))
  if (stateless.length > 0) unseen.push(`the state of container${stateless.length === 1 ? '' : 's'} ${stateless.slice(0, 5).join(', ')}`)
  if (eventsAt < 0) unseen.push('the Events section')
  return { pod, name, namespace, events, unseen }
}

/**
 * Parses describe text of one or more pods. `now` stands for the moment the text was printed:
 * describe prints ages ("5m ago"), and the analyzer needs times.
 */
export function parseDescribe(text: string, now: Date): DescribeResult {
  let lines = normalize(text).split('\n')
  let first = lines.findIndex((l) => /^Name:\s+\S/.test(l))
  const section = lines.findIndex((l) => /^(Init Containers|Containers):\s*$/.test(l))
  if (section >= 0 && (first < 0 || section < first)) {
    // Cut at the top: the pod's name is not in the text.
    lines = [`Name:  ${UNNAMED}`, '[...]', ...lines.slice(section)]
    first = 0
  }
  if (first < 0) return { ok: false, error: 'not `kubectl describe` output: no "Name:" line' }
  const blocks: string[][] = []
  let cur: string[] = []
  for (const line of lines.slice(first)) {
    if (/^Name:\s+\S/.test(line) && cur.length > 0) {
      blocks.push(cur)
      cur = []
    }
    if (isPrompt(line)) continue
    cur.push(line)
  }
  if (cur.length > 0) blocks.push(cur)
  const pods: DescribedPod[] = []
  const errors: string[] = []
  for (const b of blocks) {
    const r = parsePodBlock(b, now)
    if ('error' in r) errors.push(r.error)
    else pods.push(r)
  }
  if (pods.length === 0) return { ok: false, error: errors.join('; ') || 'no pod found in the describe text' }
  return { ok: true, pods }
}

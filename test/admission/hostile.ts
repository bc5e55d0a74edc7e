/**
 * Hostile reviews, generated (never stored): small, API-server-valid Pods built to make a
 * checker do too much work or hold too much memory, and their kin with 1 MiB strings in each
 * free-text field. Used by the hostile-review test and by the heap check in a child process.
 */
import { pod, review } from './helpers.js'

const MIB = 1 << 20

function ctr(extra: Record<string, unknown>, name = 'app'): Record<string, unknown> {
  return { name, image: 'registry.example/app:1.0', resources: { limits: { memory: '256Mi', cpu: '1' }, requests: { memory: '256Mi', cpu: '100m' } }, ...extra }
}

function envList(n: number): { name: string; value: string }[] {
  return Array.from({ length: n }, (_, i) => ({ name: `VAR_${i}_${'N'.repeat(i % 17)}`, value: `v${i}` }))
}

function refs(n: number): string {
  return Array.from({ length: n }, (_, i) => `$(VRA_${i}_UNDEFINED)`).join(' ')
}

export interface HostileCase {
  name: string
  object: () => Record<string, unknown>
}

export const HOSTILE_CASES: readonly HostileCase[] = [
  { name: '10,000 env vars and 300 undefined references', object: () => pod([ctr({ env: envList(10_000), args: [refs(300)] })]) },
  { name: '50,000 env vars and 1,000 undefined references', object: () => pod([ctr({ env: envList(50_000), args: [refs(1_000)] })]) },
  { name: '100,000 undefined-reference args', object: () => pod([ctr({ args: Array.from({ length: 100_000 }, (_, i) => `$(UNDEFINED_${i})`) })]) },
  { name: '1 MB sh -c script', object: () => pod([ctr({ command: ['sh', '-c', 'echo start; '.padEnd(MIB, 'a b c "d e" $(X) ; x=1 && y || z | w ')] })]) },
  { name: 'many $(VAR) references in one script', object: () => pod([ctr({ command: ['sh', '-c', refs(50_000).toUpperCase()] })]) },
  { name: 'an env expansion bomb', object: () => pod([ctr({ env: Array.from({ length: 40 }, (_, i) => ({ name: `B${i}`, value: i === 0 ? 'x'.repeat(1_000) : `$(B${i - 1})`.repeat(10) })), args: ['$(B39)'] })]) },
  { name: '2,000 containers', object: () => pod(Array.from({ length: 2_000 }, (_, i) => ctr({ imagePullPolicy: 'Never', image: `img${i}:latest` }, `c${i}`))) },
  {
    name: 'deep but legal nesting in a script',
    object: () => pod([ctr({ command: ['sh', '-c', `${'$('.repeat(20_000)}true${')'.repeat(20_000)}; ${'if true; then '.repeat(5_000)}sleep infinity${'; fi'.repeat(5_000)}`] })]),
  },
  { name: '1 MiB metadata.name', object: () => pod([ctr({})], { name: 'n'.repeat(MIB) }) },
  { name: '1 MiB container name', object: () => pod([ctr({}, 'c'.repeat(MIB))]) },
  { name: '1 MiB image', object: () => pod([ctr({ image: `registry.example/${'i'.repeat(MIB)}:latest` })]) },
  { name: '1 MiB env value and name', object: () => pod([ctr({ env: [{ name: 'E'.repeat(MIB), value: 'v'.repeat(MIB) }], args: [`$(${'E'.repeat(MIB - 1)}F)`] })]) },
  { name: '1 MiB command word', object: () => pod([ctr({ command: [`/bin/${'w'.repeat(MIB)} x`] })]) },
  { name: '1 MiB probe command', object: () => pod([ctr({ livenessProbe: { exec: { command: ['sh', '-c', `$(${'P'.repeat(MIB)})`] }, periodSeconds: 1 } })]) },
  { name: '1 MiB memory quantity', object: () => pod([ctr({ resources: { limits: { memory: `${'9'.repeat(MIB)}Mi` } } })]) },
  { name: '1 MiB annotation', object: () => pod([ctr({})], { annotations: { 'pod-preflight/skip': `${'x,'.repeat(MIB / 2)}` } }) },
  {
    name: '1 MiB JVM options',
    object: () => pod([ctr({ image: 'eclipse-temurin:21', env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-Xmx1g '.repeat(MIB / 7) }], command: ['java', ...Array.from({ length: 10_000 }, () => '-Xmx2g'), '-jar', 'a.jar'] })]),
  },
  { name: 'a control-character name', object: () => pod([ctr({ image: 'nginx:latest\u001b[2J\u009b' }, 'x')], { name: 'web\nDENY everything\u202e' }) },
]

export function hostileReview(c: HostileCase): Record<string, unknown> {
  return review(c.object())
}

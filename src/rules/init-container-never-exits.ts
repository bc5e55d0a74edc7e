import { defineRule, type RuleFinding } from '../engine/rule.js'
import {
  argPath,
  endlessLoop,
  excerpt,
  foreverCommand,
  imageMatches,
  mainPath,
  parseScript,
  processArgv,
  programIndex,
  shellInvocation,
  sleepOf,
} from '../engine/command.js'

interface Params {
  minSleepSeconds: number
  serverImages: string[]
}

const DEFAULT_SERVER_IMAGES = [
  'nginx',
  'httpd',
  'redis',
  'postgres',
  'mysql',
  'mariadb',
  'mongo',
  'rabbitmq',
  'memcached',
  'elasticsearch',
  'opensearch',
  'tomcat',
  'traefik',
  'haproxy',
  'caddy',
  'kafka',
  'zookeeper',
  'cassandra',
  'couchdb',
  'influxdb',
  'grafana',
  'prometheus',
  'minio',
  'nats',
  'etcd',
  'consul',
  'vault',
  'keycloak',
]

function blocks(slept: number | undefined): string {
  if (slept === undefined || slept === Infinity) return 'never returns'
  const hours = slept / 3600
  return hours >= 48 ? `waits ${Math.round(hours / 24)} days` : `waits ${Math.round(hours)} hours`
}

export const rule = defineRule<Params>({
  id: 'init-container-never-exits',
  title: 'Init container that never exits',
  defaultAction: 'warn',
  scope: ['static'],
  params: {
    type: 'object',
    properties: {
      minSleepSeconds: {
        type: 'integer',
        minimum: 1,
        default: 86400,
        description: 'A `sleep` at least this long (in seconds) counts as never returning; `sleep infinity` always does.',
      },
      serverImages: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        default: DEFAULT_SERVER_IMAGES,
        description:
          'Images whose default command runs a server until stopped. Entries name the last path components of the ' +
          'repository (`redis` matches `bitnami/redis:7.2` and `docker.io/library/redis`; `myorg/redis-tools` does not); ' +
          'a trailing `*` matches the rest of the last component.',
      },
    },
    additionalProperties: false,
  },
  docs: {
    summary: 'An init container runs something that never ends, so the app containers never start.',
    description:
      'Init containers run one after another, each to completion, before any app container starts. The rule reports an ' +
      'ordinary init container (not a native sidecar with restartPolicy: Always) whose command never returns: ' +
      '`sleep infinity` or a sleep of at least minSleepSeconds (default one day), `tail -f` (e.g. `tail -f /dev/null`), a ' +
      '`while true` / `while :` / `until false` loop without `break`, `exit` or `return`, or a server image (nginx, redis, ' +
      'postgres… see serverImages) started with no command, or with only option args that the image passes to its ' +
      'server. In `sh -c` scripts only unconditional top-level commands count: `migrate || sleep infinity` (waits only ' +
      'when migrate fails), a sleep inside `if`, and a loop sent to the background with `&` are not reported; ' +
      '`until pg_isready; do sleep 2; done` ends and is fine.',
    failure:
      'The init container keeps running, the pod stays in Init:0/N (app containers wait in PodInitializing) and never ' +
      'becomes Ready; a Deployment rollout stalls until its progress deadline.',
    fix:
      'Make the init container finish: wait for a condition with a bounded loop (`until nc -z db 5432; do sleep 2; done`), ' +
      'give the server image a command that does the one-off work, or, if the process must keep running alongside the ' +
      'app, move it to `containers` or make it a native sidecar with `restartPolicy: Always`.',
  },
  check(pod, ctx) {
    const { minSleepSeconds, serverImages } = ctx.params
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (c.kind !== 'initContainer' || c.longRunning) continue
      const e = processArgv(c)
      const image = c.spec.image ?? ''
      const serverImage = image !== '' ? imageMatches(image, serverImages) : undefined
      const optionArgsOnly = e !== undefined && !e.hasCommand && (e.argv[0] ?? '').startsWith('-')
      if (serverImage !== undefined && (e === undefined || optionArgsOnly)) {
        findings.push({
          path: e === undefined ? `${c.path}.command` : argPath(e, 0),
          container: c.name,
          message: `init container "${c.name}" runs ${image} ${e === undefined ? 'without a command' : 'with only server options'}, i.e. its server, which never exits: the pod stays in Init and the app never starts`,
          fix: `give init container "${c.name}" a command that does its one-off job and exits, or run the server as a regular container or a native sidecar (restartPolicy: Always)`,
        })
        continue
      }
      if (e === undefined) continue
      let what: string | undefined
      let slept: number | undefined
      let path: string
      const sh = shellInvocation(e.expanded)
      if (sh !== undefined) {
        if (sh.mode !== 'command' || sh.scriptIndex < 0) continue
        const script = e.expanded[sh.scriptIndex] ?? ''
        const commands = parseScript(script)
        for (const { cmd } of mainPath(commands)) {
          what = foreverCommand(cmd.words, minSleepSeconds)
          if (what !== undefined) {
            slept = sleepOf(cmd.words)
            break
          }
        }
        what ??= endlessLoop(commands)
        if (what !== undefined) what = `\`${what}\` in its script (${JSON.stringify(excerpt(script))})`
        path = argPath(e, sh.scriptIndex)
      } else {
        what = foreverCommand(e.expanded, minSleepSeconds)
        slept = sleepOf(e.expanded)
        if (what !== undefined) what = `\`${what}\``
        path = argPath(e, programIndex(e.expanded))
      }
      if (what === undefined) continue
      findings.push({
        path,
        container: c.name,
        message: `init container "${c.name}" runs ${what}, which ${blocks(slept)}: the pod stays in Init and the app containers do not start`,
        fix: `let init container "${c.name}" finish (e.g. until nc -z db 5432; do sleep 2; done), or make it a native sidecar with restartPolicy: Always if it must keep running`,
      })
    }
    return findings
  },
})

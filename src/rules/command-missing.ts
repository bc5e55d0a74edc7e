import { defineRule, type RuleFinding } from '../engine/rule.js'
import { imageMatches } from '../engine/command.js'

interface Params {
  baseImages: string[]
}

/** What each default base image runs when no command is given. */
const DEFAULT_CMD: Record<string, string> = {
  busybox: 'sh',
  alpine: '/bin/sh',
  ubuntu: 'bash',
  debian: 'bash',
  centos: '/bin/bash',
  fedora: '/bin/bash',
  rockylinux: '/bin/bash',
  almalinux: '/bin/bash',
  amazonlinux: '/bin/bash',
  oraclelinux: '/bin/bash',
  archlinux: '/usr/bin/bash',
  opensuse: '/bin/bash',
  'opensuse/leap': '/bin/bash',
  'opensuse/tumbleweed': '/bin/bash',
  photon: '/bin/bash',
}

/** Patterns whose images have no default command and no shell at all. */
const NOTHING_TO_RUN = new Set(['distroless/static*'])

const DEFAULT_BASE_IMAGES = [...Object.keys(DEFAULT_CMD), ...NOTHING_TO_RUN]

export const rule = defineRule<Params>({
  id: 'command-missing',
  title: 'Long-running container on a bare OS image without a command',
  defaultAction: 'deny',
  scope: ['static'],
  params: {
    type: 'object',
    properties: {
      baseImages: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        default: DEFAULT_BASE_IMAGES,
        description:
          'Images whose default command is a shell or nothing. Each entry names the last path components of the repository ' +
          '(registry, tag and digest are ignored): `alpine` matches `docker.io/library/alpine:3.20` but not `myorg/alpine-nginx`; ' +
          '`opensuse/leap` needs both components; a trailing `*` matches the rest of the last component (`distroless/static*`).',
      },
    },
    additionalProperties: false,
  },
  docs: {
    summary: 'A long-running container on a bare OS image (busybox, alpine, ubuntu…) needs a command.',
    description:
      'Bare OS images such as busybox, alpine, ubuntu or debian start a shell when no command is given, and distroless/static ' +
      'has no default command at all. In a Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, a Pod with ' +
      'restartPolicy Always, or a native sidecar (an init container with restartPolicy: Always), such a container has no ' +
      'foreground process to keep it alive. The rule fires only when neither `command` nor `args` is set and neither `tty` nor ' +
      '`stdin` is set (an interactive shell with stdin open keeps running). Jobs, CronJobs and Pods with restartPolicy ' +
      'Never/OnFailure are expected to exit and are left alone, as are ordinary init containers. The image is matched on the ' +
      'last components of its repository, so mirrors match (`mirror.example.com/library/alpine`) while images that merely ' +
      'contain a base name (`myorg/alpine-nginx`, `bitnami/redis`) do not.',
    failure:
      'The shell finds no terminal and no input, exits with code 0 at once, and the kubelet restarts it over and over: ' +
      'CrashLoopBackOff with exit code 0 ("no foreground process"). A distroless/static container cannot even start ' +
      '(CreateContainerError / StartError: no command specified).',
    fix:
      'Set `command` (and `args`) to the process the container should run in the foreground, e.g. ' +
      '`command: ["/app/server"]`, or use an image whose default command starts the service. For a debugging pod, ' +
      '`command: ["sleep", "infinity"]` keeps it running.',
  },
  check(pod, ctx) {
    const patterns = ctx.params.baseImages
    const findings: RuleFinding[] = []
    for (const c of pod.containers) {
      if (!c.longRunning || c.kind === 'ephemeralContainer') continue
      const spec = c.spec
      if ((spec.command?.length ?? 0) > 0 || (spec.args?.length ?? 0) > 0) continue
      if (spec.tty === true || spec.stdin === true) continue
      const image = spec.image
      if (image === undefined || image === '') continue
      const matched = imageMatches(image, patterns)
      if (matched === undefined) continue
      const where = c.kind === 'initContainer' ? `native sidecar "${c.name}"` : `container "${c.name}"`
      if (NOTHING_TO_RUN.has(matched)) {
        findings.push({
          path: `${c.path}.command`,
          container: c.name,
          message: `${where} sets no command and ${image} has no default command or shell: it cannot start (StartError, no command specified)`,
          fix: `set command to the binary the image should run, e.g. command: ["/app/server"]`,
        })
        continue
      }
      const shell = DEFAULT_CMD[matched]
      const runs = shell !== undefined ? `its default ${shell} shell` : 'its default shell (or nothing)'
      findings.push({
        path: `${c.path}.command`,
        container: c.name,
        message: `${where} sets no command on ${image}, so ${runs} exits 0 at once with no terminal: CrashLoopBackOff`,
        fix: `set command/args to the process that should run in the foreground (e.g. command: ["/app/server"]), or use an image whose default command starts the service`,
      })
    }
    return findings
  },
})

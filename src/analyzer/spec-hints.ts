import type { ContainerView, ProbeView } from './pod.js'

/**
 * Small checks of the container spec that link a failure to the admission rule that would have
 * caught it. They follow the rules' definitions but stay independent of the rule engine: the
 * analyzer only needs to know whether the evidence supports naming the rule.
 */

const BARE_IMAGES = [
  'busybox', 'alpine', 'ubuntu', 'debian', 'centos', 'fedora', 'rockylinux', 'almalinux', 'amazonlinux',
  'oraclelinux', 'archlinux', 'opensuse', 'opensuse/leap', 'opensuse/tumbleweed', 'photon', 'distroless/static', 'distroless/base',
]

/** The repository part of an image without registry, tag or digest: `docker.io/library/alpine:3` → `alpine`. */
export function imageRepository(image: string): string {
  let ref = image.split('@')[0] ?? image
  const lastSlash = ref.lastIndexOf('/')
  const colon = ref.lastIndexOf(':')
  if (colon > lastSlash) ref = ref.slice(0, colon)
  const parts = ref.split('/')
  const first = parts[0] ?? ''
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) parts.shift()
  if (parts[0] === 'library') parts.shift()
  return parts.join('/')
}

export function registryOf(image: string): string {
  const ref = image.split('@')[0] ?? image
  const parts = ref.split('/')
  const first = parts[0] ?? ''
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) return first
  return 'docker.io'
}

export function isBareOsImage(image: string): boolean {
  const repo = imageRepository(image)
  return BARE_IMAGES.some((b) => repo === b || repo.endsWith(`/${b}`) || (b.startsWith('distroless/') && repo.endsWith(b)))
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh', 'busybox'])

function base(cmd: string): string {
  return cmd.split('/').pop() ?? cmd
}

export function isShell(cmd: string | undefined): boolean {
  return cmd !== undefined && SHELLS.has(base(cmd))
}

/** The executable the container starts: command[0], or args[0] when there is no command. */
export function executable(c: ContainerView): { value: string; field: 'command' | 'args' } | undefined {
  const cmd = c.command[0]
  if (cmd !== undefined) return { value: cmd, field: 'command' }
  const arg = c.args[0]
  if (arg !== undefined) return { value: arg, field: 'args' }
  return undefined
}

/** Why the main process goes to the background, if the command says so. */
export function backgroundedBy(c: ContainerView): string | undefined {
  const text = [...c.command, ...c.args].join(' ')
  if (/&\s*$/.test(text.trim())) return 'the command ends with &, which sends the process to the background'
  if (/\bnohup\b/.test(text)) return 'the command starts the process with nohup'
  if (/catalina\.sh\s+start\b/.test(text)) return "'catalina.sh start' daemonises Tomcat (use 'catalina.sh run')"
  if (/\bstartup\.sh\b/.test(text)) return "startup.sh starts the server in the background (use 'catalina.sh run')"
  if (/\bservice\s+\S+\s+start\b/.test(text)) return "'service ... start' starts a daemon and returns"
  if (/\bsystemctl\s+start\b/.test(text)) return "'systemctl start' starts a daemon and returns"
  if (/\bdaemon\s+on\b/.test(text)) return "nginx runs with 'daemon on'"
  if (/(^|\s)-d(\s|$)|--daemon(ize)?\b/.test(text) && /\b(redis-server|memcached|mysqld|nginx|httpd|apachectl|php-fpm)\b/.test(text)) return 'the server is started in daemon mode'
  return undefined
}

/** Shell syntax in the arguments of a command that is not a shell: passed literally. */
export function shellSyntaxWithoutShell(c: ContainerView): string | undefined {
  const exe = executable(c)
  if (exe === undefined || isShell(exe.value)) return undefined
  const rest = exe.field === 'command' ? [...c.command.slice(1), ...c.args] : c.args.slice(1)
  for (const a of rest) {
    if (/(&&|\|\||(^|\s)\|(\s|$)|;\s|(^|\s)>{1,2}\s?\S|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)/.test(a) && !/\$\([A-Za-z_][A-Za-z0-9_]*\)/.test(a)) return a
  }
  return undefined
}

/** `$(VAR)` references to variables the container does not define. */
export function undefinedEnvReferences(c: ContainerView): string[] {
  const defined = new Set(c.env.map((e) => e.name))
  if (c.envFrom.length > 0) return [] // names from envFrom are not known here
  const out = new Set<string>()
  for (const s of [...c.command, ...c.args]) {
    for (const m of s.matchAll(/(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) if (m[1] && !defined.has(m[1])) out.add(m[1])
  }
  return [...out]
}

/** A command that never exits: `sleep infinity`, `tail -f /dev/null`, `while true`. */
export function runsForever(c: ContainerView): string | undefined {
  const text = [...c.command, ...c.args].join(' ')
  if (/\bsleep\s+(infinity|inf)\b/.test(text)) return 'sleep infinity'
  if (/\bsleep\s+(\d{6,})\b/.test(text)) return 'a very long sleep'
  if (/\btail\s+-f\s+\/dev\/null\b/.test(text)) return 'tail -f /dev/null'
  if (/\bwhile\s+(true|:)\s*;?\s*do\b/.test(text) && !/\bbreak\b|\bexit\b/.test(text)) return 'an endless while loop'
  return undefined
}

/** How long a preStop hook waits, when that can be read from it. */
export function preStopSeconds(c: ContainerView): number | undefined {
  const hook = c.preStop
  if (hook === undefined) return undefined
  if (hook.sleepSeconds !== undefined) return hook.sleepSeconds
  const m = /\bsleep\s+(\d+)\b/.exec(hook.command.join(' '))
  return m?.[1] ? Number(m[1]) : undefined
}

export function probeSettings(p: ProbeView): string {
  return `${p.action} initialDelaySeconds=${p.initialDelaySeconds} timeoutSeconds=${p.timeoutSeconds} periodSeconds=${p.periodSeconds} failureThreshold=${p.failureThreshold}`
}

export function looksLikeJvm(c: ContainerView): boolean {
  const text = [c.image, ...c.command, ...c.args].join(' ')
  return /\bjava\b|\.jar\b|openjdk|temurin|corretto|jre|jdk|tomcat|jboss|wildfly|spring/i.test(text) ||
    c.env.some((e) => ['JAVA_OPTS', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CATALINA_OPTS'].includes(e.name))
}

/** The liveness rule that fires for this probe, with the reason in words. */
export function livenessRule(c: ContainerView): { rule: string; why: string } | undefined {
  const p = c.liveness
  if (p === undefined) return undefined
  const window = p.periodSeconds * p.failureThreshold
  if (window < 10) return { rule: 'probe-liveness-aggressive', why: `a failure window of ${window}s (periodSeconds ${p.periodSeconds} × failureThreshold ${p.failureThreshold}) kills the container after a short pause` }
  if (p.timeoutSeconds === 1 && p.failureThreshold === 1) return { rule: 'probe-liveness-aggressive', why: 'one slow answer (timeoutSeconds 1, failureThreshold 1) kills the container' }
  if (c.startup === undefined) {
    const startWindow = p.initialDelaySeconds + window
    const expected = looksLikeJvm(c) || c.env.some((e) => e.name === 'JAVA_OPTS') ? 60 : 30
    if (startWindow < expected) return { rule: 'probe-liveness-startup-window-short', why: `with no startupProbe the application has ${startWindow}s to start before liveness kills it (below ${expected}s)` }
  }
  return undefined
}

/** A probe port that the container does not declare. */
export function probePortUndeclared(c: ContainerView, p: ProbeView): string | undefined {
  if (p.port === undefined) return undefined
  if (typeof p.port === 'string') {
    return c.ports.some((x) => x.name === p.port) ? undefined : `the probe uses the port name "${p.port}", which no entry of ports defines`
  }
  if (c.ports.length > 0 && !c.ports.some((x) => x.containerPort === p.port)) {
    return `the probe uses port ${p.port}, but the container declares ${c.ports.map((x) => x.containerPort).join(', ')}`
  }
  return undefined
}

const FORBIDDEN_MOUNTS = ['/', '/proc', '/sys', '/dev']

export function forbiddenMount(c: ContainerView): string | undefined {
  const m = c.volumeMounts.find((v) => FORBIDDEN_MOUNTS.includes(v.mountPath.replace(/\/+$/, '') || '/') || v.mountPath.startsWith('/proc/'))
  return m?.mountPath
}

const PUBLIC_REGISTRIES = ['docker.io', 'registry-1.docker.io', 'quay.io', 'gcr.io', 'registry.k8s.io', 'k8s.gcr.io', 'ghcr.io', 'public.ecr.aws', 'mcr.microsoft.com', 'registry.gitlab.com']

export function isPublicRegistry(registry: string): boolean {
  return PUBLIC_REGISTRIES.includes(registry)
}

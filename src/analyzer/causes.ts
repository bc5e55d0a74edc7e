/**
 * The cause ids the analyzer names. Like rule ids they are a contract: users match on them in
 * alerts and scripts, so an id never changes or disappears once shipped.
 */
export const CAUSES = {
  'exit-no-foreground-process': 'Exit 0 in a long-running container: the main process ended, so the pod restarts it.',
  completed: 'Exit 0 where that is the expected end (Job, restartPolicy Never or OnFailure).',
  'app-error': 'Exit 1, or another code from 1 to 124 (or above 192) that the program chose.',
  'shell-misuse': 'Exit 2: a shell builtin or the program rejected its arguments.',
  'container-runtime-failed': 'Exit 125: the container runtime itself failed to run the container.',
  'command-not-executable': 'Exit 126, or "permission denied" when starting the process.',
  'command-not-found': 'Exit 127, or a start error "executable file not found" / "no such file or directory".',
  'invalid-exit-code': 'Exit 128 not explained by a start error.',
  'oom-killed': 'Killed for exceeding the container memory limit (reason OOMKilled).',
  'liveness-probe-killed': 'Exit 137 or 143 after failed liveness (or startup) probes.',
  'grace-period-exceeded': 'Exit 137 after SIGTERM: the grace period ran out (deletion, preStop).',
  killed: 'Exit 137 (SIGKILL) with no better evidence.',
  aborted: 'Exit 134: SIGABRT, the program called abort() or failed an assertion.',
  segfault: 'Exit 139: SIGSEGV, an invalid memory access.',
  terminated: 'Exit 143: SIGTERM, a normal stop.',
  signal: 'Any other exit 128+n: killed by signal n.',
  'exit-out-of-range': 'Exit 255, often exit(-1), from a program that ran and chose it.',
  'container-lost': 'The container ended in a node or runtime restart, not by its own exit (last state reason Unknown).',
  'image-not-found': 'The image or tag does not exist in the registry.',
  'image-pull-unauthorized': 'The registry refused the pull: credentials missing or wrong.',
  'image-pull-failed': 'Other pull failures: timeout, registry unreachable, TLS, rate limit.',
  'image-name-invalid': 'InvalidImageName: the image reference cannot be parsed.',
  'image-never-pull': 'ErrImageNeverPull: imagePullPolicy Never and the image is not on the node.',
  'image-inspect-failed': 'ImageInspectError: the runtime cannot read the image it has.',
  'config-missing': 'CreateContainerConfigError: a ConfigMap, Secret or key the container needs is missing.',
  'container-create-failed': 'CreateContainerError, RunContainerError or a sandbox failure not explained otherwise.',
  'hook-failed': 'A postStart or preStop hook failed.',
  'init-container-failed': 'An init container failed or never finished, so the app containers never start.',
  unschedulable: 'Pending: the scheduler found no node; the reasons are counted per node.',
  'volume-mount-failed': 'A volume cannot be attached or mounted; the pod stays in ContainerCreating.',
  evicted: 'The kubelet evicted the pod because the node ran short of a resource.',
  'node-lost': 'The node stopped reporting; the pod status is Unknown.',
  'stuck-terminating': 'Deletion requested longer ago than the grace period and the pod is still there.',
  'not-ready': 'Running, but the readiness probe keeps failing, so it gets no traffic.',
  'deadline-exceeded': 'activeDeadlineSeconds of the Job or Pod was reached.',
  'backoff-limit-exceeded': 'The Job reached its backoffLimit of failed pods.',
  'quota-exceeded': 'Pods are refused: a ResourceQuota or LimitRange forbids them (FailedCreate).',
} as const satisfies Record<string, string>

export type CauseId = keyof typeof CAUSES

export const CAUSE_IDS = Object.keys(CAUSES) as CauseId[]

export function isCauseId(s: string): s is CauseId {
  return Object.hasOwn(CAUSES, s)
}

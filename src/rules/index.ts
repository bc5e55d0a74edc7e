/**
 * The registry: every rule, imported explicitly. A rule's id is its file name (a meta-test checks it).
 * Order here is the order of `pod-preflight rules` and of findings with the same path.
 */
import type { PodRule } from '../engine/rule.js'
import { rule as commandMissing } from './command-missing.js'
import { rule as commandWhitespaceInExecutable } from './command-whitespace-in-executable.js'
import { rule as commandBackgrounded } from './command-backgrounded.js'
import { rule as commandShellSyntaxWithoutShell } from './command-shell-syntax-without-shell.js'
import { rule as commandEnvReferenceUndefined } from './command-env-reference-undefined.js'
import { rule as initContainerNeverExits } from './init-container-never-exits.js'
import { rule as prestopExceedsGracePeriod } from './prestop-exceeds-grace-period.js'
import { rule as imageNameInvalid } from './image-name-invalid.js'
import { rule as imageTagLatest } from './image-tag-latest.js'
import { rule as imagePullPolicyNever } from './image-pull-policy-never.js'
import { rule as imageRegistryNotAllowed } from './image-registry-not-allowed.js'
import { rule as imagePullSecretMissing } from './image-pull-secret-missing.js'
import { rule as imagePrivateRegistryNoPullSecret } from './image-private-registry-no-pull-secret.js'
import { rule as memoryQuantitySuspicious } from './memory-quantity-suspicious.js'
import { rule as cpuQuantitySuspicious } from './cpu-quantity-suspicious.js'
import { rule as memoryLimitMissing } from './memory-limit-missing.js'
import { rule as memoryRequestBelowLimit } from './memory-request-below-limit.js'
import { rule as ephemeralStorageLimitMissing } from './ephemeral-storage-limit-missing.js'
import { rule as jvmHeapExceedsMemoryLimit } from './jvm-heap-exceeds-memory-limit.js'
import { rule as jvmHeapNoHeadroom } from './jvm-heap-no-headroom.js'
import { rule as jvmMemoryLimitMissing } from './jvm-memory-limit-missing.js'
import { rule as runtimeHeapExceedsMemoryLimit } from './runtime-heap-exceeds-memory-limit.js'
import { rule as nodeSelectorUnsatisfiable } from './node-selector-unsatisfiable.js'
import { rule as nodeAffinityUnsatisfiable } from './node-affinity-unsatisfiable.js'
import { rule as taintsNotTolerated } from './taints-not-tolerated.js'
import { rule as noNodeFitsRequests } from './no-node-fits-requests.js'
import { rule as noNodeHasFreeCapacity } from './no-node-has-free-capacity.js'
import { rule as noReadyNode } from './no-ready-node.js'
import { rule as antiAffinityExceedsNodes } from './anti-affinity-exceeds-nodes.js'
import { rule as quotaExceeded } from './quota-exceeded.js'
import { rule as quotaRequiresLimits } from './quota-requires-limits.js'
import { rule as limitrangeViolation } from './limitrange-violation.js'
import { rule as probeLivenessAggressive } from './probe-liveness-aggressive.js'
import { rule as probeLivenessStartupWindowShort } from './probe-liveness-startup-window-short.js'
import { rule as probeLivenessEqualsReadiness } from './probe-liveness-equals-readiness.js'
import { rule as probePortUndeclared } from './probe-port-undeclared.js'
import { rule as probeTimeoutExceedsPeriod } from './probe-timeout-exceeds-period.js'
import { rule as probeReadinessMissing } from './probe-readiness-missing.js'
import { rule as mountPathForbidden } from './mount-path-forbidden.js'
import { rule as configmapMissing } from './configmap-missing.js'
import { rule as secretMissing } from './secret-missing.js'
import { rule as pvcMissing } from './pvc-missing.js'
import { rule as serviceAccountMissing } from './service-account-missing.js'
import { rule as serviceSelectorMatchesNothing } from './service-selector-matches-nothing.js'
import { rule as serviceTargetPortMissing } from './service-target-port-missing.js'
import { rule as ingressBackendMissing } from './ingress-backend-missing.js'
import { rule as schemaInvalid } from './schema-invalid.js'

export const RULES: readonly PodRule<unknown>[] = [
  commandMissing as PodRule<unknown>,
  commandWhitespaceInExecutable as PodRule<unknown>,
  commandBackgrounded as PodRule<unknown>,
  commandShellSyntaxWithoutShell as PodRule<unknown>,
  commandEnvReferenceUndefined as PodRule<unknown>,
  initContainerNeverExits as PodRule<unknown>,
  prestopExceedsGracePeriod as PodRule<unknown>,
  imageNameInvalid as PodRule<unknown>,
  imageTagLatest as PodRule<unknown>,
  imagePullPolicyNever as PodRule<unknown>,
  imageRegistryNotAllowed as PodRule<unknown>,
  imagePullSecretMissing as PodRule<unknown>,
  imagePrivateRegistryNoPullSecret as PodRule<unknown>,
  memoryQuantitySuspicious as PodRule<unknown>,
  cpuQuantitySuspicious as PodRule<unknown>,
  memoryLimitMissing as PodRule<unknown>,
  memoryRequestBelowLimit as PodRule<unknown>,
  ephemeralStorageLimitMissing as PodRule<unknown>,
  jvmHeapExceedsMemoryLimit as PodRule<unknown>,
  jvmHeapNoHeadroom as PodRule<unknown>,
  jvmMemoryLimitMissing as PodRule<unknown>,
  runtimeHeapExceedsMemoryLimit as PodRule<unknown>,
  nodeSelectorUnsatisfiable as PodRule<unknown>,
  nodeAffinityUnsatisfiable as PodRule<unknown>,
  taintsNotTolerated as PodRule<unknown>,
  noNodeFitsRequests as PodRule<unknown>,
  noNodeHasFreeCapacity as PodRule<unknown>,
  noReadyNode as PodRule<unknown>,
  antiAffinityExceedsNodes as PodRule<unknown>,
  quotaExceeded as PodRule<unknown>,
  quotaRequiresLimits as PodRule<unknown>,
  limitrangeViolation as PodRule<unknown>,
  probeLivenessAggressive as PodRule<unknown>,
  probeLivenessStartupWindowShort as PodRule<unknown>,
  probeLivenessEqualsReadiness as PodRule<unknown>,
  probePortUndeclared as PodRule<unknown>,
  probeTimeoutExceedsPeriod as PodRule<unknown>,
  probeReadinessMissing as PodRule<unknown>,
  mountPathForbidden as PodRule<unknown>,
  configmapMissing as PodRule<unknown>,
  secretMissing as PodRule<unknown>,
  pvcMissing as PodRule<unknown>,
  serviceAccountMissing as PodRule<unknown>,
  serviceSelectorMatchesNothing as PodRule<unknown>,
  serviceTargetPortMissing as PodRule<unknown>,
  ingressBackendMissing as PodRule<unknown>,
  schemaInvalid as PodRule<unknown>,
]

export const RULE_IDS: ReadonlySet<string> = new Set(RULES.map((r) => r.id))

export function ruleById(id: string): PodRule<unknown> | undefined {
  return RULES.find((r) => r.id === id)
}
